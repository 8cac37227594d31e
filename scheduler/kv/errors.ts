// Errors of the KV-cache manager and the argument checks that raise them. Shared by the TypeScript reference and
// the native addon facade, so that callers (and the differential test) see one shape: an Error whose `.code` is a
// KV_ERROR_CODES string and whose message names the field and the allowed values (native/SPEC.md §10).
import type { KvError, KvErrorCode } from './types.js';

export function kvError(code: KvErrorCode, message: string): KvError {
  const err = new Error(message) as KvError;
  err.name = 'KvError';
  err.code = code;
  return err;
}

export function isKvError(value: unknown): value is KvError {
  return value instanceof Error && typeof (value as { code?: unknown }).code === 'string';
}

export function invalidArgument(message: string): KvError {
  return kvError('E_INVALID_ARGUMENT', message);
}

/** Renders a received value for an error message: `80`, `"3" (string)`, `an Array`, `undefined`. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return `${JSON.stringify(value)} (string)`;
  if (typeof value === 'bigint') return `${value}n (bigint)`;
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'an Array';
  if (typeof value === 'object') return `a ${value.constructor?.name ?? 'Object'}`;
  return String(value);
}

/** An integer in [min, max] (JS numbers only; NaN, 1.5 and "3" are rejected). */
export function requireInteger(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalidArgument(`${field} must be an integer in [${min}, ${max}], got ${describeValue(value)}`);
  }
  return value;
}

/** A finite number in [min, max], or in (min, max] when minExclusive. */
export function requireFinite(
  value: unknown,
  field: string,
  min: number,
  max: number,
  minExclusive = false,
): number {
  const ok =
    typeof value === 'number' && Number.isFinite(value) && (minExclusive ? value > min : value >= min) && value <= max;
  if (!ok) {
    // An unbounded maximum reads better as "> 0" than as a range ending in 1.8e308.
    const range =
      max === Number.MAX_VALUE ? `${minExclusive ? '>' : '≥'} ${min}` : `in ${minExclusive ? '(' : '['}${min}, ${max}]`;
    throw invalidArgument(`${field} must be a finite number ${range}, got ${describeValue(value)}`);
  }
  return value as number;
}

export function requireOneOf<T extends string>(value: unknown, field: string, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    const names = allowed.map((a) => `'${a}'`).join(', ');
    throw invalidArgument(`${field} must be one of ${names}, got ${describeValue(value)}`);
  }
  return value as T;
}

export function requireObject(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidArgument(`${field} must be an object, got ${describeValue(value)}`);
  }
  return value as Record<string, unknown>;
}

/** Hash chains cross the API as BigUint64Array only: a plain array of bigints is a type error (SPEC §10). */
export function requireBigUint64Array(value: unknown, field: string): BigUint64Array {
  if (!(value instanceof BigUint64Array)) {
    throw invalidArgument(`${field} must be a BigUint64Array, got ${describeValue(value)}`);
  }
  return value;
}
