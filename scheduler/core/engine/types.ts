// Engine-local contracts: what the instance engine adds on top of scheduler/core/types.ts. Kept here (not in
// types.ts) until they are reconciled; every name below extends a contract type rather than replacing it.
import type { BatchPolicy, EngineSequence, RequestEnd, Shape, Slo, StepPlan } from '../types.js';

export type PreemptionMode = 'recompute' | 'swap';

/** What the caller knows of a request when it hands it to one instance. */
export interface SeqInit {
  requestId: string;
  shape: Shape;
  /** Higher runs first; negative = sheddable. Default 0. */
  priority?: number;
  arrivalS: number;
  promptTokens: number;
  /** Leading prompt tokens already in this instance's KV (prefix hit); they are never recomputed. */
  cachedPromptTokens: number;
  maxOutputTokens: number;
  predictedOutputTokens: number;
  slo: Slo;
}

export type EnqueueResult =
  | { ok: true; seqId: number }
  | { ok: false; end: Extract<RequestEnd, { kind: 'rejected' }> };

/** KV blocks that cross the NVLink-C2C link between HBM and Grace because of this plan (priced by the caller). */
export interface SwapMove {
  seqId: number;
  kvBlocks: number;
}

/** An idle session's KV moving between tiers (demote to Grace, promote back to HBM). */
export interface SessionMove {
  sessionKey: string;
  kvBlocks: number;
  to: 'device' | 'host';
}

/** The contract StepPlan plus the KV movement it implies, so the worker or simulator can charge transfer time. */
export interface EnginePlan extends StepPlan {
  /** Preempted with mode 'swap' this step: blocks copied HBM → Grace before the step. */
  swappedOut: SwapMove[];
  /** Resumed from Grace this step: blocks copied Grace → HBM before the step. */
  swappedIn: SwapMove[];
  /** Idle-session moves requested since the previous plan (demotions and promotions). */
  sessionMoves: SessionMove[];
  /** Retained sessions whose HBM blocks were reclaimed for live work this step (their KV is gone). */
  evictedSessions: string[];
  /**
   * Earliest time a waiting sequence held by its shape's wait window becomes eligible; null when none is held.
   * A simulator with an empty plan sleeps until then (or the next arrival).
   */
  holdUntilS: number | null;
}

export interface FinishedSeq {
  seq: EngineSequence;
  end: RequestEnd;
}

/** The load figures InstanceView takes from one engine (names match InstanceView), plus tier detail. */
export interface EngineLoad {
  queuedRequests: number;
  runningRequests: number;
  pendingPrefillTokens: number;
  decodingSequences: number;
  kvBlocksTotal: number;
  kvBlocksUsed: number;
  kvBlocksRetained: number;
  stepTokenBudget: number;
  /** Sequences preempted by swap, waiting in Grace. */
  swappedSequences: number;
  /** Grace blocks held by swapped sequences and demoted sessions. */
  hostKvBlocksUsed: number;
}

/**
 * The contract BatchPolicy plus the hooks the engine needs to stay policy-neutral. The engine evaluates
 * queueKey once when a sequence (re-)enters the queue: keys must not need re-evaluation as time passes.
 */
export interface EngineBatchPolicy extends BatchPolicy {
  /** Running decodes get their token before any prefill chunk (false: running order, as vLLM). */
  readonly decodesFirst: boolean;
  /** KV tokens a running sequence holds at least (prompt + reserved output); 0 = only what is computed (vLLM). */
  kvFloorTokens(seq: EngineSequence): number;
  /** How to preempt this victim, given the engine's configured mode for its shape. */
  preemptionMode(seq: EngineSequence, configured: PreemptionMode): PreemptionMode;
  /** Most prefill tokens one step may carry when it already carries numDecodes decodes (Infinity = budget only). */
  stepPrefillCapTokens(numDecodes: number): number;
}
