// Two gateway replicas on disjoint trays of one rack (A: trays 0–1, B: trays 2–3), in-process workers, real gRPC,
// and a real Redis (REDIS_URL, else a redis-server child, else skipped with the reason) reached through a TCP proxy
// that a test can cut. Covered: a session's next turn at the other replica is forwarded to where its KV is; a
// prefix-heavy request follows the KV summary (and a prefix too short to pay for the hop does not); Redis going
// away and coming back (both serve locally meanwhile, one log line each way, state republished, sharing resumes);
// a replica that dies (forwards fail over to local serving, its record expires, mid-stream forwards continue here).
import assert from 'node:assert/strict';
import { after, test } from 'node:test';

import { startTestRedis } from '../../tune/testing/redis_server.js';
import { promptBlockHashes } from '../hashing.js';
import { generate, SMALL } from '../testing.js';
import type { ReplicaTuning } from './replica.js';
import { deleteKeys, startReplicaPair, until, type ReplicaPair, type ReplicaSide } from './testing.js';

const redis = await startTestRedis();
const skip = 'skip' in redis ? redis.skip : false;
if (skip) process.stdout.write(`replica tests skipped: ${skip}\n`);
const redisUrl = 'url' in redis ? redis.url : '';

after(async () => {
  if ('stop' in redis) await redis.stop();
});

const TUNING: Partial<ReplicaTuning> = { tickMs: 50, registryTtlMs: 600, redisRetryMaxMs: 200, summaryPendingGraceMs: 2000, summaryPublishMs: 100, connectTimeoutMs: 500 };
const ids = (n: number, base: number): number[] => Array.from({ length: n }, (_, i) => base + i);
const startPair = (pace: 'none' | 'real' = 'none'): Promise<ReplicaPair> => startReplicaPair(redisUrl, TUNING, pace);

const served = (s: ReplicaSide): number => s.gw.sched.stats().submitted;

test('a session turn sent to the other replica is forwarded to the one holding its context', { skip }, async () => {
  const p = await startPair();
  try {
    const first = ids(300, 5);
    const t1 = await generate(p.a.gw.client, { promptTokenIds: first, maxTokens: 20, sessionId: 'sess-1', turnIndex: 0, numTools: 2 });
    assert.equal(t1.error, undefined);
    const home = p.a.replica.directory.lookup('sess-1');
    assert.equal(home?.replicaId, 'a');
    await until("B's mirror to hear of the session's end on A", () => (p.b.replica.directory.lookup('sess-1')?.contextTokens ?? 0) >= 320);

    const second = [...first, ...ids(120, 70_000)];
    const t2 = await generate(p.b.gw.client, { promptTokenIds: second, maxTokens: 10, sessionId: 'sess-1', turnIndex: 1, numTools: 2, hasToolResults: true });
    assert.equal(t2.error, undefined, t2.error?.details);
    assert.equal(t2.tokens.length, 10, 'every token relayed');
    assert.equal(t2.last?.finishReason, 'length');
    assert.ok((t2.last?.usage?.cachedPromptTokens ?? 0) >= 288, `cached ${t2.last?.usage?.cachedPromptTokens}: turn 1's blocks on A`);
    assert.equal(t2.last?.usage?.promptTokens, second.length);
    assert.equal(p.b.replica.stats().forwards.session, 1);
    assert.equal(served(p.b), 0, 'B scheduled nothing itself');
    assert.equal(served(p.a), 2, 'A served both turns');
    assert.equal(p.a.replica.directory.lookup('sess-1')?.instanceId, home?.instanceId, 'same instance as turn 1');
    assert.equal(p.b.gw.frontend.liveRequests, 0);
  } finally {
    await p.close();
  }
});

test('a forwarded request cancelled at the replica the client called is cancelled where it runs', { skip }, async () => {
  const p = await startPair('real');
  try {
    const first = ids(200, 11);
    await generate(p.a.gw.client, { promptTokenIds: first, maxTokens: 4, sessionId: 'sess-c', turnIndex: 0 });
    await until('B to know the session', () => (p.b.replica.directory.lookup('sess-c')?.contextTokens ?? 0) >= 204);
    const out = await generate(p.b.gw.client, { requestId: 'cancel-me', promptTokenIds: [...first, ...ids(40, 500)], maxTokens: 200, sessionId: 'sess-c', turnIndex: 1 }, (c) => {
      if (c.tokenIds.length > 0) p.b.gw.client.Cancel({ requestId: 'cancel-me' }, () => {});
    });
    assert.equal(out.error, undefined);
    assert.equal(out.last?.finishReason, 'cancelled');
    assert.ok(out.tokens.length < 200);
    await until("A to drop the cancelled request", () => p.a.gw.driver.liveRequests === 0);
    assert.equal(p.b.replica.stats().liveForwards, 0);
  } finally {
    await p.close();
  }
});

test('a long shared prefix at the replica without it follows the KV summary; a short one stays', { skip }, async () => {
  const p = await startPair();
  try {
    const doc = ids(1024, 100);
    const r1 = await generate(p.a.gw.client, { promptTokenIds: doc, maxTokens: 4 });
    assert.equal(r1.error, undefined);
    const longAsk = [...doc, ...ids(64, 40_000)];
    await until("B to see A's summary cover the document", () => p.b.replica.forwarder.peerPrefixBlocks(promptBlockHashes(longAsk, SMALL.blockTokens)) >= 32);
    const r2 = await generate(p.b.gw.client, { promptTokenIds: longAsk, maxTokens: 6 });
    assert.equal(r2.error, undefined, r2.error?.details);
    assert.equal(r2.tokens.length, 6);
    assert.ok((r2.last?.usage?.cachedPromptTokens ?? 0) >= 1024, `cached ${r2.last?.usage?.cachedPromptTokens}`);
    assert.equal(p.b.replica.stats().forwards.prefix, 1);
    assert.equal(served(p.b), 0);

    // One shared block then 1,000 new tokens: the prefill saved is far below one hop; served at B.
    const shortShare = [...doc.slice(0, 16), ...ids(1000, 200_000)];
    assert.ok(p.b.replica.forwarder.peerPrefixBlocks(promptBlockHashes(shortShare, SMALL.blockTokens)) >= 1, 'A does hold the first block');
    const r3 = await generate(p.b.gw.client, { promptTokenIds: shortShare, maxTokens: 4 });
    assert.equal(r3.error, undefined);
    assert.equal(served(p.b), 1, 'served at B');
    assert.equal(p.b.replica.stats().forwards.prefix, 1);
    assert.equal(p.b.replica.stats().forwards.notWorth, 1);
  } finally {
    await p.close();
  }
});

test('Redis goes away: both replicas serve locally; it comes back empty: state is republished, sharing resumes', { skip }, async () => {
  const p = await startPair();
  try {
    const pre = ids(300, 7);
    await generate(p.a.gw.client, { promptTokenIds: pre, maxTokens: 8, sessionId: 'sess-pre', turnIndex: 0 });
    await until('B to know sess-pre', () => (p.b.replica.directory.lookup('sess-pre')?.contextTokens ?? 0) >= 308);

    await p.proxy.cut();
    await until('both replicas to see Redis down', () => !p.a.replica.stats().redisUp && !p.b.replica.stats().redisUp);
    // sess-pre's turn 2 at B: no sharing while Redis is down, so served at B, with no error.
    const t2 = await generate(p.b.gw.client, { promptTokenIds: [...pre, ...ids(50, 9000)], maxTokens: 8, sessionId: 'sess-pre', turnIndex: 1 });
    assert.equal(t2.error, undefined);
    assert.equal(t2.tokens.length, 8);
    // A new session begins at B during the outage; and a plain request at A.
    const out1 = ids(400, 30_000);
    const o1 = await generate(p.b.gw.client, { promptTokenIds: out1, maxTokens: 8, sessionId: 'sess-out', turnIndex: 0 });
    assert.equal(o1.error, undefined);
    assert.equal((await generate(p.a.gw.client, { promptTokenIds: ids(100, 1), maxTokens: 4 })).error, undefined);
    assert.equal(p.b.replica.stats().forwards.session, 0, 'nothing forwarded while Redis is down');
    assert.equal(served(p.b), 2);
    // Redis "restarted" empty meanwhile.
    await deleteKeys(redisUrl, p.keyPrefix);

    await p.proxy.restore();
    await until('both replicas back, each seeing the other', () => {
      const a = p.a.replica.stats();
      const b = p.b.replica.stats();
      return a.redisUp && b.redisUp && a.peers.includes('b') && b.peers.includes('a');
    });
    await until("A's mirror to learn the sessions B took during the outage", () =>
      p.a.replica.directory.lookup('sess-out')?.replicaId === 'b' && p.a.replica.directory.lookup('sess-pre')?.replicaId === 'b');
    for (const s of [p.a, p.b]) {
      assert.equal(s.logs.filter((l) => l.includes('Redis unavailable')).length, 1, s.logs.join('\n'));
      assert.equal(s.logs.filter((l) => l.includes('Redis back')).length, 1, s.logs.join('\n'));
    }
    // Sharing resumes: sess-out's turn 2 at A goes to B, where its first turn is cached.
    const o2 = await generate(p.a.gw.client, { promptTokenIds: [...out1, ...ids(60, 50_000)], maxTokens: 8, sessionId: 'sess-out', turnIndex: 1 });
    assert.equal(o2.error, undefined);
    assert.ok((o2.last?.usage?.cachedPromptTokens ?? 0) >= 400, `cached ${o2.last?.usage?.cachedPromptTokens}`);
    assert.equal(p.a.replica.stats().forwards.session, 1);
  } finally {
    await p.close();
  }
});

test('a replica that dies: a forward to it is served here with no client error, and its record expires', { skip }, async () => {
  // A longer registry TTL: A's record must outlive the kill for the forward to be tried.
  const p = await startReplicaPair(redisUrl, { ...TUNING, registryTtlMs: 2000 });
  try {
    const s1 = ids(300, 3);
    await generate(p.a.gw.client, { promptTokenIds: s1, maxTokens: 4, sessionId: 'sess-d1', turnIndex: 0 });
    await until('B to know the session', () => (p.b.replica.directory.lookup('sess-d1')?.contextTokens ?? 0) >= 304);
    p.a.replica.kill();
    await p.a.gw.close();
    assert.ok(p.b.replica.stats().peers.includes('a'), "A's record is still there (its TTL has not run out)");

    const t2 = await generate(p.b.gw.client, { promptTokenIds: [...s1, ...ids(30, 900)], maxTokens: 6, sessionId: 'sess-d1', turnIndex: 1 });
    assert.equal(t2.error, undefined, t2.error?.details);
    assert.equal(t2.tokens.length, 6);
    assert.equal(t2.last?.finishReason, 'length');
    const f = p.b.replica.stats().forwards;
    assert.deepEqual([f.session, f.fallback], [1, 1], 'tried A, served here');
    assert.equal(served(p.b), 1);
    assert.equal(p.b.replica.directory.lookup('sess-d1')?.replicaId, 'b', 'B is the session home now');
    assert.ok(p.b.logs.some((l) => l.includes('forward to a failed')), p.b.logs.join('\n'));
    await until("A's registry record to expire", () => !p.b.replica.stats().peers.includes('a'), 5000);
  } finally {
    await p.close();
  }
});

test('a replica that dies mid-stream: the tokens still owed come from the replica the client called', { skip }, async () => {
  const p = await startPair('real');
  try {
    const s1 = ids(300, 3);
    await generate(p.a.gw.client, { promptTokenIds: s1, maxTokens: 4, sessionId: 'sess-m', turnIndex: 0 });
    await until('B to know the session', () => (p.b.replica.directory.lookup('sess-m')?.contextTokens ?? 0) >= 304);
    let killed = false;
    const mid = await generate(p.b.gw.client, { promptTokenIds: [...s1, ...ids(30, 800)], maxTokens: 40, sessionId: 'sess-m', turnIndex: 1 }, (c) => {
      if (killed || c.tokenIds.length === 0) return;
      killed = true;
      p.a.replica.kill();
      void p.a.gw.close();
    });
    assert.ok(killed, 'A served the first tokens');
    assert.equal(mid.error, undefined, mid.error?.details);
    assert.equal(mid.tokens.length, 40, 'the tokens still owed came from B');
    assert.equal(mid.last?.finishReason, 'length');
    assert.equal(mid.last?.usage?.completionTokens, 40);
    assert.equal(mid.last?.usage?.promptTokens, 330);
    assert.equal(p.b.replica.stats().forwards.continuation, 1);
    assert.equal(served(p.b), 1);
    assert.equal(p.b.replica.directory.lookup('sess-m')?.replicaId, 'b', 'B is the session home now');
  } finally {
    await p.close();
  }
});
