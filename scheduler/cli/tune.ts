// `nvlsched tune`: searches the shape-aware policy's parameters (scheduler/tune/space.ts) on the simulator for the
// most goodput per GPU-hour on a workload and SLOs — scrambled-Halton samples, successive halving on simulated
// duration — then prints the best trials, the goodput/cost Pareto fronts and best vs the shipped default; --out
// writes the winner as a scheduler config YAML, --json every trial. Trials run in this process one by one, or with
// --redis on BullMQ for `nvlsched tune-worker` processes anywhere. Workload flags are simulate's. Bad flags (and an
// unreachable --redis) exit 2 with a one-line reason before anything runs.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { flagHelp, parseFlags, usageError, type FlagSpec } from './args.js';
import { checkQueueName, checkRedisUrl } from '../tune/redis_url.js';
import { SIMULATE_FLAGS, takeGoodput } from './simulate.js';
import { integerIn, outputPath, positive, readWorkloadFlags, str } from '../tune/workload_flags.js';
import { formatGoodput, NO_OVERRIDES, parseGoodput, type SloOverrides } from '../report/goodput.js';
import type { TrialRunner, WorkloadSpec } from '../tune/types.js';

const WORKLOAD_FLAGS = ['trace', 'trace-format', 'mix', 'cluster', 'model', 'sessions', 'seed', 'goodput', 'strict'] as const;

/** The default mix's rate scale when none is given: near the default policy's goodput capacity on one GB200 rack
 *  (13.5x, bench/EVALUATION.md); at its recorded rate every configuration meets the same SLOs and nothing is learnt. */
export const DEFAULT_MIX_RATE_SCALE = 12;
export const TUNE_DEFAULTS = { samples: 16, eta: 3, minDurationS: 10, durationS: 30, top: 5, queue: 'nvlsched-tune', rungTimeoutS: 3600, redisTimeoutS: 5 } as const;

export const TUNE_FLAGS: Record<string, FlagSpec> = {
  ...Object.fromEntries(WORKLOAD_FLAGS.map((f) => [f, SIMULATE_FLAGS[f] as FlagSpec])),
  'rate-scale': { type: 'number', help: `multiplies arrival rates (open-loop workloads), > 0 (default mix: ${DEFAULT_MIX_RATE_SCALE}; traces: 1)` },
  samples: { type: 'number', help: `configurations sampled, the shipped default included (default ${TUNE_DEFAULTS.samples})` },
  eta: { type: 'number', help: `successive halving: keep 1/eta per rung, runs eta times longer (default ${TUNE_DEFAULTS.eta})` },
  'min-duration': { type: 'number', help: `simulated seconds per trial on the first rung (default ${TUNE_DEFAULTS.minDurationS})` },
  duration: { type: 'number', help: `simulated seconds per trial on the last rung (default ${TUNE_DEFAULTS.durationS})` },
  out: { type: 'string', help: 'write the best configuration here as scheduler config YAML (serve --config, simulate --config)' },
  json: { type: 'string', help: 'write {trials: [{id, params, metrics}], best: {params, metrics}, ...} here' },
  top: { type: 'number', help: `best trials listed (default ${TUNE_DEFAULTS.top})` },
  redis: { type: 'string', help: 'redis://host:port: put trials on BullMQ for `nvlsched tune-worker` processes' },
  queue: { type: 'string', help: `BullMQ queue name with --redis (default ${TUNE_DEFAULTS.queue})` },
  'rung-timeout': { type: 'number', help: `with --redis: seconds a rung may take before the run fails (default ${TUNE_DEFAULTS.rungTimeoutS})` },
  'search-roles': { type: 'boolean', help: 'plan the prefill/decode/mixed split and tensor parallelism instead (scheduler/plan; `tune --search-roles --help`)' },
  help: { type: 'boolean', help: 'this text' },
};

export interface TuneArgs {
  workload: WorkloadSpec;
  goodput: SloOverrides;
  samples: number;
  eta: number;
  minDurationS: number;
  maxDurationS: number;
  top: number;
  outPath?: string;
  jsonPath?: string;
  redis?: string;
  queue: string;
  rungTimeoutS: number;
}

function readWorkload(flags: Record<string, unknown>): WorkloadSpec {
  const { spec, sessions, rateScale: given } = readWorkloadFlags(flags);
  // The embedded mix runs at its default load scale unless told otherwise.
  const rateScale = given ?? (spec.trace === undefined && spec.mix === undefined && sessions === undefined ? DEFAULT_MIX_RATE_SCALE : undefined);
  return { ...spec, ...(rateScale !== undefined && { rateScale }), ...(sessions !== undefined && { sessions }) };
}

/** Validates every flag; throws a usage error (exit 2) naming the flag. */
export function parseTuneArgs(argv: readonly string[]): TuneArgs | 'help' {
  const { tokens, rest } = takeGoodput(argv);
  const { flags, rest: positional } = parseFlags(rest, TUNE_FLAGS);
  if (flags.help) return 'help';
  if (positional.length) throw usageError(`tune: unexpected argument '${positional[0]}'; flags start with --`);
  const workload = readWorkload(flags);
  const maxDurationS = positive(flags, 'duration', TUNE_DEFAULTS.durationS);
  const minDurationS = positive(flags, 'min-duration', Math.min(TUNE_DEFAULTS.minDurationS, maxDurationS));
  if (minDurationS > maxDurationS) throw usageError(`--min-duration (${minDurationS}) must be ≤ --duration (${maxDurationS})`);
  const redis = str(flags.redis);
  for (const flag of ['queue', 'rung-timeout']) if (flags[flag] !== undefined && redis === undefined) throw usageError(`--${flag} needs --redis`);
  const outPath = outputPath(flags, 'out');
  const jsonPath = outputPath(flags, 'json');
  return {
    workload,
    goodput: tokens === undefined ? NO_OVERRIDES : parseGoodput(tokens),
    samples: integerIn(flags, 'samples', TUNE_DEFAULTS.samples, 1, 4096),
    eta: integerIn(flags, 'eta', TUNE_DEFAULTS.eta, 2, 16),
    minDurationS,
    maxDurationS,
    top: integerIn(flags, 'top', TUNE_DEFAULTS.top, 1, 4096),
    ...(outPath !== undefined && { outPath }),
    ...(jsonPath !== undefined && { jsonPath }),
    ...(redis !== undefined && { redis: checkRedisUrl(redis) }),
    queue: checkQueueName(str(flags.queue) ?? TUNE_DEFAULTS.queue),
    rungTimeoutS: positive(flags, 'rung-timeout', TUNE_DEFAULTS.rungTimeoutS),
  };
}

export interface Output {
  stdout: (text: string) => void;
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

/** The runner: in process, or BullMQ after the Redis URL is checked and answers (else a usage error). */
async function makeRunner(args: TuneArgs, log: (line: string) => void): Promise<{ runner: TrialRunner; name: string }> {
  if (args.redis === undefined) {
    const { makeLocalRunner } = await import('../tune/local_runner.js');
    return { runner: makeLocalRunner(), name: 'local' };
  }
  const { pingRedis } = await import('../tune/redis.js');
  const url = args.redis;
  await pingRedis(url, TUNE_DEFAULTS.redisTimeoutS * 1000).catch((err: Error) => {
    throw usageError(`--redis: ${err.message}`);
  });
  const { makeBullRunner } = await import('../tune/bull_runner.js');
  const runId = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  log(`run ${runId}: trials go on BullMQ queue '${args.queue}' at ${url}; start workers with \`nvlsched tune-worker --redis ${url}\``);
  return { runner: await makeBullRunner({ redisUrl: url, queue: args.queue, runId, rungTimeoutS: args.rungTimeoutS, log }), name: `bullmq:${args.queue}` };
}

/** Loads the first rung's workload here (flag errors and trace problems show before any trial) and checks the load flag. */
async function checkWorkload(args: TuneArgs, log: (line: string) => void): Promise<void> {
  const { loadTrialWorkload } = await import('../tune/trial.js');
  const { workload, problems } = await loadTrialWorkload(args.workload, args.minDurationS);
  if (problems.length) {
    const first = problems[0];
    if (args.workload.strict) throw Object.assign(new Error(`--strict: ${problems.length} bad trace line(s); first: ${first?.file}:${first?.line}: ${first?.message}`), { code: 'E_TRACE' });
    log(`skipped ${problems.length} bad trace line(s)${first ? `; first: ${first.file}:${first.line}: ${first.message}` : ''}`);
  }
  if (workload.kind === 'open' && args.workload.sessions !== undefined) throw usageError(`--sessions applies to closed-loop workloads; '${workload.name}' is open loop (use --rate-scale)`);
  if (workload.kind === 'closed' && args.workload.rateScale !== undefined) throw usageError(`--rate-scale applies to open-loop workloads; '${workload.name}' is closed loop (use --sessions)`);
}

export async function runTune(args: TuneArgs, out: Output): Promise<number> {
  const log = (line: string) => void out.stderr.write(`tune: ${line}\n`);
  await checkWorkload(args, log);
  const { runner, name } = await makeRunner(args, log);
  const { tune } = await import('../tune/tune.js');
  const { makeTuneProgress } = await import('../tune/progress.js');
  const output = await import('../tune/output.js');
  const { policyFor } = await import('../tune/space.js');
  const progress = makeTuneProgress(out.stderr, () => performance.now() / 1000);
  let result;
  try {
    log(`${args.samples} configurations on ${output.describeWorkload(args.workload)}`);
    result = await tune({ workload: args.workload, goodput: args.goodput, samples: args.samples, eta: args.eta,
      minDurationS: args.minDurationS, maxDurationS: args.maxDurationS, seed: args.workload.seed }, runner, (p) => progress.update(p));
  } finally {
    progress.finish();
    await runner.close();
  }
  const search = { samples: args.samples, eta: args.eta, minDurationS: args.minDurationS, maxDurationS: args.maxDurationS, seed: args.workload.seed, runner: name };
  if (args.outPath !== undefined) {
    writeFileSync(args.outPath, output.bestConfigYaml(result, search, args.workload, policyFor(result.best.params)));
    log(`best configuration written to ${args.outPath}`);
  }
  if (args.jsonPath !== undefined) {
    writeFileSync(args.jsonPath, JSON.stringify(output.tuneJson(result, search, args.workload, formatGoodput(args.goodput)), null, 1) + '\n');
    log(`trials written to ${args.jsonPath}`);
  }
  out.stdout(output.tuneTables(result, args.top));
  return 0;
}

function help(): string {
  return 'usage: nvlsched tune [--trace <file|dir> [--trace-format <f>] | --mix <yaml>] [--cluster <preset|file>] [--model <name>] ' +
    '[--rate-scale <x> | --sessions <n>] [--seed <n>] [--goodput ttft:<ms> tpot:<ms> ...] [--samples <n>] [--eta <n>] ' +
    '[--min-duration <s>] [--duration <s>] [--out best.yaml] [--json trials.json] [--redis redis://host:port [--queue <name>]]\n\n' +
    `${flagHelp(TUNE_FLAGS)}\n`;
}

export async function run(argv: string[]): Promise<number> {
  if (argv.includes('--search-roles')) {
    // The rack planner (scheduler/plan): prefill/decode/mixed counts and tensor parallelism, not policy parameters.
    const plan = await import('../plan/cli.js');
    const planArgs = plan.parsePlanArgs(argv);
    if (planArgs === 'help') {
      process.stdout.write(plan.planHelp());
      return 0;
    }
    return plan.runPlan(planArgs, { stdout: (t) => process.stdout.write(t), stderr: process.stderr }, argv);
  }
  const args = parseTuneArgs(argv);
  if (args === 'help') {
    process.stdout.write(help());
    return 0;
  }
  return runTune(args, { stdout: (t) => process.stdout.write(t), stderr: process.stderr });
}
