// `nvlsched bench <name>`: micro-benchmarks. Each prints a table, then one JSON object as its last stdout line.
import { usageError } from '../scheduler/cli/args.js';

const BENCHES: Record<string, () => Promise<{ run: (argv: string[]) => Promise<number> }>> = {
  batch: () => import('../scheduler/batch/bench.js'),
  classify: () => import('./classify.js'),
  disagg: () => import('./disagg.js'),
  evaluate: () => import('./evaluate.js'),
  fairness: () => import('./fairness.js'),
  kv: () => import('./kv.js'),
  live: () => import('../scheduler/cli/bench_live.js'),
  overhead: () => import('./overhead.js'),
  perf: () => import('./perf.js'),
  replica: () => import('../scheduler/gateway/replica/bench.js'),
  sched: () => import('./sched.js'),
};

export async function run(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  // `bench --target host:port ...` (flags first, no name): the live bench against a gateway (scheduler/loadgen).
  if (name?.startsWith('--')) return (await import('../scheduler/cli/bench_live.js')).run(argv);
  const load = name === undefined ? undefined : BENCHES[name];
  if (!load) throw usageError(`bench needs one of: ${Object.keys(BENCHES).join(', ')}${name ? ` (got '${name}')` : ''}`);
  return (await load()).run(rest);
}
