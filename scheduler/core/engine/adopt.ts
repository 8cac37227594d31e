// KV hand-off and live migration as the engine sees them: blocks held for KV that is on its way (all or nothing,
// under a negative hold id so they count as used, never as evictable session cache), and a sequence adopted in the
// middle of its life — decoding with its KV already here (the transfer arrived), or back in the queue to recompute
// (the transfer failed). A sequence leaves its old instance through the one exit (engine.cancel → endSeq); the
// caller (the Scheduler) does not count that as the request's end.
import { EngineError } from './errors.js';
import { blocksFor, type Seq } from './seq.js';
import { enterQueue, enterRunning, type EngineState } from './state.js';
import type { SeqInit } from './types.js';

/** What carries over from the sequence's earlier life on another instance. */
export interface AdoptState {
  /** Output tokens already sampled (≥ 1: a hand-off carries the prefill instance's first token). */
  outputTokens: number;
  /** Tokens whose KV arrived (prompt + outputs − 1 for a decode); 0 = recompute everything here. */
  computedTokens: number;
  /** When the request was first queued anywhere and its first token (the prefill instance's), for accounting. */
  enqueuedS: number;
  firstTokenS?: number;
  preemptions: number;
  /** Blocks held for it by holdIncoming(holdId, ...): they become the sequence's. */
  holdId?: number;
}

/** Holds `blocks` for incoming KV; false (nothing held) when HBM lacks room. holdId must be negative and unused. */
export function holdIncoming(st: EngineState, holdId: number, blocks: number): boolean {
  if (!(holdId < 0) || !Number.isInteger(holdId)) throw new EngineError('E_BAD_CALL', `holdId: expected a negative integer, got ${holdId}`);
  if (!Number.isInteger(blocks) || blocks < 1) throw new EngineError('E_BAD_CALL', `blocks: expected an integer ≥ 1, got ${blocks}`);
  return st.ledger.tryReserve(holdId, blocks);
}

export function releaseIncoming(st: EngineState, holdId: number): void {
  st.ledger.release(holdId);
}

/**
 * Creates a sequence that already has outputs: running and decoding when its KV is here (computedTokens > 0; the
 * hold, if any, becomes its blocks), else waiting to recompute prompt + outputs (as after a recompute preemption).
 * Returns its seqId, or undefined (nothing changed but the hold, which is released) when KV cannot be had.
 */
export function adopt(st: EngineState, s: Seq, state: AdoptState): number | undefined {
  if (!Number.isInteger(state.outputTokens) || state.outputTokens < 1) throw new EngineError('E_BAD_CALL', `outputTokens: expected an integer ≥ 1, got ${state.outputTokens}`);
  const total = s.promptTokens + state.outputTokens;
  if (!Number.isInteger(state.computedTokens) || state.computedTokens < 0 || state.computedTokens >= total) {
    throw new EngineError('E_BAD_CALL', `computedTokens: expected an integer in [0, ${total - 1}], got ${state.computedTokens}`);
  }
  if (state.holdId !== undefined) st.ledger.release(state.holdId);
  s.outputTokens = state.outputTokens;
  s.enqueuedS = state.enqueuedS;
  s.preemptions = state.preemptions;
  if (state.firstTokenS !== undefined) s.firstTokenS = state.firstTokenS;
  s.floorTokens = Math.min(st.policy.kvFloorTokens(s), s.promptTokens + s.maxOutputTokens);
  if (state.computedTokens === 0) {
    s.computedTokens = 0;
    s.prefilledTokens = 0;
    s.cachedPromptTokens = 0;
    st.seqs.set(s.seqId, s);
    st.counts.pendingPrefillTokens += total;
    enterQueue(st, s, s.enqueuedS, 'preempted');
    return s.seqId;
  }
  // Decoding: every token but the last sampled one is in KV (the token model of seq.ts).
  const blocks = blocksFor(state.computedTokens, st.cfg.blockTokens);
  if (!st.ledger.tryReserve(s.seqId, blocks)) return undefined;
  s.kvBlocks = blocks;
  s.computedTokens = state.computedTokens;
  s.prefilledTokens = s.promptTokens;
  s.decoding = state.computedTokens === total - 1;
  st.seqs.set(s.seqId, s);
  if (!s.decoding) st.counts.pendingPrefillTokens += total - state.computedTokens;
  s.group = st.fair.groupOf(s.tenant);
  enterRunning(st, s);
  return s.seqId;
}

/** Running decodes of the instance (a migration policy's candidates). */
export function runningDecodes(st: EngineState): Seq[] {
  const out: Seq[] = [];
  for (const s of st.running) if (s.phase === 'running' && s.decoding) out.push(s);
  return out;
}

export function checkAdoptInit(init: SeqInit): void {
  if (init.maxOutputTokens < 2) throw new EngineError('E_BAD_SEQ', `seq.maxOutputTokens: an adopted sequence continues after its first token; expected ≥ 2, got ${init.maxOutputTokens}`);
}
