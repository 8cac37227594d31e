// Engine-local contracts: what the instance engine adds on top of scheduler/core/types.ts. Kept here (not in
// types.ts) until they are reconciled; every name below extends a contract type rather than replacing it.
import type { BatchPolicy, EngineSequence, InstanceView, KvMove, RequestEnd, SessionMove, Shape, Slo, StepPlan } from '../types.js';

export type PreemptionMode = 'recompute' | 'swap';

/** What the caller knows of a request when it hands it to one instance. */
export interface SeqInit {
  requestId: string;
  shape: Shape;
  /** Higher runs first; negative = sheddable. Default 0. */
  priority?: number;
  /** Who sent it: its fair-share group when the engine has a tenants section (ignored otherwise). Default ''. */
  tenant?: string;
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

/** Kept as names for the engine's callers; the fields now live on the contract types. */
export type SwapMove = KvMove;
export type { SessionMove };
export type EnginePlan = StepPlan;

export interface FinishedSeq {
  seq: EngineSequence;
  end: RequestEnd;
}

/** The load figures InstanceView takes from one engine (the same fields, by Pick), plus tier detail. */
export interface EngineLoad
  extends Pick<
    InstanceView,
    | 'queuedRequests'
    | 'runningRequests'
    | 'pendingPrefillTokens'
    | 'decodingSequences'
    | 'decodeSloWeightPerS'
    | 'kvBlocksTotal'
    | 'kvBlocksUsed'
    | 'kvBlocksRetained'
    | 'stepTokenBudget'
  > {
  /** Sequences preempted by swap, waiting in Grace. */
  swappedSequences: number;
  /** Grace blocks held by swapped sequences and demoted sessions. */
  hostKvBlocksUsed: number;
}

/** The contract BatchPolicy (its engine hooks now live in types.ts). */
export type EngineBatchPolicy = BatchPolicy;
