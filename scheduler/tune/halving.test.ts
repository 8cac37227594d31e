// Successive halving's plan and selection, and the goodput/cost Pareto front.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { compareTrials, planRungs, survivors } from './halving.js';
import { dominates, paretoFront } from './pareto.js';
import type { TrialMetrics, TrialResult } from './types.js';

function metrics(goodput: number, cost: number | null): TrialMetrics {
  const shape = { requests: 0, good: 0, goodput_rps: null, slo_attainment: null };
  return {
    goodput_per_gpu_hour: goodput, goodput_rps: goodput / 50, slo_attainment: 1, cost_per_request_usd: cost, cost_usd: 0,
    requests: 1, good: 1, completed: 1, rejected: 0, ttft_p99_s: null, tpot_p99_s: null, gpus: 72, simulated_s: 1, sim_wall_s: 0,
    by_shape: { tool_call: shape, reasoning: shape, terminal: shape, chat: shape },
  };
}

function trial(sample: number, goodput: number, cost: number | null): TrialResult {
  return { id: `r0-s${sample}`, rung: 0, sample, duration_s: 1, params: {}, metrics: metrics(goodput, cost), worker: 'local' };
}

test('rungs: durations grow by eta up to the maximum, sizes shrink by eta', () => {
  assert.deepEqual(planRungs({ samples: 27, eta: 3, minDurationS: 10, maxDurationS: 90 }), [
    { rung: 0, durationS: 10, size: 27 }, { rung: 1, durationS: 30, size: 9 }, { rung: 2, durationS: 90, size: 3 },
  ]);
  // A maximum that is not a power of eta away is the last rung's duration.
  assert.deepEqual(planRungs({ samples: 16, eta: 3, minDurationS: 10, maxDurationS: 50 }).map((r) => [r.durationS, r.size]), [[10, 16], [30, 6], [50, 2]]);
  // One survivor left: it jumps to the full duration.
  assert.deepEqual(planRungs({ samples: 2, eta: 2, minDurationS: 1, maxDurationS: 64 }).map((r) => [r.durationS, r.size]), [[1, 2], [64, 1]]);
  // min = max: plain random search at one budget.
  assert.deepEqual(planRungs({ samples: 5, eta: 2, minDurationS: 7, maxDurationS: 7 }), [{ rung: 0, durationS: 7, size: 5 }]);
});

test('bad plans are refused naming the option', () => {
  assert.throws(() => planRungs({ samples: 0, eta: 3, minDurationS: 1, maxDurationS: 2 }), /samples/);
  assert.throws(() => planRungs({ samples: 4, eta: 1, minDurationS: 1, maxDurationS: 2 }), /eta/);
  assert.throws(() => planRungs({ samples: 4, eta: 2, minDurationS: 3, maxDurationS: 2 }), /maxDurationS/);
});

test('survivors: highest goodput per GPU-hour, then the cheaper, then the lower sample', () => {
  const results = [trial(0, 100, 0.2), trial(1, 300, 0.5), trial(2, 300, 0.1), trial(3, 50, null), trial(4, 100, 0.2)];
  assert.deepEqual(survivors(results, 3), [2, 1, 0]);
  assert.ok(compareTrials(trial(5, 10, 0.1), trial(6, 10, null)) < 0, 'a known cost beats none');
});

test('Pareto front: nothing on it is beaten on both goodput and cost', () => {
  const ts = [trial(0, 100, 0.3), trial(1, 200, 0.5), trial(2, 150, 0.2), trial(3, 90, 0.4), trial(4, 200, 0.6), trial(5, 10, null)];
  const front = paretoFront(ts);
  assert.deepEqual(front.map((t) => t.sample), [1, 2]);
  assert.ok(dominates(ts[2] as TrialResult, ts[0] as TrialResult));
  assert.ok(!dominates(ts[1] as TrialResult, ts[2] as TrialResult));
  for (const t of ts) if (!front.includes(t)) assert.ok(front.some((f) => dominates(f, t)), `${t.id} is dominated`);
});
