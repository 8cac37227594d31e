// `quality-per-cost` (ours): among the pools that can take the request, the one with the highest
//   quality^qualityExponent / expected cost per completed task,
// where cost per completed task = expected request cost / quality (a task that fails with probability 1 − q is
// retried, on average 1/q attempts), and the expected request cost prices the pool's tokens:
//   (uncached input × input price + cached input × cached price + reference output × tokenEfficiency × output
//    price) / 1e6, output capped at max_tokens.
// With the default exponent 1 the score is q² / cost: quality counts once as the value of the answer and once
// through the retries it saves. Constraints, in order: req.model pin → context (reliable first, then beyond-
// reliable pools only when no allowed pool is reliable for it) → quality > 0 and ≥ minQuality → healthy and under
// maxSaturation → predicted TTFT within the shape's SLO. When no pool meets the TTFT SLO, the usable pool with the
// lowest predicted TTFT takes it (best effort) rather than a rejection: admission, which sees the instance, decides
// whether to refuse. Ties keep the earlier pool (strict comparisons), so decisions are deterministic.
import { readEnum, readNumber, onlyKeys, type Params } from '../config/params.js';
import type { Classification, PoolLoad, PoolRouter, PoolSpec, RouteDecision, ScheduleRequest } from '../types.js';
import {
  contextTooLong, findLoad, noPool, OUTPUT_ESTIMATES, pinned, PIN_UNKNOWN, poolOutputTokens, predictedTtftS,
  referenceOutputTokens, resolvePin, saturated, usable, type OutputEstimate, type RouteLoad,
} from './common.js';

export interface QualityPerCostParams {
  /** Exponent on quality in the numerator (1: q²/cost; 0: cheapest per completed task). */
  qualityExponent: number;
  /** Pools whose quality for the shape is below this are not candidates. Quality 0 never is. */
  minQuality: number;
  /** Pools at or above this saturation (0..1] are skipped. */
  maxSaturation: number;
  /** Floor on a request's expected cost, so zero-priced pools compare by quality instead of dividing by 0. */
  minCostUsd: number;
  /** Which output prediction sizes the context and the cost. */
  outputEstimate: OutputEstimate;
}

export const QUALITY_PER_COST_DEFAULTS: QualityPerCostParams = {
  qualityExponent: 1,
  minQuality: 0,
  maxSaturation: 1,
  minCostUsd: 1e-9,
  outputEstimate: 'expected',
};

export function readQualityPerCostParams(params: Params, path: string): QualityPerCostParams {
  const d = QUALITY_PER_COST_DEFAULTS;
  onlyKeys(params, path, Object.keys(d));
  return {
    qualityExponent: readNumber(params, 'qualityExponent', path, d.qualityExponent, { min: 0, max: 8 }),
    minQuality: readNumber(params, 'minQuality', path, d.minQuality, { min: 0, max: 1 }),
    maxSaturation: readNumber(params, 'maxSaturation', path, d.maxSaturation, { above: 0, max: 1 }),
    minCostUsd: readNumber(params, 'minCostUsd', path, d.minCostUsd, { above: 0 }),
    outputEstimate: readEnum(params, 'outputEstimate', path, OUTPUT_ESTIMATES, d.outputEstimate),
  };
}

/** Expected USD of one attempt of this request on this pool. */
export function expectedRequestCostUsd(req: ScheduleRequest, pool: PoolSpec, outputTokens: number, cachedTokens: number): number {
  const cached = Math.min(Math.max(cachedTokens, 0), req.promptTokens);
  return ((req.promptTokens - cached) * pool.usdPerMInputTokens + cached * pool.usdPerMCachedInputTokens + outputTokens * pool.usdPerMOutputTokens) / 1e6;
}

const REASON_BEST = 'highest quality per expected cost per completed task within the TTFT SLO';
const REASON_BEYOND = 'highest quality per cost among pools accepting beyond their reliable context';
const REASON_BEST_EFFORT = 'best effort: no pool meets the TTFT SLO, lowest predicted TTFT';

export function createQualityPerCostRouter(params: Params, path: string): PoolRouter {
  const p = readQualityPerCostParams(params, path);
  const score = (quality: number, costUsd: number): number => Math.pow(quality, p.qualityExponent) * quality / Math.max(costUsd, p.minCostUsd);

  function route(req: ScheduleRequest, cls: Classification, pools: readonly PoolSpec[], loads: readonly PoolLoad[]): RouteDecision {
    if (pools.length === 0) return noPool(req.model, pools);
    const pin = resolvePin(req.model, pools);
    if (pin === PIN_UNKNOWN) return noPool(req.model, pools);
    const refTokens = referenceOutputTokens(cls, p.outputEstimate);
    // Pass 1: does any allowed pool hold the request within its reliable context? Then only those may take it.
    let anyReliable = false;
    let anyBeyond = false;
    for (let i = 0; i < pools.length; i++) {
      const pool = pools[i] as PoolSpec;
      if (!pinned(pin, pool, req.model)) continue;
      const need = req.promptTokens + poolOutputTokens(req, pool, refTokens);
      if (need <= pool.reliableContextTokens) anyReliable = true;
      else if (pool.acceptBeyondReliable && need <= pool.maxContextTokens) anyBeyond = true;
    }
    if (!anyReliable && !anyBeyond) return contextTooLong(req, refTokens, pools, pin, true);
    // Pass 2: best score within the SLO; remember the fastest usable pool for the best-effort fallback.
    const shape = cls.shape;
    let best = -1;
    let bestScore = -1;
    let bestCost = 0;
    let fast = -1;
    let fastTtftS = Number.POSITIVE_INFINITY;
    let fastCost = 0;
    let anyQuality = false;
    for (let i = 0; i < pools.length; i++) {
      const pool = pools[i] as PoolSpec;
      if (!pinned(pin, pool, req.model)) continue;
      const outTokens = poolOutputTokens(req, pool, refTokens);
      const need = req.promptTokens + outTokens;
      if (anyReliable ? need > pool.reliableContextTokens : !pool.acceptBeyondReliable || need > pool.maxContextTokens) continue;
      const quality = pool.quality[shape];
      if (!(quality > 0) || quality < p.minQuality) continue;
      anyQuality = true;
      const load = findLoad(pools, loads, i);
      if (!usable(pool, load, p.maxSaturation)) continue;
      const cost = expectedRequestCostUsd(req, pool, outTokens, (load as RouteLoad | undefined)?.cachedPromptTokens ?? 0);
      const ttftS = predictedTtftS(pool, load, shape);
      if (ttftS <= cls.slo.ttftS) {
        const s = score(quality, cost);
        if (s > bestScore) {
          best = i;
          bestScore = s;
          bestCost = cost;
        }
      } else if (ttftS < fastTtftS) {
        fast = i;
        fastTtftS = ttftS;
        fastCost = cost;
      }
    }
    if (best >= 0) return { ok: true, pool: (pools[best] as PoolSpec).name, expectedCostUsd: bestCost, score: bestScore, reason: anyReliable ? REASON_BEST : REASON_BEYOND };
    if (fast >= 0) {
      const pool = pools[fast] as PoolSpec;
      return { ok: true, pool: pool.name, expectedCostUsd: fastCost, score: score(pool.quality[shape], fastCost), reason: REASON_BEST_EFFORT };
    }
    if (!anyQuality) {
      return { ok: false, code: 'E_NO_POOL', message: `no pool that fits the context has quality > 0 and ≥ minQuality (${p.minQuality}) for shape ${shape}` };
    }
    return saturated(shape, 'pool that fits the context');
  }

  return { name: 'quality-per-cost', route };
}
