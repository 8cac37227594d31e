// `slo` (ours): reject at arrival what waiting would make miss its TTFT, instead of queueing it to fail later
// (Mooncake's prediction-based early rejection, per request instead of per load level).
//
//   target  = cls.slo.ttftS · slack
//   queued ≥ maxQueuedRequests          → E_QUEUE_FULL,      retryAfterS = predicted · (queued − max + 1) / queued
//   predicted ≤ target                  → admit
//   nothing queued ahead                → admit (no wait to shed: the request is as fast here as it can be)
//   own prefill alone > target          → admit (only known with prefillTokensPerS; rejecting would never help)
//   otherwise                           → E_SLO_UNREACHABLE, retryAfterS = the excess (predicted − target): the time
//                                          for the work ahead to drain enough (it is ≤ the wait ahead, else hopeless)
// retryAfterS is clamped to [minRetryAfterS, maxRetryAfterS].
import { ConfigError, asParams, onlyKeys, readNumber } from '../../config/params.js';
import type { AdmissionDecision, AdmissionPolicy, Classification, InstanceView, ScheduleRequest } from '../../types.js';

export interface SloAdmissionParams {
  slack: number;
  maxQueuedRequests: number;
  /** The instance's prefill throughput, to tell queue wait from own prefill; 0 = unknown (all of it counts as wait). */
  prefillTokensPerS: number;
  minRetryAfterS: number;
  maxRetryAfterS: number;
}

export const SLO_ADMISSION_DEFAULTS: Readonly<SloAdmissionParams> = {
  slack: 1,
  maxQueuedRequests: 512,
  prefillTokensPerS: 0,
  minRetryAfterS: 0.1,
  maxRetryAfterS: 60,
};

export function readSloAdmissionParams(value: unknown, path: string): SloAdmissionParams {
  const p = asParams(value, path);
  onlyKeys(p, path, Object.keys(SLO_ADMISSION_DEFAULTS));
  const d = SLO_ADMISSION_DEFAULTS;
  const out = {
    slack: readNumber(p, 'slack', path, d.slack, { above: 0 }),
    maxQueuedRequests: readNumber(p, 'maxQueuedRequests', path, d.maxQueuedRequests, { min: 1, integer: true }),
    prefillTokensPerS: readNumber(p, 'prefillTokensPerS', path, d.prefillTokensPerS, { min: 0 }),
    minRetryAfterS: readNumber(p, 'minRetryAfterS', path, d.minRetryAfterS, { min: 0 }),
    maxRetryAfterS: readNumber(p, 'maxRetryAfterS', path, d.maxRetryAfterS, { above: 0 }),
  };
  if (out.maxRetryAfterS < out.minRetryAfterS) {
    throw new ConfigError(`${path}.maxRetryAfterS`, `expected a number ≥ minRetryAfterS (${out.minRetryAfterS}), got ${out.maxRetryAfterS}`);
  }
  return out;
}

export function makeSloAdmission(params: unknown, path: string): AdmissionPolicy {
  const p = readSloAdmissionParams(params, path);
  const clamp = (s: number) => Math.min(p.maxRetryAfterS, Math.max(p.minRetryAfterS, s));
  return {
    name: 'slo',
    decide(_req: ScheduleRequest, cls: Classification, inst: InstanceView, predictedTtftS: number): AdmissionDecision {
      const queued = inst.queuedRequests;
      if (queued >= p.maxQueuedRequests) {
        const retryAfterS = clamp((predictedTtftS * (queued - p.maxQueuedRequests + 1)) / queued);
        return { admit: false, code: 'E_QUEUE_FULL', reason: `${queued} requests queued on ${inst.instanceId} (limit ${p.maxQueuedRequests})`, retryAfterS };
      }
      const targetS = cls.slo.ttftS * p.slack;
      if (predictedTtftS <= targetS || (queued === 0 && inst.pendingPrefillTokens === 0)) return { admit: true, predictedTtftS };
      const waitS = p.prefillTokensPerS > 0 ? inst.pendingPrefillTokens / p.prefillTokensPerS : predictedTtftS;
      if (predictedTtftS - waitS > targetS) return { admit: true, predictedTtftS };
      const excessS = predictedTtftS - targetS;
      const reason = `predicted TTFT ${predictedTtftS.toFixed(3)} s exceeds ${cls.shape} target ${targetS.toFixed(3)} s on ${inst.instanceId}`;
      // Not hopeless means the excess is at most the wait ahead: once that much has drained, the target holds.
      return { admit: false, code: 'E_SLO_UNREACHABLE', reason, retryAfterS: clamp(excessS) };
    },
  };
}
