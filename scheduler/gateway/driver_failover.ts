// Worker failures: when an instance's Step stream ends or breaks (the worker died, or the stream was cut), the
// instance is marked unhealthy (no new placements), its tray's KV is forgotten by the index, and each of its
// requests is re-run elsewhere — resubmitted as a continuation (prompt + the tokens already streamed, the remaining
// max_tokens) so the client's stream goes on — or, when no instance takes it, ended with a clear error. The
// instance then probes its worker with backoff and rejoins once it answers (fresh stream, KV snapshot), see
// rejoin.ts. Draining workers: their instance takes no new placements.
import type { EndedRequest } from '../core/scheduler.js';
import type { ScheduleRequest } from '../core/types.js';
import { emptyMoves } from './driver_plan.js';
import { finish, requestEnded } from './driver_results.js';
import type { DriverCore, InstRun, LiveReq } from './driver_types.js';

/** Re-runs of one request after worker failures before it ends with an error. */
const MAX_RERUNS = 3;

/**
 * The instance's stream ended or broke. Pending client cancels are honoured first; every other request of the
 * instance is re-run elsewhere; a step that was in flight is settled empty (its sequences are gone with the
 * worker); then the instance waits to rejoin.
 */
export function fail(c: DriverCore, inst: InstRun, message: string): void {
  if (inst.failed !== null || c.stopped()) return;
  inst.failed = message;
  c.counters.failures++;
  c.metric(() => c.o.metrics?.workerFailure(inst.workerId));
  const stream = inst.stream;
  inst.stream = null;
  stream?.cancel();
  c.log(`instance ${inst.instanceId} failed: ${message}`);
  const sched = c.o.sched;
  sched.setInstanceHealth(inst.instanceId, false);
  // What the tray held is unknown until it answers again (a restarted worker starts empty).
  sched.workerReconnected(inst.workerId);
  // The worker freed the instance's session holds with the stream: the scheduler must not count on them.
  sched.dropRetainedSessions(inst.instanceId, c.o.clock());
  inst.toFree = [];
  c.applyCancels(inst);
  rerunAll(c, inst, message);
  if (inst.outstanding) {
    const plan = inst.outstanding;
    inst.outstanding = null;
    const ended = sched.completeStep(inst.instanceId, plan, { stepId: plan.stepId, durationS: 0, finishedSeqIds: [] }, c.o.clock());
    for (const e of ended) requestEnded(c, inst, e, message);
  }
  // Hand-offs that step started go on (the source is gone: they fail and the decode side recomputes).
  c.afterStep(inst);
  inst.seqs.clear();
  inst.byWire.clear();
  inst.migrationStops = [];
  inst.toFree = [];
  inst.moves = emptyMoves();
  // The worker frees what it held for the instance when the stream ends (or lost it with the process).
  for (const [key, holder] of [...c.heldSessions]) if (holder === inst.instanceId) c.heldSessions.delete(key);
  c.rejoiner.start(inst.instanceId, () => rejoin(c, inst));
}

export function markDraining(c: DriverCore, inst: InstRun): void {
  if (c.o.sched.instanceView(inst.instanceId).draining) return;
  c.o.sched.setInstanceDraining(inst.instanceId, true);
  c.log(`instance ${inst.instanceId}: its worker is draining; no new requests go there`);
}

export function rerunAll(c: DriverCore, inst: InstRun, message: string): void {
  for (const live of [...c.live.values()]) if (live.instanceId === inst.instanceId) rerun(c, inst, live, message);
}

/**
 * Ends this run in the scheduler and submits the continuation: the prompt plus the tokens already streamed
 * (recomputed on the new instance; a prefix hit covers the original prompt where it is cached), for the tokens
 * still owed. Ends the request with an error when it has been re-run too often or no instance takes it.
 */
export function rerun(c: DriverCore, inst: InstRun, live: LiveReq, message: string): void {
  const sched = c.o.sched;
  const nowS = c.o.clock();
  if (live.seqId >= 0) {
    inst.seqs.delete(live.seqId);
    inst.byWire.delete(live.wire);
  }
  const run = sched.cancel(live.requestId, `worker failed: ${message}`, nowS);
  if (!run) return;
  const p = live.prior;
  const streamed = p.outputs + live.outputs;
  const owed = p.outputs + live.maxTokens - streamed;
  p.outputs = streamed;
  p.costUsd += run.cost.usd;
  if (live.outputs > 0) p.firstTokenS ??= run.firstTokenS;
  p.reruns++;
  // finish() reports the whole: this run's figures are now in `prior`.
  const runOnly: EndedRequest = { ...run, outputTokens: 0, cost: { ...run.cost, usd: 0 } };
  if (p.reruns > MAX_RERUNS) return finish(c, live, runOnly, `worker failed: ${message} (re-run ${MAX_RERUNS} times already)`);
  if (owed <= 0) return finish(c, live, runOnly, undefined);
  const req: ScheduleRequest = { ...live.req, promptTokens: live.req.promptTokens + streamed, maxOutputTokens: owed };
  const res = sched.submit(req, nowS);
  if (!res.ok) return finish(c, live, runOnly, `worker failed: ${message}; re-run rejected: ${res.end.code}: ${res.end.reason}`);
  if (res.external) return finish(c, live, runOnly, `worker failed: ${message}; re-run routed to external pool ${res.pool}, which cannot continue a stream`);
  c.counters.reruns++;
  c.metric(() => c.o.metrics?.rerun({ shape: live.shape, pool: res.pool }));
  Object.assign(live, { instanceId: res.instanceId, seqId: -1, wire: -1, adoptedWire: null, move: null, onWorker: false, swapped: false, hashedBlocks: 0, outputs: 0, emitting: false, promptTokens: req.promptTokens, maxTokens: owed });
  c.log(`request ${live.requestId}: re-run on ${res.instanceId} after ${streamed} streamed tokens`);
  c.kick(c.inst(res.instanceId));
}

/** One rejoin attempt: the worker answers Health, a fresh stream opens, the KV index resyncs from a snapshot. */
async function rejoin(c: DriverCore, inst: InstRun): Promise<void> {
  await inst.probe();
  const snapshot = await inst.snapshot();
  if (c.stopped()) return;
  const stream = inst.connect();
  c.o.sched.applyKvSnapshot(inst.workerId, snapshot);
  inst.failed = null;
  inst.stepId = 0;
  c.attach(inst, stream);
  c.o.sched.setInstanceHealth(inst.instanceId, true);
  c.o.sched.setInstanceDraining(inst.instanceId, false);
  c.counters.rejoins++;
  c.log(`instance ${inst.instanceId} rejoined`);
  c.kick(inst);
}
