// The TTFT estimate admission compares with the SLO, for callers without the performance model at hand: the
// instance drains the uncached prefill queued ahead at its prefill throughput, then prefills this request's own
// uncached tokens. (With the perf model, pass its prediction to AdmissionPolicy.decide instead.)
import type { InstanceView } from '../types.js';

export interface TtftEstimate {
  queueWaitS: number;
  ownPrefillS: number;
  ttftS: number;
}

export function predictTtft(
  instance: Pick<InstanceView, 'pendingPrefillTokens'>,
  uncachedPromptTokens: number,
  prefillTokensPerS: number,
): TtftEstimate {
  if (!(prefillTokensPerS > 0)) throw new RangeError(`prefillTokensPerS: expected a number > 0, got ${prefillTokensPerS}`);
  const queueWaitS = instance.pendingPrefillTokens / prefillTokensPerS;
  const ownPrefillS = Math.max(0, uncachedPromptTokens) / prefillTokensPerS;
  return { queueWaitS, ownPrefillS, ttftS: queueWaitS + ownPrefillS };
}
