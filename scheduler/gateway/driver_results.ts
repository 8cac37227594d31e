// The driver's side of a step result: tokens to the sequences that emitted (and the sequences the worker could not
// run), KV events into the scheduler's index (a gap asks the tray for a snapshot), what the worker could not move,
// the step's and events' metrics, and the end of a request (its sequence freed or held, its end delivered).
import type { EnginePlan } from '../core/engine/types.js';
import type { EndedRequest } from '../core/scheduler.js';
import type { StepResult__Output } from '../gen/proto/nvlsched/v1/StepResult.js';
import { packEvents } from '../kv/event_batch.js';
import { unpackOutputs } from '../rpc/packed_step.js';
import { eventsFromProto } from './kv_events.js';
import type { DriverCore, DriverMetrics, InstRun, LiveReq } from './driver_types.js';

/** Tokens of the sequences that emitted; returns the sequences the worker could not run (seqId → message). */
export function emit(c: DriverCore, inst: InstRun, plan: EnginePlan, result: StepResult__Output): Map<number, string> {
  const errors = new Map<number, string>();
  // A packed plan's answer: the outputs that ran in packed columns, only refused sequences as messages.
  const ran = result.packedOutputs !== undefined && result.packedOutputs.length > 0 ? unpackOutputs(result.packedOutputs) : [];
  // Outputs name the worker's ids (the engine's, except for sequences that came by hand-off or migration).
  for (const out of ran) tokens(c, inst.byWire.get(out.seqId), out.tokenIds);
  for (const out of result.outputs) {
    const s = inst.byWire.get(out.seqId);
    if (out.errorCode !== '') {
      if (s) errors.set(s.seqId, `${out.errorCode}: ${out.errorMessage}`);
      continue;
    }
    tokens(c, s, out.tokenIds);
  }
  // A sequence of the plan with no output at all did not run: treat it as a worker error, not a silent stall.
  if (ran.length + result.outputs.length < plan.items.length) {
    const seen = new Set([...ran, ...result.outputs].map((o) => inst.byWire.get(o.seqId)?.seqId));
    for (const item of plan.items) if (!seen.has(item.seqId)) errors.set(item.seqId, result.errorMessage || 'no output for the sequence');
  }
  return errors;
}

function tokens(c: DriverCore, s: LiveReq | undefined, tokenIds: readonly number[]): void {
  if (!s || !s.emitting || tokenIds.length === 0) return;
  s.outputs += tokenIds.length;
  c.deliverTokens(s.sink, tokenIds);
}

export function applyEvents(c: DriverCore, inst: InstRun, result: StepResult__Output): void {
  if (result.kvEvents.length === 0) return;
  if (c.o.metrics) recordKvEvents(c, inst, result);
  const batch = packEvents(eventsFromProto(result.kvEvents));
  if (!c.o.sched.applyKvEvents(inst.workerId, batch).resyncNeeded) return;
  void inst.snapshot().then(
    (snap) => c.o.sched.applyKvSnapshot(inst.workerId, snap),
    (err: Error) => c.log(`snapshot of ${inst.workerId} failed: ${err.message}`),
  );
}

/** What the worker could not move: freed sequences re-allocate on their next step; dropped sessions are gone. */
export function applyMoveResults(c: DriverCore, inst: InstRun, result: StepResult__Output): void {
  for (const id of result.freedSeqIds ?? []) {
    const s = inst.byWire.get(id);
    if (!s) continue;
    s.onWorker = false;
    s.swapped = false;
    c.counters.swapFallbacks++;
    c.log(`instance ${inst.instanceId}: the worker had no room to move seq ${id}; it re-allocates`);
  }
  for (const key of result.droppedSessions ?? []) {
    if (c.heldSessions.get(key) === inst.instanceId) c.heldSessions.delete(key);
  }
}

export function recordStep(c: DriverCore, inst: InstRun, plan: EnginePlan, durationS: number): void {
  let numTokens = 0;
  for (const item of plan.items) numTokens += item.numNewTokens;
  const pool = c.o.sched.instanceView(inst.instanceId).pool;
  c.metric(() => c.o.metrics?.stepCompleted({ instanceId: inst.instanceId, pool, numTokens, numSeqs: plan.items.length, durationS, preemptions: plan.preempted.length }));
}

/** Removed blocks are evictions (freed blocks stay cached until evicted); moves are tier copies by link. */
function recordKvEvents(c: DriverCore, inst: InstRun, result: StepResult__Output): void {
  const m = c.o.metrics as DriverMetrics;
  const removed = { device: 0, host: 0, disk: 0 };
  const tierOf = (t: string | undefined): 'device' | 'host' | 'disk' => (t === 'TIER_HOST' ? 'host' : t === 'TIER_DISK' ? 'disk' : 'device');
  for (const e of result.kvEvents) {
    if (e.removed) removed[tierOf(e.removed.location?.tier)]++;
    else if (e.moved) {
      const from = tierOf(e.moved.source?.tier);
      const to = tierOf(e.moved.destination?.tier);
      const link = from === 'disk' || to === 'disk' ? 'disk' : from === to ? 'nvlink' : (c.o.hostLink ?? 'c2c');
      c.metric(() => m.tierMove({ link, bytes: Number(e.moved?.bytes ?? 0) }));
    }
  }
  for (const tier of ['device', 'host', 'disk'] as const) {
    if (removed[tier] > 0) c.metric(() => m.eviction({ workerId: inst.workerId, tier, blocks: removed[tier] }));
  }
}

/** A request the scheduler ended: its sequence is freed (or held: a retained session turn) and its end delivered. */
export function requestEnded(c: DriverCore, inst: InstRun, e: EndedRequest, error: string | undefined): void {
  const live = c.live.get(e.requestId);
  if (!live) return;
  if (live.seqId >= 0) {
    inst.seqs.delete(live.seqId);
    inst.byWire.delete(live.wire);
    if (live.onWorker) {
      const sessionId = live.req.sessionId;
      // A completed turn whose context the scheduler retains: the worker holds its blocks instead of freeing.
      const tier = sessionId !== undefined && e.end.kind === 'completed' && !live.swapped ? c.o.sched.sessionTier(inst.instanceId, sessionId) : undefined;
      if (tier !== undefined && sessionId !== undefined) {
        const before = c.heldSessions.get(sessionId);
        if (before !== undefined && before !== inst.instanceId) c.insts.get(before)?.moves.releases.push(sessionId);
        inst.moves.holds.push({ seqId: live.wire, sessionKey: sessionId, toHost: tier === 'host' });
        c.heldSessions.set(sessionId, inst.instanceId);
      } else {
        inst.toFree.push(live.wire);
      }
    }
  }
  finish(c, live, e, error);
}

/** The request's one end, as the client sees it: over all its runs (a re-run continues the first). */
export function finish(c: DriverCore, live: LiveReq, e: EndedRequest, error: string | undefined): void {
  c.live.delete(live.requestId);
  const p = live.prior;
  const whole: EndedRequest =
    p.reruns === 0
      ? e
      : {
          ...e,
          promptTokens: live.req.promptTokens,
          outputTokens: e.outputTokens + p.outputs,
          ...(p.firstTokenS !== undefined || e.firstTokenS !== undefined ? { firstTokenS: p.firstTokenS ?? e.firstTokenS } : {}),
          cost: { ...e.cost, usd: e.cost.usd + p.costUsd },
        };
  const queueS = (live.firstPlannedS ?? e.endS) - live.arrivalS;
  c.deliver({ sink: live.sink, end: [whole, { queueS, ...(error !== undefined ? { error } : {}) }] });
}
