// `nvlsched tune --search-roles`: plans the rack — how many prefill, decode and mixed instances per NVLink domain,
// at which tensor parallelism — for a workload and SLOs, by each split's goodput capacity in the simulator
// (candidates.ts, search.ts). Prints the ranked table; --json writes {candidates, best, ...}; --out writes a
// scheduler config that `simulate --config` and `config check` read. Workload flags are simulate's. Bad flags exit
// 2 with one line naming the flag before anything runs; a workload no split can serve exits 1 saying so.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { flagHelp, parseFlags, usageError, type FlagSpec } from '../cli/args.js';
import { SIMULATE_FLAGS, takeGoodput } from '../cli/simulate.js';
import { integerIn, outputPath, positive, readWorkloadFlags, str } from '../tune/workload_flags.js';
import { ConfigError } from '../core/config/params.js';
import { POLICY_NAMES } from '../core/policy.js';
import { NO_OVERRIDES, parseGoodput, type SloOverrides } from '../report/goodput.js';
import type { WorkloadSpec } from '../tune/types.js';
import { DISAGGREGATION_NAMES, MIGRATION_NAMES, type PlanPolicy } from './run.js';

export const PLAN_DEFAULTS = { eta: 3, minDurationS: 30, durationS: 120, top: 10, target: 0.9 } as const;

const WORKLOAD_FLAGS = ['trace', 'trace-format', 'mix', 'cluster', 'model', 'seed', 'goodput', 'strict'] as const;

export const PLAN_FLAGS: Record<string, FlagSpec> = {
  'search-roles': { type: 'boolean', help: 'search the prefill/decode/mixed split and tensor parallelism (this planner)' },
  ...Object.fromEntries(WORKLOAD_FLAGS.map((f) => [f, SIMULATE_FLAGS[f] as FlagSpec])),
  'rate-scale': { type: 'number', help: 'first load probed (open-loop workloads), > 0 (default 1: the recorded rate)' },
  sessions: { type: 'number', help: 'first load probed (closed-loop workloads: concurrent sessions), integer ≥ 1' },
  tp: { type: 'string', help: 'comma-separated tensor-parallel degrees to search (default every one the model fits at)' },
  'prefill-tp': { type: 'string', help: 'prefill degrees of per-role splits, each with every --tp degree for the rest (comma-separated), or same (one degree for all roles); default: prefill 2-4x the rest, at most 8' },
  'role-step': { type: 'number', help: 'count step for prefill and decode instances (default 1 up to 8 instances per domain, else about 6 levels)' },
  policy: { type: 'string', help: `policy underneath (${POLICY_NAMES.join(', ')}; default shape-aware)` },
  disaggregation: { type: 'string', help: `disaggregation slot (${DISAGGREGATION_NAMES.join(', ')}; default shape-aware)` },
  migration: { type: 'string', help: `migration slot (${MIGRATION_NAMES.join(', ')}; default none)` },
  target: { type: 'number', help: `SLO attainment a load must hold, in (0, 1] (default ${PLAN_DEFAULTS.target})` },
  eta: { type: 'number', help: `successive halving: keep 1/eta per rung (default ${PLAN_DEFAULTS.eta})` },
  'min-duration': { type: 'number', help: `simulated seconds per run on the first rung (default ${PLAN_DEFAULTS.minDurationS})` },
  duration: { type: 'number', help: `simulated seconds per run on the last rung (default ${PLAN_DEFAULTS.durationS})` },
  top: { type: 'number', help: `first-rung candidates listed (default ${PLAN_DEFAULTS.top})` },
  out: { type: 'string', help: 'write the best split as a scheduler config YAML (simulate --config, config check)' },
  'cluster-out': { type: 'string', help: 'write the best split as a cluster file (simulate --cluster; the only form of per-role degrees)' },
  json: { type: 'string', help: 'write {candidates: [...], best: {...}, ...} here' },
  help: { type: 'boolean', help: 'this text' },
};

/** tune's own flags that mean nothing here: named, so that a mix-up is an error and not a silent default. */
const TUNE_ONLY = ['samples', 'redis', 'queue', 'rung-timeout'];

export interface PlanArgs {
  workload: WorkloadSpec;
  /** The first load probed (rate scale or sessions, whichever the workload takes). */
  startLoad: number;
  /** Which flag gave it (checked against the workload's kind once it is read). */
  loadFlag?: 'rate-scale' | 'sessions';
  goodput: SloOverrides;
  goodputTokens: string[];
  tensorParallel?: number[];
  /** Prefill degrees of the per-role pairs, or 'same' (none); absent: the default pairs. */
  prefillTensorParallel?: number[] | 'same';
  roleStep?: number;
  policy: PlanPolicy;
  target: number;
  eta: number;
  minDurationS: number;
  maxDurationS: number;
  top: number;
  outPath?: string;
  clusterOutPath?: string;
  jsonPath?: string;
}

function oneOf<T extends string>(flags: Record<string, unknown>, name: string, allowed: readonly T[], fallback: T): T {
  const value = str(flags[name]) ?? fallback;
  if (!(allowed as readonly string[]).includes(value)) throw usageError(`--${name}: unknown '${value}'; allowed: ${allowed.join(', ')}`);
  return value as T;
}

function readDegrees(raw: string | undefined, flag = 'tp'): number[] | undefined {
  if (raw === undefined) return undefined;
  const parts = raw.split(',').map((s) => s.trim());
  const out = parts.map((s) => Number(s));
  const bad = parts.find((s, i) => s === '' || !Number.isInteger(out[i]) || (out[i] as number) < 1);
  if (bad !== undefined) throw usageError(`--${flag}: expected comma-separated integers ≥ 1 (e.g. 1,2,4)${flag === 'prefill-tp' ? ' or same' : ''}, got '${raw}'`);
  return [...new Set(out)];
}

function readWorkload(flags: Record<string, unknown>): { workload: WorkloadSpec; startLoad: number; loadFlag?: 'rate-scale' | 'sessions' } {
  const { spec, rateScale, sessions } = readWorkloadFlags(flags);
  return {
    workload: { ...spec, ...(sessions !== undefined && { sessions }) },
    startLoad: rateScale ?? sessions ?? 1,
    ...(rateScale !== undefined ? { loadFlag: 'rate-scale' as const } : sessions !== undefined ? { loadFlag: 'sessions' as const } : {}),
  };
}

/** Validates every flag; throws a usage error (exit 2) naming the flag. */
export function parsePlanArgs(argv: readonly string[]): PlanArgs | 'help' {
  const { tokens, rest } = takeGoodput(argv);
  for (const name of TUNE_ONLY) {
    if (rest.some((a) => a === `--${name}` || a.startsWith(`--${name}=`))) throw usageError(`--${name} is a policy-tuning flag; it does not apply with --search-roles`);
  }
  const { flags, rest: positional } = parseFlags(rest, PLAN_FLAGS);
  if (flags.help) return 'help';
  if (positional.length) throw usageError(`tune --search-roles: unexpected argument '${positional[0]}'; flags start with --`);
  const { workload, startLoad, loadFlag } = readWorkload(flags);
  const maxDurationS = positive(flags, 'duration', PLAN_DEFAULTS.durationS);
  const minDurationS = positive(flags, 'min-duration', Math.min(PLAN_DEFAULTS.minDurationS, maxDurationS));
  if (minDurationS > maxDurationS) throw usageError(`--min-duration (${minDurationS}) must be ≤ --duration (${maxDurationS})`);
  const target = (flags.target as number | undefined) ?? PLAN_DEFAULTS.target;
  if (!(target > 0 && target <= 1)) throw usageError(`--target must be in (0, 1], got ${target}`);
  const roleStep = flags['role-step'] as number | undefined;
  if (roleStep !== undefined && !(Number.isInteger(roleStep) && roleStep >= 1)) throw usageError(`--role-step must be an integer ≥ 1, got ${roleStep}`);
  const tensorParallel = readDegrees(str(flags.tp));
  const prefillRaw = str(flags['prefill-tp']);
  const prefillTensorParallel = prefillRaw === 'same' ? 'same' as const : readDegrees(prefillRaw, 'prefill-tp');
  const outPath = outputPath(flags, 'out');
  const clusterOutPath = outputPath(flags, 'cluster-out');
  const jsonPath = outputPath(flags, 'json');
  return {
    workload, startLoad, ...(loadFlag !== undefined && { loadFlag }),
    goodput: tokens === undefined ? NO_OVERRIDES : parseGoodput(tokens),
    goodputTokens: tokens ?? [],
    ...(tensorParallel !== undefined && { tensorParallel }),
    ...(prefillTensorParallel !== undefined && { prefillTensorParallel }),
    ...(roleStep !== undefined && { roleStep }),
    policy: {
      base: oneOf(flags, 'policy', POLICY_NAMES, 'shape-aware'),
      disaggregation: oneOf(flags, 'disaggregation', DISAGGREGATION_NAMES, 'shape-aware'),
      migration: oneOf(flags, 'migration', MIGRATION_NAMES, 'none'),
    },
    target,
    eta: integerIn(flags, 'eta', PLAN_DEFAULTS.eta, 2, 16),
    minDurationS,
    maxDurationS,
    top: integerIn(flags, 'top', PLAN_DEFAULTS.top, 1, 4096),
    ...(outPath !== undefined && { outPath }),
    ...(clusterOutPath !== undefined && { clusterOutPath }),
    ...(jsonPath !== undefined && { jsonPath }),
  };
}

export interface PlanOutput {
  stdout: (text: string) => void;
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

/** ConfigErrors of the cluster or the candidates (`tensorParallel`, `model`) as usage errors naming the flag. */
function asFlagError(error: unknown): never {
  if (error instanceof ConfigError) {
    const flags: Record<string, string> = { tensorParallel: '--tp', prefillTensorParallel: '--prefill-tp', roleStep: '--role-step', model: '--model' };
    const flag = flags[error.field] ?? '--cluster';
    throw usageError(`${flag}: ${error.message}`);
  }
  throw error;
}

export async function runPlan(args: PlanArgs, out: PlanOutput, argv: readonly string[] = []): Promise<number> {
  const log = (line: string) => void out.stderr.write(`plan: ${line}\n`);
  const { loadClusterConfig } = await import('../sim/cluster_file.js');
  const { DEFAULT_MODEL } = await import('../sim/cluster.js');
  const { enumerateSplits } = await import('./candidates.js');
  const { makeDisaggregationPolicy } = await import('../core/disagg/decide.js');
  const disagg = makeDisaggregationPolicy(args.policy.disaggregation, '--disaggregation');
  let cluster;
  let enumeration;
  let model: string;
  try {
    cluster = loadClusterConfig(args.workload.cluster ?? 'gb200-nvl72');
    model = args.workload.model ?? cluster.model ?? DEFAULT_MODEL;
    enumeration = enumerateSplits({
      cluster, model, ...(args.tensorParallel && { tensorParallel: args.tensorParallel }), ...(args.roleStep !== undefined && { roleStep: args.roleStep }),
      ...(args.prefillTensorParallel !== undefined && { prefillTensorParallel: args.prefillTensorParallel }),
      decodeLikeMixed: !disagg.ignoresRoles && disagg.localPrefillMaxTokens === Infinity,
    });
  } catch (error) {
    asFlagError(error);
  }
  // The workload is read here once (trace problems and the load flag's kind show before any run).
  const { loadTrialWorkload } = await import('../tune/trial.js');
  const { workload, problems } = await loadTrialWorkload(args.workload, args.minDurationS);
  if (problems.length) {
    const first = problems[0];
    const line = `${problems.length} bad trace line(s)${first ? `; first: ${first.file}:${first.line}: ${first.message}` : ''}`;
    if (args.workload.strict) throw Object.assign(new Error(`--strict: ${line}`), { code: 'E_TRACE' });
    log(`skipped ${line}`);
  }
  const closed = workload.kind === 'closed';
  if (!closed && args.workload.sessions !== undefined) throw usageError(`--sessions applies to closed-loop workloads; '${workload.name}' is open loop (use --rate-scale)`);
  if (closed && args.loadFlag === 'rate-scale') throw usageError(`--rate-scale applies to open-loop workloads; '${workload.name}' is closed loop (use --sessions)`);
  const { makeSimEvaluate, policySection } = await import('./run.js');
  const { planSplit } = await import('./search.js');
  const { makePlanProgress } = await import('./progress.js');
  const output = await import('./output.js');
  const policy = policySection(args.policy);
  const source = args.workload.trace !== undefined ? `trace ${path.basename(args.workload.trace)}` : args.workload.mix !== undefined ? `mix ${path.basename(args.workload.mix)}` : 'the default mix';
  const pairs = enumeration.rolePairs.map((p) => `${p.prefill}/${p.decode}`);
  log(`${enumeration.candidates.length} candidate splits of ${model} on ${cluster.name} (TP ${[...new Set(enumeration.candidates.map((c) => c.tensorParallel))].join(', ')}; ` +
    `per-role prefill/rest ${pairs.length ? pairs.join(', ') : 'none'}), ${source}`);
  const progress = makePlanProgress(out.stderr, () => performance.now() / 1000);
  const startS = performance.now() / 1000;
  let result;
  try {
    result = await planSplit({
      candidates: enumeration.candidates, eta: args.eta, minDurationS: args.minDurationS, maxDurationS: args.maxDurationS,
      target: args.target, startLoad: args.startLoad, integer: closed,
      evaluate: makeSimEvaluate({ workload: args.workload, closed, cluster, model, policy: args.policy, goodput: args.goodput }),
      onProgress: (p) => progress.update(p),
    });
  } finally {
    progress.finish();
  }
  const info = {
    command: `nvlsched tune ${argv.join(' ')}`.trim(), workload: source, cluster: cluster.name, model, policy,
    load: closed ? 'sessions' as const : 'rate_scale' as const, target: args.target, eta: args.eta,
    minDurationS: args.minDurationS, maxDurationS: args.maxDurationS, seed: args.workload.seed,
    goodput: args.goodputTokens, wallS: performance.now() / 1000 - startS,
  };
  if (args.outPath !== undefined) {
    writeFileSync(args.outPath, output.planConfigYaml(result.best, result.baseline, cluster, model, info));
    const perRole = result.best.candidate.prefillTensorParallel !== result.best.candidate.tensorParallel;
    log(`best split written to ${args.outPath}${perRole ? ' (policy only: its per-role degrees need the cluster file of --cluster-out)' : ''}`);
  }
  if (args.clusterOutPath !== undefined) {
    writeFileSync(args.clusterOutPath, output.planClusterYaml(result.best, result.baseline, cluster, model, info));
    log(`best split's cluster file written to ${args.clusterOutPath}`);
  }
  if (args.jsonPath !== undefined) {
    writeFileSync(args.jsonPath, JSON.stringify(output.planJson(result, enumeration, info), null, 1) + '\n');
    log(`candidates written to ${args.jsonPath}`);
  }
  out.stdout(output.planTables(result, enumeration, info, args.top));
  return 0;
}

export function planHelp(): string {
  return 'usage: nvlsched tune --search-roles [--trace <file|dir> [--trace-format <f>] | --mix <yaml>] [--cluster <preset|file>] ' +
    '[--model <name>] [--rate-scale <x> | --sessions <n>] [--seed <n>] [--goodput ttft:<ms> ...] [--tp 1,2,4] [--prefill-tp 4 | same] [--role-step <n>] ' +
    '[--disaggregation <name>] [--migration <name>] [--target 0.9] [--eta 3] [--min-duration 30] [--duration 120] [--out best.yaml] [--cluster-out cluster.yaml] [--json plan.json]\n\n' +
    `${flagHelp(PLAN_FLAGS)}\n`;
}
