import assert from 'node:assert/strict';
import { test } from 'node:test';
import { benchEngine } from './bench.js';

test('benchEngine reaches the requested batch and reports quantiles from an injected timer', () => {
  let fakeMs = 0;
  const r = benchEngine({ running: 50, queued: 200, seed: 3, steps: 100, policy: 'shape-aware', nowMs: () => (fakeMs += 0.005) });
  assert.equal(r.steps, 100);
  assert.ok(r.meanRunning > 45, `batch stays near 50, got ${r.meanRunning}`);
  // Each measured step reads the timer twice, 5 µs apart.
  assert.equal(r.p50Us.toFixed(3), '5.000');
  assert.equal(r.p99Us.toFixed(3), '5.000');
});
