import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ConfigError } from '../config/params.js';
import { simpleCostModel } from '../testing/cluster.js';
import type { Classification, InstanceView } from '../types.js';
import { makeDisaggregationPolicy } from './decide.js';
import { makeMigrationPolicy } from './migrate.js';
import type { DisaggContext, MigrationCandidate } from './types.js';

function view(over: Partial<InstanceView> = {}): InstanceView {
  return {
    instanceId: 'd0', pool: 'p', domainId: 'rack0', workerIds: ['w'], numGpus: 1, healthy: true, draining: false, maxContextTokens: 131072,
    queuedRequests: 0, runningRequests: 0, pendingPrefillTokens: 0, decodingSequences: 0,
    kvBlocksTotal: 4096, kvBlocksUsed: 0, kvBlocksRetained: 0, stepTokenBudget: 8192, inFlightRequests: 0, ...over,
  };
}

const CLS: Classification = {
  shape: 'reasoning', reason: 'test', slo: { ttftS: 2, tpotS: 0.05 },
  output: { expectedTokens: 800, p50Tokens: 800, p90Tokens: 4000, samples: 10, source: 'shape' },
};

function ctx(over: Partial<DisaggContext> & { shape?: Classification['shape'] } = {}): DisaggContext {
  const promptTokens = over.promptTokens ?? 8000;
  return {
    req: { requestId: 'r', tenant: 't', arrivalS: 0, promptTokens, maxOutputTokens: 4096, blockHashes: [], hasTools: false, hasToolResults: false },
    cls: over.shape === 'tool_call' ? { ...CLS, shape: 'tool_call', slo: { ttftS: 0.5, tpotS: 0.03 } } : CLS,
    promptTokens,
    decode: view(), decodeCachedTokens: 0,
    prefill: view({ instanceId: 'p0', role: 'prefill' }), prefillCachedTokens: 0,
    transferBlocks: Math.ceil(promptTokens / 64),
    predictedOutputTokens: 800, waitSPerToken: { decode: 25e-6, prefill: 25e-6 }, cost: simpleCostModel(),
    ...over,
  };
}

test('aggregated never disaggregates and ignores roles; always always does', () => {
  const agg = makeDisaggregationPolicy({ name: 'aggregated' }, 'policy.disaggregation');
  assert.equal(agg.ignoresRoles, true);
  assert.equal(agg.decide(ctx({ promptTokens: 100_000 })), false);
  const always = makeDisaggregationPolicy('always', 'policy.disaggregation');
  assert.equal(always.ignoresRoles, false);
  assert.equal(always.decide(ctx({ promptTokens: 16, decodeCachedTokens: 0 })), true);
  assert.equal(always.localPrefillMaxTokens, 2048);
  // Absent = aggregated (the slot's default: nothing changes for existing configs).
  assert.equal(makeDisaggregationPolicy(undefined, 'x').name, 'aggregated');
});

test('dynamo-conditional: skip the prefill pool iff effective ISL < 2048 and effective/raw < 0.7 (or prefill busy)', () => {
  const p = makeDisaggregationPolicy({ name: 'dynamo-conditional' }, 'policy.disaggregation');
  const cases: [string, Partial<DisaggContext>, boolean][] = [
    ['short, mostly cached: local', { promptTokens: 4000, decodeCachedTokens: 3000 }, false],
    ['short but cold (ratio 1): disaggregated', { promptTokens: 1000, decodeCachedTokens: 0 }, true],
    ['long prompt, small suffix: local', { promptTokens: 100_000, decodeCachedTokens: 99_000 }, false],
    ['effective ISL over the bound: disaggregated', { promptTokens: 6000, decodeCachedTokens: 2000 }, true],
    ['tie at 2048 effective is not < 2048: disaggregated', { promptTokens: 10_000, decodeCachedTokens: 10_000 - 2048 }, true],
    ['tie at ratio 0.7 is not < 0.7: disaggregated', { promptTokens: 1000, decodeCachedTokens: 300 }, true],
    ['just under both: local', { promptTokens: 1000, decodeCachedTokens: 301 }, false],
  ];
  for (const [name, over, want] of cases) assert.equal(p.decide(ctx(over)), want, name);
  const busy = makeDisaggregationPolicy({ name: 'dynamo-conditional', params: { busyQueuedRequests: 4 } }, 'x');
  assert.equal(busy.decide(ctx({ promptTokens: 9000, prefill: view({ instanceId: 'p0', queuedRequests: 4 }) })), false, 'prefill busy: skip it');
  assert.equal(busy.decide(ctx({ promptTokens: 9000, prefill: view({ instanceId: 'p0', queuedRequests: 3 }) })), true);
});

test('llm-d-threshold: disaggregate when uncached tokens on the decode pod ≥ nonCachedTokens; 0 turns it off', () => {
  const p = makeDisaggregationPolicy({ name: 'llm-d-threshold', params: { nonCachedTokens: 1024 } }, 'x');
  assert.equal(p.decide(ctx({ promptTokens: 5000, decodeCachedTokens: 5000 - 1023 })), false);
  assert.equal(p.decide(ctx({ promptTokens: 5000, decodeCachedTokens: 5000 - 1024 })), true);
  const off = makeDisaggregationPolicy({ name: 'llm-d-threshold', params: { nonCachedTokens: 0 } }, 'x');
  assert.equal(off.decide(ctx({ promptTokens: 100_000 })), false);
});

test('shape-aware: prices a local prefill by the TPOT budget it takes from the decodes running there', () => {
  const p = makeDisaggregationPolicy('shape-aware', 'policy.disaggregation');
  // 100 reasoning decodes of 800 predicted tokens at 50 ms: 100 / (800 · 0.05) = 2.5 per second of stall.
  const busy = view({ decodingSequences: 100, decodeSloWeightPerS: 2.5 });
  // The same stall next to 10 tool calls (80 tokens at 30 ms) costs 4.2/s; next to 10 long reasoning decodes 0.01/s.
  const tight = view({ decodingSequences: 10, decodeSloWeightPerS: 10 / (80 * 0.03) });
  const loose = view({ decodingSequences: 10, decodeSloWeightPerS: 10 / (20_000 * 0.05) });
  const table: [string, Partial<DisaggContext> & { shape?: Classification['shape'] }, boolean][] = [
    ['tool call, 20K prefix cached on D, 100-token suffix', { shape: 'tool_call', promptTokens: 20_100, decodeCachedTokens: 20_000, decode: busy }, false],
    ['long cold reasoning prompt, 100 decodes on D', { promptTokens: 30_000, decode: busy }, true],
    ['long cold prompt, D idle: the transfer is pure cost', { promptTokens: 30_000, decode: view({ decodingSequences: 0 }) }, false],
    ['3K-token tool call next to tight tool-call decodes: moves', { shape: 'tool_call', promptTokens: 3000, decode: tight }, true],
    ['the same next to long reasoning decodes with budget to spare: stays', { shape: 'tool_call', promptTokens: 3000, decode: loose }, false],
    ['next to tight decodes, but P has 0.2 s of backlog (0.4 of the TTFT SLO): stays', { shape: 'tool_call', promptTokens: 3000, decode: tight, prefill: view({ instanceId: 'p0', pendingPrefillTokens: 8000 }) }, false],
    ['D backlogged past the SLO, P free: moves (SLO guard)', { promptTokens: 3000, decode: view({ pendingPrefillTokens: 200_000 }) }, true],
    ['P backlogged past the SLO, D free: stays (SLO guard)', { promptTokens: 3000, decode: busy, prefill: view({ instanceId: 'p0', pendingPrefillTokens: 200_000 }) }, false],
  ];
  for (const [name, over, want] of table) assert.equal(p.decide(ctx(over)), want, name);
  // Ours leaves the decision to decide(): a decode-role instance is not forced to hand long suffixes away.
  assert.equal(p.localPrefillMaxTokens, Infinity);
  assert.equal(makeDisaggregationPolicy({ name: 'shape-aware', params: { localPrefillMaxTokens: 2048 } }, 'x').localPrefillMaxTokens, 2048);
});

test('registry: unknown names and parameters are refused naming the field', () => {
  assert.throws(() => makeDisaggregationPolicy({ name: 'sometimes' }, 'policy.disaggregation'), (e: unknown) => e instanceof ConfigError && e.field === 'policy.disaggregation.name' && /known: aggregated, always, dynamo-conditional, llm-d-threshold, shape-aware/.test(e.message));
  assert.throws(() => makeDisaggregationPolicy({ name: 'dynamo-conditional', params: { maxUncachedRatio: 2 } }, 'p'), /p\.params\.maxUncachedRatio: expected a number ≥ 0 and ≤ 1, got 2/);
  assert.throws(() => makeDisaggregationPolicy({ name: 'always', params: { bogus: 1 } }, 'p'), /p\.params\.bogus: unknown field/);
  assert.throws(() => makeMigrationPolicy({ name: 'llumnix' }, 'policy.migration'), /policy\.migration\.name: unknown migration policy "llumnix"; known: none, load-balance/);
});

function cand(id: string, remaining: number, blocks: number): MigrationCandidate {
  return { requestId: id, instanceId: 'hot', contextTokens: blocks * 64, outputTokens: 10, remainingTokens: remaining, kvBlocks: blocks };
}

test('load-balance migration: hot vs cool of a domain, the best remaining-per-block decode, only when it pays', () => {
  const p = makeMigrationPolicy({ name: 'load-balance' }, 'policy.migration');
  const hot = view({ instanceId: 'hot', kvBlocksUsed: 3900, decodingSequences: 200 });
  const cool = view({ instanceId: 'cool', kvBlocksUsed: 400, decodingSequences: 10 });
  const decodes = new Map([['hot', [cand('short', 20, 10), cand('long', 4000, 40), cand('huge', 5000, 2000)]], ['cool', []]]);
  const base = { nowS: 0, decodes: (id: string) => decodes.get(id) ?? [], inFlight: 0, blockTokens: 64, cost: simpleCostModel() };
  assert.deepEqual(p.plan({ ...base, instances: [hot, cool] }), [{ requestId: 'long', fromInstanceId: 'hot', toInstanceId: 'cool' }]);
  // Same state, same answer (no randomness), whatever the call.
  assert.deepEqual(p.plan({ ...base, instances: [hot, cool] }), p.plan({ ...base, instances: [hot, cool] }));
  // Balanced, or bound reached: nothing.
  assert.deepEqual(p.plan({ ...base, instances: [hot, view({ instanceId: 'cool', kvBlocksUsed: 3800 })] }), []);
  assert.deepEqual(p.plan({ ...base, instances: [hot, cool], inFlight: 2 }), []);
  assert.deepEqual(p.plan({ ...base, instances: [hot] }), []);
  assert.deepEqual(makeMigrationPolicy(undefined, 'x').plan({ ...base, instances: [hot, cool] }), []);
});
