// Prefix queries and pins (SPEC §5).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertPoolInvariant, chain, expectNoChange, hashes, lruOrder, makeManager } from './test-fixtures.js';

test('pinned blocks leave the LRU, count as used, and survive eviction', () => {
  const m = makeManager();
  const h = chain(3);
  const a = m.allocate({ gpu: 0, numTokens: 12, blockHashes: h });
  m.free(a.seqId);
  assert.equal(m.pin(0, h), 3);
  assert.deepEqual(lruOrder(m, 0), []);
  let gpu0 = m.stats().pools[0]!;
  assert.deepEqual([gpu0.usedBlocks, gpu0.cachedBlocks, gpu0.freeBlocks, gpu0.pinnedBlocks], [3, 0, 5, 3]);
  expectNoChange(m, 1, () => m.allocate({ gpu: 0, numTokens: 24 }), 'E_OUT_OF_BLOCKS');
  const b = m.allocate({ gpu: 0, numTokens: 20 });
  assert.deepEqual(Array.from(m.blockTable(b.seqId)), [3, 4, 5, 6, 7]);
  assert.equal(m.matchPrefixOnGpu(0, h).deviceBlocks, 3);
  gpu0 = m.stats().pools[0]!;
  assert.equal(gpu0.evictions, 0);
  assertPoolInvariant(m);
});

test('pin counts leading resident blocks; a block pinned twice needs two unpins', () => {
  const m = makeManager();
  const h = chain(3);
  const a = m.allocate({ gpu: 0, numTokens: 12, blockHashes: h });
  m.free(a.seqId); // LRU [2, 1, 0]
  assert.equal(m.pin(0, hashes(h[0]!, 999n, h[2]!)), 1);
  assert.equal(m.pin(0, h), 3);
  assert.equal(m.stats().pools[0]!.pinnedBlocks, 3, 'blocks, not pins');
  assert.equal(m.unpin(0, h), 3); // last to first: block 2, then block 1 join the LRU; block 0 keeps one pin
  assert.deepEqual(lruOrder(m, 0), [2, 1]);
  assert.equal(m.stats().pools[0]!.pinnedBlocks, 1);

  expectNoChange(m, 1, () => m.unpin(0, hashes(h[0]!, h[0]!)), 'E_NOT_PINNED');
  expectNoChange(m, 1, () => m.unpin(0, hashes(h[0]!, h[1]!)), 'E_NOT_PINNED');
  expectNoChange(m, 1, () => m.unpin(0, hashes(h[0]!, 12345n)), 'E_NOT_PINNED');
  expectNoChange(m, 1, () => m.unpin(1, hashes(h[0]!)), 'E_NOT_PINNED');
  assert.throws(() => m.unpin(0, hashes(h[0]!, h[1]!)), /blockHashes\[1\]/);
  assert.equal(m.unpin(0, h.subarray(0, 1)), 1);
  assert.deepEqual(lruOrder(m, 0), [2, 1, 0]);
  assert.equal(m.pin(0, new BigUint64Array(0)), 0);
  assert.equal(m.unpin(0, new BigUint64Array(0)), 0);
  assertPoolInvariant(m);
});

test('a pinned block held by a sequence stays used after free, then caches on unpin', () => {
  const m = makeManager();
  const h = chain(2);
  const a = m.allocate({ gpu: 4, numTokens: 8, blockHashes: h });
  assert.equal(m.pin(4, h), 2);
  m.free(a.seqId);
  let pool = m.stats().pools[4]!;
  assert.deepEqual([pool.usedBlocks, pool.cachedBlocks, pool.pinnedBlocks], [2, 0, 2]);
  m.unpin(4, h);
  pool = m.stats().pools[4]!;
  assert.deepEqual([pool.usedBlocks, pool.cachedBlocks, pool.pinnedBlocks], [0, 2, 0]);
  assert.deepEqual(lruOrder(m, 4), [1, 0]);
});

test('pins only see the GPU device map', async () => {
  const m = makeManager();
  const h = chain(2);
  const a = m.allocate({ gpu: 0, numTokens: 8, blockHashes: h });
  await m.demote(a.seqId);
  assert.equal(m.pin(1, h), 0, 'GPU 1 sees the chain on its tray host tier only');
  assert.equal(m.pin(0, h), 2, 'GPU 0 keeps cached copies of the blocks it moved out');
  assert.deepEqual(m.matchPrefixOnGpu(1, h), { gpu: 1, deviceBlocks: 0, hostBlocks: 2, diskBlocks: 0 });
});

test('matchPrefix walks device, then host, then disk, per GPU', async () => {
  const m = makeManager();
  const h = chain(4);
  // Moving a sequence out leaves its hashed blocks cached at the source, so GPU 2 and GPU 5 keep device copies.
  const onHost = m.allocate({ gpu: 2, numTokens: 16, blockHashes: h });
  await m.demote(onHost.seqId, 'host'); // tray 1 host: h0..h3
  m.allocate({ gpu: 3, numTokens: 8, blockHashes: h.subarray(0, 2) }); // GPU 3 (tray 1): h0..h1 on device
  const onDisk = m.allocate({ gpu: 5, numTokens: 12, blockHashes: h.subarray(0, 3) });
  await m.demote(onDisk.seqId, 'disk'); // tray 2 disk: h0..h2
  assert.deepEqual(m.matchPrefix(h), [
    { gpu: 2, deviceBlocks: 4, hostBlocks: 0, diskBlocks: 0 },
    { gpu: 3, deviceBlocks: 2, hostBlocks: 2, diskBlocks: 0 },
    { gpu: 4, deviceBlocks: 0, hostBlocks: 0, diskBlocks: 3 },
    { gpu: 5, deviceBlocks: 3, hostBlocks: 0, diskBlocks: 0 },
  ]);
  assert.deepEqual(m.matchPrefix(new BigUint64Array(0)), []);
  assert.deepEqual(m.matchPrefixOnGpu(0, new BigUint64Array(0)), { gpu: 0, deviceBlocks: 0, hostBlocks: 0, diskBlocks: 0 });
  assert.deepEqual(m.matchPrefixOnGpu(3, hashes(h[0]!, 5n, h[2]!)), { gpu: 3, deviceBlocks: 1, hostBlocks: 0, diskBlocks: 0 });
  assert.deepEqual(m.matchPrefixOnGpu(3, hashes(h[2]!, h[0]!)), { gpu: 3, deviceBlocks: 1, hostBlocks: 1, diskBlocks: 0 });
  const before = m.stats();
  m.matchPrefix(h);
  assert.deepEqual(m.stats(), before, 'queries change no stats');
});
