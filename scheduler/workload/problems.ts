// Corrupt trace lines: each becomes a TraceProblem naming the file, the line and the field, and is skipped — or,
// under strict, stops the read with a TraceError carrying the same words.
import type { TraceProblem } from './types.js';

export class TraceError extends Error {
  readonly code = 'E_TRACE';
  constructor(message: string, readonly problem?: TraceProblem) {
    super(message);
    this.name = 'TraceError';
  }
}

export function describeProblem(p: TraceProblem): string {
  return `${p.file}:${p.line}: ${p.message}`;
}

/** Collects problems, or throws the first one when strict. */
export class ProblemLog {
  readonly list: TraceProblem[] = [];
  constructor(readonly strict: boolean) {}

  report(file: string, line: number, message: string): void {
    const problem = { file, line, message };
    if (this.strict) throw new TraceError(describeProblem(problem), problem);
    this.list.push(problem);
  }
}

/** A bad field inside one record; the reader turns it into a problem for the record's line. */
export class FieldError extends Error {}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value);
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? text.slice(0, 40) + '…' : text;
}

export type Rec = Readonly<Record<string, unknown>>;

export function asRecord(value: unknown, what: string): Rec {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new FieldError(`${what}: expected an object, got ${show(value)}`);
  return value as Rec;
}

/** A finite number ≥ min; `path` prefixes the field name in messages (e.g. "requests[3]."). */
export function numberField(rec: Rec, key: string, path: string, min = 0): number {
  const value = rec[key];
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw new FieldError(`${path}${key}: expected a number ≥ ${min}, got ${show(value)}`);
  }
  return value;
}

export function optionalNumberField(rec: Rec, key: string, path: string, min = 0): number | undefined {
  return rec[key] === undefined || rec[key] === null ? undefined : numberField(rec, key, path, min);
}

export function intField(rec: Rec, key: string, path: string, min = 0): number {
  const value = rec[key];
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new FieldError(`${path}${key}: expected an integer ≥ ${min}, got ${show(value)}`);
  }
  return value;
}

/** An array of non-negative safe integers (block ids). */
export function idsField(rec: Rec, key: string, path: string): number[] {
  const value = rec[key];
  if (!Array.isArray(value)) throw new FieldError(`${path}${key}: expected an array of block ids, got ${show(value)}`);
  for (let i = 0; i < value.length; i++) {
    const id: unknown = value[i];
    if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) {
      throw new FieldError(`${path}${key}[${i}]: expected an integer ≥ 0, got ${show(id)}`);
    }
  }
  return value as number[];
}

/** Parses a decimal field of a CSV row (integer when asked). */
export function csvNumber(text: string | undefined, field: string, min: number, integer: boolean): number {
  const trimmed = (text ?? '').trim();
  const value = trimmed === '' ? NaN : Number(trimmed);
  const ok = Number.isFinite(value) && value >= min && (!integer || Number.isSafeInteger(value));
  if (!ok) throw new FieldError(`${field}: expected ${integer ? 'an integer' : 'a number'} ≥ ${min}, got ${show(text ?? undefined)}`);
  return value;
}

/** 1-based line of a character offset (for JSON.parse errors that give a position). */
export function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/** The line of a JSON.parse error, when the engine says where. */
export function jsonErrorLine(text: string, error: unknown): number {
  const match = /position (\d+)/.exec(error instanceof Error ? error.message : '');
  return match ? lineAt(text, Number(match[1])) : 1;
}
