import assert from 'node:assert/strict';
import { test } from 'node:test';
import { benchRouter } from './bench.js';
import { createPoolRouter, POOL_ROUTERS } from './registry.js';

test('registry: every router by name, from a string or {name, params}', () => {
  assert.deepEqual(Object.keys(POOL_ROUTERS).sort(), ['by-model', 'first-pool', 'quality-per-cost']);
  for (const name of Object.keys(POOL_ROUTERS)) {
    assert.equal(createPoolRouter(name).name, name);
    assert.equal(createPoolRouter({ name, params: {} }).name, name);
  }
});

const BAD: [unknown, RegExp][] = [
  [{ name: 'cheapest' }, /^router\.name: expected one of quality-per-cost, by-model, first-pool, got "cheapest"/],
  [{}, /^router\.name: expected one of .*, got nothing/],
  [{ name: 'toString' }, /^router\.name: expected one of/],
  [[1], /^router: expected a mapping/],
  [{ name: 'by-model', weight: 1 }, /^router\.weight: unknown field; allowed: name, params/],
  [{ name: 'quality-per-cost', params: { minQuality: -1 } }, /^router\.params\.minQuality: expected a number ≥ 0/],
  [{ name: 'quality-per-cost', params: 3 }, /^router\.params: expected a mapping, got 3/],
];
for (const [config, message] of BAD) {
  test(`registry: bad config ${JSON.stringify(config)}`, () => {
    assert.throws(() => createPoolRouter(config), (e: unknown) => e instanceof Error && (e as { code?: string }).code === 'E_BAD_CONFIG' && message.test(e.message));
  });
}

test('bench: routes every sampled request over 8 pools and reports µs per call', () => {
  let fakeMs = 0;
  const r = benchRouter(createPoolRouter('quality-per-cost'), () => (fakeMs += 5), { calls: 2000 });
  assert.equal(r.numPools, 8);
  // The injected clock advanced 5 ms between the two reads: 5,000 µs over 2,000 calls.
  assert.equal(r.usPerCall, 2.5);
  assert.equal(Object.values(r.chosen).reduce((s, n) => s + n, 0), 1024);
  // A real choice: more than one pool wins some requests, and the unhealthy pool-1 never does.
  assert.ok(Object.keys(r.chosen).filter((k) => k.startsWith('pool-')).length > 2, JSON.stringify(r.chosen));
  assert.equal(r.chosen['pool-1'], undefined);
});
