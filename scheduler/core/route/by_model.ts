// `by-model` (baseline; `first-pool` is the same router under another name): what a model-name proxy does
// (LiteLLM's model_name → deployment map with fallbacks and cooldowns, reference/anchors-mission.md [R3]): the
// pools `req.model` names, else every pool, in configured order; the first healthy, unsaturated one whose
// *advertised* maximum context holds prompt + predicted output. No quality, price or reliable-context reasoning:
// that is what it is a baseline for.
import { onlyKeys, readEnum, readNumber, type Params } from '../config/params.js';
import type { Classification, PoolLoad, PoolRouter, PoolSpec, RouteDecision, ScheduleRequest } from '../types.js';
import {
  contextTooLong, findLoad, noPool, OUTPUT_ESTIMATES, pinned, PIN_UNKNOWN, referenceOutputTokens, resolvePin, saturated,
  usable, type OutputEstimate,
} from './common.js';

export interface ByModelParams {
  maxSaturation: number;
  outputEstimate: OutputEstimate;
}

export const BY_MODEL_DEFAULTS: ByModelParams = { maxSaturation: 1, outputEstimate: 'expected' };

export function createByModelRouter(name: string): (params: Params, path: string) => PoolRouter {
  return (params, path) => {
    onlyKeys(params, path, Object.keys(BY_MODEL_DEFAULTS));
    const maxSaturation = readNumber(params, 'maxSaturation', path, BY_MODEL_DEFAULTS.maxSaturation, { above: 0, max: 1 });
    const outputEstimate = readEnum(params, 'outputEstimate', path, OUTPUT_ESTIMATES, BY_MODEL_DEFAULTS.outputEstimate);

    function route(req: ScheduleRequest, cls: Classification, pools: readonly PoolSpec[], loads: readonly PoolLoad[]): RouteDecision {
      if (pools.length === 0) return noPool(req.model, pools);
      const pin = resolvePin(req.model, pools);
      if (pin === PIN_UNKNOWN) return noPool(req.model, pools);
      const refTokens = referenceOutputTokens(cls, outputEstimate);
      const need = req.promptTokens + Math.min(req.maxOutputTokens, refTokens);
      let anyFits = false;
      for (let i = 0; i < pools.length; i++) {
        const pool = pools[i] as PoolSpec;
        if (!pinned(pin, pool, req.model) || need > pool.maxContextTokens) continue;
        anyFits = true;
        if (!usable(pool, findLoad(pools, loads, i), maxSaturation)) continue;
        return { ok: true, pool: pool.name, expectedCostUsd: 0, score: 1, reason: pin ? 'the pool req.model names' : 'first pool' };
      }
      return anyFits ? saturated(cls.shape, 'pool that fits the context') : contextTooLong(req, refTokens, pools, pin, false);
    }

    return { name, route };
  };
}
