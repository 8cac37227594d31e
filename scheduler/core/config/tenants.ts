// The `tenants` section of the YAML config: what each tenant is entitled to. One contract read in two places:
// the gateway's edge (API keys name a tenant; quotas refuse with 429 + Retry-After before anything is scheduled)
// and the scheduler core (the priority band and the fair-share weight order each shape's queue). A tenant the
// section does not name gets `default`'s entry, so a request is never refused for its tenant name alone.
//
//   tenants:
//     default: {weight: 1}
//     acme:    {weight: 4, priorityBand: high, maxConcurrentRequests: 64, tokensPerMinute: 2000000}
//     batchco: {weight: 1, priorityBand: low, tokensPerMinute: 500000, burstTokens: 100000}
import { ConfigError, asParams, onlyKeys, readEnum, readNumber, type Params } from './params.js';

export const PRIORITY_BANDS = ['low', 'normal', 'high'] as const;
export type PriorityBand = (typeof PRIORITY_BANDS)[number];

export interface TenantPolicy {
  name: string;
  /** Fair-share weight inside each shape's queue: a tenant's share of the service is weight / Σ active weights. */
  weight: number;
  /** Orders a tenant's requests before any lower band's inside each shape's queue (scheduler core). */
  priorityBand: PriorityBand;
  /** Requests in flight at once (queued or running); null: no cap. */
  maxConcurrentRequests: number | null;
  /** Token-rate quota: prompt + max output tokens admitted per minute (a token bucket); null: no cap. */
  tokensPerMinute: number | null;
  /** Bucket size of the token-rate quota (default: one minute's worth); ignored without tokensPerMinute. */
  burstTokens: number | null;
}

export interface TenantsConfig {
  /** By tenant name; always holds `default`. */
  byName: ReadonlyMap<string, TenantPolicy>;
}

export const DEFAULT_TENANT = 'default';

const KEYS = ['weight', 'priorityBand', 'maxConcurrentRequests', 'tokensPerMinute', 'burstTokens'];
/** Tenant names travel as the x-tenant header and the gRPC tenant field (≤ 128 characters there too). */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

function nullable(p: Params, key: string, path: string, rule: { integer?: boolean }): number | null {
  if (p[key] === undefined || p[key] === null) return null;
  return readNumber(p, key, path, 0, { above: 0, ...rule });
}

function readTenant(name: string, value: unknown, path: string): TenantPolicy {
  const p = asParams(value, path);
  onlyKeys(p, path, KEYS);
  const tokensPerMinute = nullable(p, 'tokensPerMinute', path, {});
  const burstTokens = nullable(p, 'burstTokens', path, {});
  if (burstTokens !== null && tokensPerMinute === null) throw new ConfigError(`${path}.burstTokens`, 'needs tokensPerMinute');
  return {
    name,
    weight: readNumber(p, 'weight', path, 1, { above: 0, max: 1e6 }),
    priorityBand: readEnum(p, 'priorityBand', path, PRIORITY_BANDS, 'normal'),
    maxConcurrentRequests: nullable(p, 'maxConcurrentRequests', path, { integer: true }),
    tokensPerMinute,
    burstTokens,
  };
}

/** Validates the section (undefined: every tenant is `default` with weight 1, normal band, no quotas). */
export function parseTenants(value: unknown, path = 'config.tenants'): TenantsConfig {
  const doc = asParams(value, path);
  const byName = new Map<string, TenantPolicy>();
  for (const [name, spec] of Object.entries(doc)) {
    if (!NAME.test(name)) throw new ConfigError(`${path}.${name}`, 'tenant names are 1–128 characters of letters, digits and . _ : - (starting with a letter or digit)');
    byName.set(name, readTenant(name, spec, `${path}.${name}`));
  }
  if (!byName.has(DEFAULT_TENANT)) byName.set(DEFAULT_TENANT, readTenant(DEFAULT_TENANT, undefined, `${path}.${DEFAULT_TENANT}`));
  return { byName };
}

/** The entry that governs `tenant` (its own, else `default`'s). */
export function tenantPolicy(cfg: TenantsConfig, tenant: string): TenantPolicy {
  return cfg.byName.get(tenant) ?? (cfg.byName.get(DEFAULT_TENANT) as TenantPolicy);
}

/** A valid tenant name (API key records and headers use the same rule as this section). */
export function isTenantName(name: string): boolean {
  return NAME.test(name);
}
