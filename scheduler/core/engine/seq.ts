// The engine's record of one sequence: the contract EngineSequence plus the bookkeeping the step loop needs.
// Token model (as vLLM v1): a sequence has numTokens = prompt + outputs so far; computedTokens of them are in KV.
// Each step schedules up to numTokens − computedTokens of them; when a step brings computedTokens up to numTokens,
// the model samples one more output token. A decode is the case numTokens − computedTokens = 1 after the prefill.
import type { EngineSequence } from '../types.js';
import type { TenantGroup } from './fair_share.js';

export interface Seq extends EngineSequence {
  /** Tokens whose KV exists (cached prefix, prefilled chunks, decoded outputs but the last sampled one). */
  computedTokens: number;
  /** True from the first sampled token until a recompute preemption throws the KV away. */
  decoding: boolean;
  /** Swapped to the host tier (phase 'preempted'); false for a recompute preemption (back in the queue). */
  swapped: boolean;
  /** policy.queueKey when it last entered the queue. */
  queueKeyValue: number;
  /** Position in its shape's waiting heap; -1 when not queued. */
  heapIndex: number;
  /** Index of its item in the plan being built or outstanding; -1 when not in it. */
  planIndex: number;
  /** The worker reported EOS for it in the outcome being applied. */
  eosPending: boolean;
  /** policy.kvFloorTokens, capped at prompt + max output; fixed at enqueue (it depends on fixed fields only). */
  floorTokens: number;
  /** Tenant name ('' when the caller gave none): its fair-share group when the engine has a tenants section. */
  tenant: string;
  /** The fair-share group whose heaps hold it while queued (resolved again at each entry); null before the first. */
  group: TenantGroup | null;
}

export function numTokens(seq: Seq): number {
  return seq.promptTokens + seq.outputTokens;
}

/** Tokens still to compute before the next sample, counted as prefill work (0 while decoding). */
export function remainingPrefill(seq: Seq): number {
  return seq.decoding ? 0 : numTokens(seq) - seq.computedTokens;
}

/** Predicted tokens of work left: prompt still to compute plus the predicted output still to come (fair-share cost). */
export function workTokens(seq: Seq): number {
  const output = Math.min(seq.maxOutputTokens, seq.predictedOutputTokens) - seq.outputTokens;
  return numTokens(seq) - seq.computedTokens + (output > 0 ? output : 0);
}

export function blocksFor(numTokensHeld: number, blockTokens: number): number {
  return Math.ceil(numTokensHeld / blockTokens);
}
