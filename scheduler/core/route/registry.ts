// The pool routers by the names a config uses. A factory validates its own parameters (ConfigError names the field).
import { asParams, ConfigError, type Params } from '../config/params.js';
import type { PoolRouter } from '../types.js';
import { createByModelRouter } from './by_model.js';
import { createQualityPerCostRouter } from './quality_per_cost.js';

export type PoolRouterFactory = (params: Params, path: string) => PoolRouter;

export const POOL_ROUTERS: Readonly<Record<string, PoolRouterFactory>> = {
  'quality-per-cost': createQualityPerCostRouter,
  'by-model': createByModelRouter('by-model'),
  'first-pool': createByModelRouter('first-pool'),
};

/** A router from config: a name, or {name, params}. `path` names the config field in errors (e.g. `router`). */
export function createPoolRouter(config: unknown, path = 'router'): PoolRouter {
  const spec = typeof config === 'string' ? { name: config } : asParams(config, path);
  const name = spec.name;
  const factory = typeof name === 'string' && Object.hasOwn(POOL_ROUTERS, name) ? POOL_ROUTERS[name] : undefined;
  if (!factory) throw new ConfigError(`${path}.name`, `expected one of ${Object.keys(POOL_ROUTERS).join(', ')}, got ${JSON.stringify(name) ?? 'nothing'}`);
  for (const key of Object.keys(spec)) if (key !== 'name' && key !== 'params') throw new ConfigError(`${path}.${key}`, 'unknown field; allowed: name, params');
  return factory(asParams(spec.params, `${path}.params`), `${path}.params`);
}
