// `nvlsched start`: the main job on an embedded default. Until live serving exists (the gateway and worker
// processes over gRPC, a later issue), it runs the same scheduler in the simulator: one GB200 NVL72 rack serving
// Llama 3.1 70B, the embedded mixed-shape load (tool calls on a shared system + tools prefix, long reasoning,
// chat, multi-turn terminal sessions with tool-result turns), the real native KV manager per tray feeding the
// scheduler's KV index, step times from the calibrated performance model. It prints the per-shape report of our
// policy and, side by side, the same load under a baseline.
import { parseFlags, usageError } from './args.js';
import { POLICY_NAMES } from '../core/policy.js';
import { buildReport } from '../report/metrics.js';
import { compareTable, runTable } from '../report/markdown.js';
import { runSimulation } from '../sim/run.js';
import { defaultMix } from '../workload/default_mix.js';

export async function run(argv: string[]): Promise<number> {
  const { flags } = parseFlags(argv, {
    baseline: { type: 'string', help: `baseline shown beside shape-aware (default dynamo-kv; one of ${POLICY_NAMES.join(', ')})` },
    'rate-scale': { type: 'number', help: 'multiplies the default mix arrival rates (default 1)' },
    seed: { type: 'number', help: 'seed (default 1)' },
    json: { type: 'boolean', help: 'print the reports as one JSON line at the end' },
  });
  const baseline = (flags.baseline as string | undefined) ?? 'dynamo-kv';
  if (!POLICY_NAMES.includes(baseline)) throw usageError(`--baseline: unknown policy '${baseline}'; policies: ${POLICY_NAMES.join(', ')}`);
  const rateScale = (flags['rate-scale'] as number | undefined) ?? 1;
  if (!(rateScale > 0)) throw usageError(`--rate-scale: expected a number > 0, got ${rateScale}`);
  const seed = (flags.seed as number | undefined) ?? 1;
  process.stdout.write('nvlsched start: the default mixed-shape load on one simulated GB200 NVL72 rack (llama-3.1-70b),\n' +
    'real scheduler core + native KV manager, performance-model step times (see README).\n\n');
  const reports = [];
  for (const policy of ['shape-aware', baseline]) {
    const workload = defaultMix({ seed, rateScale });
    const result = runSimulation({ workload, cluster: 'gb200-nvl72', model: 'llama-3.1-70b', policy, seed });
    const report = buildReport(result);
    reports.push(report);
    process.stdout.write(`### ${policy}: ${report.overall.requests} requests, ${report.simulated_s.toFixed(1)} s simulated in ${report.sim_wall_s.toFixed(1)} s\n\n`);
    process.stdout.write(runTable(report) + '\n');
  }
  process.stdout.write(compareTable(reports) + '\n');
  if (flags.json) process.stdout.write(JSON.stringify({ start: reports }) + '\n');
  return 0;
}
