import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KvIndex } from '../kvindex/kv_index.js';
import { PrefixLookup } from '../kvindex/prefix_lookup.js';
import { chain, WorkerEventLog } from '../kvindex/testing.js';
import { Rng } from '../../util/random.js';
import type { InstanceView, PlacementDecision } from '../types.js';
import { PLACEMENT_POLICY_NAMES, makePlacementPolicy, placementProfiles } from './profiles.js';
import { analyticCostModel, context, instance, type ContextOptions } from './testing.js';

const chosen = (d: PlacementDecision): string => (d.ok ? d.instanceId : `${d.code}: ${d.message}`);

test('profiles: the five baselines and ours, each builds and places', () => {
  assert.deepEqual(PLACEMENT_POLICY_NAMES, ['round-robin', 'least-loaded', 'sglang-cache-aware', 'dynamo-kv', 'llm-d-weighted', 'shape-affinity', 'shape-aware']);
  for (const name of PLACEMENT_POLICY_NAMES) {
    const d = makePlacementPolicy(name).place(context(), [instance('a'), instance('b')]);
    assert.equal(d.ok, true, name);
    assert.equal(makePlacementPolicy(placementProfiles[name]).place(context(), [instance('a')]).ok, true, `${name} from its config`);
  }
});

test('dynamo-kv: the Dynamo docs worked example picks worker 2 (costs 18, 10, 11)', () => {
  const workers = [instance('w1', { kvBlocksUsed: 2 }), instance('w2', { kvBlocksUsed: 0 }), instance('w3', { kvBlocksUsed: 7 })];
  const ctx: ContextOptions = { req: { promptTokens: 160, blockHashes: Array.from({ length: 10 }, (_, i) => BigInt(i + 1)) }, hits: { w1: { deviceBlocks: 2 }, w2: { deviceBlocks: 5 }, w3: { deviceBlocks: 8 } } };
  const policy = makePlacementPolicy('dynamo-kv');
  assert.equal(chosen(policy.place(context(ctx), workers)), 'w2');
  assert.deepEqual([...(policy.lastScores().byScorer.get('dynamo-cost') as Float64Array)], [0, 1, 0.875]);
});

test('dynamo-kv ignores KV retained for idle sessions (its documented blind spot); shape-affinity (load scorer) does not', () => {
  const pool = [instance('busy', { kvBlocksRetained: 9000 }), instance('free')];
  const ctx: ContextOptions = { shape: 'reasoning', seed: 3 };
  // Equal cost, equal used blocks: Dynamo's tie-break is a coin toss between them.
  const counts = { busy: 0, free: 0 };
  for (let seed = 1; seed <= 50; seed++) counts[chosen(makePlacementPolicy('dynamo-kv').place(context({ ...ctx, seed }), pool)) as 'busy' | 'free']++;
  assert.ok(counts.busy > 10 && counts.free > 10, `dynamo sees no difference: ${JSON.stringify(counts)}`);
  for (let seed = 1; seed <= 20; seed++) assert.equal(chosen(makePlacementPolicy('shape-affinity').place(context({ ...ctx, seed }), pool)), 'free');
});

test('llm-d-weighted: queue 2 + kv-utilization 2 + prefix 3, max-score', () => {
  const pool = [instance('a', { kvBlocksUsed: 5000 }), instance('b', { queuedRequests: 4, kvBlocksUsed: 1000 })];
  const policy = makePlacementPolicy('llm-d-weighted');
  const d = policy.place(context({ hits: { b: { deviceBlocks: 80 } } }), pool);
  assert.equal(chosen(d), 'b');
  const s = policy.lastScores();
  assert.deepEqual([...(s.byScorer.get('queue-scorer') as Float64Array)], [1, 0]);
  assert.deepEqual([...(s.byScorer.get('kv-cache-utilization-scorer') as Float64Array)], [0.5, 0.9]);
  assert.deepEqual([...(s.byScorer.get('prefix-cache-scorer') as Float64Array)], [0, 0.8]);
  assert.ok(Math.abs((s.total[0] as number) - 3) < 1e-12 && Math.abs((s.total[1] as number) - 4.2) < 1e-12, `${[...s.total]}`);
  assert.equal(chosen(makePlacementPolicy('llm-d-weighted').place(context({ hits: { b: { deviceBlocks: 80 } } }), [pool[0] as InstanceView, instance('b', { queuedRequests: 6 })])), 'a', 'saturation filter drops Q > 5');
});

test('shape-affinity: a tool call goes where its long prefix is cached, even to a busier instance', () => {
  const pool = [instance('cold'), instance('warm', { queuedRequests: 3, kvBlocksUsed: 3000 })];
  const d = makePlacementPolicy('shape-affinity').place(context({ shape: 'tool_call', hits: { warm: { deviceBlocks: 95 } } }), pool);
  assert.equal(chosen(d), 'warm');
  assert.deepEqual(d.ok && d.prefix, { deviceBlocks: 95, hostBlocks: 0, neighbourBlocks: 0 });
});

test('shape-affinity: a terminal turn goes home; the same request as a reasoning one goes where there is room', () => {
  const pool = [instance('home', { kvBlocksUsed: 6000, queuedRequests: 2 }), instance('idle')];
  assert.equal(chosen(makePlacementPolicy('shape-affinity').place(context({ shape: 'terminal', sessionHome: 'home' }), pool)), 'home');
  assert.equal(chosen(makePlacementPolicy('shape-affinity').place(context({ shape: 'reasoning', sessionHome: 'home' }), pool)), 'idle');
});

test('shape-affinity: a neighbour\'s prefix over NVLink counts, and pulls toward its domain', () => {
  const pool = [instance('far', { domainId: 'd1' }), instance('near', { domainId: 'd0' }), instance('holder', { domainId: 'd0', queuedRequests: 8, kvBlocksUsed: 9000 })];
  const hits = { near: { neighbourBlocks: 90, neighbourInstanceId: 'holder' }, holder: { deviceBlocks: 90 } };
  const d = makePlacementPolicy('shape-affinity').place(context({ shape: 'chat', hits }), pool);
  assert.equal(chosen(d), 'near');
  assert.deepEqual(d.ok && d.prefix, { deviceBlocks: 0, hostBlocks: 0, neighbourBlocks: 90, neighbourInstanceId: 'holder' });
});

test('round-robin and least-loaded', () => {
  const pool = [instance('a', { inFlightRequests: 5 }), instance('b', { inFlightRequests: 1 }), instance('c', { inFlightRequests: 9 })];
  const rr = makePlacementPolicy('round-robin');
  assert.deepEqual([1, 2, 3, 4].map(() => chosen(rr.place(context(), pool))), ['a', 'b', 'c', 'a']);
  assert.equal(chosen(makePlacementPolicy('least-loaded').place(context(), pool)), 'b');
});

test('every policy: same seed → same picks over a random run; another seed may differ', () => {
  const run = (name: string, seed: number): string[] => {
    const rng = new Rng(seed);
    const policy = makePlacementPolicy(name);
    const picks: string[] = [];
    for (let r = 0; r < 60; r++) {
      const pool = Array.from({ length: 6 }, (_, i) => instance(`i${i}`, { inFlightRequests: rng.int(3), queuedRequests: rng.int(3), kvBlocksUsed: 100 * rng.int(3) }));
      const hashes = Array.from({ length: 10 }, (_, i) => BigInt(rng.int(3) * 100 + i));
      const hits = Object.fromEntries(pool.filter(() => rng.int(3) === 0).map((p) => [p.instanceId, { deviceBlocks: rng.int(10) }]));
      picks.push(chosen(policy.place(context({ seed: seed * 1000 + r, nowS: r, req: { blockHashes: hashes, promptTokens: 160 }, hits, shape: (['chat', 'tool_call', 'terminal'] as const)[r % 3] }), pool)));
    }
    return picks;
  };
  for (const name of PLACEMENT_POLICY_NAMES) {
    assert.deepEqual(run(name, 7), run(name, 7), name);
    assert.ok(new Set(run(name, 7)).size > 1, `${name} spreads`);
  }
});

test('with the KV index: events → prefix hits per tier → decision', () => {
  const index = new KvIndex();
  index.registerInstance('a', 'd0', [{ workerId: 'w0', gpus: [0] }]);
  index.registerInstance('b', 'd0', [{ workerId: 'w0', gpus: [1] }]);
  index.registerInstance('c', 'd1', [{ workerId: 'w1', gpus: [0] }]);
  const H = chain(1, 100);
  const w0 = new WorkerEventLog('w0');
  index.applyEvents('w0', [...w0.stored('device', 0, H.slice(0, 60)), ...w0.stored('host', 0, H.slice(0, 80))]);
  const pool = [instance('a', { workerIds: ['w0'], queuedRequests: 4 }), instance('b', { workerIds: ['w0'] }), instance('c', { domainId: 'd1', workerIds: ['w1'] })];
  const lookup = new PrefixLookup(index).prepare(H, pool);
  assert.deepEqual(lookup.prefix(pool[0] as InstanceView), { deviceBlocks: 60, hostBlocks: 20, neighbourBlocks: 0, neighbourInstanceId: undefined });
  assert.deepEqual(lookup.prefix(pool[1] as InstanceView), { deviceBlocks: 0, hostBlocks: 80, neighbourBlocks: 0, neighbourInstanceId: undefined });
  assert.deepEqual(lookup.prefix(pool[2] as InstanceView), { deviceBlocks: 0, hostBlocks: 0, neighbourBlocks: 0, neighbourInstanceId: undefined });
  // Promoting 80 blocks over C2C costs ~0.3 ms against ~60 ms of recompute: b (idle, all in its Grace tier) wins
  // over a (device hit, but a queue). With a C2C link 2,000x slower, a's device hit wins.
  const ctx = { ...context({ shape: 'tool_call', req: { blockHashes: H, promptTokens: 1600 } }), prefix: lookup.prefix };
  const d = makePlacementPolicy('shape-affinity').place(ctx, pool);
  assert.deepEqual(d.ok && [d.instanceId, d.prefix], ['b', { deviceBlocks: 0, hostBlocks: 80, neighbourBlocks: 0 }]);
  const slowC2c = { ...ctx, cost: analyticCostModel({ c2cBlockS: 8e-3 }) };
  assert.equal(chosen(makePlacementPolicy('shape-affinity').place(slowC2c, pool)), 'a');
  index.markStale('w0');
  const d2 = makePlacementPolicy('shape-affinity').place({ ...slowC2c, prefix: new PrefixLookup(index).prepare(H, pool).prefix }, pool);
  assert.deepEqual(d2.ok && [d2.instanceId === 'a', d2.prefix], [false, { deviceBlocks: 0, hostBlocks: 0, neighbourBlocks: 0 }], 'stale worker: no hits, so a\'s queue decides');
});

test('shape-aware: predicted TTFT (cache-aware) and TPOT decide; a prefill backlog that would stall our decodes repels', () => {
  const policy = makePlacementPolicy('shape-aware');
  // Same load, one holds the prefix: it wins (its prefill plan is shorter, so its predicted TTFT is lower).
  const warm = [instance('cold'), instance('warm')];
  assert.equal(chosen(policy.place(context({ shape: 'chat', hits: { warm: { deviceBlocks: 90 } } }), warm)), 'warm');
  // The warm one has a deep prefill backlog: our decodes would share steps with it; the idle one wins.
  const backlog = [instance('idle'), instance('warm', { pendingPrefillTokens: 200_000, queuedRequests: 20 })];
  assert.equal(chosen(policy.place(context({ shape: 'chat', hits: { warm: { deviceBlocks: 90 } } }), backlog)), 'idle');
  // A terminal turn breaks a tie toward its session's home.
  for (let seed = 1; seed <= 10; seed++) {
    assert.equal(chosen(policy.place(context({ shape: 'terminal', sessionHome: 'b', seed }), [instance('a'), instance('b'), instance('c')])), 'b');
  }
  const scores = policy.lastScores();
  assert.deepEqual([...scores.byScorer.keys()], ['predicted-ttft', 'predicted-tpot', 'session-affinity']);
});
