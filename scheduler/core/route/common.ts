// What every pool router shares: resolving `req.model`, finding a pool's load, sizing the context a request needs
// on a pool, and the error messages. Nothing here allocates on the success path: routing runs per request.
import type { Classification, PoolLoad, PoolSpec, RouteDecision, ScheduleRequest, Shape } from '../types.js';

/**
 * Optional extra the caller may put on a PoolLoad: prompt tokens of this request already cached on the pool (a
 * prefix-hit estimate, e.g. for a session's next turn). Absent = 0 (no cache assumed, the conservative price).
 */
export interface RouteLoad extends PoolLoad {
  cachedPromptTokens?: number;
}

/** How `req.model` restricts the pools: none, by pool name, or by model name. */
export const PIN_NONE = 0;
export const PIN_NAME = 1;
export const PIN_MODEL = 2;
export const PIN_UNKNOWN = -1;

/** Pool names win over model names, so an operator can pin one of two pools serving the same model. */
export function resolvePin(model: string | undefined, pools: readonly PoolSpec[]): number {
  if (!model) return PIN_NONE;
  let byModel = false;
  for (let i = 0; i < pools.length; i++) {
    const pool = pools[i] as PoolSpec;
    if (pool.name === model) return PIN_NAME;
    if (pool.model === model) byModel = true;
  }
  return byModel ? PIN_MODEL : PIN_UNKNOWN;
}

export function pinned(pin: number, pool: PoolSpec, model: string | undefined): boolean {
  if (pin === PIN_NAME) return pool.name === model;
  if (pin === PIN_MODEL) return pool.model === model;
  return true;
}

/** The pool's load: same index first (callers usually keep loads in pool order), else a search by name. */
export function findLoad(pools: readonly PoolSpec[], loads: readonly PoolLoad[], i: number): RouteLoad | undefined {
  const name = (pools[i] as PoolSpec).name;
  const same = loads[i];
  if (same !== undefined && same.pool === name) return same;
  for (let j = 0; j < loads.length; j++) if ((loads[j] as PoolLoad).pool === name) return loads[j];
  return undefined;
}

/**
 * A pool without a load entry: external pools are assumed healthy, unsaturated and at their configured TTFT;
 * self-hosted pools are unknown, hence unhealthy (no instance has reported).
 */
export function usable(pool: PoolSpec, load: PoolLoad | undefined, maxSaturation: number): boolean {
  if (load === undefined) return pool.external !== undefined;
  return load.healthy && load.saturation < maxSaturation;
}

export function predictedTtftS(pool: PoolSpec, load: PoolLoad | undefined, shape: Shape): number {
  if (load !== undefined) return load.predictedTtftS[shape];
  return pool.external ? pool.external.ttftS : Number.POSITIVE_INFINITY;
}

export type OutputEstimate = 'expected' | 'p50' | 'p90';
export const OUTPUT_ESTIMATES: readonly OutputEstimate[] = ['expected', 'p50', 'p90'];

/** Output tokens the reference model would write (before the pool's token efficiency). */
export function referenceOutputTokens(cls: Classification, estimate: OutputEstimate): number {
  const out = cls.output;
  return estimate === 'p90' ? out.p90Tokens : estimate === 'p50' ? out.p50Tokens : out.expectedTokens;
}

/** Output this pool would write: the reference estimate × its token efficiency, never past max_tokens. */
export function poolOutputTokens(req: ScheduleRequest, pool: PoolSpec, referenceTokens: number): number {
  return Math.min(req.maxOutputTokens, referenceTokens * pool.tokenEfficiency);
}

export function noPool(model: string | undefined, pools: readonly PoolSpec[]): RouteDecision {
  if (pools.length === 0) return { ok: false, code: 'E_NO_POOL', message: 'no pools are configured' };
  const names = pools.map((p) => p.name).join(', ');
  const models = [...new Set(pools.map((p) => p.model))].join(', ');
  return { ok: false, code: 'E_NO_POOL', message: `model ${JSON.stringify(model)} names no pool or model; pools: ${names || '(none)'}; models: ${models || '(none)'}` };
}

/** Largest limit among the pools `req.model` allows, with the pool holding it, for the error message. */
function largest(pools: readonly PoolSpec[], pin: number, model: string | undefined, limit: (p: PoolSpec) => number): string {
  let best: PoolSpec | undefined;
  for (const pool of pools) if (pinned(pin, pool, model) && (best === undefined || limit(pool) > limit(best))) best = pool;
  return best ? `${limit(best)} tokens (pool ${best.name})` : 'none';
}

export function contextTooLong(
  req: ScheduleRequest,
  referenceTokens: number,
  pools: readonly PoolSpec[],
  pin: number,
  reliableToo: boolean,
): RouteDecision {
  const head = `prompt of ${req.promptTokens} tokens + ${Math.round(referenceTokens)} predicted output tokens`;
  const max = largest(pools, pin, req.model, (p) => p.maxContextTokens);
  const message = reliableToo
    ? `${head} exceeds every pool's reliable context (largest ${largest(pools, pin, req.model, (p) => p.reliableContextTokens)}) and no pool accepting beyond it takes it (largest maximum ${max}); shorten the prompt or configure acceptBeyondReliable on a pool with a larger maximum`
    : `${head} exceeds every pool's maximum context (largest ${max})`;
  return { ok: false, code: 'E_CONTEXT_TOO_LONG', message };
}

export function saturated(shape: Shape, what: string): RouteDecision {
  return { ok: false, code: 'E_POOL_SATURATED', message: `every ${what} for a ${shape} request is unhealthy or saturated; retry later` };
}
