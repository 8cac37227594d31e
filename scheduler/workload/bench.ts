// Load times of the shared traces: `npx tsx scheduler/workload/bench.ts [--block-tokens 64] [--repeat 3]`.
// Prints one JSON object per trace (median of the repeats, requests or turns, distinct hashes) and the heap after.
import path from 'node:path';
import { sharedDir } from '../util/paths.js';
import { defaultMix } from './default_mix.js';
import { readTrace } from './read_trace.js';
import type { Workload, WorkloadRequest } from './types.js';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

function requestsOf(w: Workload): WorkloadRequest[] {
  return w.kind === 'open' ? w.requests : w.sessions.flatMap((s) => s.turns.map((t) => t.request));
}

function measure(name: string, load: () => Workload, repeat: number): void {
  const times: number[] = [];
  let workload: Workload | undefined;
  for (let i = 0; i < repeat; i++) {
    const started = performance.now();
    workload = load();
    times.push(performance.now() - started);
  }
  const requests = requestsOf(workload as Workload);
  const blocks = requests.reduce((s, r) => s + r.req.blockHashes.length, 0);
  const distinct = new Set(requests.flatMap((r) => [...r.req.blockHashes])).size;
  times.sort((a, b) => a - b);
  console.log(JSON.stringify({ trace: name, load_ms: Math.round(times[times.length >> 1] as number), requests: requests.length, blocks, distinct_blocks: distinct }));
}

const blockTokens = flag('--block-tokens', 64);
const repeat = flag('--repeat', 3);
const shared = sharedDir();
if (shared === undefined) {
  console.error('bench: ../shared is absent (set NVLSCHED_SHARED); only the default mix is measured');
} else {
  const dir = path.join(shared, 'data', 'traces');
  for (const name of ['synthetic_trace.jsonl', 'AzureLLMInferenceTrace_code.csv', 'claude-code-sessions', 'servegen-deepseek-r1']) {
    measure(name, () => readTrace(path.join(dir, name), { blockTokens }).workload, repeat);
  }
}
measure('default-mix', () => defaultMix({ blockTokens }), repeat);
console.log(JSON.stringify({ heap_mb: Math.round(process.memoryUsage().heapUsed / 1e6) }));
