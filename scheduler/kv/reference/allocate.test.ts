// allocate / append / free (SPEC §4): block numbers, prefix reuse, eviction order, duplicate hashes, rollback.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertPoolInvariant, chain, expectCode, expectNoChange, hashes, lruOrder, makeManager } from './test-fixtures.js';

test('the free stack pops 0, 1, 2, … and released blocks come back first', () => {
  const m = makeManager();
  const a = m.allocate({ gpu: 0, numTokens: 8 });
  const b = m.allocate({ gpu: 0, numTokens: 4 });
  assert.deepEqual(a, { seqId: 1, numBlocks: 2, cachedBlocks: 0, newBlocks: 2 });
  assert.deepEqual(Array.from(m.blockTable(a.seqId)), [0, 1]);
  assert.deepEqual(Array.from(m.blockTable(b.seqId)), [2]);
  m.free(a.seqId); // releases block 1, then block 0: 0 ends on top
  const c = m.allocate({ gpu: 0, numTokens: 12 });
  assert.deepEqual(Array.from(m.blockTable(c.seqId)), [0, 1, 3]);
  assert.equal(c.seqId, 3, 'ids are never reused');
  assertPoolInvariant(m);
});

test('prefix reuse across sequences, hits and misses, tail-first release into the LRU', () => {
  const m = makeManager();
  const h = chain(3);
  const a = m.allocate({ gpu: 0, numTokens: 14, blockHashes: h });
  assert.deepEqual(a, { seqId: 1, numBlocks: 4, cachedBlocks: 0, newBlocks: 4 });
  const b = m.allocate({ gpu: 0, numTokens: 12, blockHashes: h });
  assert.deepEqual(b, { seqId: 2, numBlocks: 3, cachedBlocks: 3, newBlocks: 0 });
  assert.deepEqual(Array.from(m.blockTable(b.seqId)), [0, 1, 2]);
  let gpu0 = m.stats().pools[0]!;
  assert.equal(gpu0.hits, 3);
  assert.equal(gpu0.misses, 3);
  assert.deepEqual([gpu0.usedBlocks, gpu0.cachedBlocks, gpu0.freeBlocks], [4, 0, 4]);

  m.free(a.seqId); // block 3 is unhashed: back on the free stack; 0..2 still held by b
  gpu0 = m.stats().pools[0]!;
  assert.deepEqual([gpu0.usedBlocks, gpu0.cachedBlocks, gpu0.freeBlocks], [3, 0, 5]);
  m.free(b.seqId);
  assert.deepEqual(lruOrder(m, 0), [2, 1, 0], 'the chain tail is nearest the LRU end');
  gpu0 = m.stats().pools[0]!;
  assert.deepEqual([gpu0.usedBlocks, gpu0.cachedBlocks, gpu0.freeBlocks], [0, 3, 5]);
  assert.deepEqual(m.matchPrefixOnGpu(0, h), { gpu: 0, deviceBlocks: 3, hostBlocks: 0, diskBlocks: 0 });

  const c = m.allocate({ gpu: 0, numTokens: 8, blockHashes: h.subarray(0, 2) });
  assert.deepEqual(c, { seqId: 3, numBlocks: 2, cachedBlocks: 2, newBlocks: 0 });
  assert.deepEqual(lruOrder(m, 0), [2]);
  assert.equal(m.stats().pools[0]!.hits, 5);
  assertPoolInvariant(m);
});

test('eviction takes the free stack first, then the LRU end, and reports removed', () => {
  const m = makeManager();
  const a = chain(3, 1);
  const b = chain(3, 2);
  const sa = m.allocate({ gpu: 1, numTokens: 12, blockHashes: a });
  const sb = m.allocate({ gpu: 1, numTokens: 12, blockHashes: b });
  m.free(sa.seqId);
  m.free(sb.seqId);
  assert.deepEqual(lruOrder(m, 1), [2, 1, 0, 5, 4, 3]);
  m.drainEvents();
  const c = m.allocate({ gpu: 1, numTokens: 16 });
  assert.deepEqual(Array.from(m.blockTable(c.seqId)), [6, 7, 2, 1]);
  const events = m.drainEvents();
  assert.deepEqual(
    events.map((e) => (e.kind === 'removed' ? e.hash : e.kind)),
    [a[2], a[1]],
  );
  assert.equal(m.stats().pools[1]!.evictions, 2);
  assert.equal(m.matchPrefixOnGpu(1, a).deviceBlocks, 1);
  assert.equal(m.matchPrefixOnGpu(1, b).deviceBlocks, 3);
  assertPoolInvariant(m);
});

test('out of blocks: nothing changes, and the exact fit succeeds', () => {
  const m = makeManager();
  const h = chain(5);
  const a = m.allocate({ gpu: 0, numTokens: 20, blockHashes: h });
  m.free(a.seqId); // LRU [4, 3, 2, 1, 0]
  m.allocate({ gpu: 0, numTokens: 8 }); // blocks 5, 6; block 7 stays free
  // 7 blocks, 2 of them cached (leaving the LRU): available = 1 free + 5 cached - 2 = 4 < 5 needed.
  expectNoChange(m, 2, () => m.allocate({ gpu: 0, numTokens: 28, blockHashes: h.subarray(0, 2) }), 'E_OUT_OF_BLOCKS');
  assert.deepEqual(m.drainEvents().length, 5, 'only the five stored events of the first allocate');
  const ok = m.allocate({ gpu: 0, numTokens: 24, blockHashes: h.subarray(0, 2) });
  assert.deepEqual(ok, { seqId: 3, numBlocks: 6, cachedBlocks: 2, newBlocks: 4 });
  assert.deepEqual(Array.from(m.blockTable(ok.seqId)), [0, 1, 7, 4, 3, 2]);
  assert.deepEqual(
    m.drainEvents().map((e) => e.kind === 'removed' && e.hash),
    [h[4], h[3], h[2]],
  );
  const gpu0 = m.stats().pools[0]!;
  assert.deepEqual([gpu0.usedBlocks, gpu0.cachedBlocks, gpu0.freeBlocks], [8, 0, 0]);
  expectNoChange(m, 3, () => m.allocate({ gpu: 0, numTokens: 1 }), 'E_OUT_OF_BLOCKS');
});

test('capacity counts a block listed twice once', () => {
  const m = makeManager();
  const [h, g] = [11n, 22n];
  const x = m.allocate({ gpu: 2, numTokens: 4, blockHashes: hashes(h) });
  const z = m.allocate({ gpu: 2, numTokens: 4, blockHashes: hashes(g) });
  m.allocate({ gpu: 2, numTokens: 24 });
  m.free(x.seqId);
  m.free(z.seqId); // LRU [0, 1], nothing free
  const dup = m.allocate({ gpu: 2, numTokens: 12, blockHashes: hashes(h, h) });
  assert.deepEqual(dup, { seqId: 4, numBlocks: 3, cachedBlocks: 2, newBlocks: 1 });
  assert.deepEqual(Array.from(m.blockTable(dup.seqId)), [0, 0, 1]);
  m.free(dup.seqId); // releases 1 (unhashed now), then block 0 twice
  assert.deepEqual(lruOrder(m, 2), [0]);
  assertPoolInvariant(m);
});

test('a hash already resident elsewhere in the pool leaves the new block unhashed', () => {
  const m = makeManager();
  const [h1, h2] = [101n, 202n];
  m.allocate({ gpu: 5, numTokens: 4, blockHashes: hashes(h2) }); // block 0 holds h2
  m.drainEvents();
  const b = m.allocate({ gpu: 5, numTokens: 8, blockHashes: hashes(h1, h2) });
  assert.deepEqual(b, { seqId: 2, numBlocks: 2, cachedBlocks: 0, newBlocks: 2 });
  assert.deepEqual(
    m.drainEvents().map((e) => e.kind === 'stored' && [e.hash, e.parentHash]),
    [[h1, 0n]],
    'no stored event for the duplicate',
  );
  const info = m.sequenceInfo(b.seqId);
  assert.equal(info.hashedBlocks, 2, 'the sequence keeps the chain as given');
  assert.equal(info.lastHash, h2);
  assert.equal(m.stats().pools[5]!.misses, 3);
  m.free(b.seqId); // block 2 was unhashed: free; block 1 (h1): cached
  assert.deepEqual(lruOrder(m, 5), [1]);
  assert.deepEqual(Array.from(m.snapshot().locations[0]!.hashes), [h1, h2]);
});

test('append crosses blocks, takes blocks before registering, and chains parents', () => {
  const m = makeManager();
  const s = chain(4, 3);
  const a = m.allocate({ gpu: 3, numTokens: 3 });
  assert.deepEqual(m.append(a.seqId, 1, s.subarray(0, 1)), { numTokens: 4, numBlocks: 1, newBlocks: 0 });
  assert.deepEqual(m.append(a.seqId, 6, s.subarray(1, 2)), { numTokens: 10, numBlocks: 3, newBlocks: 2 });
  assert.deepEqual(m.append(a.seqId, 2, s.subarray(2, 3)), { numTokens: 12, numBlocks: 3, newBlocks: 0 });
  assert.deepEqual(
    m.drainEvents().map((e) => e.kind === 'stored' && [e.hash, e.parentHash]),
    [
      [s[0], 0n],
      [s[1], s[0]],
      [s[2], s[1]],
    ],
  );
  assert.deepEqual(m.sequenceInfo(a.seqId), {
    seqId: 1,
    location: { tier: 'device', index: 3 },
    numTokens: 12,
    numBlocks: 3,
    hashedBlocks: 3,
    lastHash: s[2],
    homeGpu: 3,
  });
  // Evictions of the new blocks come before the stored events of the hashes.
  const x = chain(2, 7);
  const m2 = makeManager();
  const xs = m2.allocate({ gpu: 4, numTokens: 8, blockHashes: x });
  m2.free(xs.seqId); // LRU [1, 0]
  const y = chain(7, 8);
  const ys = m2.allocate({ gpu: 4, numTokens: 20, blockHashes: y.subarray(0, 5) }); // blocks 2..6
  m2.allocate({ gpu: 4, numTokens: 4 }); // block 7
  m2.drainEvents();
  assert.deepEqual(m2.append(ys.seqId, 8, y.subarray(5, 7)), { numTokens: 28, numBlocks: 7, newBlocks: 2 });
  assert.deepEqual(
    m2.drainEvents().map((e) => [e.kind, e.kind === 'moved' ? 0n : e.hash]),
    [
      ['removed', x[1]],
      ['removed', x[0]],
      ['stored', y[5]],
      ['stored', y[6]],
    ],
  );
  assert.deepEqual(Array.from(m2.blockTable(ys.seqId)), [2, 3, 4, 5, 6, 1, 0]);
});

test('append: reserved room, hash count, contiguity, out of blocks', () => {
  const m = makeManager();
  const r = m.allocate({ gpu: 6, numTokens: 5, reserveTokens: 7 });
  assert.equal(r.numBlocks, 3);
  assert.deepEqual(m.append(r.seqId, 7), { numTokens: 12, numBlocks: 3, newBlocks: 0 });
  const s = chain(3, 4);
  const a = m.allocate({ gpu: 6, numTokens: 4, blockHashes: s.subarray(0, 1) });
  expectNoChange(m, 2, () => m.append(a.seqId, 4, s.subarray(1, 3)), 'E_INVALID_ARGUMENT');
  const b = m.allocate({ gpu: 6, numTokens: 4 });
  expectNoChange(m, 3, () => m.append(b.seqId, 4, s.subarray(1, 2)), 'E_INVALID_ARGUMENT');
  assert.deepEqual(m.append(b.seqId, 4), { numTokens: 8, numBlocks: 2, newBlocks: 1 });
  // 3 + 1 + 2 blocks used, 2 left: 12 more tokens need 3.
  expectNoChange(m, 3, () => m.append(b.seqId, 12), 'E_OUT_OF_BLOCKS');
  expectNoChange(m, 3, () => m.append(b.seqId, 2 ** 31 - 8), 'E_INVALID_ARGUMENT');
  assertPoolInvariant(m);
});

test('free: ids are freed, never reused, unknown ids are told apart', () => {
  const m = makeManager();
  const a = m.allocate({ gpu: 0, numTokens: 4 });
  m.free(a.seqId);
  expectCode(() => m.free(a.seqId), 'E_SEQUENCE_FREED');
  expectCode(() => m.sequenceInfo(a.seqId), 'E_SEQUENCE_FREED');
  expectCode(() => m.append(a.seqId, 1), 'E_SEQUENCE_FREED');
  expectCode(() => m.blockTable(2), 'E_UNKNOWN_SEQUENCE');
  for (const bad of [0, -1, 1.5, NaN, Infinity]) expectCode(() => m.free(bad), 'E_UNKNOWN_SEQUENCE');
  assert.equal(m.allocate({ gpu: 0, numTokens: 4 }).seqId, 2);
  assert.equal(m.stats().liveSequences, 1);
});
