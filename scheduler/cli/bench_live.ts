// `nvlsched bench --target host:port`: the live bench of architecture §6 — the same workloads as `simulate` (a
// trace, a mix, or the embedded default mix) sent over gRPC to a running gateway in real time by the load generator
// (scheduler/loadgen), and the same report: JSON as simulate's plus `"mode": "live"` and a `live` section, written to
// --json and printed as the last stdout line, after the Markdown table. A progress bar goes to stderr on a terminal
// (or with --progress). Bad flags and an unreachable target (bounded by --connect-timeout) exit 2 with one line.
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { flagHelp, parseFlags, usageError, type FlagSpec } from './args.js';
import { takeGoodput, TRACE_FORMATS, type TraceFormat } from './simulate.js';
import { NO_OVERRIDES, parseGoodput, type SloOverrides } from '../report/goodput.js';
import { checkAddress } from '../loadgen/target.js';
import type { LoadProgress } from '../loadgen/progress.js';
import type { Workload } from '../workload/types.js';

export const BENCH_LIVE_FLAGS: Record<string, FlagSpec> = {
  target: { type: 'string', help: 'the gateway\'s gRPC address, host:port (required)' },
  trace: { type: 'string', help: 'trace file or directory (default: the embedded default mix)' },
  'trace-format': { type: 'string', help: `${TRACE_FORMATS.join('|')} (default: from the file)` },
  mix: { type: 'string', help: 'synthetic mix YAML (instead of --trace)' },
  'rate-scale': { type: 'number', help: 'multiplies arrival rates (open-loop workloads), > 0' },
  sessions: { type: 'number', help: 'concurrent sessions (closed-loop workloads), integer ≥ 1' },
  duration: { type: 'number', help: 'seconds during which requests are sent (default 60)' },
  drain: { type: 'number', help: 'seconds after that for live requests to finish before they are cancelled (default 60)' },
  timeout: { type: 'number', help: 'per-request deadline in seconds (default 300)' },
  'connect-timeout': { type: 'number', help: 'seconds to reach the gateway and get its Health (default 5)' },
  'block-tokens': { type: 'number', help: 'the gateway engine\'s KV block size: hashes are chained at it (default 64)' },
  seed: { type: 'number', help: 'seed, integer in [0, 2^32) (default 1)' },
  goodput: { type: 'string', help: 'SLO overrides in ms, vLLM syntax: ttft:500 tpot:30 tool_call.ttft:300' },
  strict: { type: 'boolean', help: 'a bad trace line is fatal (default: reported and skipped)' },
  progress: { type: 'boolean', help: 'progress lines on stderr even when it is not a terminal' },
  json: { type: 'string', help: 'also write the JSON report to this file' },
  help: { type: 'boolean', help: 'this text' },
};

export const BENCH_LIVE_DEFAULTS = { durationS: 60, drainS: 60, timeoutS: 300, connectTimeoutS: 5, blockTokens: 64 } as const;

export interface BenchLiveArgs {
  target: string;
  trace?: string;
  traceFormat?: TraceFormat;
  mix?: string;
  rateScale?: number;
  sessions?: number;
  durationS: number;
  drainS: number;
  timeoutS: number;
  connectTimeoutS: number;
  blockTokens: number;
  seed: number;
  goodput: SloOverrides;
  strict: boolean;
  progress: boolean;
  jsonPath?: string;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function num(flags: Record<string, unknown>, name: string, fallback: number, ok: (v: number) => boolean, expected: string): number {
  const v = (flags[name] as number | undefined) ?? fallback;
  if (!ok(v)) throw usageError(`--${name}: expected ${expected}, got ${v}`);
  return v;
}

/** Validates every flag; throws a usage error (exit 2) naming the flag. */
export function parseBenchLiveArgs(argv: readonly string[]): BenchLiveArgs | 'help' {
  const { tokens, rest } = takeGoodput(argv);
  const { flags, rest: positional } = parseFlags(rest, BENCH_LIVE_FLAGS);
  if (flags.help) return 'help';
  if (positional.length) throw usageError(`bench: unexpected argument '${positional[0]}'; flags start with --`);
  const target = str(flags.target);
  if (target === undefined) throw usageError('--target host:port is required (the gateway to load), e.g. --target 127.0.0.1:50051');
  const address = checkAddress(target);
  if (typeof address !== 'string') throw usageError(address.error);
  const trace = str(flags.trace);
  const mix = str(flags.mix);
  const traceFormat = str(flags['trace-format']);
  if (trace !== undefined && mix !== undefined) throw usageError('--trace and --mix exclude each other');
  for (const [flag, file] of [['trace', trace], ['mix', mix]] as const) {
    if (file !== undefined && !existsSync(file)) throw usageError(`--${flag}: no such file or directory '${file}'`);
  }
  if (traceFormat !== undefined && !(TRACE_FORMATS as readonly string[]).includes(traceFormat)) throw usageError(`--trace-format: unknown '${traceFormat}'; allowed: ${TRACE_FORMATS.join(', ')}`);
  if (traceFormat !== undefined && trace === undefined) throw usageError('--trace-format needs --trace');
  const rateScale = flags['rate-scale'] as number | undefined;
  const sessions = flags.sessions as number | undefined;
  if (rateScale !== undefined && !(rateScale > 0)) throw usageError(`--rate-scale: expected a number > 0, got ${rateScale}`);
  if (sessions !== undefined && !(Number.isInteger(sessions) && sessions >= 1)) throw usageError(`--sessions: expected an integer ≥ 1, got ${sessions}`);
  if (rateScale !== undefined && sessions !== undefined) throw usageError('--rate-scale (open-loop workloads) and --sessions (closed-loop ones) exclude each other');
  const jsonPath = str(flags.json);
  if (jsonPath !== undefined) {
    const dir = path.dirname(path.resolve(jsonPath));
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw usageError(`--json: directory '${dir}' does not exist`);
  }
  const d = BENCH_LIVE_DEFAULTS;
  return {
    target: address,
    ...(trace !== undefined && { trace }),
    ...(traceFormat !== undefined && { traceFormat: traceFormat as TraceFormat }),
    ...(mix !== undefined && { mix }),
    ...(rateScale !== undefined && { rateScale }),
    ...(sessions !== undefined && { sessions }),
    durationS: num(flags, 'duration', d.durationS, (v) => v > 0, 'a number of seconds > 0'),
    drainS: num(flags, 'drain', d.drainS, (v) => v >= 0, 'a number of seconds ≥ 0'),
    timeoutS: num(flags, 'timeout', d.timeoutS, (v) => v > 0, 'a number of seconds > 0'),
    connectTimeoutS: num(flags, 'connect-timeout', d.connectTimeoutS, (v) => v > 0 && v <= 600, 'a number of seconds in (0, 600]'),
    blockTokens: num(flags, 'block-tokens', d.blockTokens, (v) => Number.isInteger(v) && v >= 1 && v <= 4096, 'an integer in [1, 4096]'),
    seed: num(flags, 'seed', 1, (v) => Number.isInteger(v) && v >= 0 && v < 2 ** 32, 'an integer in [0, 2^32)'),
    goodput: tokens === undefined ? NO_OVERRIDES : parseGoodput(tokens),
    strict: flags.strict === true,
    progress: flags.progress === true,
    ...(jsonPath !== undefined && { jsonPath }),
  };
}

/** The workload, as `simulate` reads it (same readers and options), hashes chained at the gateway's block size. */
async function loadWorkload(a: BenchLiveArgs): Promise<Workload> {
  const { defaultMix, readMix, readTrace } = await import('../workload/index.js');
  const options = { seed: a.seed, blockTokens: a.blockTokens, durationS: a.durationS, ...(a.rateScale !== undefined && { rateScale: a.rateScale }) };
  if (a.trace === undefined && a.mix === undefined) return checkKind(a, defaultMix(options));
  const flag = a.trace !== undefined ? '--trace' : '--mix';
  let workload: Workload;
  try {
    if (a.mix !== undefined) {
      // readMix directly: readTrace(format 'mix') passes maxRequests Infinity, which readMix refuses (README).
      workload = readMix(readFileSync(a.mix, 'utf8'), 'mix', options);
    } else {
      const { workload: w, problems } = readTrace(a.trace as string, { ...options, strict: a.strict, ...(a.traceFormat ? { format: a.traceFormat } : {}) });
      if (problems.length > 0) process.stderr.write(`bench: skipped ${problems.length} bad trace line(s); first: ${problems[0]?.file}:${problems[0]?.line}: ${problems[0]?.message}\n`);
      workload = w;
    }
  } catch (error) {
    throw usageError(`${flag}: ${(error as Error).message}`);
  }
  return checkKind(a, workload);
}

function checkKind(a: BenchLiveArgs, workload: Workload): Workload {
  if (workload.kind === 'open' && a.sessions !== undefined) throw usageError(`--sessions applies to closed-loop workloads; '${workload.name}' is open loop (use --rate-scale)`);
  if (workload.kind === 'closed' && a.rateScale !== undefined) throw usageError(`--rate-scale applies to open-loop workloads; '${workload.name}' is closed loop (use --sessions)`);
  return workload;
}

function help(): string {
  return 'usage: nvlsched bench --target <host:port> [--trace <file|dir> [--trace-format <f>] | --mix <yaml>] ' +
    '[--rate-scale <x> | --sessions <n>] [--duration <s>] [--drain <s>] [--seed <n>] [--goodput ttft:<ms> ...] [--json <out.json>]\n' +
    '       nvlsched bench <name> [...]   (micro-benchmarks: kv, perf, sched, ...; an unknown name lists them)\n\n' +
    `${flagHelp(BENCH_LIVE_FLAGS)}\n`;
}

export async function run(argv: string[]): Promise<number> {
  const args = parseBenchLiveArgs(argv);
  if (args === 'help') {
    process.stdout.write(help());
    return 0;
  }
  const { connectTarget } = await import('../loadgen/target.js');
  const { runLoad } = await import('../loadgen/loadgen.js');
  const { makeProgressBar } = await import('../loadgen/progress.js');
  const { buildLiveReport, liveTable } = await import('../loadgen/report.js');
  let target;
  try {
    target = await connectTarget(args.target, args.connectTimeoutS * 1000);
  } catch (error) {
    throw usageError(`--target: ${(error as Error).message}`);
  }
  try {
    const workload = await loadWorkload(args);
    process.stderr.write(`bench: ${workload.name} (${workload.kind} loop) → ${args.target} (${target.health.detail}) for ${args.durationS} s, drain ${args.drainS} s\n`);
    const bar = args.progress || process.stderr.isTTY ? makeProgressBar(process.stderr, { prefix: 'bench: ' }) : undefined;
    let last: LoadProgress | undefined;
    const result = await runLoad({
      workload, client: target.client, target: target.info, seed: args.seed,
      durationS: args.durationS, drainS: args.drainS, requestTimeoutS: args.timeoutS,
      ...(args.sessions !== undefined && { sessions: args.sessions }),
      ...(target.maxContextTokens !== undefined && { maxContextTokens: target.maxContextTokens }),
      ...(bar && { onProgress: (p: LoadProgress) => bar.update((last = p)) }),
      progressEveryMs: process.stderr.isTTY ? 250 : 1000,
    });
    if (bar && last) bar.finish(last);
    const report = buildLiveReport(result, { target: args.target, workload, overrides: args.goodput });
    if (args.jsonPath !== undefined) writeFileSync(args.jsonPath, JSON.stringify(report, null, 1) + '\n');
    process.stdout.write(liveTable(report) + '\n');
    process.stdout.write(JSON.stringify(report) + '\n');
    return 0;
  } finally {
    target.close();
  }
}
