// The driver's side of a step plan: the engine's plan items → the worker's sequences (first sight binds a sequence
// to its request and to the id its worker knows it by; block hashes, reserve and cached tokens on first sight only),
// preemptions and the engine's KV-move decisions → the instance's pending moves, and the StepPlan message carrying
// them with every pending free.
import type { EnginePlan } from '../core/engine/types.js';
import type { StepPlan } from '../gen/proto/nvlsched/v1/StepPlan.js';
import type { PackedSequencesWriter } from '../rpc/packed_step.js';
import type { DriverCore, InstRun, LiveReq } from './driver_types.js';

export const emptyMoves = (): InstRun['moves'] => ({ holds: [], swapOut: [], swapIn: [], sessionMoves: [], releases: [] });

/**
 * The id the worker knows a just-bound sequence by: the engine's, or the one a committed hand-off/migration gave
 * it there. An adopted sequence the engine plans as a prefill (it recomputes after all: a hold was lost) starts
 * afresh on the worker, the committed copy freed.
 */
function bindWire(inst: InstRun, s: LiveReq, prefill: boolean): void {
  const adopted = s.adoptedWire;
  s.adoptedWire = null;
  if (adopted !== null && prefill) {
    inst.toFree.push(adopted);
    s.onWorker = false;
  }
  s.wire = adopted !== null && !prefill ? adopted : s.seqId;
  inst.byWire.set(s.wire, s);
}

/** Hashes of a step that fills no new prompt block (most steps): shared, never written. */
const NO_HASHES: readonly bigint[] = Object.freeze([]);

/** One plan item, written to the plan's packed sequences; first sight of a sequence binds it to its request. */
export function scheduled(c: DriverCore, inst: InstRun, item: EnginePlan['items'][number], out: PackedSequencesWriter): void {
  const o = c.o;
  let s = inst.seqs.get(item.seqId);
  if (!s) {
    const found = o.sched.sequence(inst.instanceId, item.seqId);
    s = found ? c.live.get(found.requestId) : undefined;
    if (!s) throw new Error(`gateway: instance ${inst.instanceId} planned unknown sequence ${item.seqId}`);
    s.seqId = item.seqId;
    inst.seqs.set(item.seqId, s);
    bindWire(inst, s, item.kind === 'prefill');
  }
  s.firstPlannedS ??= o.clock();
  const tokens = item.numCachedTokens + item.numNewTokens;
  const first = !s.onWorker;
  if (first) s.hashedBlocks = 0;
  if (first && s.releaseOnFirstRun !== null) {
    inst.moves.releases.push(s.releaseOnFirstRun);
    s.releaseOnFirstRun = null;
  }
  const upTo = Math.min(s.hashes.length, Math.floor(tokens / o.blockTokens));
  const blockHashes = s.hashedBlocks < upTo ? s.hashes.slice(s.hashedBlocks, upTo) : NO_HASHES;
  s.hashedBlocks = Math.max(s.hashedBlocks, upTo);
  s.onWorker = true;
  // A token comes out once the prompt is in: a partial prefill chunk's sample is dropped (as an engine does).
  s.emitting = tokens >= s.promptTokens + s.outputs;
  // The room the engine holds for this sequence beyond what the step fills (rest of the prompt, its output
  // reservation): the worker reserves exactly that, so both ledgers agree and the worker never runs out first.
  const held = first ? o.sched.sequence(inst.instanceId, item.seqId)?.seq.kvBlocks ?? 0 : 0;
  const reserveTokens = first ? Math.max(0, Math.min(held * o.blockTokens - tokens, o.maxContextTokens - tokens)) : 0;
  out.add(s.wire, inst.gpu, item.numNewTokens, item.kind === 'prefill', reserveTokens, first ? item.numCachedTokens : 0, blockHashes);
}

export function preempted(c: DriverCore, inst: InstRun, seqId: number, mode: 'recompute' | 'swap'): void {
  const s = inst.seqs.get(seqId);
  if (!s || !s.onWorker || s.swapped) return;
  if (mode === 'swap') {
    // Its blocks move to Grace before the plan's step; they come back when the engine resumes it (swappedIn).
    inst.moves.swapOut.push(s.wire);
    s.swapped = true;
    c.counters.swapsOut++;
    return;
  }
  // Recompute: the worker frees it now and allocates again (cached + new tokens) when it next runs.
  inst.toFree.push(s.wire);
  s.onWorker = false;
}

/** The plan's swap-ins and idle-session decisions, as moves for the worker. */
export function planMoves(c: DriverCore, inst: InstRun, plan: EnginePlan): void {
  for (const m of plan.swappedIn) {
    const s = inst.seqs.get(m.seqId);
    if (!s?.swapped) continue;
    s.swapped = false;
    inst.moves.swapIn.push(s.wire);
  }
  for (const key of plan.evictedSessions) {
    if (c.heldSessions.get(key) !== inst.instanceId) continue;
    c.heldSessions.delete(key);
    inst.moves.releases.push(key);
  }
  for (const m of plan.sessionMoves) {
    if (c.heldSessions.get(m.sessionKey) === inst.instanceId) inst.moves.sessionMoves.push({ sessionKey: m.sessionKey, toHost: m.to === 'host', gpu: inst.gpu });
  }
}

/** The StepPlan message: the sequences (packed; none: a free-only plan) plus every pending free and move of the instance. */
export function stepPlan(inst: InstRun, packedSequences: Buffer | undefined): StepPlan {
  const m = inst.moves;
  inst.moves = emptyMoves();
  return {
    stepId: ++inst.stepId,
    instanceId: inst.instanceId,
    // Packed columns: the worker answers with packed outputs (scheduler/rpc/packed_step.ts, bench overhead).
    ...(packedSequences ? { packedSequences } : {}),
    finishedSeqIds: inst.toFree.splice(0),
    holdSessions: m.holds,
    swapOutSeqIds: m.swapOut,
    swapInSeqIds: m.swapIn,
    sessionMoves: m.sessionMoves,
    releaseSessions: m.releases,
  };
}

export function hasPendingWork(inst: InstRun): boolean {
  const m = inst.moves;
  return inst.toFree.length + m.holds.length + m.swapOut.length + m.swapIn.length + m.sessionMoves.length + m.releases.length > 0;
}
