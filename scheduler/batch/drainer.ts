// The batch drainer that runs inside a gateway: a BullMQ Worker on the batch queue takes chunks (queue.ts), and each
// chunk's pending lines go through the gateway's frontend at a low priority, only as the gate allows (gate.ts: at
// most maxInFlight lines, a few of them queued, while `idle` says there is room, not after a load rejection's hint,
// not while Redis is away). Results are stored as they come (store.ts: exactly once per line).
//
// Stopping: `stop()` cancels the lines in flight (they stay pending), hands held chunks back to the queue at once
// (moveToWait), closes. `stop({ abandon: true })` is a crash as far as Redis can tell (tests): nothing more is
// written, chunks stay locked until their lock expires (lockMs) and some drainer's stalled check (every
// stalledIntervalMs) puts them back; after maxStalled such recoveries a chunk fails. Either way a restarted or
// another drainer runs only the lines without a result. Redis away: lines in flight finish, their results wait in
// memory and are written when Redis is back; no new line starts meanwhile.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { UnrecoverableError, WaitingError, Worker, type Job } from 'bullmq';

import type { Limits } from '../gateway/request.js';
import { defaultTokenizer, type Tokenizer } from '../gateway/tokenizer.js';
import { runChunk, type ChunkDeps, type DrainerCounters, type StopMode } from './chunk.js';
import { DrainGate, type IdleTest } from './gate.js';
import type { BatchFrontend, LineEnd } from './line_run.js';
import { BATCH_QUEUE, checkChunkData, type ChunkJobData } from './queue.js';
import { connectOrExplain, failFastClient, reconnectDelayMs, redactUrl, waitingClient, watchConnection } from './redis_conn.js';
import { BatchStore, type ResultEntry } from './store.js';

export interface BatchDrainerOptions {
  frontend: BatchFrontend;
  redisUrl: string;
  /** The gateway's limits and served model names: lines are parsed as its HTTP API parses them. */
  limits: Limits;
  models: readonly string[];
  tokenizer?: Tokenizer;
  queue?: string;
  /** This drainer in logs and BullMQ (default host:pid). */
  name?: string;
  maxInFlight?: number;
  /** Lines submitted but without a first token, at most. */
  maxUnstarted?: number;
  /** Whether the gateway has room (default: always; the gate's other bounds and the priority still hold). */
  idle?: IdleTest;
  /** ScheduleRequest.priority of batch lines. */
  priority?: number;
  /** Chunks held at once (the next starts while one's last lines finish). */
  chunksAtOnce?: number;
  lockMs?: number;
  stalledIntervalMs?: number;
  maxStalled?: number;
  /** How often the gate re-reads `idle` while it waits. */
  idlePollMs?: number;
  /** How often a chunk looks for a cancel of its batch. */
  cancelPollMs?: number;
  /** Runs of a line the gateway cancelled on its own before it fails (503). */
  maxLineAttempts?: number;
  /** stop(): how long lines in flight and result writes may take before the connections are cut. */
  stopTimeoutMs?: number;
  log?: (line: string) => void;
  /** Every line's end (metrics, tests). */
  onLineEnd?: (e: LineEnd) => void;
}

export const DRAINER_DEFAULTS = {
  maxInFlight: 16,
  maxUnstarted: 4,
  priority: -100,
  chunksAtOnce: 2,
  lockMs: 30_000,
  stalledIntervalMs: 15_000,
  maxStalled: 10,
  idlePollMs: 50,
  cancelPollMs: 500,
  maxLineAttempts: 3,
  stopTimeoutMs: 10_000,
} as const;

export interface DrainerStats extends DrainerCounters {
  name: string;
  inFlight: number;
  unstarted: number;
  chunksActive: number;
  chunksDone: number;
  /** Chunks this drainer's stalled check took back from a drainer that died (their lock expired). */
  chunksRecovered: number;
  redisUp: boolean;
  /** stop() was called, or the drainer saw its gateway stopping. */
  stopped: boolean;
}

export interface BatchDrainer {
  readonly name: string;
  stats(): DrainerStats;
  /** Graceful by default (chunks handed back at once); abandon: as if the process died. Idempotent. */
  stop(o?: { abandon?: boolean }): Promise<void>;
}

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms).unref());

function bounded(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  return Promise.race([p.then(() => true, () => true), timeout]).finally(() => clearTimeout(timer));
}

/** The options with defaults filled in; a bad number is an error naming the option. */
function settle(o: BatchDrainerOptions): typeof DRAINER_DEFAULTS {
  const c: Record<string, number> = { ...DRAINER_DEFAULTS };
  for (const key of Object.keys(DRAINER_DEFAULTS) as Array<keyof typeof DRAINER_DEFAULTS>) {
    const v = o[key];
    if (v === undefined) continue;
    const ok = key === 'priority' ? Number.isInteger(v) && Math.abs(v) <= 1_000_000 : Number.isInteger(v) && v >= 1;
    if (!ok) throw new RangeError(`startBatchDrainer: ${key} must be ${key === 'priority' ? 'an integer with |priority| ≤ 1000000' : 'an integer ≥ 1'}, got ${v}`);
    c[key] = v;
  }
  return c as unknown as typeof DRAINER_DEFAULTS;
}

export async function startBatchDrainer(o: BatchDrainerOptions): Promise<BatchDrainer> {
  const c = settle(o);
  const name = o.name ?? `${hostname()}:${process.pid}`;
  const queueName = o.queue ?? BATCH_QUEUE;
  const log = (line: string): void => o.log?.(`batch drainer ${name}: ${line}`);
  // Fail at once with a reason rather than start a drainer whose connections retry forever.
  const probe = failFastClient(o.redisUrl, 5000);
  try {
    await connectOrExplain(probe, o.redisUrl);
  } finally {
    probe.disconnect();
  }
  const gate = new DrainGate({ maxInFlight: c.maxInFlight, maxUnstarted: c.maxUnstarted, idle: o.idle ?? (() => true), pollMs: c.idlePollMs });
  const redis = waitingClient(o.redisUrl);
  const watch = watchConnection(redis, o.redisUrl, `batch drainer ${name}`, (l) => o.log?.(l), (up) => {
    gate.redisUp = up;
    gate.notify();
  });
  await redis.connect();
  const store = new BatchStore(redis, queueName);
  const counters: DrainerCounters = { linesStarted: 0, linesRetried: 0, linesDropped: 0, resultsWritten: 0, resultsAlreadyThere: 0, completed: 0, failed: 0 };
  let stopMode: StopMode = null;
  let closed = false;
  let chunksActive = 0;
  let chunksDone = 0;
  let chunksRecovered = 0;
  let seq = 0;
  const nonce = randomBytes(3).toString('hex');

  // A function, not an inline test: TypeScript would keep its narrowing of stopMode across the await.
  const givenUp = (): boolean => stopMode === 'abandon' || closed;
  const writeResults = async (batchId: string, entries: ResultEntry[]): Promise<number> => {
    for (let attempt = 1; ; attempt++) {
      if (givenUp()) return 0;
      try {
        return await store.storeResults(batchId, entries);
      } catch (error) {
        if (givenUp()) return 0;
        log(`storing results of ${batchId} failed (${(error as Error).message}); retrying`);
        await delay(reconnectDelayMs(attempt));
      }
    }
  };

  const deps: ChunkDeps = {
    store,
    gate,
    line: { frontend: o.frontend, parse: { limits: o.limits, models: o.models, tokenizer: o.tokenizer ?? defaultTokenizer() }, priority: c.priority },
    running: new Map(),
    newRequestId: (batchId, index) => `${batchId}.${index}.${nonce}-${++seq}`,
    stopMode: () => {
      // A gateway that stops before its drainer does refuses every line: stop draining, hand the chunks back.
      if (stopMode === null && o.frontend.stopping) {
        log('the gateway is stopping: the drainer stops too (call stop() before closing the gateway)');
        void drainer.stop();
      }
      return stopMode;
    },
    writeResults,
    counters,
    cancelPollMs: c.cancelPollMs,
    maxLineAttempts: c.maxLineAttempts,
    ...(o.onLineEnd ? { onLineEnd: o.onLineEnd } : {}),
  };

  const processChunk = async (job: Job<ChunkJobData>, token?: string): Promise<{ outcome: string }> => {
    let data: ChunkJobData;
    try {
      data = checkChunkData(job.id, job.name, job.data);
    } catch (error) {
      throw new UnrecoverableError((error as Error).message);
    }
    chunksActive++;
    try {
      const outcome = await runChunk(deps, data);
      if (outcome === 'vanished') throw new UnrecoverableError(`batch ${data.batchId} is not in Redis at ${redactUrl(o.redisUrl)} (deleted, or Redis lost its data)`);
      if (outcome === 'stopped') {
        if (stopMode === 'graceful' && token !== undefined) await job.moveToWait(token);
        throw new WaitingError();
      }
      // Redis away longer than the lock: the stalled check has handed the chunk to another run (here or elsewhere),
      // which finishes it; this run leaves quietly instead of failing to complete a job it no longer holds.
      if (token !== undefined && (await redis.get(`${job.prefix}:${job.queueName}:${job.id}:lock`)) !== token) {
        log(`chunk ${job.id}: its lock expired while Redis was away; the run that took it over finishes it`);
        throw new WaitingError();
      }
      chunksDone++;
      return { outcome };
    } finally {
      chunksActive--;
    }
  };

  const worker = new Worker<ChunkJobData>(queueName, processChunk, {
    connection: { url: o.redisUrl, maxRetriesPerRequest: null, retryStrategy: reconnectDelayMs },
    name,
    concurrency: c.chunksAtOnce,
    lockDuration: c.lockMs,
    stalledInterval: c.stalledIntervalMs,
    maxStalledCount: c.maxStalled,
    autorun: false,
  });
  const saidErrors = new Set<string>();
  worker.on('error', (err) => {
    // While Redis is away the store's watcher has said so once; BullMQ's own retries would repeat it, and a lost
    // lock is reported at every renewal: each message once.
    if (!gate.redisUp || saidErrors.has(err.message) || stopMode !== null) return;
    if (saidErrors.size >= 1000) saidErrors.clear();
    saidErrors.add(err.message);
    log(`queue worker (Redis at ${redactUrl(o.redisUrl)}): ${err.message}`);
  });
  worker.on('failed', (job, err) => log(`chunk ${job?.id ?? '?'} failed: ${err.message}`));
  worker.on('stalled', (jobId) => {
    chunksRecovered++;
    log(`chunk ${jobId} stalled (its drainer stopped renewing the lock): back in the queue`);
  });
  await worker.waitUntilReady();
  void worker.run().catch((err: Error) => log(`queue worker stopped: ${err.message}`));
  log(`draining queue '${queueName}' at ${redactUrl(o.redisUrl)} (${c.maxInFlight} lines in flight at most, priority ${c.priority})`);

  let stopping: Promise<void> | undefined;
  const stop = async (abandon: boolean): Promise<void> => {
    stopMode = abandon ? 'abandon' : 'graceful';
    gate.stopped = true;
    gate.notify();
    if (abandon) {
      // A crash: stop renewing locks and drop the connections first, so nothing more reaches Redis.
      await bounded(worker.close(true), c.stopTimeoutMs);
      closed = true;
      watch.closing();
      redis.disconnect();
      return;
    }
    if (!(await bounded(worker.close(), c.stopTimeoutMs))) {
      log(`stop: chunks still busy after ${c.stopTimeoutMs} ms; cutting the connections (their locks expire, another drainer takes them)`);
      await bounded(worker.close(true), c.stopTimeoutMs);
    }
    closed = true;
    watch.closing();
    await bounded(redis.quit(), 1000);
    redis.disconnect();
  };

  const drainer: BatchDrainer = {
    name,
    stats: () => ({ name, ...counters, inFlight: gate.inFlight, unstarted: gate.unstarted, chunksActive, chunksDone, chunksRecovered, redisUp: gate.redisUp, stopped: stopMode !== null }),
    stop: (so) => (stopping ??= stop(so?.abandon === true)),
  };
  return drainer;
}
