// `nvlsched simulate`: runs a workload (a trace, a mix, or the embedded default mix) through the real scheduler in
// virtual time and writes the report of architecture.md §6 as JSON (--json), a Markdown table on stdout and, with
// --plots, SVG plots. --compare runs several policies on the same workload and seed; --capacity finds each one's
// goodput capacity by bisection on the load. Progress goes to stderr. Every bad flag exits 2 with a one-line reason
// before anything runs.
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { flagHelp, parseFlags, usageError, type FlagSpec } from './args.js';
import { ConfigError } from '../core/config/params.js';
import type { PoolConfig } from '../core/config/pools.js';
import type { TenantsConfig } from '../core/config/tenants.js';
import { POLICY_NAMES } from '../core/policy.js';
import { loadSchedulerConfigText } from '../core/scheduler_config.js';
import { MODEL_NAMES } from '../perf/models.js';
import { findCapacity, type CapacityResult } from '../report/capacity.js';
import { NO_OVERRIDES, parseGoodput, type SloOverrides } from '../report/goodput.js';
import { compareTable, runTable, tenantTable } from '../report/markdown.js';
import { buildReport, type SimulateReport } from '../report/metrics.js';
import { goodputVsLoadSvg, latencyCdfSvg } from '../report/plots.js';
import type { RunResult, TraceProblem, Workload } from '../workload/types.js';

export const TRACE_FORMATS = ['mooncake', 'azure', 'claude-code', 'servegen'] as const;
export type TraceFormat = (typeof TRACE_FORMATS)[number];

export const SIMULATE_FLAGS: Record<string, FlagSpec> = {
  trace: { type: 'string', help: 'trace file or directory' },
  'trace-format': { type: 'string', help: `${TRACE_FORMATS.join('|')} (default: from the file)` },
  mix: { type: 'string', help: 'synthetic mix YAML (instead of --trace; neither = the embedded default mix)' },
  cluster: { type: 'string', help: 'cluster preset (gb200-nvl72, gb200-nvl72x4, hgx-h100x8, ...) or a YAML/JSON file' },
  model: { type: 'string', help: MODEL_NAMES.join(', ') },
  policy: { type: 'string', help: `${POLICY_NAMES.join(', ')} (default shape-aware)` },
  config: { type: 'string', help: 'scheduler config YAML (policy, classification, tenants; e.g. `nvlsched tune --out`) instead of --policy' },
  compare: { type: 'string', help: 'comma-separated policies run side by side on the same workload and seed' },
  'rate-scale': { type: 'number', help: 'multiplies arrival rates (open-loop workloads), > 0' },
  sessions: { type: 'number', help: 'concurrent sessions (closed-loop workloads), integer ≥ 1' },
  duration: { type: 'number', help: 'simulate the first <s> seconds of the workload, > 0' },
  seed: { type: 'number', help: 'seed, integer in [0, 2^32) (default 1)' },
  goodput: { type: 'string', help: 'SLO overrides in ms, vLLM syntax: ttft:500 tpot:30 tool_call.ttft:300' },
  strict: { type: 'boolean', help: 'a bad trace line is fatal (default: reported and skipped)' },
  plots: { type: 'string', help: 'directory for SVG plots (latency CDFs; goodput against load with --capacity)' },
  capacity: { type: 'boolean', help: 'find each policy’s goodput capacity (SLO attainment ≥ 90 %) by bisection on the load' },
  'by-tenant': { type: 'boolean', help: 'also print the per-tenant table (default with a tenants section in --config; the JSON has by_tenant whenever the workload has several tenants)' },
  json: { type: 'string', help: 'where to write the JSON report (required)' },
  'plan-split': { type: 'boolean', help: 'points at `nvlsched tune --search-roles` (the prefill/decode split planner)' },
  help: { type: 'boolean', help: 'this text' },
};

export interface SimulateArgs {
  trace?: string;
  traceFormat?: TraceFormat;
  mix?: string;
  cluster?: string;
  model?: string;
  policies: string[];
  /**
   * --config: the file's policy and classification sections as written (validated), and its tenants section parsed
   * (fair share between the workload's tenants); policies = [its policy name].
   */
  config?: { file: string; policy: unknown; classification: unknown; tenants?: TenantsConfig; pools?: PoolConfig[] };
  compare: boolean;
  rateScale?: number;
  sessions?: number;
  durationS?: number;
  seed: number;
  goodput: SloOverrides;
  strict: boolean;
  plotsDir?: string;
  capacity: boolean;
  /** Print the per-tenant table after each run's table (absent: no). */
  byTenant?: boolean;
  jsonPath: string;
}

/**
 * `--goodput` takes one or more space-separated pairs, as vLLM's does (`--goodput ttft:500 tpot:30`): the values are
 * the arguments after it up to the next `--flag`. Returns them and argv without them.
 */
export function takeGoodput(argv: readonly string[]): { tokens: string[] | undefined; rest: string[] } {
  const rest: string[] = [];
  let tokens: string[] | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg !== '--goodput' && !arg.startsWith('--goodput=')) {
      rest.push(arg);
      continue;
    }
    if (tokens !== undefined) throw usageError('--goodput given twice; put every pair after one --goodput');
    tokens = arg.startsWith('--goodput=') ? [arg.slice('--goodput='.length)] : [];
    while (i + 1 < argv.length && !(argv[i + 1] as string).startsWith('--')) tokens.push(argv[++i] as string);
  }
  return { tokens, rest };
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function checkPath(flag: string, file: string | undefined): void {
  if (file !== undefined && !existsSync(file)) throw usageError(`--${flag}: no such file or directory '${file}'`);
}

function readPolicies(policy: string | undefined, compare: string | undefined): string[] {
  if (policy !== undefined && compare !== undefined) throw usageError('--policy and --compare exclude each other; list the policies in --compare');
  const names = compare !== undefined ? compare.split(',').map((s) => s.trim()) : [policy ?? 'shape-aware'];
  const flag = compare !== undefined ? '--compare' : '--policy';
  for (const name of names) {
    if (!POLICY_NAMES.includes(name)) throw usageError(`${flag}: unknown policy '${name}'; known: ${POLICY_NAMES.join(', ')}`);
  }
  if (new Set(names).size !== names.length) throw usageError(`${flag}: a policy is listed twice in '${compare}'`);
  if (compare !== undefined && names.length < 2) throw usageError(`--compare needs at least two policies, got '${compare}'`);
  return names;
}

function readNumbers(flags: Record<string, unknown>) {
  const rateScale = flags['rate-scale'] as number | undefined;
  const sessions = flags.sessions as number | undefined;
  const durationS = flags.duration as number | undefined;
  const seed = (flags.seed as number | undefined) ?? 1;
  if (rateScale !== undefined && !(rateScale > 0)) throw usageError(`--rate-scale must be > 0, got ${rateScale}`);
  if (sessions !== undefined && !(Number.isInteger(sessions) && sessions >= 1)) throw usageError(`--sessions must be an integer ≥ 1, got ${sessions}`);
  if (durationS !== undefined && !(durationS > 0)) throw usageError(`--duration must be > 0 simulated seconds, got ${durationS}`);
  if (!(Number.isInteger(seed) && seed >= 0 && seed < 2 ** 32)) throw usageError(`--seed must be an integer in [0, 2^32), got ${seed}`);
  if (rateScale !== undefined && sessions !== undefined) {
    throw usageError('--rate-scale (open-loop workloads) and --sessions (closed-loop ones) exclude each other');
  }
  return { rateScale, sessions, durationS, seed };
}

/** --config: validated by the scheduler config loader (every plugin built once); errors name the file's field. */
function readConfigFile(file: string): { name: string; config: NonNullable<SimulateArgs['config']> } {
  checkPath('config', file);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw usageError(`--config: cannot read '${file}': ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  try {
    const parsed = loadSchedulerConfigText(text, file);
    const doc = (parseYaml(text) ?? {}) as { policy?: unknown; classification?: unknown; pools?: unknown };
    // An explicit pools section shapes the simulated cluster (its pool of the simulated model: TP, count, roles;
    // scheduler/plan/pools_cluster.ts), so a `tune --search-roles --out` file runs the split it names.
    const config = {
      file, policy: doc.policy ?? parsed.policyName, classification: doc.classification, ...(parsed.tenants && { tenants: parsed.tenants }),
      ...(doc.pools !== undefined && { pools: parsed.pools }),
    };
    return { name: parsed.policyName, config };
  } catch (error) {
    if (error instanceof ConfigError) throw usageError(`--config: ${error.message}`);
    throw error;
  }
}

/** Validates every flag; throws a usage error (exit 2) naming the flag. */
export function parseSimulateArgs(argv: readonly string[]): SimulateArgs | 'help' {
  const { tokens, rest } = takeGoodput(argv);
  const { flags, rest: positional } = parseFlags(rest, SIMULATE_FLAGS);
  if (flags.help) return 'help';
  if (positional.length) throw usageError(`simulate: unexpected argument '${positional[0]}'; flags start with --`);
  if (flags['plan-split']) {
    throw usageError('--plan-split: the prefill/decode split planner is `nvlsched tune --search-roles` (the same workload, --cluster, ' +
      '--model and --goodput flags; --out best.yaml, then `simulate --config best.yaml`); see scheduler/plan/README.md');
  }
  const trace = optionalString(flags.trace);
  const mix = optionalString(flags.mix);
  const traceFormat = optionalString(flags['trace-format']);
  if (trace !== undefined && mix !== undefined) throw usageError('--trace and --mix exclude each other');
  checkPath('trace', trace);
  checkPath('mix', mix);
  if (traceFormat !== undefined && !(TRACE_FORMATS as readonly string[]).includes(traceFormat)) {
    throw usageError(`--trace-format: unknown '${traceFormat}'; allowed: ${TRACE_FORMATS.join(', ')}`);
  }
  if (traceFormat !== undefined && trace === undefined) throw usageError('--trace-format needs --trace');
  const model = optionalString(flags.model);
  if (model !== undefined && !MODEL_NAMES.includes(model)) throw usageError(`--model: unknown '${model}'; allowed: ${MODEL_NAMES.join(', ')}`);
  const cluster = optionalString(flags.cluster);
  if (cluster === '') throw usageError('--cluster: empty; give a preset name or a file');
  const jsonPath = optionalString(flags.json);
  if (jsonPath === undefined) throw usageError('--json <out.json> is required (where the report is written)');
  const jsonDir = path.dirname(path.resolve(jsonPath));
  if (!existsSync(jsonDir) || !statSync(jsonDir).isDirectory()) throw usageError(`--json: directory '${jsonDir}' does not exist`);
  const plotsDir = optionalString(flags.plots);
  if (plotsDir !== undefined && existsSync(plotsDir) && !statSync(plotsDir).isDirectory()) throw usageError(`--plots: '${plotsDir}' is a file, not a directory`);
  const compare = optionalString(flags.compare);
  const configFile = optionalString(flags.config);
  if (configFile !== undefined && (flags.policy !== undefined || compare !== undefined)) throw usageError('--config gives the policy; it excludes --policy and --compare');
  const config = configFile === undefined ? undefined : readConfigFile(configFile);
  const n = readNumbers(flags);
  return {
    ...(trace !== undefined && { trace }),
    ...(traceFormat !== undefined && { traceFormat: traceFormat as TraceFormat }),
    ...(mix !== undefined && { mix }),
    ...(cluster !== undefined && { cluster }),
    ...(model !== undefined && { model }),
    policies: config ? [config.name] : readPolicies(optionalString(flags.policy), compare),
    ...(config && { config: config.config }),
    compare: compare !== undefined,
    ...(n.rateScale !== undefined && { rateScale: n.rateScale }),
    ...(n.sessions !== undefined && { sessions: n.sessions }),
    ...(n.durationS !== undefined && { durationS: n.durationS }),
    seed: n.seed,
    goodput: tokens === undefined ? NO_OVERRIDES : parseGoodput(tokens),
    strict: flags.strict === true,
    ...(plotsDir !== undefined && { plotsDir }),
    capacity: flags.capacity === true,
    ...((flags['by-tenant'] === true || config?.config.tenants !== undefined) && { byTenant: true }),
    jsonPath,
  };
}

/** What the command needs from the workload readers and the simulator; tests pass fakes. */
export interface Engines {
  /** Reads the workload; open-loop arrivals at `rateScale` (the readers scale them; undefined = as recorded). */
  loadWorkload(args: SimulateArgs, rateScale: number | undefined): Promise<{ workload: Workload; problems: TraceProblem[] }>;
  /** One run; `sessions` is the closed-loop concurrency (undefined = the simulator's default). */
  simulate(args: SimulateArgs, workload: Workload, policy: string, sessions: number | undefined, progress: (line: string) => void): Promise<RunResult>;
}

export interface Output {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

export interface CapacityReport {
  load: 'rate_scale' | 'sessions';
  target: number;
  capacity: number | null;
  first_failing: number | null;
  stop: string;
  probes: CapacityResult['probes'];
}

/** One policy's outcome: the report at the requested load, its records (for plots) and its capacity search. */
interface PolicyRun {
  report: SimulateReport & { capacity?: CapacityReport };
  run: RunResult;
  capacity?: CapacityResult;
}

function checkLoadAgainstWorkload(args: SimulateArgs, workload: Workload): void {
  if (workload.kind === 'open' && args.sessions !== undefined) {
    throw usageError(`--sessions applies to closed-loop workloads; '${workload.name}' is open loop (use --rate-scale)`);
  }
  if (workload.kind === 'closed' && args.rateScale !== undefined) {
    throw usageError(`--rate-scale applies to open-loop workloads; '${workload.name}' is closed loop (use --sessions)`);
  }
}

function describeProblems(problems: readonly TraceProblem[]): string {
  const first = problems[0];
  return `${problems.length} bad trace line(s)${first ? `; first: ${first.file}:${first.line}: ${first.message}` : ''}`;
}

function percent(value: number | null): string {
  return value === null ? '–' : `${(value * 100).toFixed(1)} %`;
}

function short(value: number): string {
  return String(Number(value.toPrecision(4)));
}

/** Runs one policy at the requested load and, with --capacity, searches its goodput capacity. */
async function runPolicy(args: SimulateArgs, engines: Engines, workload: Workload, policy: string, out: Output): Promise<PolicyRun> {
  const closed = workload.kind === 'closed';
  const progress = (line: string) => out.stderr(`simulate: ${policy}: ${line}\n`);
  progress('running');
  const run = await engines.simulate(args, workload, policy, args.sessions, progress);
  const report = buildReport(run, args.goodput);
  progress(`${report.overall.requests} requests, ${run.simulatedS.toFixed(1)} s simulated in ${run.simWallS.toFixed(1)} s, ` +
    `SLO met ${percent(report.overall.slo_attainment)}`);
  if (!args.capacity) return { report, run };
  const topLevel = closed ? workload.sessions.filter((s) => !s.parent).length : 0;
  const startLoad = closed ? args.sessions ?? Math.max(1, topLevel) : args.rateScale ?? 1;
  const loadName = closed ? 'sessions' : 'rate-scale';
  const capacity = await findCapacity({
    startLoad,
    integer: closed,
    evaluate: async (load) => {
      if (load === startLoad) return report.overall; // the run above
      const at = closed ? workload : (await engines.loadWorkload(args, load)).workload;
      const probeProgress = (line: string) => progress(`${loadName} ${short(load)}: ${line}`);
      return buildReport(await engines.simulate(args, at, policy, closed ? load : undefined, probeProgress), args.goodput).overall;
    },
    onProbe: (p, i) => progress(`capacity probe ${i + 1}: ${loadName} ${short(p.load)} → SLO met ${percent(p.slo_attainment)}`),
  });
  progress(`goodput capacity: ${capacity.capacity === null ? 'none (fails at the smallest load)' : `${loadName} ${short(capacity.capacity)}`} (${capacity.stop})`);
  const capacityReport: CapacityReport = {
    load: closed ? 'sessions' : 'rate_scale', target: capacity.target, capacity: capacity.capacity,
    first_failing: capacity.firstFailing, stop: capacity.stop, probes: capacity.probes,
  };
  return { report: { ...report, capacity: capacityReport }, run, capacity };
}

function writePlots(dir: string, runs: readonly PolicyRun[], closed: boolean, out: Output): void {
  mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  const write = (name: string, svg: string) => {
    writeFileSync(path.join(dir, name), svg);
    written.push(name);
  };
  for (const { run } of runs) {
    const title = `${run.policy}, ${run.cluster}, ${run.model}`;
    write(`${run.policy}.ttft_cdf.svg`, latencyCdfSvg(run.records, 'ttft', title));
    write(`${run.policy}.tpot_cdf.svg`, latencyCdfSvg(run.records, 'tpot', title));
  }
  const withCapacity = runs.flatMap((r) => (r.capacity ? [{ policy: r.run.policy, capacity: r.capacity }] : []));
  if (withCapacity.length) {
    write('goodput_vs_load.svg', goodputVsLoadSvg(withCapacity, closed ? 'concurrent sessions' : 'arrival-rate scale'));
  }
  out.stderr(`simulate: plots in ${dir}: ${written.join(', ')}\n`);
}

/**
 * Runs the parsed command; returns the exit code. JSON: the report of the one policy, or `{"runs": [...]}` with
 * --compare (one report per policy, in the order given); each report also carries `workload` and, with
 * --capacity, `capacity`. stdout: the Markdown tables.
 */
export async function runSimulate(args: SimulateArgs, engines: Engines, out: Output): Promise<number> {
  const { workload, problems } = await engines.loadWorkload(args, args.rateScale);
  if (problems.length) {
    if (args.strict) throw Object.assign(new Error(`--strict: ${describeProblems(problems)}`), { code: 'E_TRACE' });
    out.stderr(`simulate: skipped ${describeProblems(problems)}\n`);
  }
  checkLoadAgainstWorkload(args, workload);
  const runs: PolicyRun[] = [];
  for (const policy of args.policies) runs.push(await runPolicy(args, engines, workload, policy, out));
  const workloadInfo = { name: workload.name, kind: workload.kind, trace_problems: problems.length };
  const reports = runs.map((r) => ({ ...r.report, workload: workloadInfo }));
  writeFileSync(args.jsonPath, JSON.stringify(args.compare ? { runs: reports } : reports[0], null, 1) + '\n');
  if (args.plotsDir !== undefined) writePlots(args.plotsDir, runs, workload.kind === 'closed', out);
  const tables = runs.map((r) => runTable(r.report) + (args.byTenant && r.report.by_tenant ? `\n${tenantTable(r.report)}` : ''));
  if (args.compare) {
    const unit = workload.kind === 'closed' ? 'sessions' : 'x rate';
    const capacities = args.capacity ? runs.map((r) => ({ capacity: r.capacity?.capacity ?? null, unit })) : undefined;
    tables.push(compareTable(runs.map((r) => r.report), capacities));
  }
  out.stdout(tables.join('\n'));
  out.stderr(`simulate: report written to ${args.jsonPath}\n`);
  return 0;
}

/** The simulator's progress as a stderr line at most every `everyMs` of wall time (the CLI may read the clock). */
function throttledProgress(progress: (line: string) => void, everyMs = 2000) {
  let lastMs = Date.now();
  return (p: { simulatedS: number; submitted: number; ended: number; live: number }) => {
    const nowMs = Date.now();
    if (nowMs - lastMs < everyMs) return;
    lastMs = nowMs;
    progress(`${p.simulatedS.toFixed(1)} s simulated, ${p.ended}/${p.submitted} requests ended, ${p.live} live`);
  };
}

type SimulationCluster = string | import('../sim/cluster.js').ClusterConfig | undefined;

/** --cluster as given, or shaped by --config's pools (scheduler/plan/pools_cluster.ts); errors name the field. */
async function clusterOf(args: SimulateArgs): Promise<SimulationCluster> {
  const pools = args.config?.pools;
  if (pools === undefined) return args.cluster;
  const { loadClusterConfig } = await import('../sim/cluster_file.js');
  const { DEFAULT_MODEL } = await import('../sim/cluster.js');
  const { clusterFromPools } = await import('../plan/pools_cluster.js');
  try {
    const base = loadClusterConfig(args.cluster ?? 'gb200-nvl72');
    const model = args.model ?? base.model ?? DEFAULT_MODEL;
    return clusterFromPools(base, model, pools)?.cluster ?? args.cluster;
  } catch (err) {
    if (err instanceof ConfigError) throw usageError(`--config: ${err.message}`);
    throw err;
  }
}

/**
 * The real engines: the trace readers (scheduler/workload) and the simulator (scheduler/sim), imported here rather
 * than at the top so that --help and flag errors answer without loading the simulator and the native addon.
 */
export async function realEngines(): Promise<Engines> {
  const { resolveCluster, runSimulation } = await import('../sim/run.js');
  const { defaultMix, readTrace } = await import('../workload/index.js');
  let blockTokens: number | undefined;
  let shaped: { cluster: SimulationCluster } | undefined;
  return {
    async loadWorkload(args, rateScale) {
      shaped ??= { cluster: await clusterOf(args) };
      // Hashes are chained at the simulated engine's KV block size, so the cluster is resolved first.
      try {
        blockTokens ??= resolveCluster(shaped.cluster, args.model).engine.blockTokens;
      } catch (err) {
        throw usageError(`--cluster: ${(err as Error).message.replace(/^cluster: /, '')}`);
      }
      const options = {
        seed: args.seed, blockTokens,
        ...(rateScale !== undefined && { rateScale }),
        ...(args.durationS !== undefined && { durationS: args.durationS }),
      };
      if (args.trace !== undefined) {
        return readTrace(args.trace, { ...options, strict: args.strict, ...(args.traceFormat && { format: args.traceFormat }) });
      }
      if (args.mix !== undefined) return readTrace(args.mix, { ...options, strict: args.strict, format: 'mix' });
      return { workload: defaultMix(options), problems: [] };
    },
    async simulate(args, workload, policy, sessions, progress) {
      shaped ??= { cluster: await clusterOf(args) };
      return runSimulation({
        workload, policy: args.config ? args.config.policy : policy, seed: args.seed,
        ...(args.config?.classification !== undefined && { classification: args.config.classification }),
        ...(args.config?.tenants !== undefined && { tenants: args.config.tenants }),
        ...(shaped.cluster !== undefined && { cluster: shaped.cluster }),
        ...(args.model !== undefined && { model: args.model }),
        ...(args.durationS !== undefined && { durationS: args.durationS }),
        ...(sessions !== undefined && { sessions }),
        onProgress: throttledProgress(progress),
      });
    },
  };
}

function help(): string {
  return 'usage: nvlsched simulate [--trace <file|dir> [--trace-format <f>] | --mix <yaml>] [--cluster <preset|file>] ' +
    '[--model <name>] [--policy <name> | --config <file.yaml> | --compare <p1,p2,...>] [--rate-scale <x> | --sessions <n>] [--duration <s>] ' +
    '[--seed <n>] [--goodput ttft:<ms> tpot:<ms> ...] [--strict] [--plots <dir>] [--capacity] [--by-tenant] --json <out.json>\n\n' +
    `${flagHelp(SIMULATE_FLAGS)}\n`;
}

export async function run(argv: string[]): Promise<number> {
  const args = parseSimulateArgs(argv);
  if (args === 'help') {
    process.stdout.write(help());
    return 0;
  }
  const out: Output = { stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t) };
  return runSimulate(args, await realEngines(), out);
}
