// The split search on a fake runner whose capacities are known: successive halving keeps the best, the all-mixed
// baseline reaches the last rung, the same inputs give the same trials, probes stay bounded, and a workload nothing
// can serve is a clear error.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { loadClusterConfig } from '../sim/cluster_file.js';
import { enumerateSplits, type SplitCandidate } from './candidates.js';
import { NoCapacityError, planSplit, rungBudget, type PlanEvaluate } from './search.js';

const candidates = enumerateSplits({ cluster: loadClusterConfig('hgx-b200x8'), model: 'llama-3.1-70b', tensorParallel: [1, 2] }).candidates;

/** Capacity of a candidate: best at tp2-p1-d2; the short horizon flatters tp1-p6-d1 (it must lose on the long one). */
function trueCapacity(c: SplitCandidate, durationS: number): number {
  if (c.id === 'tp2-p1-d2') return 3.1;
  if (c.id === 'tp1-p6-d1') return durationS < 30 ? 3.3 : 1.2;
  return 1 + (c.prefill * 0.13 + c.decode * 0.07) % 1.5;
}

function fake(calls: string[]): PlanEvaluate {
  return async (c, load, durationS) => {
    calls.push(`${c.id}@${load}/${durationS}`);
    const ok = load <= trueCapacity(c, durationS);
    return { slo_attainment: ok ? 0.95 : 0.5, goodput_rps: load * 5, tool_call_ttft_p99_s: 0.3, ttft_p99_s: 0.5, tpot_p99_s: 0.02, requests: 100, disaggregated: c.baseline ? 0 : 60 };
  };
}

test('successive halving finds the known best, drops the short-horizon flatterer, keeps the baseline to the end', async () => {
  const calls: string[] = [];
  const progress: number[] = [];
  const result = await planSplit({ candidates, evaluate: fake(calls), eta: 3, minDurationS: 10, maxDurationS: 90, startLoad: 1, onProgress: (p) => progress.push(p.done) });
  assert.deepEqual(result.rungs.map((r) => [r.durationS, r.size]), [[10, candidates.length], [30, Math.ceil(candidates.length / 3)], [90, Math.ceil(candidates.length / 9)]]);
  assert.equal(result.best.candidate.id, 'tp2-p1-d2');
  assert.ok(result.best.capacity !== null && result.best.capacity <= 3.1 && result.best.capacity >= 3.1 * 0.95, `capacity ${result.best.capacity}`);
  const flatterer = result.trials.filter((t) => t.candidate.id === 'tp1-p6-d1');
  assert.ok((flatterer[0]?.capacity ?? 0) >= 2 && flatterer.length >= 2, 'the flatterer looked good on the first rung and went on');
  assert.ok((flatterer[flatterer.length - 1]?.capacity ?? 9) <= 1.2, 'and the longer horizon found it out');
  assert.equal(result.baseline.candidate.id, 'tp1-mixed');
  assert.equal(result.baseline.rung, result.rungs.length - 1);
  assert.equal(result.best.at_capacity?.slo_attainment, 0.95);
  assert.deepEqual(progress, progress.map((_, i) => i + 1));
  // Bounded: no capacity search runs more probes than its rung allows.
  for (const t of result.trials) assert.ok(t.probes.length <= rungBudget(t.rung, t.rung === result.rungs.length - 1).maxProbes, t.id);
  assert.equal(calls.length, result.trials.reduce((n, t) => n + t.probes.length, 0));
  const again = await planSplit({ candidates, evaluate: fake([]), eta: 3, minDurationS: 10, maxDurationS: 90, startLoad: 1 });
  assert.deepEqual(again.trials, result.trials, 'same inputs, same trials');
});

test('a workload no split can serve at any load is an error saying so', async () => {
  const never: PlanEvaluate = async () => ({ slo_attainment: 0.2, goodput_rps: 0, tool_call_ttft_p99_s: null, ttft_p99_s: null, tpot_p99_s: null, requests: 10, disaggregated: 0 });
  await assert.rejects(planSplit({ candidates: candidates.slice(0, 5), evaluate: never, eta: 3, minDurationS: 10, maxDurationS: 30, startLoad: 1 }),
    (err: unknown) => err instanceof NoCapacityError && err.code === 'E_NO_CAPACITY' && /no split holds 90 % SLO attainment at any load probed/.test(err.message));
  await assert.rejects(planSplit({ candidates: [], evaluate: never, eta: 3, minDurationS: 10, maxDurationS: 30, startLoad: 1 }), /no candidates/);
});
