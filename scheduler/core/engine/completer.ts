// Applying a step's outcome, and the one way a sequence leaves the engine. Every sequence that entered ends exactly
// once here: completed (EOS from the worker, or maxOutputTokens reached) or cancelled; the KV it held is freed at
// that moment.
import type { RequestEnd, StepOutcome } from '../types.js';
import { EngineError } from './errors.js';
import { numTokens, type Seq } from './seq.js';
import { leaveQueue, leaveRunning, startDecoding, type EngineState } from './state.js';
import type { EnginePlan, FinishedSeq } from './types.js';

export function completeStep(st: EngineState, plan: EnginePlan, outcome: StepOutcome, nowS: number): FinishedSeq[] {
  const out = st.outstanding;
  if (!out || out.plan !== plan) throw new EngineError('E_NOT_OUTSTANDING', `step ${plan.stepId} is not the plan this engine is waiting on`);
  if (outcome.stepId !== plan.stepId) throw new EngineError('E_STEP_MISMATCH', `outcome is for step ${outcome.stepId}, the plan is step ${plan.stepId}`);
  st.outstanding = null;
  markEos(st, outcome.finishedSeqIds, true);
  const finished: FinishedSeq[] = [];
  const items = plan.items;
  for (let i = 0; i < items.length; i++) {
    const s = out.seqs[i] as Seq;
    s.planIndex = -1;
    if (s.phase !== 'running') continue; // cancelled while the step ran
    if (!advance(st, s, (items[i] as (typeof items)[number]).numNewTokens, nowS)) continue;
    if (s.eosPending || s.outputTokens >= s.maxOutputTokens) {
      finished.push(endSeq(st, s, { kind: 'completed', outputTokens: s.outputTokens }));
    }
  }
  markEos(st, outcome.finishedSeqIds, false);
  return finished;
}

function markEos(st: EngineState, seqIds: readonly number[], value: boolean): void {
  for (const id of seqIds) {
    const s = st.seqs.get(id);
    if (s) s.eosPending = value;
  }
}

/** Adds the step's tokens to KV; returns true when the step sampled an output token for s. */
function advance(st: EngineState, s: Seq, numNew: number, nowS: number): boolean {
  if (s.decoding) {
    s.computedTokens += numNew;
    s.outputTokens++;
    return true;
  }
  // Prefill: every token computed leaves the pending count; the sample makes it a decoding sequence.
  st.counts.pendingPrefillTokens -= numNew;
  s.computedTokens += numNew;
  s.prefilledTokens = Math.min(s.computedTokens, s.promptTokens);
  if (s.computedTokens < numTokens(s)) return false;
  s.outputTokens++;
  s.decoding = true;
  startDecoding(st, s);
  if (s.firstTokenS === undefined) s.firstTokenS = nowS;
  return true;
}

/** Removes s from wherever it is, frees its KV, and records how it ended. */
export function endSeq(st: EngineState, s: Seq, end: RequestEnd): FinishedSeq {
  if (s.heapIndex >= 0) leaveQueue(st, s);
  else if (s.phase === 'running') leaveRunning(st, s);
  else if (s.swapped) st.counts.swapped--; // the swapped list drops it lazily
  st.counts.pendingPrefillTokens -= s.decoding ? 0 : numTokens(s) - s.computedTokens;
  st.ledger.release(s.seqId);
  s.kvBlocks = 0;
  s.swapped = false;
  s.phase = 'finished';
  st.seqs.delete(s.seqId);
  return { seq: s, end };
}
