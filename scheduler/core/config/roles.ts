// Instance roles (architecture §4): a model instance is `prefill` (runs only the prefill of requests that are handed
// to a decode instance afterwards), `decode` (runs decodes it received by KV hand-off or migration, and the prefill
// of a short uncached suffix itself) or `mixed` (both, as an aggregated engine). A pool says how many of its
// instances take each role — `roles: {prefill: 8, decode: 16}` (the rest mixed) or a list, one role per instance —
// in the pools config (`pools[i].roles`) and in cluster files (`roles`, per NVLink domain). No roles: every
// instance is mixed and nothing of the disaggregation machinery runs.
import { asParams, ConfigError, onlyKeys, readNumber } from './params.js';

export const INSTANCE_ROLES = ['prefill', 'decode', 'mixed'] as const;
export type InstanceRole = (typeof INSTANCE_ROLES)[number];

/** Counts (the first `prefill` instances are prefill, the next `decode` decode, the rest mixed) or one role per instance. */
export type RolesSpec = { prefill: number; decode: number } | readonly InstanceRole[];

/** `{prefill: n, decode: m}` or a list of roles; absent → undefined (every instance mixed). */
export function readRoles(value: unknown, path: string): RolesSpec | undefined {
  if (value === undefined) return undefined;
  if (Array.isArray(value)) {
    return value.map((role: unknown, i) => {
      if (typeof role !== 'string' || !(INSTANCE_ROLES as readonly string[]).includes(role)) {
        throw new ConfigError(`${path}[${i}]`, `expected one of ${INSTANCE_ROLES.join(', ')}, got ${JSON.stringify(role)}`);
      }
      return role as InstanceRole;
    });
  }
  const p = asParams(value, path);
  onlyKeys(p, path, ['prefill', 'decode']);
  return { prefill: readNumber(p, 'prefill', path, 0, { integer: true, min: 0 }), decode: readNumber(p, 'decode', path, 0, { integer: true, min: 0 }) };
}

/** The role of each of `count` instances; errors name `path` (too many roles, prefill without anything to decode). */
export function assignRoles(spec: RolesSpec | undefined, count: number, path: string): InstanceRole[] {
  const roles: InstanceRole[] = new Array<InstanceRole>(count).fill('mixed');
  if (spec === undefined) return roles;
  if (Array.isArray(spec)) {
    const list = spec as readonly InstanceRole[];
    if (list.length > count) throw new ConfigError(path, `${list.length} roles listed for ${count} instances`);
    list.forEach((role, i) => (roles[i] = role));
  } else {
    const counts = spec as { prefill: number; decode: number };
    if (counts.prefill + counts.decode > count) {
      throw new ConfigError(path, `prefill ${counts.prefill} + decode ${counts.decode} exceeds the ${count} instances`);
    }
    for (let i = 0; i < counts.prefill; i++) roles[i] = 'prefill';
    for (let i = 0; i < counts.decode; i++) roles[counts.prefill + i] = 'decode';
  }
  checkRoles(roles, path);
  return roles;
}

/** A set of instances with prefill ones must have a decode or mixed one to hand their KV to. */
export function checkRoles(roles: readonly (InstanceRole | undefined)[], path: string): void {
  const prefill = roles.filter((r) => r === 'prefill').length;
  if (prefill > 0 && prefill === roles.length) {
    throw new ConfigError(path, `${prefill} prefill instance(s) and no decode or mixed instance to hand their KV to`);
  }
}

export function rolesSummary(roles: readonly (InstanceRole | undefined)[]): { prefill: number; decode: number; mixed: number } {
  const out = { prefill: 0, decode: 0, mixed: 0 };
  for (const r of roles) out[r ?? 'mixed']++;
  return out;
}
