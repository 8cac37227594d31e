import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ScheduleRequest } from '../types.js';
import { makeStreamingQuantiles } from './quantiles.js';
import { exactQuantile, lognormalSample } from './testing.js';

function req(over: Partial<ScheduleRequest> = {}): ScheduleRequest {
  return {
    requestId: 'r', tenant: 'acme', arrivalS: 0, promptTokens: 100, maxOutputTokens: 32000, blockHashes: [],
    hasTools: false, hasToolResults: false, ...over,
  };
}
const PATH = 'classification.predictor.params';

test('cold start answers the shape prior, with expectedTokens at the configured quantile', () => {
  const p = makeStreamingQuantiles(undefined, PATH);
  assert.deepEqual(p.predict(req(), 'reasoning'), { expectedTokens: 800, p50Tokens: 800, p90Tokens: 3550, samples: 0, source: 'prior' });
  assert.deepEqual(p.predict(req(), 'tool_call'), { expectedTokens: 128, p50Tokens: 128, p90Tokens: 256, samples: 0, source: 'prior' });
  const p75 = makeStreamingQuantiles({ expectedQuantile: 0.75, priorP50Tokens: { chat: 100 }, priorP90Tokens: { chat: 400 } }, PATH);
  const got = p75.predict(req(), 'chat');
  // Log-normal through (100, 400): p75 = 100 · 4^(0.6745/1.2816) ≈ 207.
  assert.equal(got.expectedTokens, 207);
  assert.equal(got.p50Tokens, 100);
});

test('shape level converges to a seeded log-normal within 5%', () => {
  const p = makeStreamingQuantiles({ halfLifeSamples: 0, levels: ['shape'] }, PATH);
  const sample = lognormalSample(11, 5000, 300, 1.0);
  for (const v of sample) p.observe(req(), 'terminal', Math.round(v));
  const got = p.predict(req(), 'terminal');
  assert.equal(got.source, 'shape');
  assert.equal(got.samples, 5000);
  const rounded = sample.map(Math.round);
  assert.ok(Math.abs(got.p50Tokens / exactQuantile(rounded, 0.5) - 1) < 0.05, `p50 ${got.p50Tokens}`);
  assert.ok(Math.abs(got.p90Tokens / exactQuantile(rounded, 0.9) - 1) < 0.05, `p90 ${got.p90Tokens}`);
  // Other shapes are untouched.
  assert.equal(p.predict(req(), 'chat').source, 'prior');
});

test('levels answer only from their minimum sample count: shape, then tenant, then session', () => {
  const p = makeStreamingQuantiles({ minShapeSamples: 2, minTenantSamples: 3, minSessionSamples: 2, sessionTailFromBroader: false }, PATH);
  const other = req({ tenant: 'other' });
  const mine = req({ sessionId: 's1' });
  p.observe(other, 'chat', 50);
  assert.equal(p.predict(mine, 'chat').source, 'prior');
  p.observe(other, 'chat', 50);
  const shape = p.predict(mine, 'chat');
  assert.equal(shape.source, 'shape');
  assert.ok(Math.abs(shape.p50Tokens / 50 - 1) < 0.05, `shape p50 ${shape.p50Tokens}`);
  for (let i = 0; i < 3; i++) p.observe(req(), 'chat', 400);
  const tenant = p.predict(mine, 'chat');
  assert.deepEqual([tenant.source, tenant.samples], ['tenant', 3]);
  assert.ok(Math.abs(tenant.p50Tokens / 400 - 1) < 0.05);
  p.observe(mine, 'chat', 3000);
  assert.equal(p.predict(mine, 'chat').source, 'tenant');
  p.observe(mine, 'chat', 5000);
  assert.deepEqual(p.predict(mine, 'chat'), { expectedTokens: 4000, p50Tokens: 4000, p90Tokens: 4800, samples: 2, source: 'session' });
  // The session level is per session, across shapes; another session of the tenant still gets the tenant level.
  assert.equal(p.predict(mine, 'terminal').source, 'session');
  assert.equal(p.predict(req({ sessionId: 's2' }), 'chat').source, 'tenant');
});

test('session tail: quantiles above the median are floored at the broader level, the median stays the session\'s', () => {
  const p = makeStreamingQuantiles({ minShapeSamples: 5, minSessionSamples: 3, levels: ['session', 'shape'], halfLifeSamples: 0 }, PATH);
  // Shape level: 100..1000 evenly plus the six session outputs below; its p90 falls in the 1000 bucket.
  for (let i = 0; i < 100; i++) p.observe(req(), 'terminal', 100 + (i % 10) * 100);
  const short = req({ sessionId: 'short' });
  const long = req({ sessionId: 'long' });
  for (const v of [10, 20, 30]) p.observe(short, 'terminal', v);
  for (const v of [5000, 6000, 7000]) p.observe(long, 'terminal', v);
  const a = p.predict(short, 'terminal');
  assert.equal(a.source, 'session');
  assert.equal(a.p50Tokens, 20);
  assert.ok(a.p90Tokens > 900 && a.p90Tokens <= 1000, `floored p90 ${a.p90Tokens}`);
  assert.deepEqual(p.predict(long, 'terminal'), { expectedTokens: 6000, p50Tokens: 6000, p90Tokens: 6800, samples: 3, source: 'session' });
  const off = makeStreamingQuantiles({ minShapeSamples: 5, minSessionSamples: 3, sessionTailFromBroader: false }, PATH);
  for (let i = 0; i < 100; i++) off.observe(req(), 'terminal', 900);
  for (const v of [10, 20, 30]) off.observe(short, 'terminal', v);
  assert.equal(off.predict(short, 'terminal').p90Tokens, 28);
});

test('levels: [] is the constant prior whatever is observed', () => {
  const p = makeStreamingQuantiles({ levels: [] }, PATH);
  for (let i = 0; i < 100; i++) p.observe(req({ sessionId: 's' }), 'chat', 5);
  assert.equal(p.predict(req({ sessionId: 's' }), 'chat').source, 'prior');
  assert.deepEqual(p.sizes(), { sessions: 0, tenants: 0 });
});

test('a hint wins and every answer is clamped to [1, maxOutputTokens]', () => {
  const p = makeStreamingQuantiles({ minShapeSamples: 1 }, PATH);
  assert.deepEqual(p.predict(req({ hintOutputTokens: 700 }), 'chat'), { expectedTokens: 700, p50Tokens: 700, p90Tokens: 700, samples: 0, source: 'hint' });
  assert.equal(p.predict(req({ hintOutputTokens: 70_000 }), 'chat').p90Tokens, 32000);
  // Invalid hints are ignored.
  for (const hint of [0, -5, NaN, Infinity]) assert.equal(p.predict(req({ hintOutputTokens: hint }), 'chat').source, 'prior');
  // Prior above max_tokens is clamped.
  assert.deepEqual(p.predict(req({ maxOutputTokens: 1000 }), 'reasoning').p90Tokens, 1000);
  // Observed zeros predict 1, not 0.
  p.observe(req(), 'tool_call', 0);
  assert.equal(p.predict(req(), 'tool_call').expectedTokens, 1);
  // maxOutputTokens 0 (unknown) falls back to the tracked range, not to 0.
  assert.equal(p.predict(req({ maxOutputTokens: 0 }), 'reasoning').p50Tokens, 800);
});

test('bad observations are dropped', () => {
  const p = makeStreamingQuantiles({ minShapeSamples: 1 }, PATH);
  for (const bad of [NaN, -1, Infinity]) p.observe(req(), 'chat', bad);
  p.observe(req(), 'nope' as 'chat', 10);
  p.observe(req(), 'toString' as 'chat', 10);
  assert.equal(p.predict(req(), 'toString' as 'chat').p50Tokens, 256);
  assert.equal(p.predict(req(), 'chat').source, 'prior');
});

test('LRU bounds sessions and tenants; the least recently observed is forgotten', () => {
  const p = makeStreamingQuantiles({ maxSessions: 3, maxTenants: 2, minSessionSamples: 1, minTenantSamples: 1, minShapeSamples: 1 }, PATH);
  for (let i = 0; i < 5; i++) p.observe(req({ sessionId: `s${i}`, tenant: `t${i}` }), 'chat', 100 + i);
  assert.deepEqual(p.sizes(), { sessions: 3, tenants: 2 });
  assert.equal(p.predict(req({ sessionId: 's1', tenant: 'x' }), 'chat').source, 'shape');
  assert.equal(p.predict(req({ sessionId: 's2', tenant: 'x' }), 'chat').p50Tokens, 102);
  // Observing s2 again makes s3 the oldest: a new session evicts s3, not s2.
  p.observe(req({ sessionId: 's2', tenant: 't4' }), 'chat', 102);
  p.observe(req({ sessionId: 's9', tenant: 't4' }), 'chat', 109);
  assert.equal(p.predict(req({ sessionId: 's2', tenant: 'x' }), 'chat').source, 'session');
  assert.equal(p.predict(req({ sessionId: 's3', tenant: 'x' }), 'chat').source, 'shape');
  // s9 took over s3's storage and starts empty: only its own sample.
  const s9 = p.predict(req({ sessionId: 's9', tenant: 'x' }), 'chat');
  assert.deepEqual([s9.source, s9.samples, s9.p50Tokens], ['session', 1, 109]);
  assert.equal(p.predict(req({ tenant: 't3' }), 'chat').source, 'tenant');
  assert.equal(p.predict(req({ tenant: 't2' }), 'chat').source, 'shape');
});

test('100k sessions stay within the cap', () => {
  const p = makeStreamingQuantiles({ maxSessions: 1000 }, PATH);
  for (let i = 0; i < 100_000; i++) p.observe(req({ sessionId: `s${i}` }), 'terminal', i % 997);
  assert.equal(p.sizes().sessions, 1000);
});

test('bad parameters are rejected naming the field', () => {
  const cases: Array<[unknown, RegExp]> = [
    [{ expectedQuantile: 1 }, /params\.expectedQuantile: expected a number ≥ 0.01 and ≤ 0.99, got 1/],
    [{ levels: ['session', 'user'] }, /params\.levels\[1\]: expected one of session, tenant, shape, got "user"/],
    [{ levels: ['shape', 'shape'] }, /params\.levels\[1\]: 'shape' is listed twice/],
    [{ levels: 'shape' }, /params\.levels: expected a list/],
    [{ minSessionSamples: 0 }, /params\.minSessionSamples: expected an integer ≥ 1/],
    [{ minSessionSamples: 20, sessionWindow: 8 }, /params\.minSessionSamples: must be ≤ sessionWindow \(8\), got 20/],
    [{ maxSessions: 2.5 }, /params\.maxSessions: expected an integer/],
    [{ bucketGrowth: 1 }, /params\.bucketGrowth: expected a number ≥ 1.001/],
    [{ halfLifeSamples: -1 }, /params\.halfLifeSamples: expected a number ≥ 0/],
    [{ priorP50Tokens: { chat: 0 } }, /params\.priorP50Tokens\.chat: expected a number ≥ 1, got 0/],
    [{ priorP50Tokens: { chatt: 5 } }, /params\.priorP50Tokens\.chatt: unknown field/],
    [{ priorP90Tokens: { reasoning: 500 } }, /params\.priorP90Tokens\.reasoning: must be ≥ priorP50Tokens\.reasoning \(800\), got 500/],
    [{ window: 3 }, /params\.window: unknown field/],
    [{ sessionTailFromBroader: 'yes' }, /params\.sessionTailFromBroader: expected true or false, got "yes"/],
  ];
  for (const [params, pattern] of cases) assert.throws(() => makeStreamingQuantiles(params, PATH), pattern, JSON.stringify(params));
});
