// Structural checks of a step plan, independent of the worker's state: a plan that fails one is malformed and its
// stream ends with gRPC INVALID_ARGUMENT naming the field (proto field names). State-dependent problems (unknown
// GPU, out of KV blocks, draining) are not malformed: they come back per sequence in the StepResult.
import type { StepPlan__Output } from '../gen/proto/nvlsched/v1/StepPlan.js';

export interface PlanLimits {
  maxContextTokens: number;
  tokensPerBlock: number;
}

const DECIMAL_U64 = /^[0-9]{1,20}$/;

/**
 * null when the plan is well formed, else "field: reason". `tokensBefore` gives a running sequence's KV length
 * (undefined on first sight), so that block_hashes can be bounded by the blocks the sequence will have.
 */
export function checkPlan(plan: StepPlan__Output, limits: PlanLimits, tokensBefore: (instanceId: string, seqId: number) => number | undefined): string | null {
  if (typeof plan.instanceId !== 'string') return 'instance_id: expected a string';
  if (!Array.isArray(plan.sequences)) return 'sequences: expected a list';
  const seen = new Set<number>();
  for (let i = 0; i < plan.sequences.length; i++) {
    const s = plan.sequences[i];
    const at = `sequences[${i}]`;
    if (!s) return `${at}: missing`;
    if (seen.has(s.seqId)) return `${at}.seq_id: seq ${s.seqId} appears twice in one plan`;
    seen.add(s.seqId);
    if (!(s.numTokens >= 1 && s.numTokens <= limits.maxContextTokens)) {
      return `${at}.num_tokens: expected 1..${limits.maxContextTokens} (the model's context), got ${s.numTokens}`;
    }
    if (!s.isPrefill && s.numTokens !== 1) return `${at}.num_tokens: a decode (is_prefill false) runs exactly 1 token, got ${s.numTokens}`;
    if (s.numCachedTokens > limits.maxContextTokens) return `${at}.num_cached_tokens: expected ≤ ${limits.maxContextTokens}, got ${s.numCachedTokens}`;
    if (s.reserveTokens > limits.maxContextTokens) return `${at}.reserve_tokens: expected ≤ ${limits.maxContextTokens}, got ${s.reserveTokens}`;
    const maxHashes = Math.floor(((tokensBefore(plan.instanceId, s.seqId) ?? s.numCachedTokens) + s.numTokens) / limits.tokensPerBlock);
    if (s.blockHashes.length > maxHashes) {
      return `${at}.block_hashes: ${s.blockHashes.length} hashes for at most ${maxHashes} full blocks of ${limits.tokensPerBlock} tokens`;
    }
    for (const h of s.blockHashes) if (!DECIMAL_U64.test(h) || BigInt(h) > 0xffffffffffffffffn) return `${at}.block_hashes: not a 64-bit hash: ${h}`;
  }
  return null;
}
