// `nvlsched bench fairness [--json] [--duration <s>] [--flood-rate <req/s>] [--policy a,b] ...`: one tenant floods
// tool calls far past capacity while a quiet tenant sends a normal mix; in virtual time, with and without the
// tenants section (weighted fair share), under our policy and the baselines. Prints a Markdown table of each
// tenant's p99 TTFT per shape against its SLO, then one JSON object as the last stdout line. Deterministic for a
// seed; about half a minute of wall time at the defaults on a 2-core machine.
import { parseFlags, usageError } from '../scheduler/cli/args.js';
import { POLICY_NAMES } from '../scheduler/core/policy.js';
import { SHAPES, type Shape } from '../scheduler/core/types.js';
import { FAIRNESS_DEFAULTS, FLOOD, QUIET, runFairness, type FairnessOptions, type FairnessRun, type TenantShapeRow } from './fairness_setup.js';

const FLAGS = {
  json: { type: 'boolean', help: 'only the JSON line' },
  duration: { type: 'number', help: `simulated seconds of arrivals (default ${FAIRNESS_DEFAULTS.durationS})` },
  seed: { type: 'number', help: `seed (default ${FAIRNESS_DEFAULTS.seed})` },
  'flood-rate': { type: 'number', help: `the flooding tenant's tool calls per second (default ${FAIRNESS_DEFAULTS.floodRatePerS})` },
  'quiet-scale': { type: 'number', help: 'multiplies the quiet tenant’s rates (default 1)' },
  cluster: { type: 'string', help: `cluster preset (default ${FAIRNESS_DEFAULTS.cluster})` },
  model: { type: 'string', help: `model (default ${FAIRNESS_DEFAULTS.model})` },
  'tensor-parallel': { type: 'number', help: 'GPUs per instance (default: the sizing’s choice)' },
  policy: { type: 'string', help: `comma-separated policies (default ${FAIRNESS_DEFAULTS.policies.join(',')})` },
} as const;

export function parseFairnessArgs(argv: string[]): { options: FairnessOptions; json: boolean } {
  const { flags, rest } = parseFlags(argv, FLAGS);
  if (rest.length) throw usageError(`bench fairness: unexpected argument '${rest[0]}'; flags start with --`);
  const d = FAIRNESS_DEFAULTS;
  const num = (name: keyof typeof FLAGS, fallback: number, ok: (x: number) => boolean, rule: string): number => {
    const value = (flags[name] as number | undefined) ?? fallback;
    if (!ok(value)) throw usageError(`--${name} must be ${rule}, got ${value}`);
    return value;
  };
  const policies = ((flags.policy as string | undefined) ?? d.policies.join(',')).split(',').map((p) => p.trim());
  for (const p of policies) if (!POLICY_NAMES.includes(p)) throw usageError(`--policy: unknown '${p}'; known: ${POLICY_NAMES.join(', ')}`);
  const tp = flags['tensor-parallel'] as number | undefined;
  if (tp !== undefined && !(Number.isInteger(tp) && tp >= 1)) throw usageError(`--tensor-parallel must be an integer ≥ 1, got ${tp}`);
  const model = (flags.model as string | undefined) ?? d.model;
  return {
    json: flags.json === true,
    options: {
      durationS: num('duration', d.durationS, (x) => x > 0 && x <= 3600, 'in (0, 3600] simulated seconds'),
      seed: num('seed', d.seed, (x) => Number.isInteger(x) && x >= 0 && x < 2 ** 32, 'an integer in [0, 2^32)'),
      floodRatePerS: num('flood-rate', d.floodRatePerS, (x) => x >= 0 && x <= 1e5, 'in [0, 100000] requests/s'),
      quietScale: num('quiet-scale', d.quietScale, (x) => x > 0 && x <= 100, 'in (0, 100]'),
      cluster: (flags.cluster as string | undefined) ?? d.cluster,
      ...(model !== undefined && { model }),
      ...(tp !== undefined && { tensorParallel: tp }),
      policies,
    },
  };
}

/** The quiet tenant met its SLO: every shape's p99 TTFT within it, and none of its requests refused. */
export function quietMeetsSlo(run: FairnessRun): boolean {
  const rows = run.tenants[QUIET] ?? {};
  return SHAPES.every((shape) => rows[shape] === undefined || (rows[shape]?.p99_meets_slo !== false && rows[shape]?.rejected === 0));
}

function ms(valueS: number | null | undefined): string {
  return valueS === null || valueS === undefined ? '–' : (valueS * 1000).toFixed(0);
}

function cells(r: TenantShapeRow | undefined): string[] {
  if (!r) return ['–', '–', '–', '–'];
  const mark = r.p99_meets_slo === null ? '–' : r.p99_meets_slo ? 'yes' : '**no**';
  return [`${r.requests} (${r.rejected})`, `${ms(r.ttft_p50_s)} / ${ms(r.ttft_p99_s)}`, ms(r.slo_ttft_s), mark];
}

export function fairnessTable(runs: readonly FairnessRun[]): string {
  const header = '| run | tenant | shape | requests (rejected) | TTFT p50 / p99 ms | SLO ms | p99 ≤ SLO |\n| --- | --- | --- | ---: | ---: | ---: | --- |';
  const lines = [header];
  for (const run of runs) {
    for (const tenant of [QUIET, FLOOD]) {
      const rows = run.tenants[tenant];
      if (!rows) continue;
      for (const shape of SHAPES as readonly Shape[]) {
        if (rows[shape]) lines.push(`| ${run.variant} | ${tenant} | ${shape} | ${cells(rows[shape]).join(' | ')} |`);
      }
    }
  }
  const verdicts = runs.map((r) => `- ${r.variant}: the quiet tenant ${quietMeetsSlo(r) ? 'meets' : '**misses**'} its TTFT SLO (p99 per shape, no refusals)`);
  return `${lines.join('\n')}\n\n${verdicts.join('\n')}\n`;
}

export async function run(argv: string[]): Promise<number> {
  const { options, json } = parseFairnessArgs(argv);
  const runs = runFairness(options, (r) => {
    if (!json) process.stderr.write(`bench fairness: ${r.variant}: ${r.requests} requests in ${r.sim_wall_s.toFixed(1)} s\n`);
  });
  if (!json) {
    process.stdout.write(`Tenant fairness on ${options.cluster}${options.model ? ` (${options.model})` : ''}: ${options.durationS} s, ` +
      `flood ${options.floodRatePerS} tool calls/s, seed ${options.seed}\n\n${fairnessTable(runs)}`);
  }
  const verdict = Object.fromEntries(runs.map((r) => [r.variant, quietMeetsSlo(r)]));
  process.stdout.write(JSON.stringify({ bench: 'fairness', options, quiet_meets_slo: verdict, runs }) + '\n');
  return 0;
}
