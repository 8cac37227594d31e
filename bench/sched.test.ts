import assert from 'node:assert/strict';
import { test } from 'node:test';
import { benchSched, machineNoise } from './sched.js';

test('bench sched builds the requested state and reports percentiles for every policy it is given', () => {
  for (const policy of ['shape-aware', 'round-robin']) {
    const r = benchSched({ policy, instances: 8, running: 80, queued: 400, decisions: 50, steps: 50, seed: 1 });
    assert.equal(r.policy, policy);
    assert.equal(r.running, 80, 'running sequences');
    assert.equal(r.queued, 400, 'queued sequences');
    assert.ok(r.indexed_hashes > 0, 'KV index fed');
    assert.ok(r.route_p50_us > 0 && r.route_p99_us >= r.route_p50_us);
    // The fastest of three tries of each decision is never slower than its first try, percentile by percentile.
    assert.ok(r.route_min_p50_us > 0 && r.route_min_p50_us <= r.route_p50_us && r.route_min_p99_us <= r.route_p99_us);
    assert.ok(r.step_p50_us > 0 && r.step_p99_us >= r.step_p50_us);
    assert.equal(r.route_rejected, 0);
  }
});

test('machine noise: a fixed job timed many times reports ordered percentiles', () => {
  const m = machineNoise(200);
  assert.ok(m.fixed_job_p50_us > 0 && m.fixed_job_p99_us >= m.fixed_job_p50_us);
});
