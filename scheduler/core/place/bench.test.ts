// The micro-benchmark runs and makes real choices (no timed assertions: figures come from the CLI, README.md).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { benchPlacement } from './bench.js';

test('benchPlacement: reports quantiles for each policy and spreads decisions', () => {
  let ticks = 0;
  const clock = (): number => (ticks += 0.001); // 1 µs per reading: deterministic
  for (const policy of ['shape-aware', 'dynamo-kv', 'round-robin']) {
    const r = benchPlacement({ policy, instances: 16, promptBlocks: 32, iterations: 100, conversations: 32 }, clock);
    assert.equal(r.iterations, 100);
    assert.equal(r.policy, policy);
    assert.ok(Math.abs(r.p50Us - 2) < 1e-6 && Math.abs(r.lookupP50Us - 1) < 1e-6, JSON.stringify(r));
    assert.ok(r.indexedHashes >= 16 + 32 * 16, 'system prompt plus the conversations');
    assert.ok(r.instancesChosen > 1, `${policy} chose ${r.instancesChosen}`);
  }
});
