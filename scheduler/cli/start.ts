// `nvlsched start` (what `npm start` runs): the main job on an embedded default. Live (the default): a gateway in
// this process with simulated GB200 NVL72 workers as child processes (each step takes its modelled time), the
// embedded mixed-shape load (tool calls on a shared system + tools prefix, long reasoning, chat, multi-turn terminal
// sessions) sent over real gRPC by the load generator (scheduler/loadgen), and the per-shape report. `--sim` runs the
// earlier in-process comparison instead: the same load on a whole simulated rack in virtual time, shape-aware beside
// a baseline. Bad flags exit 2 with one line.
import { parseFlags, flagHelp, usageError, type FlagSpec } from './args.js';
import { POLICY_NAMES } from '../core/policy.js';
import type { LoadProgress } from '../loadgen/progress.js';
import type { LiveReport } from '../loadgen/report.js';

const FLAGS: Record<string, FlagSpec> = {
  sim: { type: 'boolean', help: 'the simulator comparison instead: shape-aware beside --baseline on a whole rack, virtual time' },
  baseline: { type: 'string', help: `--sim: baseline shown beside shape-aware (default dynamo-kv; one of ${POLICY_NAMES.join(', ')})` },
  workers: { type: 'number', help: 'live: simulated compute trays (4 GPUs each) as worker processes (default 4)' },
  duration: { type: 'number', help: 'live: seconds of load sent (default 40)' },
  drain: { type: 'number', help: 'live: seconds after the load that requests may still finish before they are cancelled (default 30)' },
  policy: { type: 'string', help: `live: the gateway's policy (default shape-aware; one of ${POLICY_NAMES.join(', ')})` },
  'rate-scale': { type: 'number', help: 'multiplies the default mix arrival rates (default: live 0.5, --sim 1)' },
  seed: { type: 'number', help: 'seed (default 1)' },
  pace: { type: 'string', help: 'live: real (default: each step takes its modelled time) or none (steps answer at once; for tests)' },
  progress: { type: 'boolean', help: 'live: progress lines on stderr even when it is not a terminal' },
  json: { type: 'boolean', help: 'print the report(s) as one JSON line at the end' },
  help: { type: 'boolean', help: 'this text' },
};

const LIVE_ONLY = ['workers', 'duration', 'drain', 'policy', 'pace', 'progress'];

export const LIVE_DEFAULTS = { workers: 4, durationS: 40, drainS: 30, rateScale: 0.5 } as const;

function positive(flags: Record<string, unknown>, name: string, fallback: number, integer = false): number {
  const v = (flags[name] as number | undefined) ?? fallback;
  if (!(v > 0) || (integer && !Number.isInteger(v))) throw usageError(`--${name}: expected ${integer ? 'an integer ≥ 1' : 'a number > 0'}, got ${v}`);
  return v;
}

export async function run(argv: string[]): Promise<number> {
  const { flags, rest } = parseFlags(argv, FLAGS);
  if (flags.help) {
    process.stdout.write(`usage: nvlsched start [--sim] [flags]\n\n${flagHelp(FLAGS)}\n`);
    return 0;
  }
  if (rest.length > 0) throw usageError(`start: unexpected argument '${rest[0]}'`);
  const seed = (flags.seed as number | undefined) ?? 1;
  if (!(Number.isInteger(seed) && seed >= 0 && seed < 2 ** 32)) throw usageError(`--seed: expected an integer in [0, 2^32), got ${seed}`);
  if (flags.sim) {
    const given = LIVE_ONLY.find((f) => flags[f] !== undefined);
    if (given) throw usageError(`--${given} is for the live run; --sim takes --baseline, --rate-scale, --seed, --json`);
    const baseline = (flags.baseline as string | undefined) ?? 'dynamo-kv';
    if (!POLICY_NAMES.includes(baseline)) throw usageError(`--baseline: unknown policy '${baseline}'; policies: ${POLICY_NAMES.join(', ')}`);
    return runSimComparison({ baseline, rateScale: positive(flags, 'rate-scale', 1), seed, json: flags.json === true });
  }
  if (flags.baseline !== undefined) throw usageError('--baseline is for --sim (the simulator comparison)');
  const policy = (flags.policy as string | undefined) ?? 'shape-aware';
  if (!POLICY_NAMES.includes(policy)) throw usageError(`--policy: unknown policy '${policy}'; policies: ${POLICY_NAMES.join(', ')}`);
  const workers = positive(flags, 'workers', LIVE_DEFAULTS.workers, true);
  if (workers > 18) throw usageError(`--workers: a GB200 NVL72 rack has 18 compute trays, got ${workers}`);
  const drainRaw = (flags.drain as number | undefined) ?? LIVE_DEFAULTS.drainS;
  if (!(drainRaw >= 0)) throw usageError(`--drain: expected a number ≥ 0, got ${drainRaw}`);
  const pace = (flags.pace as string | undefined) ?? 'real';
  if (pace !== 'real' && pace !== 'none') throw usageError(`--pace: expected real or none, got '${pace}'`);
  return runLiveStart({
    workers, policy, seed, pace,
    durationS: positive(flags, 'duration', LIVE_DEFAULTS.durationS),
    drainS: drainRaw,
    rateScale: positive(flags, 'rate-scale', LIVE_DEFAULTS.rateScale),
    progress: flags.progress === true,
    json: flags.json === true,
  });
}

/** The previous `start`: the default mix on one simulated rack in virtual time, shape-aware beside a baseline. */
async function runSimComparison(o: { baseline: string; rateScale: number; seed: number; json: boolean }): Promise<number> {
  const { buildReport } = await import('../report/metrics.js');
  const { compareTable, runTable } = await import('../report/markdown.js');
  const { runSimulation } = await import('../sim/run.js');
  const { defaultMix } = await import('../workload/default_mix.js');
  process.stdout.write('nvlsched start --sim: the default mixed-shape load on one simulated GB200 NVL72 rack (llama-3.1-70b),\n' +
    'real scheduler core + native KV manager, performance-model step times, virtual time (see README).\n\n');
  const reports = [];
  for (const policy of ['shape-aware', o.baseline]) {
    const workload = defaultMix({ seed: o.seed, rateScale: o.rateScale });
    const report = buildReport(runSimulation({ workload, cluster: 'gb200-nvl72', model: 'llama-3.1-70b', policy, seed: o.seed }));
    reports.push(report);
    process.stdout.write(`### ${policy}: ${report.overall.requests} requests, ${report.simulated_s.toFixed(1)} s simulated in ${report.sim_wall_s.toFixed(1)} s\n\n`);
    process.stdout.write(runTable(report) + '\n');
  }
  process.stdout.write(compareTable(reports) + '\n');
  if (o.json) process.stdout.write(JSON.stringify({ start: reports }) + '\n');
  return 0;
}

interface LiveStartOptions {
  workers: number;
  pace: 'real' | 'none';
  policy: string;
  seed: number;
  durationS: number;
  drainS: number;
  rateScale: number;
  progress: boolean;
  json: boolean;
}

/** The live run: local cluster up, the default mix through gRPC, the report, everything stopped. */
async function runLiveStart(o: LiveStartOptions): Promise<number> {
  const { startLocalCluster } = await import('../loadgen/local_cluster.js');
  const { runLoad } = await import('../loadgen/loadgen.js');
  const { makeProgressBar } = await import('../loadgen/progress.js');
  const { buildLiveReport, liveTable } = await import('../loadgen/report.js');
  const { defaultMix } = await import('../workload/default_mix.js');
  const log = (line: string): void => void process.stderr.write(`nvlsched start: ${line}\n`);
  const startMs = Date.now();
  const local = await startLocalCluster({ workers: o.workers, policy: o.policy, seed: o.seed, pace: o.pace, log });
  let report: LiveReport;
  try {
    const { info } = local;
    process.stdout.write(`nvlsched start: a live gateway (policy ${info.policy}) in this process drives ${local.instances} instances of ` +
      `${info.model} on ${o.workers} simulated ${info.cluster} compute tray(s) (${info.gpus} GPUs), each tray a worker process ` +
      `whose KV lives in the native KV manager and whose steps ${o.pace === 'real' ? 'take the performance model\'s time' : 'answer at once (--pace none: timings are not the model\'s)'}. The load generator ` +
      `(scheduler/loadgen) sends the default mixed-shape load (tool calls on a shared prefix, reasoning, chat, multi-turn ` +
      `terminal sessions) at ${o.rateScale}x its rates for ${o.durationS} s over gRPC to ${local.address}, then gives live ` +
      `requests ${o.drainS} s to finish (the rest are cancelled). Latencies are measured by the client. ` +
      `\`npm start -- --sim\` runs the simulator comparison instead.\n`);
    // The demo gateway takes no API keys, as `serve --insecure-no-auth` would: say so where the user looks.
    const { NO_AUTH_WARNING } = await import('../gateway/tenancy/auth.js');
    process.stdout.write(`${NO_AUTH_WARNING.replace('--insecure-no-auth', 'npm start runs with --insecure-no-auth')}\n\n`);
    const workload = defaultMix({ seed: o.seed, rateScale: o.rateScale, durationS: o.durationS, blockTokens: local.blockTokens });
    const bar = o.progress || process.stderr.isTTY ? makeProgressBar(process.stderr, { prefix: 'nvlsched start: ' }) : undefined;
    let last: LoadProgress | undefined;
    const result = await runLoad({
      workload, client: local.client, target: info, seed: o.seed,
      durationS: o.durationS, drainS: o.drainS, maxContextTokens: local.maxContextTokens,
      ...(bar ? { onProgress: (p: LoadProgress) => bar.update((last = p)) } : {}),
      progressEveryMs: process.stderr.isTTY ? 250 : 1000,
    });
    if (bar && last) bar.finish(last);
    report = buildLiveReport(result, { target: local.address, workload });
  } finally {
    await local.close();
  }
  process.stdout.write(liveTable(report) + '\n');
  process.stdout.write(`(whole run ${((Date.now() - startMs) / 1000).toFixed(1)} s of wall time, workers and gateway stopped)\n`);
  if (o.json) process.stdout.write(JSON.stringify(report) + '\n');
  return 0;
}
