import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../util/random.js';
import { ConfigError } from './config/params.js';
import { packEvents } from '../kv/event_batch.js';
import { POLICY_NAMES } from './policy.js';
import { Scheduler } from './scheduler.js';
import { TEST_POOL, clusterInstances, drive, makeCluster, makeWorkload, simpleCostModel } from './testing/cluster.js';

const cost = simpleCostModel();

for (const policy of POLICY_NAMES) {
  test(`${policy}: no request lost, KV within capacity, every request ends exactly once`, () => {
    const s = makeCluster({ policy, seed: 7, instances: 6, kvBlocksPerInstance: 1500 });
    const work = makeWorkload(11, 400, 40);
    const r = drive(s, work, cost);
    const st = s.stats();
    assert.equal(st.submitted, 400);
    assert.equal(st.live, 0, 'requests left running');
    assert.equal(st.rejected + st.completed + st.cancelled + st.forwarded, st.submitted);
    const ends = new Map<string, number>();
    for (const sub of r.submits) if (!sub.ok) ends.set(sub.requestId, (ends.get(sub.requestId) ?? 0) + 1);
    for (const e of r.ended) ends.set(e.requestId, (ends.get(e.requestId) ?? 0) + 1);
    assert.equal(ends.size, 400);
    for (const [id, n] of ends) assert.equal(n, 1, `${id} ended ${n} times`);
    assert.ok(r.maxKvOverCapacity <= 0, `KV over capacity by ${r.maxKvOverCapacity} blocks`);
    assert.ok(st.completed > 300, `only ${st.completed} completed`);
    for (const e of r.ended) if (e.end.kind === 'completed') assert.ok(e.firstTokenS !== undefined && e.firstTokenS >= e.arrivalS);
  });
}

test('same seed → same decisions (placements and step plans)', () => {
  const run = () => {
    const r = drive(makeCluster({ policy: 'shape-aware', seed: 3, instances: 4, kvBlocksPerInstance: 1200 }), makeWorkload(5, 200, 30), cost);
    return [...r.submits.map((x) => (x.ok ? `${x.requestId}>${x.external ? x.pool : x.instanceId}` : `${x.requestId}!${x.end.code}`)), ...r.trace].join('\n');
  };
  assert.equal(run(), run());
});

test('a session turn goes back to the instance holding its context and reuses it (shape-aware)', () => {
  const s = makeCluster({ policy: 'shape-aware', seed: 1, instances: 8 });
  const hashes = Array.from({ length: 40 }, (_, i) => BigInt(1000 + i));
  const turn = (i: number, n: number, nowS: number) =>
    s.submit({ requestId: `t${i}`, tenant: 't', arrivalS: nowS, promptTokens: n * 64, maxOutputTokens: 256, blockHashes: hashes.slice(0, n), hasTools: true, hasToolResults: i > 0, sessionId: 'sess', turnIndex: i }, nowS);
  const first = turn(0, 30, 0);
  assert.ok(first.ok);
  // Run the queued first turn to its end (drive with no arrivals steps what is queued until nothing is live).
  const r = drive(s, [], cost);
  assert.equal(r.ended.length, 1);
  const nowS = r.endS;
  assert.equal(s.stats().completed, 1);
  const second = turn(1, 40, nowS + 2);
  assert.ok(second.ok && !second.external && first.ok && !first.external);
  assert.equal(second.instanceId, first.instanceId, 'session affinity');
  assert.ok(second.cachedPromptTokens >= 30 * 64, `cached ${second.cachedPromptTokens}`);
  // Only the retained previous turn (30 prompt blocks + 1 output token → 31 blocks) is cached, not the 40-block prompt.
  assert.ok(second.cachedPromptTokens <= 31 * 64, `cached ${second.cachedPromptTokens} > the retained context`);
});

test('a failed instance\'s retained sessions are dropped: no credit for context its worker lost, blocks free again', () => {
  const s = makeCluster({ policy: 'shape-aware', seed: 1, instances: 2 });
  const hashes = Array.from({ length: 40 }, (_, i) => BigInt(5000 + i));
  const turn = (i: number, n: number, nowS: number) =>
    s.submit({ requestId: `d${i}`, tenant: 't', arrivalS: nowS, promptTokens: n * 64, maxOutputTokens: 1, blockHashes: hashes.slice(0, n), hasTools: true, hasToolResults: i > 0, sessionId: 'lost', turnIndex: i }, nowS);
  const first = turn(0, 30, 0);
  assert.ok(first.ok && !first.external);
  const r = drive(s, [], cost);
  const home = first.instanceId;
  assert.equal(s.sessionTier(home, 'lost'), 'device');
  // 30 full prompt blocks + 1 output token whose KV is never written (the last sampled token): 30 blocks, not 31.
  assert.equal(s.instanceView(home).kvBlocksRetained, 30);
  assert.deepEqual(s.dropRetainedSessions(home, r.endS), ['lost']);
  assert.equal(s.sessionTier(home, 'lost'), undefined);
  assert.equal(s.instanceView(home).kvBlocksRetained, 0);
  const second = turn(1, 40, r.endS + 1);
  assert.ok(second.ok && !second.external);
  assert.equal(second.cachedPromptTokens, 0, 'nothing is credited from the lost hold');
});

test('a sampled routing decision is timed stage by stage and plugin by plugin; an unsampled one not at all', () => {
  const recorded: Array<[string, number]> = [];
  let sampled = true;
  let clock = 0;
  const profiler = { sample: () => sampled, now: () => (clock += 1e-6), record: (stage: string, s: number) => void recorded.push([stage, s]) };
  const s = new Scheduler({ policy: 'shape-aware', pools: [TEST_POOL], instances: clusterInstances({ policy: 'shape-aware', seed: 1, instances: 4 }), cost, rng: new Rng(1), profiler });
  const req = (id: string) => ({ requestId: id, tenant: 't', arrivalS: 0, promptTokens: 640, maxOutputTokens: 16, blockHashes: [1n, 2n], hasTools: true, hasToolResults: false });
  assert.ok(s.submit(req('p1'), 0).ok);
  const stages = recorded.map(([stage]) => stage);
  for (const stage of ['classify', 'route', 'kv_lookup', 'filter:healthy', 'filter:context-fits', 'filter:kv-capacity', 'scorer:predicted-ttft', 'scorer:predicted-tpot', 'scorer:session-affinity', 'picker:max-score', 'admission', 'enqueue']) {
    assert.ok(stages.includes(stage), `${stage} timed; got ${stages.join(', ')}`);
  }
  for (const [stage, seconds] of recorded) assert.ok(seconds > 0, `${stage}: ${seconds}`);
  recorded.length = 0;
  sampled = false;
  assert.ok(s.submit(req('p2'), 0).ok);
  assert.deepEqual(recorded, []);
});

test('admission (shape-aware) rejects early with a retry hint when the queue cannot meet the TTFT SLO; baselines queue it', () => {
  const flood = (policy: string) => {
    const s = makeCluster({ policy, seed: 2, instances: 1, kvBlocksPerInstance: 100_000 });
    const out = [];
    for (let i = 0; i < 200; i++) {
      const hashes = Array.from({ length: 100 }, (_, k) => BigInt(i * 1000 + k + 1));
      out.push(s.submit({ requestId: `q${i}`, tenant: 't', arrivalS: 0, promptTokens: 6400, maxOutputTokens: 64, blockHashes: hashes, hasTools: true, hasToolResults: false }, 0));
    }
    return out;
  };
  const ours = flood('shape-aware').filter((r) => !r.ok);
  assert.ok(ours.length > 0, 'nothing rejected');
  const first = ours[0];
  assert.ok(first && !first.ok && first.end.code === 'E_SLO_UNREACHABLE' && (first.end.retryAfterS ?? 0) > 0);
  assert.equal(flood('round-robin').filter((r) => !r.ok).length, 0);
});

test('cancel ends a queued request once; unknown or repeated cancels are no-ops', () => {
  const s = makeCluster({ policy: 'dynamo-kv', seed: 1, instances: 2 });
  const sub = s.submit({ requestId: 'c1', tenant: 't', arrivalS: 0, promptTokens: 500, maxOutputTokens: 10, blockHashes: [], hasTools: false, hasToolResults: false }, 0);
  assert.ok(sub.ok);
  const ended = s.cancel('c1', 'client went away', 0.1);
  assert.equal(ended?.end.kind, 'cancelled');
  assert.equal(s.cancel('c1', 'again', 0.2), undefined);
  assert.equal(s.cancel('nope', 'x', 0.2), undefined);
  assert.deepEqual(s.stats(), { submitted: 1, forwarded: 0, rejected: 0, completed: 0, cancelled: 1, live: 0 });
  const dup = s.submit({ requestId: 'c2', tenant: 't', arrivalS: 0, promptTokens: 5, maxOutputTokens: 1, blockHashes: [], hasTools: false, hasToolResults: false }, 0);
  const dup2 = s.submit({ requestId: 'c2', tenant: 't', arrivalS: 0, promptTokens: 5, maxOutputTokens: 1, blockHashes: [], hasTools: false, hasToolResults: false }, 0);
  assert.ok(dup.ok && !dup2.ok && dup2.end.code === 'E_DUPLICATE_REQUEST');
});

test('a prompt beyond every pool context is rejected naming the limit', () => {
  const s = makeCluster({ policy: 'shape-aware', seed: 1, instances: 1 });
  const r = s.submit({ requestId: 'big', tenant: 't', arrivalS: 0, promptTokens: 200_000, maxOutputTokens: 10, blockHashes: [], hasTools: false, hasToolResults: false }, 0);
  assert.ok(!r.ok && r.end.code === 'E_CONTEXT_TOO_LONG', JSON.stringify(r));
  assert.match(r.ok ? '' : r.end.reason, /131072/);
});

test('bad configuration is rejected with the field named', () => {
  const base = { pools: [TEST_POOL], instances: clusterInstances({ policy: 'x', seed: 1, instances: 2 }), cost, rng: new Rng(1) };
  const field = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      assert.ok(e instanceof ConfigError, String(e));
      return e.field;
    }
    assert.fail('no error');
  };
  assert.equal(field(() => new Scheduler({ ...base, policy: 'fastest' })), 'policy');
  assert.equal(field(() => new Scheduler({ ...base, policy: { base: 'dynamo-kv', batch: { name: 'lifo' } } })), 'policy.batch.name');
  assert.equal(field(() => new Scheduler({ ...base, policy: { wat: 1 } })), 'policy.wat');
  assert.equal(field(() => new Scheduler({ ...base, pools: [] })), 'pools');
  const badPool = base.instances.map((i, k) => (k === 1 ? { ...i, pool: 'gpt' } : i));
  assert.equal(field(() => new Scheduler({ ...base, instances: badPool })), 'instances[1].pool');
  const dupId = base.instances.map((i) => ({ ...i, instanceId: 'same' }));
  assert.equal(field(() => new Scheduler({ ...base, instances: dupId })), 'instances[1].instanceId');
  assert.throws(() => new Scheduler({ ...base, policy: 'shape-aware' }).planStep('i9', 0), /unknown instance "i9"/);
});

test('a request routed to an external pool is handed back for forwarding, counted, and never queued', () => {
  const external = { ...TEST_POOL, name: 'upstream', kind: 'external' as const, model: 'gpt-x', usdPerMInputTokens: 0.01, usdPerMCachedInputTokens: 0.01, usdPerMOutputTokens: 0.01, external: { baseUrl: 'http://127.0.0.1:9/v1', ttftS: 0.3, tpotS: 0.02 } };
  const s = new Scheduler({ policy: 'shape-aware', pools: [TEST_POOL, external], instances: clusterInstances({ policy: 'x', seed: 1, instances: 1 }), cost, rng: new Rng(1) });
  const r = s.submit({ requestId: 'e1', tenant: 't', arrivalS: 0, promptTokens: 100, maxOutputTokens: 10, blockHashes: [], hasTools: false, hasToolResults: false, model: 'upstream' }, 0);
  assert.ok(r.ok && r.external === true && r.pool === 'upstream', JSON.stringify(r));
  assert.deepEqual(s.stats(), { submitted: 1, forwarded: 1, rejected: 0, completed: 0, cancelled: 0, live: 0 });
});

test('KV events feed placement; a gap makes the worker stale until its snapshot arrives', () => {
  const s = makeCluster({ policy: 'dynamo-kv', seed: 1, instances: 8 });
  const hashes = Array.from({ length: 32 }, (_, i) => BigInt(77 + i));
  // Instance i5 is GPU 1 of worker w1 (4 GPUs per tray, one GPU per instance).
  const stored = hashes.map((hash, i) => ({ eventId: i + 1, kind: 'stored' as const, location: { tier: 'device' as const, index: 1 }, hash, parentHash: i ? (hashes[i - 1] as bigint) : 0n }));
  assert.equal(s.applyKvEvents('w1', packEvents(stored)).resyncNeeded, false);
  const req = (id: string) => ({ requestId: id, tenant: 't', arrivalS: 0, promptTokens: 32 * 64, maxOutputTokens: 8, blockHashes: hashes, hasTools: false, hasToolResults: false });
  const a = s.submit(req('a'), 0);
  assert.ok(a.ok && !a.external && a.instanceId === 'i5' && a.cachedPromptTokens === 32 * 64, JSON.stringify(a));
  const gap = s.applyKvEvents('w1', packEvents([{ eventId: 40, kind: 'removed', location: { tier: 'device', index: 1 }, hash: hashes[31] as bigint }]));
  assert.equal(gap.resyncNeeded, true);
  assert.deepEqual(s.workersNeedingResync(), ['w1']);
  s.applyKvSnapshot('w1', { lastEventId: 40, locations: [{ location: { tier: 'device', index: 1 }, hashes: new BigUint64Array(hashes.slice(0, 16)) }] });
  assert.deepEqual(s.workersNeedingResync(), []);
  const b = s.submit(req('b'), 0);
  assert.ok(b.ok && !b.external && b.cachedPromptTokens === 16 * 64, JSON.stringify(b));
});

test('a prefix in the tray\'s Grace tier is promoted (fetch returned, tokens counted as cached) when that beats recompute', () => {
  const s = makeCluster({ policy: 'dynamo-kv', seed: 1, instances: 8 });
  const hashes = Array.from({ length: 32 }, (_, i) => BigInt(900 + i));
  // Worker w1's Grace tier (host index 0 of that tray) holds the whole prefix; instances i4..i7 live on w1.
  const stored = hashes.map((hash, i) => ({ eventId: i + 1, kind: 'stored' as const, location: { tier: 'host' as const, index: 0 }, hash, parentHash: i ? (hashes[i - 1] as bigint) : 0n }));
  s.applyKvEvents('w1', packEvents(stored));
  const r = s.submit({ requestId: 'g', tenant: 't', arrivalS: 0, promptTokens: 32 * 64 + 10, maxOutputTokens: 8, blockHashes: hashes, hasTools: false, hasToolResults: false }, 0);
  assert.ok(r.ok && !r.external, JSON.stringify(r));
  assert.ok(['i4', 'i5', 'i6', 'i7'].includes(r.instanceId), r.instanceId);
  assert.deepEqual(r.fetch, { hostBlocks: 32, neighbourBlocks: 0 });
  assert.equal(r.cachedPromptTokens, 32 * 64);
  const cold = s.submit({ requestId: 'c', tenant: 't', arrivalS: 0, promptTokens: 640, maxOutputTokens: 8, blockHashes: hashes.map((h) => h + 10_000n).slice(0, 10), hasTools: false, hasToolResults: false }, 0);
  assert.ok(cold.ok && !cold.external && cold.cachedPromptTokens === 0 && cold.fetch.hostBlocks === 0);
});

test('an unhealthy instance gets no new requests; when none is healthy the request is refused naming the filter', () => {
  const s = makeCluster({ policy: 'round-robin', seed: 1, instances: 3 });
  s.setInstanceHealth('i1', false);
  const req = (id: string) => ({ requestId: id, tenant: 't', arrivalS: 0, promptTokens: 100, maxOutputTokens: 4, blockHashes: [], hasTools: false, hasToolResults: false });
  const placed = Array.from({ length: 6 }, (_, k) => s.submit(req(`h${k}`), 0)).map((r) => (r.ok && !r.external ? r.instanceId : '!'));
  assert.ok(!placed.includes('i1') && !placed.includes('!'), placed.join(','));
  s.setInstanceHealth('i0', false);
  s.setInstanceHealth('i2', false);
  const refused = s.submit(req('none'), 0);
  assert.ok(!refused.ok && refused.end.code === 'E_NO_CANDIDATE' && /healthy/.test(refused.end.reason), JSON.stringify(refused));
  assert.throws(() => s.setInstanceHealth('i9', true), /unknown instance "i9"/);
});
