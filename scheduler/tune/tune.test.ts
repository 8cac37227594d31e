// The search driver: successive halving keeps the best configurations, the default always reaches the last rung,
// every trial is counted exactly once, and a run is deterministic for its seed. Sample 0 is exactly the shipped
// shape-aware policy.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { runSimulation } from '../sim/run.js';
import { defaultMix } from '../workload/index.js';
import { makeLocalRunner } from './local_runner.js';
import { defaultParams, policyFor } from './space.js';
import { sampleConfigs, tune, type TuneOptions, type TuneProgress } from './tune.js';
import type { TrialMetrics, TrialRunner, TrialSpec } from './types.js';

const OPTIONS: TuneOptions = {
  workload: { seed: 1, strict: false, rateScale: 1 },
  goodput: { all: {}, byShape: {} },
  samples: 9, eta: 3, minDurationS: 1, maxDurationS: 9, seed: 4,
};

/** Metrics from the parameters alone: goodput peaks at deadlineWeight 0.7, scaled by duration; cost tracks slack. */
function fakeMetrics(spec: TrialSpec): TrialMetrics {
  const goodput = (1000 - 300 * Math.abs((spec.params['batch.deadlineWeight'] as number) - 0.7)) * (1 + spec.durationS / 100);
  const shape = { requests: 0, good: 0, goodput_rps: null, slo_attainment: null };
  return {
    goodput_per_gpu_hour: goodput, goodput_rps: goodput / 50, slo_attainment: 0.9, cost_per_request_usd: spec.params['admission.slack'] as number,
    cost_usd: 1, requests: 10, good: 9, completed: 10, rejected: 0, ttft_p99_s: 1, tpot_p99_s: 0.03, gpus: 72, simulated_s: spec.durationS,
    sim_wall_s: 0, by_shape: { tool_call: shape, reasoning: shape, terminal: shape, chat: shape },
  };
}

test('halving keeps the best third each rung, runs the default on the last one, counts every trial once', async () => {
  const seen: TrialSpec[] = [];
  const progress: TuneProgress[] = [];
  const runner = makeLocalRunner(async (spec) => (seen.push(spec), fakeMetrics(spec)));
  const result = await tune(OPTIONS, runner, (p) => progress.push(p));
  assert.deepEqual(result.rungs.map((r) => [r.durationS, r.size]), [[1, 9], [3, 3], [9, 1]]);
  const byRung = (r: number) => result.trials.filter((t) => t.rung === r);
  assert.equal(byRung(0).length, 9);
  // Rung 1 holds the three best of rung 0 by goodput (ties impossible here).
  const rung0Best = [...byRung(0)].sort((a, b) => b.metrics.goodput_per_gpu_hour - a.metrics.goodput_per_gpu_hour).slice(0, 3).map((t) => t.sample);
  assert.deepEqual(byRung(1).map((t) => t.sample).sort(), [...rung0Best].sort());
  // The last rung: the best of rung 1, plus the default (sample 0) if it had been dropped.
  const last = byRung(2).map((t) => t.sample);
  assert.ok(last.includes(0));
  assert.equal(result.baseline.sample, 0);
  assert.equal(result.baseline.rung, 2);
  assert.equal(result.best.metrics.goodput_per_gpu_hour, Math.max(...byRung(2).map((t) => t.metrics.goodput_per_gpu_hour)));
  assert.equal(seen.length, result.trials.length);
  assert.equal(new Set(result.trials.map((t) => t.id)).size, result.trials.length);
  assert.deepEqual(progress.map((p) => p.done), result.trials.map((_, i) => i + 1));
  assert.equal(progress.at(-1)?.total, result.trials.length);
  // Each rung's Pareto front is non-empty and made of that rung's trials.
  for (const front of result.pareto) {
    assert.ok(front.ids.length > 0);
    for (const id of front.ids) assert.ok(id.startsWith(`r${front.rung}-`), id);
  }
});

test('a runner that reports a trial twice or loses one stops the search', async () => {
  const twice: TrialRunner = {
    async runRung(specs, onResult) {
      const base = await makeLocalRunner(async (s) => fakeMetrics(s)).runRung(specs, onResult);
      return [...base, base[0]!];
    },
    async close() {},
  };
  await assert.rejects(tune(OPTIONS, twice), /trial r0-s00 reported twice/);
  const lossy: TrialRunner = {
    async runRung(specs, onResult) {
      return (await makeLocalRunner(async (s) => fakeMetrics(s)).runRung(specs, onResult)).slice(1);
    },
    async close() {},
  };
  await assert.rejects(tune(OPTIONS, lossy), /trial r0-s00 has no result/);
});

test('samples: the default first, then seeded points; another seed, other points', () => {
  const a = sampleConfigs(6, 4);
  assert.deepEqual(a[0], defaultParams());
  assert.deepEqual(sampleConfigs(6, 4), a);
  assert.notDeepEqual(sampleConfigs(6, 5).slice(1), a.slice(1));
  assert.equal(new Set(a.map((p) => JSON.stringify(p))).size, 6);
});

test('sample 0 runs exactly the shipped shape-aware policy', () => {
  const workload = defaultMix({ seed: 2, durationS: 3, rateScale: 4 });
  const named = runSimulation({ workload, policy: 'shape-aware', seed: 2, durationS: 3 });
  const tuned = runSimulation({ workload, policy: policyFor(defaultParams()), seed: 2, durationS: 3 });
  assert.ok(named.records.length > 50);
  assert.deepEqual(tuned.records, named.records);
});

test('a real search is deterministic for its seed', async () => {
  const options: TuneOptions = { ...OPTIONS, workload: { seed: 2, strict: false, rateScale: 4 }, samples: 3, minDurationS: 2, maxDurationS: 2 };
  const first = await tune(options, makeLocalRunner());
  const second = await tune(options, makeLocalRunner());
  const strip = (r: typeof first) => r.trials.map((t) => ({ ...t, metrics: { ...t.metrics, sim_wall_s: 0 } }));
  assert.deepEqual(strip(second), strip(first));
  assert.ok(first.trials.every((t) => t.metrics.requests > 0));
});
