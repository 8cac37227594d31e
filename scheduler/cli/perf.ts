// `nvlsched perf predict --gpu <name>`: JSON lines in (perf-table column names), the same objects out with
// `predicted_ms`, same order, one line per line. A bad line is echoed with an "error" field instead, reported on
// stderr with its line number and field, and the command exits 1 at the end — no silent guess.
// `nvlsched perf calibrate [--json] [--refit] [--no-loo] [--published-only]`: error table per GPU and op family
// (held-in and leave-one-GPU-out), then the published-throughput table (predicted vs MLPerf / InferenceMAX output
// tokens/s per GPU, scheduler/perf/published.ts); --refit re-fits and rewrites scheduler/perf/fitted.json;
// --published-only skips the op tables (and so needs no ../shared data).
import { writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { flagHelp, parseFlags, usageError } from './args.js';
import { GPUS, GPU_NAMES, isGpuName } from '../perf/gpus.js';
import { calibrationRows, fitAll, formatRows, loadSamples } from '../perf/calibrate.js';
import { makeFittedOpTimes } from '../perf/fitted_optimes.js';
import { comparePublished, formatPublished, medianRatio } from '../perf/published_compare.js';
import { OpInputError, predictPrepared, prepareOp } from '../perf/ops/index.js';
import { type FittedFile, fittedPath, loadFitted, resolveParams } from '../perf/ops/params.js';

const PREDICT_FLAGS = { gpu: { type: 'string', help: `one of ${GPU_NAMES.join(', ')}` } } as const;
const CALIBRATE_FLAGS = {
  json: { type: 'boolean', help: 'print the error table as JSON' },
  refit: { type: 'boolean', help: 're-fit from ../shared/data/perf and rewrite scheduler/perf/fitted.json' },
  'no-loo': { type: 'boolean', help: 'skip the leave-one-GPU-out re-fits' },
  'published-only': { type: 'boolean', help: 'only the published-throughput table (needs no ../shared data)' },
} as const;

async function predict(argv: string[]): Promise<number> {
  const { flags } = parseFlags(argv, PREDICT_FLAGS);
  const name = flags.gpu;
  if (typeof name !== 'string' || !isGpuName(name)) {
    throw usageError(`--gpu: ${name === undefined ? 'missing' : `unknown '${String(name)}'`}; allowed: ${GPU_NAMES.join(', ')}`);
  }
  const gpu = GPUS[name];
  const params = loadFitted().params;
  let lineNumber = 0;
  let failures = 0;
  const out: string[] = [];
  const flush = () => { if (out.length) process.stdout.write(out.join('')); out.length = 0; };
  for await (const text of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
    lineNumber++;
    if (text.trim() === '') continue;
    let row: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not a JSON object');
      row = parsed as Record<string, unknown>;
    } catch (err) {
      failures++;
      process.stderr.write(`perf predict: line ${lineNumber}: not a JSON object (${(err as Error).message})\n`);
      out.push(JSON.stringify({ line: text, error: 'not a JSON object' }) + '\n');
      continue;
    }
    try {
      const op = prepareOp(row);
      const p = resolveParams(params, gpu, op.family, op.variant);
      const ms = predictPrepared(gpu, op.family, p, op.args);
      if (!Number.isFinite(ms)) throw new OpInputError('gemm_dtype', `${String(row.gemm_dtype)} is not supported on ${gpu.name}`);
      out.push(JSON.stringify({ ...row, predicted_ms: Number(ms.toPrecision(6)) }) + '\n');
    } catch (err) {
      if (!(err instanceof OpInputError)) throw err;
      failures++;
      process.stderr.write(`perf predict: line ${lineNumber}: field ${err.field}: ${err.message}\n`);
      out.push(JSON.stringify({ ...row, error: err.message }) + '\n');
    }
    if (out.length >= 256) flush();
  }
  flush();
  if (failures) process.stderr.write(`perf predict: ${failures} of ${lineNumber} line(s) failed\n`);
  return failures ? 1 : 0;
}

async function calibrate(argv: string[]): Promise<number> {
  const { flags } = parseFlags(argv, CALIBRATE_FLAGS);
  if (flags['published-only'] && flags.refit) throw usageError('--refit needs the op tables; drop --published-only');
  const started = Date.now();
  let fitted = loadFitted();
  let rows: ReturnType<typeof calibrationRows> | undefined;
  if (!flags['published-only']) {
    const bad: string[] = [];
    const set = await loadSamples(1, (b) => bad.push(`${b.file}:${b.line}: ${b.reason}`));
    for (const b of bad.slice(0, 20)) process.stderr.write(`perf calibrate: bad line ${b}\n`);
    if (flags.refit) {
      fitted = { version: 1, note: 'written by `nvlsched perf calibrate --refit`; see scheduler/perf/calibrate.ts', params: fitAll(set) };
      writeFileSync(fittedPath(), JSON.stringify(fitted, null, 1) + '\n');
      process.stderr.write(`perf calibrate: wrote ${fittedPath()}\n`);
    }
    rows = calibrationRows(set, fitted.params, !flags['no-loo']);
  }
  // Published serving throughput against the step predictor on the (possibly just re-fitted) op times.
  const published = comparePublished(makeFittedOpTimes(fitted.params));
  const seconds = (Date.now() - started) / 1000;
  if (flags.json) {
    process.stdout.write(JSON.stringify({ ...(rows ? { rows } : {}), published,
      publishedMedianRatio: medianRatio(published), seconds }) + '\n');
  } else {
    const parts = [...(rows ? [formatRows(rows), ''] : []), formatPublished(published)];
    process.stdout.write(parts.join('\n') + `\n(${seconds.toFixed(1)} s)\n`);
  }
  return 0;
}

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'predict') return predict(rest);
  if (sub === 'calibrate') return calibrate(rest);
  if (sub === 'help' || sub === '--help') {
    process.stdout.write(`perf predict\n${flagHelp(PREDICT_FLAGS)}\nperf calibrate\n${flagHelp(CALIBRATE_FLAGS)}\n`);
    return 0;
  }
  throw usageError(`perf: unknown subcommand '${sub ?? ''}'; allowed: predict, calibrate, help`);
}

export type { FittedFile };
