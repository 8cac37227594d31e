// Parameter readers shared by the streaming predictors (output length, think time).
import { ConfigError, type Params } from '../config/params.js';

/** A list of distinct names from `allowed` (e.g. the levels a predictor consults); fallback when absent. */
export function readNameList<T extends string>(params: Params, key: string, path: string, allowed: readonly T[], fallback: readonly T[]): T[] {
  const value = params[key];
  if (value === undefined) return [...fallback];
  const field = `${path}.${key}`;
  if (!Array.isArray(value)) throw new ConfigError(field, `expected a list drawn from ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  const out: T[] = [];
  value.forEach((item: unknown, i: number) => {
    if (typeof item !== 'string' || !(allowed as readonly string[]).includes(item)) {
      throw new ConfigError(`${field}[${i}]`, `expected one of ${allowed.join(', ')}, got ${JSON.stringify(item)}`);
    }
    if (out.includes(item as T)) throw new ConfigError(`${field}[${i}]`, `'${item}' is listed twice`);
    out.push(item as T);
  });
  return out;
}

/** Sorted distinct quantiles and where each requested one landed in that list (one histogram scan answers all). */
export function quantilePlan(requested: readonly number[]): { qs: Float64Array; at: number[] } {
  const sorted = [...new Set(requested)].sort((a, b) => a - b);
  return { qs: Float64Array.from(sorted), at: requested.map((q) => sorted.indexOf(q)) };
}
