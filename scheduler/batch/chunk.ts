// One chunk of a batch in a drainer: read its lines and which already have results, then start the others through
// the gate, one at a time as it allows, and store each result as it comes (exactly once: the store's HSETNX).
// Retries: a load rejection backs the whole drainer off by the hint and puts the line first again (not counted); a
// cancel the drainer did not ask for re-runs the line, counted, up to maxLineAttempts, then a 503 failure. Ends:
// done (every line has a result), cancelled (the batch was: in-flight lines are cancelled, their results are the
// cancel's), stopped (the drainer stops: in-flight lines are cancelled and stay pending), vanished (the batch is
// not in Redis). Lines this drainer already runs for another copy of the chunk (a stalled job handed back while
// still running here) are awaited, not started twice.
import { ApiError } from '../gateway/http/errors.js';
import { outputId, readStoredLine, type OutputLine } from './format.js';
import type { DrainGate } from './gate.js';
import { startLine, type LineContext, type LineEnd, type RunningLine } from './line_run.js';
import type { ChunkJobData } from './queue.js';
import type { BatchStore, ResultEntry } from './store.js';

export type StopMode = 'graceful' | 'abandon' | null;
export type ChunkOutcome = 'done' | 'cancelled' | 'stopped' | 'vanished';

export interface DrainerCounters {
  linesStarted: number;
  linesRetried: number;
  linesDropped: number;
  resultsWritten: number;
  /** Results another writer had already stored (a restart's overlap, a cancel): not written again. */
  resultsAlreadyThere: number;
  completed: number;
  failed: number;
}

export interface ChunkDeps {
  store: BatchStore;
  gate: DrainGate;
  line: LineContext;
  /** `<batch>#<index>` → settles when that line's run (and its result write) ends, for lines live in this drainer. */
  running: Map<string, Promise<void>>;
  newRequestId: (batchId: string, index: number) => string;
  stopMode: () => StopMode;
  /** Stores results, retrying through Redis outages until stored or the drainer stops (then 0). */
  writeResults: (batchId: string, entries: ResultEntry[]) => Promise<number>;
  counters: DrainerCounters;
  cancelPollMs: number;
  maxLineAttempts: number;
  onLineEnd?: (e: LineEnd) => void;
}

interface Item {
  index: number;
  customId: string;
  stored: string;
  failures: number;
  notBeforeMs: number;
  lastRequestId: string;
}

/** Rounds of "read what is missing, run it" before the chunk gives up to BullMQ's retry. */
const MAX_ROUNDS = 5;

export async function runChunk(d: ChunkDeps, job: ChunkJobData): Promise<ChunkOutcome> {
  const { batchId, first, count } = job;
  const meta = await d.store.meta(batchId);
  if (meta === null) return 'vanished';
  if (meta.cancelledAtS !== undefined) return 'cancelled';
  const { ids, lines } = await d.store.lineRange(batchId, first, count);
  if (ids.length !== count || lines.length !== count) return 'vanished';
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const have = await d.store.haveResults(batchId, ids);
    const todo: Item[] = [];
    const elsewhere: Promise<void>[] = [];
    for (let i = 0; i < count; i++) {
      if (have[i]) continue;
      const other = d.running.get(`${batchId}#${first + i}`);
      if (other) elsewhere.push(other);
      else todo.push({ index: first + i, customId: ids[i] as string, stored: lines[i] as string, failures: 0, notBeforeMs: 0, lastRequestId: '' });
    }
    if (todo.length === 0 && elsewhere.length === 0) return 'done';
    const outcome = await drive(d, batchId, todo, meta.tenant);
    if (outcome !== 'done') return outcome;
    await Promise.all(elsewhere);
  }
  throw new Error(`batch ${batchId} lines ${first}..${first + count - 1}: still lines without a result after ${MAX_ROUNDS} rounds`);
}

async function drive(d: ChunkDeps, batchId: string, queue: Item[], tenant: string): Promise<ChunkOutcome> {
  const active = new Map<number, RunningLine>();
  const settles = new Set<Promise<void>>();
  let cancelled = false;
  let vanished = false;
  let polling = false;
  let lastPollMs = Date.now();

  // The cancel flag is polled in the background: during a Redis outage the read waits, the loop must not.
  const pollCancel = (): void => {
    if (polling) return;
    polling = true;
    d.store.cancelRequested(batchId).then(
      (yes) => {
        polling = false;
        if (yes && !cancelled) {
          cancelled = true;
          d.gate.notify();
        }
      },
      () => (polling = false),
    );
  };

  const finishLine = async (item: Item, outcome: Awaited<RunningLine['done']>): Promise<void> => {
    d.gate.inFlight--;
    if (outcome.kind === 'result') {
      const written = await d.writeResults(batchId, [{ customId: item.customId, output: JSON.stringify(outcome.output), field: outcome.field }]);
      if (written < 0) vanished = true;
      else if (written === 0 && d.stopMode() !== 'abandon') {
        d.counters.resultsAlreadyThere++;
        pollCancel();
      } else if (written > 0) {
        d.counters.resultsWritten++;
        d.counters[outcome.field]++;
      }
    } else if (outcome.kind === 'retry') {
      d.counters.linesRetried++;
      const nowMs = Date.now();
      if (outcome.overload) {
        d.gate.backoff(outcome.afterMs, nowMs);
        item.notBeforeMs = nowMs + outcome.afterMs;
        queue.unshift(item);
      } else if (++item.failures >= d.maxLineAttempts) {
        const e = new ApiError(503, `gave up after ${item.failures} attempts: ${outcome.reason}`, null, 'batch_retries_exhausted');
        const output: OutputLine = { id: outputId(batchId, item.index), custom_id: item.customId, response: { status_code: 503, request_id: item.lastRequestId, body: e.body() }, error: null };
        const written = await d.writeResults(batchId, [{ customId: item.customId, output: JSON.stringify(output), field: 'failed' }]);
        if (written > 0) {
          d.counters.resultsWritten++;
          d.counters.failed++;
        }
      } else {
        queue.push(item);
      }
    } else {
      d.counters.linesDropped++;
    }
  };

  const launch = (item: Item): void => {
    const key = `${batchId}#${item.index}`;
    d.gate.inFlight++;
    d.gate.unstarted++;
    d.counters.linesStarted++;
    item.lastRequestId = d.newRequestId(batchId, item.index);
    const started = (): void => {
      d.gate.unstarted--;
      d.gate.notify();
    };
    let run: RunningLine;
    let stage = 'damaged_line';
    try {
      const line = readStoredLine(item.stored, `batch ${batchId} line index ${item.index}`);
      stage = 'internal_error';
      run = startLine(line, { batchId, index: item.index, requestId: item.lastRequestId, tenant }, d.line, started, d.onLineEnd);
    } catch (error) {
      // A line this version cannot read back (or that trips a bug) fails alone, not its chunk over and over.
      started();
      const body = new ApiError(500, (error as Error).message, null, stage).body();
      const output: OutputLine = { id: outputId(batchId, item.index), custom_id: item.customId, response: { status_code: 500, request_id: item.lastRequestId, body }, error: null };
      run = { done: Promise.resolve({ kind: 'result', field: 'failed', output }), cancel: () => {} };
    }
    active.set(item.index, run);
    const settled: Promise<void> = run.done
      .then((outcome) => finishLine(item, outcome))
      .finally(() => {
        active.delete(item.index);
        settles.delete(settled);
        if (d.running.get(key) === settled) d.running.delete(key);
        d.gate.notify();
      });
    settles.add(settled);
    d.running.set(key, settled);
  };

  for (;;) {
    if (d.stopMode() !== null || cancelled || vanished) break;
    if (queue.length === 0 && active.size === 0) break;
    const nowMs = Date.now();
    if (nowMs - lastPollMs >= d.cancelPollMs) {
      lastPollMs = nowMs;
      pollCancel();
    }
    const head = queue[0];
    const other = head ? d.running.get(`${batchId}#${head.index}`) : undefined;
    if (other) {
      // Another copy of this chunk (handed back by a stalled check while this one ran) has started it: not twice.
      queue.shift();
      settles.add(other);
      const forget = (): boolean => settles.delete(other);
      other.then(forget, forget);
      continue;
    }
    if (head && head.notBeforeMs <= nowMs && d.gate.canStart(nowMs)) {
      launch(queue.shift() as Item);
      continue;
    }
    await d.gate.wait(head ? Math.max(1, head.notBeforeMs - nowMs) : d.cancelPollMs);
  }
  const stop = d.stopMode();
  if (stop !== null || cancelled) {
    const reason = stop !== null ? 'the batch drainer is stopping' : 'the batch was cancelled';
    for (const run of active.values()) run.cancel(reason);
  }
  while (settles.size > 0) await Promise.all([...settles]);
  if (vanished) return 'vanished';
  if (stop !== null) return 'stopped';
  return cancelled ? 'cancelled' : 'done';
}
