// Micro-benchmark of one route() call over a pool set of ~8 pools with varied requests (seeded). The clock is
// injected (the core reads no wall clock); tests and the CLI pass performance.now. No timed assertions use it.
import { Rng } from '../../util/random.js';
import type { Classification, PoolLoad, PoolRouter, PoolSpec, ScheduleRequest, Shape } from '../types.js';
import { SHAPES } from '../types.js';

export interface RouterBenchResult {
  router: string;
  numPools: number;
  calls: number;
  usPerCall: number;
  /** Decisions per pool name (and rejections by code), to show the bench exercised real choices. */
  chosen: Record<string, number>;
}

function benchPools(numPools: number, rng: Rng): PoolSpec[] {
  const pools: PoolSpec[] = [];
  for (let i = 0; i < numPools; i++) {
    const q = (): number => 0.5 + 0.5 * rng.next();
    const external = i % 4 === 3;
    const max = external ? 1_000_000 : 131072;
    const pool: PoolSpec = {
      name: `pool-${i}`,
      kind: external ? 'external' : 'self_hosted',
      model: `model-${i % 3}`,
      quality: { tool_call: q(), reasoning: q(), terminal: q(), chat: q() },
      reliableContextTokens: Math.round(max * (0.5 + 0.3 * rng.next())),
      maxContextTokens: max,
      acceptBeyondReliable: i % 2 === 0,
      usdPerMInputTokens: 0.1 + 2 * rng.next(),
      usdPerMCachedInputTokens: 0.05,
      usdPerMOutputTokens: 0.4 + 8 * rng.next(),
      tokenEfficiency: 0.7 + 0.8 * rng.next(),
    };
    if (external) pool.external = { baseUrl: 'https://upstream.example/v1', ttftS: 0.8, tpotS: 0.02 };
    pools.push(pool);
  }
  return pools;
}

function benchLoads(pools: readonly PoolSpec[], rng: Rng): PoolLoad[] {
  return pools.map((pool, i) => ({
    pool: pool.name,
    predictedTtftS: { tool_call: 2 * rng.next(), reasoning: 3 * rng.next(), terminal: 2 * rng.next(), chat: 2 * rng.next() },
    saturation: rng.next(),
    healthy: i !== 1,
  }));
}

/** Runs `calls` route() calls (after a warm-up of the same size) and returns µs per call by `nowMs`. */
export function benchRouter(router: PoolRouter, nowMs: () => number, options: { numPools?: number; calls?: number; seed?: number } = {}): RouterBenchResult {
  const numPools = options.numPools ?? 8;
  const calls = options.calls ?? 100_000;
  const rng = new Rng(options.seed ?? 1);
  const pools = benchPools(numPools, rng);
  const loads = benchLoads(pools, rng);
  const numInputs = 1024;
  const reqs: ScheduleRequest[] = [];
  const classes: Classification[] = [];
  const slo = { ttftS: 1, tpotS: 0.05 };
  for (let i = 0; i < numInputs; i++) {
    const shape = SHAPES[i % SHAPES.length] as Shape;
    const promptTokens = Math.round(Math.exp(6 + 7 * rng.next()));
    const model = i % 16 === 0 ? `model-${i % 3}` : i % 64 === 1 ? 'pool-2' : undefined;
    reqs.push({ requestId: `r${i}`, tenant: 't', arrivalS: i, promptTokens, maxOutputTokens: 8192, blockHashes: [], hasTools: false, hasToolResults: false, ...(model ? { model } : {}) });
    const expectedTokens = Math.round(Math.exp(4 + 4 * rng.next()));
    classes.push({ shape, reason: 'bench', slo, output: { expectedTokens, p50Tokens: expectedTokens, p90Tokens: 3 * expectedTokens, samples: 10, source: 'shape' } });
  }
  const chosen: Record<string, number> = {};
  const run = (n: number, tally: boolean): void => {
    for (let i = 0; i < n; i++) {
      const k = i & (numInputs - 1);
      const d = router.route(reqs[k] as ScheduleRequest, classes[k] as Classification, pools, loads);
      if (tally) {
        const key = d.ok ? d.pool : d.code;
        chosen[key] = (chosen[key] ?? 0) + 1;
      }
    }
  };
  run(calls, false);
  const startMs = nowMs();
  run(calls, false);
  const usPerCall = ((nowMs() - startMs) * 1000) / calls;
  run(numInputs, true);
  return { router: router.name, numPools, calls, usPerCall, chosen };
}
