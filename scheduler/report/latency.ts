// Per-request latencies and the SLO verdict, from a RequestRecord alone (definitions as vLLM's bench serve).
import type { RequestRecord } from '../workload/types.js';
import { effectiveSlo, type SloOverrides } from './goodput.js';

/** Float noise allowance on inclusive bounds: 0.1 + 0.2 must still meet a 0.3 s target. */
const SLO_EPSILON_S = 1e-9;

/** Time to first token; undefined when the request never produced one. */
export function ttftS(r: RequestRecord): number | undefined {
  return r.firstTokenS === undefined ? undefined : r.firstTokenS - r.arrivalS;
}

/**
 * Time per output token after the first: (end − firstToken) / (outputTokens − 1). Undefined for fewer than two
 * output tokens (no gap to measure). Without per-token timestamps this is also each request's mean inter-token
 * latency (AIPerf's `inter_token_latency` is this formula).
 */
export function tpotS(r: RequestRecord): number | undefined {
  if (r.firstTokenS === undefined || r.outputTokens < 2) return undefined;
  return (r.endS - r.firstTokenS) / (r.outputTokens - 1);
}

export function e2eS(r: RequestRecord): number {
  return r.endS - r.arrivalS;
}

/**
 * Good = completed, and TTFT, TPOT (and e2e when bounded) within the effective SLO, inclusive. Rejected and
 * cancelled requests are never good. As in vLLM, TPOT counts as 0 with ≤ 1 output token; a completed request with
 * no first token (0 output tokens) is judged on its end-to-end time as its TTFT — the client waited that long.
 */
export function meetsSlo(r: RequestRecord, overrides: SloOverrides): boolean {
  if (r.end.kind !== 'completed') return false;
  const slo = effectiveSlo(r, overrides);
  const ttft = ttftS(r) ?? e2eS(r);
  const tpot = tpotS(r) ?? 0;
  return ttft <= slo.ttftS + SLO_EPSILON_S && tpot <= slo.tpotS + SLO_EPSILON_S && e2eS(r) <= slo.e2eS + SLO_EPSILON_S;
}
