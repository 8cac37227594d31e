// The flags `tune` and `tune --search-roles` share: the workload (--trace, --trace-format, --mix, --cluster, --model,
// --seed, --rate-scale, --sessions, --strict), validated once: each mistake is a usage error (exit 2) naming its flag.
// Paths come back absolute: tune-workers resolve them on their own machines (the same path must hold the same file).
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';

import { usageError } from '../cli/args.js';
import { TRACE_FORMATS, type TraceFormat } from '../cli/simulate.js';
import { MODEL_NAMES } from '../perf/models.js';
import type { WorkloadSpec } from './types.js';

export const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

export function integerIn(flags: Record<string, unknown>, name: string, fallback: number, min: number, max: number): number {
  const value = (flags[name] as number | undefined) ?? fallback;
  if (!Number.isInteger(value) || value < min || value > max) throw usageError(`--${name} must be an integer in [${min}, ${max}], got ${value}`);
  return value;
}

export function positive(flags: Record<string, unknown>, name: string, fallback: number): number {
  const value = (flags[name] as number | undefined) ?? fallback;
  if (!(value > 0 && Number.isFinite(value))) throw usageError(`--${name} must be > 0, got ${value}`);
  return value;
}

/** A file to write (`--json`, `--out`): its folder must exist now, not after the run. */
export function outputPath(flags: Record<string, unknown>, name: string): string | undefined {
  const file = str(flags[name]);
  if (file === undefined) return undefined;
  const dir = path.dirname(path.resolve(file));
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw usageError(`--${name}: directory '${dir}' does not exist`);
  return file;
}

/** The workload without its load (`rateScale`, `sessions`), and the load flags as given (checked, not defaulted). */
export function readWorkloadFlags(flags: Record<string, unknown>): { spec: WorkloadSpec; rateScale?: number; sessions?: number } {
  const trace = str(flags.trace);
  const mix = str(flags.mix);
  const traceFormat = str(flags['trace-format']);
  if (trace !== undefined && mix !== undefined) throw usageError('--trace and --mix exclude each other');
  for (const [flag, file] of [['trace', trace], ['mix', mix]] as const) {
    if (file !== undefined && !existsSync(file)) throw usageError(`--${flag}: no such file or directory '${file}'`);
  }
  if (traceFormat !== undefined && !(TRACE_FORMATS as readonly string[]).includes(traceFormat)) {
    throw usageError(`--trace-format: unknown '${traceFormat}'; allowed: ${TRACE_FORMATS.join(', ')}`);
  }
  if (traceFormat !== undefined && trace === undefined) throw usageError('--trace-format needs --trace');
  const model = str(flags.model);
  if (model !== undefined && !MODEL_NAMES.includes(model)) throw usageError(`--model: unknown '${model}'; allowed: ${MODEL_NAMES.join(', ')}`);
  const cluster = str(flags.cluster);
  if (cluster === '') throw usageError('--cluster: empty; give a preset name or a file');
  const seed = integerIn(flags, 'seed', 1, 0, 2 ** 32 - 1);
  const sessions = flags.sessions as number | undefined;
  const rateScale = flags['rate-scale'] as number | undefined;
  if (rateScale !== undefined && !(rateScale > 0)) throw usageError(`--rate-scale must be > 0, got ${rateScale}`);
  if (sessions !== undefined && !(Number.isInteger(sessions) && sessions >= 1)) throw usageError(`--sessions must be an integer ≥ 1, got ${sessions}`);
  if (rateScale !== undefined && sessions !== undefined) throw usageError('--rate-scale (open-loop workloads) and --sessions (closed-loop ones) exclude each other');
  return {
    spec: {
      ...(trace !== undefined && { trace: path.resolve(trace) }),
      ...(traceFormat !== undefined && { traceFormat: traceFormat as TraceFormat }),
      ...(mix !== undefined && { mix: path.resolve(mix) }),
      ...(cluster !== undefined && { cluster: existsSync(cluster) ? path.resolve(cluster) : cluster }),
      ...(model !== undefined && { model }),
      seed,
      strict: flags.strict === true,
    },
    ...(rateScale !== undefined ? { rateScale } : {}),
    ...(sessions !== undefined ? { sessions } : {}),
  };
}
