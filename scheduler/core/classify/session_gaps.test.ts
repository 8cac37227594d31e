import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeSessionGaps } from './session_gaps.js';
import { exactQuantile, lognormalSample } from './testing.js';

const PATH = 'retention.thinkTime.params';

test('no history anywhere → undefined; then global, tenant and session levels in turn', () => {
  const p = makeSessionGaps({ minTenantSamples: 2, minSessionSamples: 2, sessionTailFromBroader: false }, PATH);
  assert.equal(p.predict('s1', 'acme'), undefined);
  p.observe('x', 'other', 100);
  const global = p.predict('s1', 'acme');
  assert.ok(global && global.samples === 1 && Math.abs(global.expectedS / 100 - 1) < 0.05);
  p.observe('y', 'acme', 10);
  p.observe('z', 'acme', 10);
  const tenant = p.predict('s1', 'acme');
  assert.ok(tenant && tenant.samples === 2 && Math.abs(tenant.expectedS / 10 - 1) < 0.05, JSON.stringify(tenant));
  p.observe('s1', 'acme', 2);
  p.observe('s1', 'acme', 4);
  assert.deepEqual(p.predict('s1', 'acme'), { expectedS: 3, p90S: 3.8, samples: 2 });
  // An empty session id has no session level.
  p.observe('', 'acme', 1000);
  assert.equal(p.sizes().sessions, 4);
});

test('session p90 is floored at the tenant p90 unless turned off', () => {
  const on = makeSessionGaps({ minTenantSamples: 2, minSessionSamples: 2 }, PATH);
  for (let i = 0; i < 10; i++) on.observe(`o${i}`, 'acme', 60);
  on.observe('s', 'acme', 2);
  on.observe('s', 'acme', 4);
  const got = on.predict('s', 'acme');
  assert.ok(got && got.expectedS === 3 && Math.abs(got.p90S / 60 - 1) < 0.05, JSON.stringify(got));
});

test('tenant level converges to a seeded log-normal', () => {
  const p = makeSessionGaps({ halfLifeSamples: 0 }, PATH);
  const gaps = lognormalSample(3, 4000, 8, 1.5);
  gaps.forEach((g, i) => p.observe(`s${i}`, 'acme', g));
  const got = p.predict('new', 'acme');
  assert.ok(got);
  assert.ok(Math.abs(got.expectedS / exactQuantile(gaps, 0.5) - 1) < 0.05, `p50 ${got.expectedS}`);
  assert.ok(Math.abs(got.p90S / exactQuantile(gaps, 0.9) - 1) < 0.05, `p90 ${got.p90S}`);
});

test('bad gaps are dropped; sessions are LRU-bounded', () => {
  const p = makeSessionGaps({ maxSessions: 2, maxTenants: 1 }, PATH);
  for (const bad of [NaN, -1, Infinity]) p.observe('s', 't', bad);
  assert.equal(p.predict('s', 't'), undefined);
  for (let i = 0; i < 5; i++) p.observe(`s${i}`, `t${i}`, 1);
  assert.deepEqual(p.sizes(), { sessions: 2, tenants: 1 });
});

test('bad parameters are rejected naming the field', () => {
  assert.throws(() => makeSessionGaps({ expectedQuantile: 0 }, PATH), /retention\.thinkTime\.params\.expectedQuantile: expected a number ≥ 0.01/);
  assert.throws(() => makeSessionGaps({ minSessionSamples: 5, sessionWindow: 4 }, PATH), /params\.minSessionSamples: must be ≤ sessionWindow \(4\)/);
  assert.throws(() => makeSessionGaps({ maxTenants: 0 }, PATH), /params\.maxTenants: expected an integer ≥ 1, got 0/);
  assert.throws(() => makeSessionGaps({ gapS: 1 }, PATH), /params\.gapS: unknown field/);
});
