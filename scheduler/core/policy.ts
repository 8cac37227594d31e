// A scheduling policy is one choice per plugin slot: pool router, placement pipeline, batch policy, admission and
// KV retention (classification is shared: every policy sees the same shapes and output predictions, only some use
// them). Two more slots, `disaggregation` and `migration`, matter only where instances have roles (config/roles.ts)
// or migration is turned on; absent, they are `aggregated` and `none` and nothing of them runs. The baselines
// differ from `shape-aware` only in these slots; the engine underneath (continuous batching with a token budget,
// prefix caching, chunked prefill) is the same for all, so comparisons isolate the policy.
import { ConfigError, asParams, onlyKeys, type Params } from './config/params.js';

export interface PolicyConfig {
  router: unknown;
  placement: unknown;
  batch: unknown;
  admission: unknown;
  retention: unknown;
  /** Per request: aggregated or prefill → KV hand-off → decode (disagg/decide.ts). Default `aggregated`. */
  disaggregation?: unknown;
  /** Live migration of running decodes between instances of a domain (disagg/migrate.ts). Default `none`. */
  migration?: unknown;
}

const BASELINE_ENGINE = {
  router: { name: 'by-model' },
  // vLLM's default scheduler: arrival order, recompute preemption of the latest arrival, no output reservation.
  batch: { name: 'fcfs' },
  admission: { name: 'always' },
  // vLLM/SGLang free a finished request's KV; its prefix stays only as evictable cache.
  retention: { name: 'drop' },
} as const;

export const POLICY_PROFILES: Readonly<Record<string, PolicyConfig>> = {
  'shape-aware': {
    router: { name: 'quality-per-cost' },
    placement: 'shape-aware',
    batch: { name: 'shape-aware' },
    admission: { name: 'slo' },
    retention: { name: 'cost-aware' },
  },
  'round-robin': { ...BASELINE_ENGINE, placement: 'round-robin' },
  'least-loaded': { ...BASELINE_ENGINE, placement: 'least-loaded' },
  'sglang-cache-aware': { ...BASELINE_ENGINE, placement: 'sglang-cache-aware' },
  'dynamo-kv': { ...BASELINE_ENGINE, placement: 'dynamo-kv' },
  'llm-d-weighted': { ...BASELINE_ENGINE, placement: 'llm-d-weighted' },
};

export const POLICY_NAMES = Object.keys(POLICY_PROFILES);

const SLOTS = ['base', 'router', 'placement', 'batch', 'admission', 'retention', 'disaggregation', 'migration'] as const;

/**
 * A policy by name, or a mapping that starts from a profile (`base`, default shape-aware) and overrides slots:
 * `{base: dynamo-kv, admission: {name: slo}}` is Dynamo's placement with our admission control.
 */
export function readPolicy(value: unknown, path = 'policy'): { name: string; config: PolicyConfig } {
  if (typeof value === 'string' || value === undefined) {
    const name = value ?? 'shape-aware';
    const profile = Object.hasOwn(POLICY_PROFILES, name) ? POLICY_PROFILES[name] : undefined;
    if (!profile) throw new ConfigError(path, `unknown policy ${JSON.stringify(name)}; known: ${POLICY_NAMES.join(', ')}`);
    return { name, config: profile };
  }
  const p: Params = asParams(value, path);
  onlyKeys(p, path, SLOTS);
  const base = readPolicy(p.base === undefined ? 'shape-aware' : p.base, `${path}.base`);
  if (p.base !== undefined && typeof p.base !== 'string') throw new ConfigError(`${path}.base`, 'expected a policy name');
  const config: PolicyConfig = { ...base.config };
  for (const slot of SLOTS) if (slot !== 'base' && p[slot] !== undefined) config[slot] = p[slot];
  return { name: `${base.name}+custom`, config };
}
