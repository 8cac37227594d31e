// Structural checks of a step plan, independent of the worker's state: a plan that fails one is malformed and its
// stream ends with gRPC INVALID_ARGUMENT naming the field (proto field names). State-dependent problems (unknown
// GPU, out of KV blocks, draining) are not malformed: they come back per sequence in the StepResult.
import type { StepPlan__Output } from '../gen/proto/nvlsched/v1/StepPlan.js';

export interface PlanLimits {
  maxContextTokens: number;
  tokensPerBlock: number;
}

const DECIMAL_U64 = /^[0-9]{1,20}$/;

/** A sequence's field name, built only for a message (the checks run for every sequence of every step). */
const seqField = (i: number): string => `sequences[${i}]`;

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
    if (!s) return `${seqField(i)}: missing`;
    if (seen.has(s.seqId)) return `${seqField(i)}.seq_id: seq ${s.seqId} appears twice in one plan`;
    seen.add(s.seqId);
    if (!(s.numTokens >= 1 && s.numTokens <= limits.maxContextTokens)) {
      return `${seqField(i)}.num_tokens: expected 1..${limits.maxContextTokens} (the model's context), got ${s.numTokens}`;
    }
    if (!s.isPrefill && s.numTokens !== 1) return `${seqField(i)}.num_tokens: a decode (is_prefill false) runs exactly 1 token, got ${s.numTokens}`;
    if (s.numCachedTokens > limits.maxContextTokens) return `${seqField(i)}.num_cached_tokens: expected ≤ ${limits.maxContextTokens}, got ${s.numCachedTokens}`;
    if (s.reserveTokens > limits.maxContextTokens) return `${seqField(i)}.reserve_tokens: expected ≤ ${limits.maxContextTokens}, got ${s.reserveTokens}`;
    if (s.blockHashes.length === 0) continue;
    const maxHashes = Math.floor(((tokensBefore(plan.instanceId, s.seqId) ?? s.numCachedTokens) + s.numTokens) / limits.tokensPerBlock);
    if (s.blockHashes.length > maxHashes) {
      return `${seqField(i)}.block_hashes: ${s.blockHashes.length} hashes for at most ${maxHashes} full blocks of ${limits.tokensPerBlock} tokens`;
    }
    for (const h of s.blockHashes) if (!DECIMAL_U64.test(h) || BigInt(h) > 0xffffffffffffffffn) return `${seqField(i)}.block_hashes: not a 64-bit hash: ${h}`;
  }
  return checkMoves(plan, seen);
}

/** Session keys are the gateway's session ids: bounded, non-empty. */
const MAX_SESSION_KEY_CHARS = 256;

function checkKey(key: unknown, at: string): string | null {
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_SESSION_KEY_CHARS) return `${at}: expected a session key of 1..${MAX_SESSION_KEY_CHARS} characters`;
  return null;
}

/** The KV moves of a plan: each sequence at most once across holds and swaps, none both swapped and scheduled out. */
function checkMoves(plan: StepPlan__Output, scheduled: ReadonlySet<number>): string | null {
  const moved = new Set<number>();
  const once = (id: number, at: string): string | null => {
    if (moved.has(id)) return `${at}: seq ${id} appears twice among hold_sessions / swap_out_seq_ids / swap_in_seq_ids`;
    moved.add(id);
    return null;
  };
  for (const [i, h] of (plan.holdSessions ?? []).entries()) {
    const at = `hold_sessions[${i}]`;
    const bad = checkKey(h.sessionKey, `${at}.session_key`) ?? once(h.seqId, `${at}.seq_id`);
    if (bad) return bad;
    if (scheduled.has(h.seqId)) return `${at}.seq_id: seq ${h.seqId} is held and scheduled in one plan`;
  }
  for (const [i, id] of (plan.swapOutSeqIds ?? []).entries()) {
    const at = `swap_out_seq_ids[${i}]`;
    const bad = once(id, at);
    if (bad) return bad;
    if (scheduled.has(id)) return `${at}: seq ${id} is swapped out and scheduled in one plan`;
  }
  for (const [i, id] of (plan.swapInSeqIds ?? []).entries()) {
    const bad = once(id, `swap_in_seq_ids[${i}]`);
    if (bad) return bad;
  }
  for (const [i, m] of (plan.sessionMoves ?? []).entries()) {
    const bad = checkKey(m.sessionKey, `session_moves[${i}].session_key`);
    if (bad) return bad;
  }
  for (const [i, key] of (plan.releaseSessions ?? []).entries()) {
    const bad = checkKey(key, `release_sessions[${i}]`);
    if (bad) return bad;
  }
  return null;
}
