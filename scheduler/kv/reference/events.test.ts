// Events, snapshots and stats (SPEC §8, §9).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LINK_KINDS } from '../types.js';
import { assertPoolInvariant, chain, hashes, makeManager } from './test-fixtures.js';

test('event ids count up; a full log drops its oldest; drain takes the oldest first', () => {
  const m = makeManager({ eventLogCapacity: 3 });
  const h = chain(5);
  m.allocate({ gpu: 0, numTokens: 20, blockHashes: h });
  assert.equal(m.stats().droppedEvents, 2);
  assert.equal(m.stats().lastEventId, 5);
  assert.deepEqual(m.drainEvents(0), []);
  const first = m.drainEvents(2);
  assert.deepEqual(
    first.map((e) => [e.eventId, e.kind === 'stored' && e.hash]),
    [
      [3, h[2]],
      [4, h[3]],
    ],
  );
  assert.deepEqual(
    m.drainEvents().map((e) => e.eventId),
    [5],
  );
  assert.deepEqual(m.drainEvents(), []);
  assert.deepEqual(m.drainEvents(10), []);
  m.allocate({ gpu: 1, numTokens: 4, blockHashes: h.subarray(0, 1) });
  assert.deepEqual(
    m.drainEvents().map((e) => e.eventId),
    [6],
    'ids continue after a drain',
  );
});

test('a long log keeps its order across many drains', () => {
  const m = makeManager({ eventLogCapacity: 5000 });
  const ids: number[] = [];
  for (let round = 0; round < 300; round++) {
    const { seqId } = m.allocate({ gpu: round % 8, numTokens: 32, blockHashes: chain(8, round + 10) });
    m.free(seqId);
    ids.push(...m.drainEvents(12).map((e) => e.eventId));
  }
  ids.push(...m.drainEvents().map((e) => e.eventId));
  assert.deepEqual(ids, Array.from({ length: ids.length }, (_, i) => i + 1));
  assert.equal(m.stats().droppedEvents, 0);
  assert.equal(ids.length, m.stats().lastEventId);

  const small = makeManager({ eventLogCapacity: 100 });
  for (let round = 0; round < 300; round++) {
    const { seqId } = small.allocate({ gpu: round % 8, numTokens: 32, blockHashes: chain(8, round + 10) });
    small.free(seqId);
  }
  const { lastEventId, droppedEvents } = small.stats();
  assert.equal(droppedEvents, lastEventId - 100);
  assert.deepEqual(
    small.drainEvents().map((e) => e.eventId),
    Array.from({ length: 100 }, (_, i) => lastEventId - 99 + i),
  );
});

test('snapshot: locations in location order, hashes ascending as unsigned 64-bit', async () => {
  const m = makeManager();
  const big = hashes((1n << 64n) - 1n, 5n, 1n << 63n);
  m.allocate({ gpu: 3, numTokens: 12, blockHashes: big });
  const a = m.allocate({ gpu: 1, numTokens: 4, blockHashes: hashes(9n) });
  await m.transfer(a.seqId, { tier: 'host', index: 0 }, 'copy');
  const b = m.allocate({ gpu: 2, numTokens: 4, blockHashes: hashes(7n) });
  await m.demote(b.seqId, 'disk');
  const snap = m.snapshot();
  assert.equal(snap.lastEventId, m.stats().lastEventId);
  assert.deepEqual(
    snap.locations.map((l) => [l.location.tier, l.location.index, Array.from(l.hashes)]),
    [
      ['device', 1, [9n]],
      ['device', 2, [7n]],
      ['device', 3, [5n, 1n << 63n, (1n << 64n) - 1n]],
      ['host', 0, [9n]],
      ['disk', 1, [7n]],
    ],
  );
  assert.ok(snap.locations[0]!.hashes instanceof BigUint64Array);
});

test('snapshot drops evicted hashes', () => {
  const m = makeManager();
  const h = chain(8);
  const { seqId } = m.allocate({ gpu: 0, numTokens: 32, blockHashes: h });
  m.free(seqId);
  m.allocate({ gpu: 0, numTokens: 8 }); // evicts h[7], h[6]
  assert.deepEqual(Array.from(m.snapshot().locations[0]!.hashes), Array.from(h.subarray(0, 6)).sort((x, y) => (x < y ? -1 : 1)));
});

test('stats: shape, per-pool counters and used + cached + free = total', async () => {
  const m = makeManager();
  const fresh = m.stats();
  assert.deepEqual(Object.keys(fresh.bytesMovedByLink), [...LINK_KINDS]);
  assert.deepEqual(fresh.pools[0], {
    location: { tier: 'device', index: 0 },
    totalBlocks: 8,
    usedBlocks: 0,
    cachedBlocks: 0,
    freeBlocks: 8,
    pinnedBlocks: 0,
    hits: 0,
    misses: 0,
    evictions: 0,
  });
  assert.deepEqual(
    { ...fresh, pools: [] },
    {
      blockBytes: 64,
      bytesPerToken: 16,
      tokensPerBlock: 4,
      pools: [],
      bytesMovedByLink: { nvlink: 0, c2c: 0, pcie: 0, scaleout: 0, disk: 0 },
      transfers: 0,
      liveSequences: 0,
      droppedEvents: 0,
      lastEventId: 0,
    },
  );
  const h = chain(2);
  const a = m.allocate({ gpu: 0, numTokens: 9, blockHashes: h });
  await m.transfer(a.seqId, { tier: 'device', index: 4 }, 'copy');
  m.pin(0, h);
  m.free(a.seqId);
  assertPoolInvariant(m);
  const stats = m.stats();
  assert.deepEqual(stats.bytesMovedByLink, { nvlink: 0, c2c: 0, pcie: 0, scaleout: 192, disk: 0 });
  assert.equal(stats.transfers, 1);
  assert.equal(stats.liveSequences, 1);
  assert.deepEqual([stats.pools[0]!.usedBlocks, stats.pools[0]!.freeBlocks, stats.pools[0]!.pinnedBlocks], [2, 6, 2]);
  assert.equal(stats.pools[4]!.usedBlocks, 3);
});
