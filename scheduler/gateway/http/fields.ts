// Readers for the JSON fields of OpenAI request bodies: each returns the value (undefined when absent or null, as
// OpenAI treats null) or throws a FieldError naming the field's path and what was expected.
import { FieldError } from './errors.js';

export type JsonObject = Record<string, unknown>;

export const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A short description of a bad value for messages (never the whole of a huge value). */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return v.length > 40 ? `a string of ${v.length} characters` : JSON.stringify(v);
  return String(v);
}

export const path = (parent: string, key: string | number): string => (typeof key === 'number' ? `${parent}[${key}]` : parent === '' ? key : `${parent}.${key}`);

function present(o: JsonObject, key: string): unknown {
  const v = Object.hasOwn(o, key) ? o[key] : undefined;
  return v === null ? undefined : v;
}

export function optString(o: JsonObject, key: string, at: string, maxChars = Infinity): string | undefined {
  const v = present(o, key);
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new FieldError(path(at, key), `expected a string, got ${describe(v)}`);
  if (v.length > maxChars) throw new FieldError(path(at, key), `at most ${maxChars} characters, got ${v.length}`);
  return v;
}

export function optBool(o: JsonObject, key: string, at: string): boolean | undefined {
  const v = present(o, key);
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw new FieldError(path(at, key), `expected true or false, got ${describe(v)}`);
  return v;
}

export function optNumber(o: JsonObject, key: string, at: string, min: number, max: number): number | undefined {
  const v = present(o, key);
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new FieldError(path(at, key), `expected a number, got ${describe(v)}`);
  if (v < min || v > max) throw new FieldError(path(at, key), `expected ${min} ≤ value ≤ ${max}, got ${v}`);
  return v;
}

/** An integer ≥ min; values past `max` are an error of their own (the caller's message says why). */
export function optInt(o: JsonObject, key: string, at: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  const v = present(o, key);
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new FieldError(path(at, key), `expected an integer, got ${describe(v)}`);
  if (v < min || v > max) throw new FieldError(path(at, key), `expected ${min} ≤ value ≤ ${max}, got ${v}`);
  return v;
}

export function optEnum<T extends string>(o: JsonObject, key: string, at: string, values: readonly T[]): T | undefined {
  const v = present(o, key);
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) throw new FieldError(path(at, key), `expected one of ${values.join(', ')}, got ${describe(v)}`);
  return v as T;
}

export function optObject(o: JsonObject, key: string, at: string): JsonObject | undefined {
  const v = present(o, key);
  if (v === undefined) return undefined;
  if (!isObject(v)) throw new FieldError(path(at, key), `expected an object, got ${describe(v)}`);
  return v;
}

export function optArray(o: JsonObject, key: string, at: string, maxItems: number): unknown[] | undefined {
  const v = present(o, key);
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) throw new FieldError(path(at, key), `expected an array, got ${describe(v)}`);
  if (v.length > maxItems) throw new FieldError(path(at, key), `at most ${maxItems} items, got ${v.length}`);
  return v;
}

/** A field this server accepts but cannot honour: allowed only at its neutral value(s). */
export function onlyNeutral(o: JsonObject, key: string, at: string, ok: (v: unknown) => boolean, what: string): void {
  const v = present(o, key);
  if (v !== undefined && !ok(v)) throw new FieldError(path(at, key), `not supported by this server (${what}), got ${describe(v)}`);
}
