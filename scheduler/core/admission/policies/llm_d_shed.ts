// `llm-d-shed`: llm-d's probabilistic admitter (pkg/epp/framework/plugins/requestcontrol/admitter/
// probabilisticadmitter/plugin.go; anchors-mission.md §2.2). Requests of priority ≥ 0 are always admitted;
// sheddable ones (priority < 0) are rejected with probability min(sat^power · k, 1), where
//   sat = max(waitingQueue / queueDepthThreshold, kvCacheUsage / kvCacheUtilThreshold)
// Defaults are llm-d's: thresholds 5 and 0.8, power 5, k 300. llm-d averages sat over the pool's endpoints; the
// AdmissionPolicy contract sees one instance, so sat is that instance's. KV usage counts blocks held by live
// sequences only, as vLLM's kv_cache_usage leaves reclaimable cached blocks out. llm-d answers 429 without a
// retry hint; retryAfterS is a fixed parameter here.
import { asParams, onlyKeys, readNumber } from '../../config/params.js';
import { Rng } from '../../../util/random.js';
import type { AdmissionDecision, AdmissionPolicy, Classification, InstanceView, ScheduleRequest } from '../../types.js';
import type { AdmissionDeps } from '../types.js';

export interface ShedParams {
  queueDepthThreshold: number;
  kvCacheUtilThreshold: number;
  power: number;
  k: number;
  retryAfterS: number;
  /** Seeds the draw when no RandomSource is injected. */
  seed: number;
}

export const SHED_DEFAULTS: Readonly<ShedParams> = {
  queueDepthThreshold: 5,
  kvCacheUtilThreshold: 0.8,
  power: 5,
  k: 300,
  retryAfterS: 1,
  seed: 0,
};

export function readShedParams(value: unknown, path: string): ShedParams {
  const p = asParams(value, path);
  onlyKeys(p, path, Object.keys(SHED_DEFAULTS));
  const d = SHED_DEFAULTS;
  return {
    queueDepthThreshold: readNumber(p, 'queueDepthThreshold', path, d.queueDepthThreshold, { min: 1, integer: true }),
    kvCacheUtilThreshold: readNumber(p, 'kvCacheUtilThreshold', path, d.kvCacheUtilThreshold, { above: 0 }),
    power: readNumber(p, 'power', path, d.power, { above: 0 }),
    k: readNumber(p, 'k', path, d.k, { above: 0 }),
    retryAfterS: readNumber(p, 'retryAfterS', path, d.retryAfterS, { min: 0 }),
    seed: readNumber(p, 'seed', path, d.seed, { min: 0, integer: true }),
  };
}

export function saturation(p: ShedParams, inst: InstanceView): number {
  const kvUsage = inst.kvBlocksTotal > 0 ? inst.kvBlocksUsed / inst.kvBlocksTotal : 1;
  return Math.max(inst.queuedRequests / p.queueDepthThreshold, kvUsage / p.kvCacheUtilThreshold);
}

export function makeLlmdShed(params: unknown, path: string, deps: AdmissionDeps): AdmissionPolicy {
  const p = readShedParams(params, path);
  const rng = deps.rng ?? new Rng(p.seed);
  return {
    name: 'llm-d-shed',
    decide(req: ScheduleRequest, _cls: Classification, inst: InstanceView, predictedTtftS: number): AdmissionDecision {
      if ((req.priority ?? 0) >= 0) return { admit: true, predictedTtftS };
      const sat = saturation(p, inst);
      const prob = Math.min(Math.pow(sat, p.power) * p.k, 1);
      if (rng.next() < prob) {
        return { admit: false, code: 'E_QUEUE_FULL', reason: `shed: saturation ${sat.toFixed(3)}, p ${prob.toFixed(2)}`, retryAfterS: p.retryAfterS };
      }
      return { admit: true, predictedTtftS };
    },
  };
}
