// The engine's whole state as one plain record, and the only functions that move a sequence between the waiting
// heaps, the running list and the swapped list. Keeping every counter update here is what keeps view() O(1):
// placement reads it for every candidate instance of every request.
import type { TenantsConfig } from '../config/tenants.js';
import { SHAPES, type Shape } from '../types.js';
import type { EngineConfig } from './config.js';
import { FairShare } from './fair_share.js';
import type { KvLedger } from './kv_ledger.js';
import { remainingPrefill, type Seq } from './seq.js';
import type { SeqHeap } from './seq_heap.js';
import type { StepItem } from '../types.js';
import type { EngineBatchPolicy, EnginePlan, SessionMove } from './types.js';

export interface EngineCounts {
  /** Sequences in the waiting heaps (fresh and recompute-preempted). */
  waiting: number;
  running: number;
  swapped: number;
  /** Running sequences past their prefill. */
  decoding: number;
  /**
   * Σ 1 / (predicted output tokens · TPOT SLO) over those decoding sequences, per second: a stall of x seconds on
   * this instance raises each decode's TPOT by x / its output length, so x times this sum is the TPOT budget the
   * stall consumes, in SLO units (disagg/decide.ts prices a local prefill with it).
   */
  decodeSloWeightPerS: number;
  /** Σ remainingPrefill over every live sequence. */
  pendingPrefillTokens: number;
}

export interface EngineState {
  readonly instanceId: string;
  readonly cfg: EngineConfig;
  readonly policy: EngineBatchPolicy;
  readonly ledger: KvLedger;
  readonly seqs: Map<number, Seq>;
  /**
   * The waiting sequences: per tenant group (one group for all unless a tenants section is given), one heap per
   * shape in SHAPES order. The step takes the fair-share group's four heads and merges them instead of sorting.
   */
  readonly fair: FairShare;
  /** Some shape has a wait window (policy.waitWindowS > 0): only then are held heads looked for. */
  readonly hasWaitWindows: boolean;
  /** Admission order; entries that left (finished, preempted) are compacted away at the next plan. */
  running: Seq[];
  /** Swap order (FIFO); cancelled entries are skipped and dropped lazily. */
  swapped: Seq[];
  /** Idle sessions held in HBM, oldest first: the first to go when live work needs blocks. */
  readonly retainedDevice: Map<string, number>;
  readonly retainedHost: Map<string, number>;
  sessionMoves: SessionMove[];
  nextSeqId: number;
  nextStepId: number;
  outstanding: { plan: EnginePlan; seqs: readonly (Seq | null)[] } | null;
  /**
   * Scratch arrays of the plan being built, reused for every plan and never shrunk (a JS array emptied with
   * length = 0 drops its backing store, and regrowing it to ~1,000 entries every step was most of the per-step
   * garbage). planSeqs stays parallel to the outstanding plan's items; entries past its length are stale.
   */
  readonly planSeqs: (Seq | null)[];
  readonly buildItems: StepItem[];
  /** recyclePlans: the item objects of a completed plan are rewritten by the next plan instead of allocated. */
  readonly recycle: boolean;
  readonly counts: EngineCounts;
}

const SHAPE_INDEX: Readonly<Record<Shape, number>> = { tool_call: 0, reasoning: 1, terminal: 2, chat: 3 };

export function makeState(instanceId: string, cfg: EngineConfig, policy: EngineBatchPolicy, ledger: KvLedger, recycle: boolean, tenants?: TenantsConfig): EngineState {
  return {
    instanceId,
    cfg,
    policy,
    ledger,
    seqs: new Map(),
    fair: new FairShare(tenants),
    hasWaitWindows: SHAPES.some((shape) => policy.waitWindowS(shape) > 0),
    running: [],
    swapped: [],
    retainedDevice: new Map(),
    retainedHost: new Map(),
    sessionMoves: [],
    nextSeqId: 1,
    nextStepId: 1,
    outstanding: null,
    planSeqs: [],
    buildItems: [],
    recycle,
    counts: { waiting: 0, running: 0, swapped: 0, decoding: 0, decodeSloWeightPerS: 0, pendingPrefillTokens: 0 },
  };
}

/** Into its tenant group's heap for its shape, keyed now (fresh arrival, or back after a recompute preemption). */
export function enterQueue(st: EngineState, s: Seq, nowS: number, phase: 'waiting' | 'preempted'): void {
  s.phase = phase;
  s.queueKeyValue = st.policy.queueKey(s, nowS);
  const g = st.fair.groupOf(s.tenant);
  s.group = g;
  (g.heaps[SHAPE_INDEX[s.shape]] as SeqHeap).push(s);
  st.fair.entered(g, remainingPrefill(s));
  st.counts.waiting++;
}

/** Out of its heap (admitted or ended); its remaining prefill is what it was when it entered. */
export function leaveQueue(st: EngineState, s: Seq): void {
  const g = s.group as NonNullable<Seq['group']>;
  (g.heaps[SHAPE_INDEX[s.shape]] as SeqHeap).remove(s);
  st.fair.left(g, remainingPrefill(s));
  st.counts.waiting--;
}

export function enterRunning(st: EngineState, s: Seq): void {
  s.phase = 'running';
  st.running.push(s);
  st.counts.running++;
  (s.group as NonNullable<Seq['group']>).running++;
  if (s.decoding) startDecoding(st, s);
}

/** Counts s as decoding (it just sampled its first token, or entered the running list decoding). */
export function startDecoding(st: EngineState, s: Seq): void {
  st.counts.decoding++;
  st.counts.decodeSloWeightPerS += decodeSloWeight(s);
}

function decodeSloWeight(s: Seq): number {
  return 1 / (Math.max(1, s.predictedOutputTokens) * Math.max(1e-3, s.slo.tpotS));
}

/** Counters only: the running list drops the entry at the next compaction (its phase is no longer 'running'). */
export function leaveRunning(st: EngineState, s: Seq): void {
  st.counts.running--;
  (s.group as NonNullable<Seq['group']>).running--;
  if (!s.decoding) return;
  const c = st.counts;
  c.decoding--;
  // Floating sums drift over millions of adds; the empty instance resets it exactly.
  c.decodeSloWeightPerS = c.decoding === 0 ? 0 : Math.max(0, c.decodeSloWeightPerS - decodeSloWeight(s));
}

/** Applies a mutation that may change a sequence's remaining prefill, keeping pendingPrefillTokens exact. */
export function trackPrefill(st: EngineState, s: Seq, mutate: () => void): void {
  const before = remainingPrefill(s);
  mutate();
  st.counts.pendingPrefillTokens += remainingPrefill(s) - before;
}

/** Drops running-list entries that left since the last plan, in place (no per-step allocation). */
export function compactRunning(st: EngineState): void {
  const list = st.running;
  let w = 0;
  for (let r = 0; r < list.length; r++) {
    const s = list[r] as Seq;
    if (s.phase === 'running') list[w++] = s;
  }
  list.length = w;
}
