// Transfers, demote and promote (SPEC §6): routes, costs, sharing at the destination, move vs copy, rollback.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LinkKind, Location } from '../types.js';
import type { ReferenceKvManager } from './manager.js';
import {
  assertPoolInvariant,
  chain,
  expectCode,
  expectNoChangeAsync,
  expectReject,
  HOST_POOL,
  lruOrder,
  makeManager,
  TEST_TOPOLOGY,
} from './test-fixtures.js';

const dev = (index: number): Location => ({ tier: 'device', index });
const host = (index: number): Location => ({ tier: 'host', index });
const disk = (index: number): Location => ({ tier: 'disk', index });

const LINKS: Record<LinkKind, { bandwidthBytesPerS: number; latencyS: number }> = {
  nvlink: TEST_TOPOLOGY.nvlink,
  c2c: TEST_TOPOLOGY.hostLink,
  pcie: TEST_TOPOLOGY.hostLink,
  scaleout: TEST_TOPOLOGY.scaleOut,
  disk: TEST_TOPOLOGY.disk,
};

function expectedHops(path: string, bytes: number) {
  return path.split('+').map((link) => {
    const spec = LINKS[link as LinkKind];
    return { link, bytes, seconds: bytes === 0 ? 0 : spec.latencyS + bytes / spec.bandwidthBytesPerS };
  });
}

/** An unhashed 10-token sequence (3 blocks used, 4 with the reserve) placed at `where`. */
async function placeAt(m: ReferenceKvManager, where: Location): Promise<number> {
  const gpu = where.tier === 'device' ? where.index : where.index * TEST_TOPOLOGY.gpusPerTray;
  const { seqId } = m.allocate({ gpu, numTokens: 10, reserveTokens: 6 });
  if (where.tier !== 'device') await m.transfer(seqId, where);
  return seqId;
}

const ALLOWED: Array<[Location, Location, string]> = [
  [dev(0), dev(1), 'nvlink'],
  [dev(0), dev(3), 'nvlink'],
  [dev(1), dev(4), 'scaleout'],
  [dev(7), dev(0), 'scaleout'],
  [dev(3), host(1), 'c2c'],
  [dev(3), disk(1), 'c2c+disk'],
  [host(1), dev(3), 'c2c'],
  [host(2), disk(2), 'disk'],
  [disk(2), host(2), 'disk'],
  [disk(3), dev(7), 'disk+c2c'],
];

test('every allowed pair: path, hops, bytes, seconds, bytesMovedByLink', async () => {
  for (const [source, destination, path] of ALLOWED) {
    const m = makeManager();
    const seqId = await placeAt(m, source);
    const linkBytesBefore = m.stats().bytesMovedByLink;
    const transfersBefore = m.stats().transfers;
    const plan = await m.transfer(seqId, destination);
    const hops = expectedHops(path, 3 * 64);
    assert.deepEqual(plan, {
      seqId,
      source,
      destination,
      mode: 'move',
      blocksCopied: 3,
      blocksShared: 0,
      bytes: 192,
      hops,
      estimatedSeconds: hops.reduce((sum, hop) => sum + hop.seconds, 0),
      path,
    });
    assert.deepEqual(m.estimateTransfer(source, destination, 192), { path, seconds: plan.estimatedSeconds });
    const stats = m.stats();
    assert.equal(stats.transfers, transfersBefore + 1);
    for (const hop of hops) {
      assert.equal(stats.bytesMovedByLink[hop.link as LinkKind], linkBytesBefore[hop.link as LinkKind] + 192);
    }
    const info = m.sequenceInfo(seqId);
    assert.deepEqual(info.location, destination);
    assert.equal(info.numBlocks, 3, 'reserved blocks are not recreated');
    assert.equal(info.numTokens, 10);
    assertPoolInvariant(m);
  }
});

const DISALLOWED: Array<[Location, Location]> = [
  [dev(0), dev(0)],
  [dev(0), host(1)],
  [dev(0), disk(1)],
  [host(0), dev(2)],
  [host(0), host(0)],
  [host(0), host(1)],
  [host(0), disk(1)],
  [disk(0), disk(0)],
  [disk(0), disk(1)],
  [disk(0), host(1)],
  [disk(0), dev(2)],
];

test('disallowed pairs and the same location are E_INVALID_ARGUMENT naming destination, changing nothing', async () => {
  for (const [source, destination] of DISALLOWED) {
    const m = makeManager();
    const seqId = await placeAt(m, source);
    await expectNoChangeAsync(m, seqId, () => m.transfer(seqId, destination), 'E_INVALID_ARGUMENT');
    await expectReject(m.transfer(seqId, destination), 'E_INVALID_ARGUMENT', /destination/);
    expectCode(() => m.estimateTransfer(source, destination, 64), 'E_INVALID_ARGUMENT', /destination/);
  }
});

test('blocks resident at the destination are shared, the rest copied', async () => {
  const m = makeManager();
  const h = chain(3);
  const a = m.allocate({ gpu: 0, numTokens: 14, blockHashes: h });
  const copy = await m.transfer(a.seqId, host(0), 'copy');
  assert.equal(copy.seqId, 2, 'a copy gets a new id');
  assert.deepEqual([copy.blocksCopied, copy.blocksShared, copy.bytes], [4, 0, 256]);
  assert.deepEqual(m.sequenceInfo(a.seqId).location, dev(0), 'the source stays');
  assert.deepEqual(m.sequenceInfo(copy.seqId), {
    seqId: 2,
    location: host(0),
    numTokens: 14,
    numBlocks: 4,
    hashedBlocks: 3,
    lastHash: h[2],
    homeGpu: 0,
  });
  const b = m.allocate({ gpu: 1, numTokens: 13, blockHashes: h.subarray(0, 2) });
  const moved = await m.transfer(b.seqId, host(0));
  assert.equal(moved.seqId, b.seqId, 'a move keeps its id');
  assert.deepEqual([moved.blocksCopied, moved.blocksShared, moved.bytes], [2, 2, 128]);
  assert.deepEqual(Array.from(m.blockTable(b.seqId)), [0, 1, 4, 5]);
  const hostPool = m.stats().pools[HOST_POOL(0)]!;
  assert.deepEqual([hostPool.usedBlocks, hostPool.cachedBlocks, hostPool.freeBlocks], [6, 0, 10]);
  assert.equal(m.sequenceInfo(b.seqId).homeGpu, 1);
  // Everything already there: nothing is sent, so no latency either.
  const again = await m.transfer(a.seqId, host(0), 'copy');
  assert.deepEqual([again.blocksCopied, again.blocksShared, again.bytes, again.estimatedSeconds], [1, 3, 64, 0.25 + 0.64]);
  const c = m.allocate({ gpu: 0, numTokens: 8, blockHashes: h.subarray(0, 2) });
  const free = await m.transfer(c.seqId, host(0));
  assert.deepEqual(free.hops, [{ link: 'c2c', bytes: 0, seconds: 0 }]);
  assert.equal(free.estimatedSeconds, 0);
  assertPoolInvariant(m);
});

test('shared blocks cached at the destination leave its LRU and do not count as room', async () => {
  const m = makeManager();
  const h = chain(4);
  const a = m.allocate({ gpu: 0, numTokens: 16, blockHashes: h });
  const hostCopy = await m.transfer(a.seqId, host(0), 'copy');
  m.free(hostCopy.seqId); // host 0 LRU [3, 2, 1, 0]
  m.free(a.seqId);
  for (let i = 0; i < 2; i++) {
    const filler = m.allocate({ gpu: 1, numTokens: 24 });
    await m.transfer(filler.seqId, host(0)); // host 0 blocks 4..15 in use
  }
  assert.deepEqual(lruOrder(m, HOST_POOL(0)), [3, 2, 1, 0]);
  const tooBig = m.allocate({ gpu: 0, numTokens: 20, blockHashes: h.subarray(0, 2) }); // 5 blocks: 2 shared, 3 copied
  await expectNoChangeAsync(m, tooBig.seqId, () => m.transfer(tooBig.seqId, host(0)), 'E_OUT_OF_BLOCKS');
  m.free(tooBig.seqId);
  const fits = m.allocate({ gpu: 0, numTokens: 16, blockHashes: h.subarray(0, 2) });
  m.drainEvents();
  const plan = await m.transfer(fits.seqId, host(0));
  assert.deepEqual([plan.blocksShared, plan.blocksCopied], [2, 2]);
  assert.deepEqual(Array.from(m.blockTable(fits.seqId)), [0, 1, 3, 2]);
  assert.deepEqual(
    m.drainEvents().map((e) => (e.kind === 'moved' ? 'moved' : `${e.kind} ${h.indexOf(e.hash)}`)),
    ['removed 3', 'removed 2', 'moved'],
  );
  assertPoolInvariant(m);
});

test('events: stored at the destination in position order, then one moved event', async () => {
  const m = makeManager();
  const h = chain(2);
  const a = m.allocate({ gpu: 2, numTokens: 9, blockHashes: h });
  m.drainEvents();
  const copy = await m.transfer(a.seqId, dev(6), 'copy');
  const events = m.drainEvents();
  assert.deepEqual(events, [
    { eventId: 3, kind: 'stored', location: dev(6), hash: h[0], parentHash: 0n },
    { eventId: 4, kind: 'stored', location: dev(6), hash: h[1], parentHash: h[0] },
    {
      eventId: 5,
      kind: 'moved',
      seqId: copy.seqId,
      source: dev(2),
      destination: dev(6),
      mode: 'copy',
      blocks: 3,
      bytes: 192,
    },
  ]);
  assert.equal(copy.path, 'scaleout');
  assert.equal(m.sequenceInfo(copy.seqId).homeGpu, 6);
});

test('demote and promote default to the home tray and GPU', async () => {
  const m = makeManager();
  const { seqId } = m.allocate({ gpu: 5, numTokens: 8 });
  let plan = await m.demote(seqId);
  assert.deepEqual([plan.source, plan.destination, plan.path], [dev(5), host(2), 'c2c']);
  plan = await m.demote(seqId, 'disk');
  assert.deepEqual([plan.source, plan.destination, plan.path], [host(2), disk(2), 'disk']);
  plan = await m.promote(seqId);
  assert.deepEqual([plan.source, plan.destination, plan.path], [disk(2), dev(5), 'disk+c2c']);
  plan = await m.demote(seqId, 'disk');
  assert.equal(plan.path, 'c2c+disk');
  plan = await m.promote(seqId, 4);
  assert.deepEqual([plan.destination, m.sequenceInfo(seqId).homeGpu], [dev(4), 4]);
  await m.demote(seqId);
  await expectReject(m.demote(seqId), 'E_INVALID_ARGUMENT', /differ/);
  await expectReject(m.promote(seqId, 0), 'E_INVALID_ARGUMENT', /destination/);
  plan = await m.promote(seqId);
  assert.deepEqual(plan.destination, dev(4));
  await expectReject(m.promote(seqId), 'E_INVALID_ARGUMENT', /differ/);
  await expectReject(m.demote(seqId, 'device' as 'host'), 'E_INVALID_ARGUMENT', /tier/);
  await expectReject(m.promote(seqId, 8), 'E_INVALID_ARGUMENT', /gpu/);
});

test('a move releases the whole source table (reserve included); a copy keeps it', async () => {
  const m = makeManager();
  const h = chain(1);
  const a = m.allocate({ gpu: 0, numTokens: 6, reserveTokens: 10, blockHashes: h }); // 4 blocks, 2 used
  await m.transfer(a.seqId, dev(1), 'copy');
  let gpu0 = m.stats().pools[0]!;
  assert.deepEqual([gpu0.usedBlocks, gpu0.cachedBlocks, gpu0.freeBlocks], [4, 0, 4]);
  await m.transfer(a.seqId, dev(1));
  gpu0 = m.stats().pools[0]!;
  assert.deepEqual([gpu0.usedBlocks, gpu0.cachedBlocks, gpu0.freeBlocks], [0, 1, 7]);
  const gpu1 = m.stats().pools[1]!;
  assert.deepEqual([gpu1.usedBlocks, gpu1.cachedBlocks], [3, 0], 'block 0 shared by the copy and the moved sequence');
  assert.equal(m.stats().liveSequences, 2);
});

test('transfers finish before the Promise is awaited; failures reject instead of throwing', async () => {
  const m = makeManager();
  const { seqId } = m.allocate({ gpu: 0, numTokens: 4 });
  const pending = m.transfer(seqId, host(0));
  assert.deepEqual(m.sequenceInfo(seqId).location, host(0));
  assert.equal(m.stats().transfers, 1);
  await pending;
  let failed: Promise<unknown> | undefined;
  assert.doesNotThrow(() => {
    failed = m.transfer(99, host(0));
  });
  await expectReject(failed!, 'E_UNKNOWN_SEQUENCE');
});

test('estimateTransfer follows the same route rule', () => {
  const m = makeManager();
  assert.deepEqual(m.estimateTransfer(dev(0), disk(0), 0), { path: 'c2c+disk', seconds: 0 });
  assert.deepEqual(m.estimateTransfer(dev(0), dev(5), 100), { path: 'scaleout', seconds: 1 + 100 / 50 });
  expectCode(() => m.estimateTransfer(dev(0), dev(8), 1), 'E_INVALID_ARGUMENT', /destination\.index/);
  expectCode(() => m.estimateTransfer({ tier: 'gpu' } as unknown as Location, dev(0), 1), 'E_INVALID_ARGUMENT', /source\.tier/);
  expectCode(() => m.estimateTransfer(dev(0), dev(1), -1), 'E_INVALID_ARGUMENT', /bytes/);
  expectCode(() => m.estimateTransfer(dev(0), dev(1), NaN), 'E_INVALID_ARGUMENT', /bytes/);
});
