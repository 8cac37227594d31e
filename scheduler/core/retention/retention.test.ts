import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RetentionInput, ThinkTimePredictor } from '../types.js';
import { gapBefore, gapSigma, normalCdf } from './gap_model.js';
import { COST_AWARE_DEFAULTS, retentionCosts } from './policies/cost_aware.js';
import { makeRetentionPolicy } from './registry.js';
import { SessionRetention, type TurnEnd } from './tracker.js';
import type { SessionRetentionInput } from './types.js';

/** A tenth of HBM, a 10 s median gap (p90 40 s), 90% HBM pressure, 2 s to recompute, 50 ms to promote. */
const BASE: SessionRetentionInput = {
  sessionId: 's',
  nowS: 100,
  kvBlocks: 1000,
  deviceKvBlocksTotal: 10000,
  contextTokens: 64000,
  expectedGapS: 10,
  p90GapS: 40,
  devicePressure: 0.9,
  hostPressure: 0.2,
  recomputeS: 2,
  promoteS: 0.05,
};

test('normal CDF and the log-normal gap model', () => {
  for (const [x, want] of [[0, 0.5], [1.2815515655446004, 0.9], [-1.96, 0.0249979], [6, 1]] as const) {
    assert.ok(Math.abs(normalCdf(x) - want) < 2e-7, `Φ(${x})`);
  }
  assert.equal(gapSigma(10, 40), Math.log(4) / 1.2815515655446004);
  assert.equal(gapSigma(10, 10), 0.05, 'identical gaps keep a small spread');
  assert.ok(Math.abs(gapBefore(40, 10, gapSigma(10, 40)) - 0.9) < 1e-6, 'P(gap < p90) = 0.9');
  assert.ok(Math.abs(gapBefore(10, 10, 1) - 0.5) < 1e-8, 'the median splits the mass');
  assert.equal(gapBefore(0, 10, 1), 0);
});

test('cost-aware: expected costs and the cheapest action, table', () => {
  const cases: { name: string; over: Partial<SessionRetentionInput>; costs: [number, number, number]; action: string }[] = [
    { name: 'scarce HBM, cheap Grace: demote', over: {}, costs: [0.8, 0.031062, 1.8], action: 'demote' },
    { name: 'HBM not scarce: keeping is free', over: { devicePressure: 0.3 }, costs: [0, 0.031062, 1.8], action: 'keep' },
    { name: 'Grace full, costly recompute: keep', over: { hostPressure: 0.96 }, costs: [0.8, Infinity, 1.8], action: 'keep' },
    { name: 'Grace full, cheap recompute: drop', over: { hostPressure: 0.96, recomputeS: 0.5 }, costs: [0.8, Infinity, 0.45], action: 'drop' },
    { name: 'gap shorter than the promote lead: keep', over: { expectedGapS: 0.3, p90GapS: 1.2 }, costs: [0.024, 0.0545, 1.8], action: 'keep' },
    { name: 'no history: the unknown gap (30 s, spread 4)', over: { expectedGapS: undefined, p90GapS: undefined }, costs: [2.4, 0.031693, 1.8], action: 'demote' },
    { name: 'never returns: drop', over: { returnProbability: 0 }, costs: [0.8, 0.005, 0], action: 'drop' },
    { name: 'busy Grace costs something', over: { hostPressure: 0.8 }, costs: [0.8, 0.091062, 1.8], action: 'demote' },
    { name: 'tie (all free): keep wins', over: { devicePressure: 0.1, recomputeS: 0, promoteS: 0 }, costs: [0, 0, 0], action: 'keep' },
  ];
  const policy = makeRetentionPolicy({ name: 'cost-aware' }, 'retention');
  for (const c of cases) {
    const input = { ...BASE, ...c.over } as RetentionInput;
    const got = retentionCosts(COST_AWARE_DEFAULTS, input);
    [got.keepS, got.demoteS, got.dropS].forEach((v, i) => {
      const want = c.costs[i] as number;
      assert.ok(v === want || Math.abs(v - want) < 1e-6, `${c.name}: cost ${i} ${v} ≠ ${want}`);
    });
    const d = policy.decide(input);
    assert.equal(d.action, c.action, c.name);
    assert.match(d.reason, new RegExp(`^${c.action}: keep `));
  }
  assert.equal(policy.promoteLeadS(BASE), 0.55);
});

test('baselines: always-keep keeps, drop drops, whatever the input', () => {
  for (const [name, action] of [['always-keep', 'keep'], ['drop', 'drop']] as const) {
    const policy = makeRetentionPolicy({ name }, 'retention');
    for (const over of [{}, { devicePressure: 1 }, { hostPressure: 1, recomputeS: 100 }]) {
      assert.equal(policy.decide({ ...BASE, ...over }).action, action, name);
    }
    assert.equal(policy.promoteLeadS(BASE), 0);
  }
});

test('bad retention parameters name the field; a missing HBM size is a clear error', () => {
  const cases: [unknown, RegExp][] = [
    [{ name: 'lru' }, /retention\.name: unknown retention policy "lru"; known: always-keep, drop, cost-aware/],
    [{ name: 'cost-aware', params: { returnProbability: 2 } }, /retention\.params\.returnProbability: expected a number ≥ 0 and ≤ 1, got 2/],
    [{ name: 'cost-aware', params: { deviceFreeBelow: 1 } }, /retention\.params\.deviceFreeBelow: expected a number ≥ 0 and ≤ 0\.99, got 1/],
    [{ name: 'cost-aware', params: { unknownGapS: 0 } }, /retention\.params\.unknownGapS: expected a number > 0, got 0/],
    [{ name: 'cost-aware', params: { gap: 1 } }, /retention\.params\.gap: unknown field/],
    [{ name: 'drop', params: { x: 1 } }, /retention\.params\.x: unknown field; allowed: \(none\)/],
  ];
  for (const [spec, message] of cases) assert.throws(() => makeRetentionPolicy(spec, 'retention'), { code: 'E_BAD_CONFIG', message });
  const policy = makeRetentionPolicy({ name: 'cost-aware' }, 'retention');
  const { deviceKvBlocksTotal: _omit, ...noTotal } = BASE;
  assert.throws(() => policy.decide(noTotal), /deviceKvBlocksTotal/);
  assert.equal(makeRetentionPolicy({ name: 'cost-aware', params: { deviceKvBlocksTotal: 10000 } }, 'r').decide(noTotal).action, 'demote');
});

/** A predictor that answers from a table and records what it observed. */
function fakePredictor(gaps: Record<string, { expectedS: number; p90S: number }>) {
  const observed: [string, string, number][] = [];
  const predictor: ThinkTimePredictor = {
    name: 'fake',
    predict: (sessionId) => (gaps[sessionId] ? { ...(gaps[sessionId] as { expectedS: number; p90S: number }), samples: 3 } : undefined),
    observe: (sessionId, tenant, gapS) => void observed.push([sessionId, tenant, gapS]),
  };
  return { predictor, observed };
}

function turnEnd(over: Partial<TurnEnd>): TurnEnd {
  return { sessionId: 's', tenant: 't', nowS: 100, kvBlocks: 1000, contextTokens: 64000, devicePressure: 0.9, hostPressure: 0.2, deviceKvBlocksTotal: 10000, recomputeS: 2, promoteS: 0.05, ...over };
}

test('tracker: a demoted session is promoted at turn end + expected gap − lead, and its gap is learned', () => {
  const { predictor, observed } = fakePredictor({ s: { expectedS: 10, p90S: 40 } });
  const r = new SessionRetention(makeRetentionPolicy({ name: 'cost-aware' }, 'r'), predictor);
  const d = r.turnEnded(turnEnd({}));
  assert.deepEqual([d.action, d.promoteAtS, r.tierOf('s')], ['demote', 109.45, 'host']);
  assert.deepEqual(r.duePromotions(109.4), []);
  assert.deepEqual(r.duePromotions(109.45), ['s']);
  assert.deepEqual(r.duePromotions(200), [], 'promoted once');
  assert.equal(r.tierOf('s'), 'device');
  assert.deepEqual(r.turnStarted('s', 't', 111), { tier: 'device', gapS: 11 });
  assert.deepEqual(observed, [['s', 't', 11]]);
  assert.equal(r.size, 0);
  assert.deepEqual(r.turnStarted('s', 't', 120), { tier: null, gapS: null }, 'first turn of a new idle period');
});

test('tracker: no history demotes without a promotion time; drop still measures the gap', () => {
  const { predictor, observed } = fakePredictor({});
  const r = new SessionRetention(makeRetentionPolicy({ name: 'cost-aware' }, 'r'), predictor);
  assert.deepEqual([r.turnEnded(turnEnd({})).action, r.turnEnded(turnEnd({})).promoteAtS], ['demote', null]);
  const dropper = new SessionRetention(makeRetentionPolicy({ name: 'drop' }, 'r'), predictor);
  assert.equal(dropper.turnEnded(turnEnd({ sessionId: 'x' })).action, 'drop');
  assert.equal(dropper.tierOf('x'), null);
  assert.deepEqual(dropper.turnStarted('x', 't', 130), { tier: null, gapS: 30 });
  assert.deepEqual(observed, [['x', 't', 30]]);
});

test('tracker: reconsider only moves KV down as pressure rises; eviction and expiry forget it', () => {
  const { predictor } = fakePredictor({ s: { expectedS: 10, p90S: 40 }, k: { expectedS: 10, p90S: 40 } });
  const r = new SessionRetention(makeRetentionPolicy({ name: 'cost-aware' }, 'r'), predictor);
  assert.equal(r.turnEnded(turnEnd({ sessionId: 'k', devicePressure: 0.3 })).action, 'keep');
  assert.equal(r.reconsider('k', 102, 0.3, 0.2), null, 'same pressure: no move');
  const moved = r.reconsider('k', 102, 0.95, 0.2);
  assert.equal(moved?.action, 'demote');
  assert.ok(Math.abs((moved?.promoteAtS ?? 0) - (102 + 8 - 0.55)) < 1e-9, 'promotion counts the gap still expected (10 − 2 s elapsed)');
  assert.equal(r.reconsider('k', 103, 0.1, 0.2), null, 'never promoted early by a pressure drop');
  assert.equal(r.reconsider('k', 103, 0.95, 0.99), null, 'Grace full: keep would be a move up, not taken');
  assert.equal(r.tierOf('k'), 'host');
  assert.equal(r.turnEnded(turnEnd({ sessionId: 'big', kvBlocks: 5000, devicePressure: 0.95 })).action, 'demote');
  assert.equal(r.reconsider('big', 101, 0.95, 0.99)?.action, 'drop', 'Grace full and half of HBM: drop');
  assert.equal(r.tierOf('big'), null);
  assert.equal(r.reconsider('nobody', 103, 1, 1), null);
  r.turnEnded(turnEnd({ sessionId: 's', devicePressure: 0.3, nowS: 50 }));
  r.evicted('s');
  assert.equal(r.tierOf('s'), null);
  assert.deepEqual(r.expire(200, 100), ['s']);
  assert.equal(r.size, 2);
});
