// Simulator speed: `npx tsx scheduler/sim/bench.ts [--hours 1] [--cluster gb200-nvl72] [--rate-scale 1]
// [--policy shape-aware] [--kv native|none] [--trace <mooncake jsonl>]`. Replays the Mooncake synthetic trace
// (shared/data/traces/synthetic_trace.jsonl: ~3.9 req/s, ~15K-token prompts, 512-token hash ids) open loop,
// repeated with fresh hash namespaces until it spans --hours, arrivals × --rate-scale; prints one JSON line with
// simulated seconds per wall second. A minimal reader of its own so that the benchmark does not depend on
// scheduler/workload/ (the readers proper live there).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

import { packageRoot } from '../util/paths.js';
import type { OpenLoopWorkload, WorkloadRequest } from '../workload/types.js';
import { runSimulation } from './run.js';
import { chain } from './testing.js';

const MOONCAKE_BLOCK_TOKENS = 512;
const SIM_BLOCK_TOKENS = 64;

interface Line {
  timestamp: number;
  input_length: number;
  output_length: number;
  hash_ids: number[];
}

export function mooncakeHours(file: string, hours: number, rateScale: number): OpenLoopWorkload {
  const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Line);
  const spanS = ((lines[lines.length - 1]?.timestamp ?? 0) - (lines[0]?.timestamp ?? 0)) / 1000 + 1;
  const untilS = hours * 3600;
  const requests: WorkloadRequest[] = [];
  const sub = MOONCAKE_BLOCK_TOKENS / SIM_BLOCK_TOKENS;
  for (let rep = 0; (rep * spanS) / rateScale < untilS; rep++) {
    const salt = BigInt(rep) << 40n;
    for (const [i, l] of lines.entries()) {
      const arrivalS = (rep * spanS + l.timestamp / 1000) / rateScale;
      if (arrivalS > untilS) break;
      const ids: bigint[] = [];
      for (const id of l.hash_ids) for (let j = 0; j < sub; j++) ids.push(salt + BigInt(id) * BigInt(sub) + BigInt(j));
      const full = Math.floor(l.input_length / SIM_BLOCK_TOKENS);
      requests.push({
        req: {
          requestId: `m${rep}.${i}`, tenant: 't0', arrivalS, promptTokens: l.input_length, maxOutputTokens: Math.max(l.output_length, 1024),
          blockHashes: chain(ids.slice(0, full)), hasTools: false, hasToolResults: false,
        },
        outputTokens: Math.max(1, l.output_length),
      });
    }
  }
  return { kind: 'open', name: `mooncake-${hours}h-x${rateScale}`, requests, durationS: untilS };
}

function main(): void {
  const { values } = parseArgs({
    options: {
      hours: { type: 'string', default: '1' },
      cluster: { type: 'string', default: 'gb200-nvl72' },
      'rate-scale': { type: 'string', default: '1' },
      policy: { type: 'string', default: 'shape-aware' },
      kv: { type: 'string', default: 'native' },
      model: { type: 'string' },
      trace: { type: 'string', default: path.join(packageRoot(), '..', 'shared', 'data', 'traces', 'synthetic_trace.jsonl') },
    },
  });
  const trace = existsSync(values.trace) ? values.trace : '/work/shared/data/traces/synthetic_trace.jsonl';
  const workload = mooncakeHours(trace, Number(values.hours), Number(values['rate-scale']));
  const r = runSimulation({
    workload, cluster: values.cluster, policy: values.policy, seed: 1, kv: values.kv as 'native' | 'none', durationS: Number(values.hours) * 3600,
    ...(values.model ? { model: values.model } : {}),
  });
  const completed = r.records.filter((x) => x.end.kind === 'completed').length;
  const cached = r.records.reduce((n, x) => n + x.cachedTokens.device, 0);
  const prompt = r.records.reduce((n, x) => n + x.promptTokens, 0);
  console.log(JSON.stringify({
    bench: 'sim', cluster: r.cluster, model: r.model, policy: r.policy, kv: values.kv, requests: r.records.length, completed, steps: r.steps,
    simulated_s: Number(r.simulatedS.toFixed(1)), sim_wall_s: Number(r.simWallS.toFixed(2)),
    sim_speed: Number((r.simulatedS / r.simWallS).toFixed(1)), us_per_step: Number(((r.simWallS * 1e6) / Math.max(1, r.steps)).toFixed(2)),
    device_hit_rate: Number((cached / Math.max(1, prompt)).toFixed(3)), kv_failures: r.stats.kvFailures, stalled: r.stats.stalled,
  }));
}

if (process.argv[1] && import.meta.url.endsWith(path.basename(process.argv[1]))) main();
