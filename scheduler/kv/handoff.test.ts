// KV hand-off through the TypeScript facade (native/SPEC.md §11): two NativeKvManagers standing for a prefill and
// a decode worker. Byte-exact layer-wise hand-off, the plan's costs against the transfer cost model, metadata
// mode, a plan that went through structuredClone (the gRPC boundary), abort at every stage on both sides, a torn
// chunk → abort → recompute with nothing leaked, the domain rule, the one-manager shortcut, coded bad arguments.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { handOff } from './handoff.js';
import { chainHashes, NativeKvManager } from './native.js';
import { BYTES_TOPOLOGY, pattern } from './testing/byte_exact.js';
import type { KvManagerConfig } from './types.js';

// 4 layers x 2 (K, V) x 1 head x dim 4 x 2 bytes = 64 bytes per token; 4 tokens per block. GPUs 0-3 are NVLink
// domain 0, GPUs 4-7 domain 1 (BYTES_TOPOLOGY).
const LAYOUT = { numLayers: 4, numKvHeads: 1, headDim: 4, mlaLatentDim: 0, bytesPerElement: 2, tensorParallel: 1 };
const BPT = 64;

function manager(dataMode: 'bytes' | 'metadata'): NativeKvManager {
  const config: KvManagerConfig = { topology: BYTES_TOPOLOGY, layout: LAYOUT, tokensPerBlock: 4, deviceBlocksPerGpu: 12,
    hostBlocksPerTray: 4, diskBlocksPerTray: 0, dataMode, backend: 'cpu', eventLogCapacity: 1024 };
  return new NativeKvManager(config);
}

const HASHES = chainHashes(BigUint64Array.from([11n, 12n, 13n]));
const NUM_TOKENS = 14; // 3 full hashed blocks + 2 tokens

function prompt(kv: NativeKvManager, data?: Uint8Array): number {
  const { seqId } = kv.allocate({ gpu: 0, numTokens: NUM_TOKENS, blockHashes: HASHES });
  if (data) kv.write(seqId, 0, data);
  return seqId;
}

/** Everything a finished hand-off must give back. */
function held(kv: NativeKvManager) {
  const s = kv.stats();
  const h = kv.handoffStats();
  return { used: s.pools.map((p) => p.usedBlocks), pinned: s.pools.map((p) => p.pinnedBlocks), sequences: s.liveSequences,
    live: h.liveSources + h.liveDestinations, heldBlocks: h.pinnedBlocks + h.reservedBlocks };
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return (error as { code?: string }).code ?? 'NO_CODE';
  }
  return undefined;
}

describe('KV hand-off between two managers', () => {
  test('bytes mode, layer-wise: the decode side reads the same bytes; layers become ready in order', () => {
    const src = manager('bytes');
    const dst = manager('bytes');
    const data = pattern(NUM_TOKENS * BPT, 3);
    const seqId = prompt(src, data);
    const plan = src.handoffBegin(seqId, { destinationGpu: 2, blocksPerChunk: 2 });
    assert.equal(plan.link, 'nvlink');
    assert.equal(plan.numChunks, 8); // 2 block groups x 4 layers
    assert.equal(plan.totalBytes, NUM_TOKENS * BPT);
    assert.deepEqual(plan.blockHashes, HASHES);
    assert.equal(src.stats().pools[0]?.pinnedBlocks, 4);
    const ticket = dst.handoffReserve(plan, { reserveTokens: 8 });
    assert.deepEqual([ticket.gpu, ticket.numBlocks, ticket.cachedBlocks, ticket.neededChunks], [2, 6, 0, 8]);
    assert.equal(dst.stats().liveSequences, 0, 'nothing runnable before commit');
    for (let c = 0; c < plan.numChunks; c++) {
      const chunk = src.handoffExport(plan.handoffId, c);
      assert.equal(chunk.firstLayer, Math.floor(c / 2));
      assert.ok(chunk.data instanceof Uint8Array && chunk.data.length === chunk.bytes);
      const progress = dst.handoffImport(ticket.ticketId, c, chunk.data, chunk.checksum);
      assert.equal(progress.readyLayers, c % 2 === 1 ? (c + 1) / 2 : c / 2);
      if (c < plan.numChunks - 1) assert.equal(codeOf(() => dst.handoffCommit(ticket.ticketId)), 'E_HANDOFF_STATE');
    }
    const commit = dst.handoffCommit(ticket.ticketId);
    assert.deepEqual([commit.numTokens, commit.numBlocks, commit.blocksCopied, commit.bytes, commit.link], [NUM_TOKENS, 6, 4, NUM_TOKENS * BPT, 'nvlink']);
    assert.deepEqual(dst.read(commit.seqId, 0, NUM_TOKENS), data);
    assert.equal(dst.matchPrefixOnGpu(2, HASHES).deviceBlocks, 3, 'hashes registered at commit');
    const events = dst.drainEvents();
    const moved = events.at(-1);
    assert.ok(moved?.kind === 'moved' && moved.source.index === 0 && moved.destination.index === 2 && moved.seqId === commit.seqId);
    assert.equal(dst.stats().bytesMovedByLink.nvlink, NUM_TOKENS * BPT);
    assert.deepEqual(src.handoffComplete(plan.handoffId), { sourceFreed: true });
    assert.equal(codeOf(() => src.sequenceInfo(seqId)), 'E_SEQUENCE_FREED');
    assert.deepEqual(held(src), { ...held(src), sequences: 0, live: 0, heldBlocks: 0 });
    assert.ok(held(src).used.every((u) => u === 0) && held(src).pinned.every((p) => p === 0));
    dst.append(commit.seqId, 1); // runnable: decode goes on
    src.close();
    dst.close();
  });

  test('the plan costs each chunk with the transfer cost model (estimateTransfer per chunk)', () => {
    const src = manager('metadata');
    const seqId = prompt(src);
    const plan = src.handoffBegin(seqId, { destinationGpu: 3, blocksPerChunk: 3, layersPerChunk: 2 });
    let seconds = 0;
    let first = 0;
    for (let c = 0; c < plan.numChunks; c++) {
      const chunk = src.handoffExport(plan.handoffId, c);
      assert.equal(chunk.data, null);
      const s = src.estimateTransfer({ tier: 'device', index: 0 }, { tier: 'device', index: 3 }, chunk.bytes).seconds;
      seconds += s;
      if (chunk.firstLayer === 0) first += s;
    }
    assert.ok(Math.abs(plan.estimatedSeconds - seconds) < 1e-15, `${plan.estimatedSeconds} vs ${seconds}`);
    assert.ok(Math.abs(plan.firstLayerSeconds - first) < 1e-15);
    assert.ok(src.handoffAbort(plan.handoffId));
    src.close();
  });

  test('metadata mode through handOff(), with a plan that crossed a process boundary (structuredClone)', async () => {
    const src = manager('metadata');
    const dst = manager('metadata');
    const seqId = prompt(src);
    const plan = structuredClone(src.handoffBegin(seqId, { destinationGpu: 1, mode: 'copy' }));
    const ticket = dst.handoffReserve(plan);
    for (let c = 0; c < plan.numChunks; c++) dst.handoffImport(ticket.ticketId, c, null);
    const commit = dst.handoffCommit(ticket.ticketId);
    assert.equal(dst.sequenceInfo(commit.seqId).lastHash, HASHES[2]);
    assert.deepEqual(src.handoffComplete(plan.handoffId), { sourceFreed: false }); // 'copy' keeps the source
    assert.equal(src.sequenceInfo(seqId).numTokens, NUM_TOKENS);
    // The helper runs the same steps.
    const r = await handOff(src, dst, seqId, { destinationGpu: 3, layersPerChunk: 2, reserveTokens: 4 });
    assert.ok(r.plan && r.ticket && r.sourceFreed);
    assert.equal(dst.sequenceInfo(r.commit.seqId).location.index, 3);
    assert.equal(r.ticket.cachedBlocks, 0);
    assert.equal(held(src).sequences, 0);
    src.close();
    dst.close();
  });

  test('abort at every stage on either side: both managers back to their baseline', () => {
    for (const sourceFirst of [true, false]) {
      for (let stage = 0; stage <= 3; stage++) {
        const src = manager('bytes');
        const dst = manager('bytes');
        const seqId = prompt(src, pattern(NUM_TOKENS * BPT, 1));
        const srcBase = held(src);
        const dstBase = held(dst);
        const plan = src.handoffBegin(seqId, { destinationGpu: 1, blocksPerChunk: 1 });
        const ticket = stage >= 1 ? dst.handoffReserve(plan, { reserveTokens: 4 }) : undefined;
        const chunks = stage === 2 ? plan.numChunks / 2 : stage === 3 ? plan.numChunks : 0;
        for (let c = 0; c < chunks; c++) {
          const chunk = src.handoffExport(plan.handoffId, c);
          dst.handoffImport(ticket!.ticketId, c, chunk.data, chunk.checksum);
        }
        const label = `stage ${stage}, ${sourceFirst ? 'source' : 'destination'} first`;
        if (ticket && !sourceFirst) assert.equal(dst.handoffAbort(ticket.ticketId), true, label);
        assert.equal(src.handoffAbort(plan.handoffId), true, label);
        if (ticket && sourceFirst) assert.equal(dst.handoffAbort(ticket.ticketId), true, label);
        assert.deepEqual(held(src), srcBase, label);
        assert.deepEqual(held(dst), dstBase, label);
        assert.equal(src.handoffAbort(plan.handoffId), false, 'a second abort is harmless');
        assert.equal(codeOf(() => src.handoffExport(plan.handoffId, 0)), 'E_HANDOFF_STATE');
        if (ticket) assert.equal(codeOf(() => dst.handoffCommit(ticket.ticketId)), 'E_HANDOFF_STATE');
        assert.equal(src.read(seqId, 0, NUM_TOKENS).length, NUM_TOKENS * BPT, 'the source sequence survives an abort');
        src.close();
        dst.close();
      }
    }
  });

  test('a torn chunk: handOff aborts both sides and rejects; the decode side recomputes; nothing leaks', async () => {
    const src = manager('bytes');
    const dst = manager('bytes');
    const data = pattern(NUM_TOKENS * BPT, 5);
    const seqId = prompt(src, data);
    const srcBase = held(src);
    const dstBase = held(dst);
    let seen = 0;
    const torn = (chunk: { data: Uint8Array | null }) => {
      if (++seen === 3 && chunk.data) chunk.data[7] = (chunk.data[7] as number) ^ 0xff;
      return chunk;
    };
    await assert.rejects(handOff(src, dst, seqId, { destinationGpu: 2, blocksPerChunk: 2, onChunk: (c) => torn(c) as typeof c }),
      (e: Error & { code?: string }) => e.code === 'E_INVALID_ARGUMENT' && /checksum/.test(e.message));
    assert.deepEqual(held(src), srcBase);
    assert.deepEqual(held(dst), dstBase);
    assert.equal(dst.handoffStats().aborted, 1);
    // Recompute fallback: the decode instance runs prefill itself.
    const { seqId: again } = dst.allocate({ gpu: 2, numTokens: NUM_TOKENS, blockHashes: HASHES });
    dst.write(again, 0, data);
    assert.deepEqual(dst.read(again, 0, NUM_TOKENS), data);
    dst.free(again);
    src.free(seqId);
    for (const kv of [src, dst]) {
      const h = held(kv);
      assert.ok(h.used.every((u) => u === 0) && h.pinned.every((p) => p === 0) && h.sequences === 0 && h.live === 0);
    }
    src.close();
    dst.close();
  });

  test('a cached prefix on the destination is shared and its chunks are skipped', async () => {
    const src = manager('bytes');
    const dst = manager('bytes');
    const data = pattern(NUM_TOKENS * BPT, 8);
    const seqId = prompt(src, data);
    const warm = dst.allocate({ gpu: 1, numTokens: 8, blockHashes: HASHES.subarray(0, 2) });
    dst.write(warm.seqId, 0, data.subarray(0, 8 * BPT));
    dst.free(warm.seqId);
    let exported = 0;
    const r = await handOff(src, dst, seqId, { destinationGpu: 1, blocksPerChunk: 1, onChunk: (c) => (exported++, c) });
    assert.equal(r.ticket?.cachedBlocks, 2);
    assert.equal(exported, 2 * 4, 'only blocks 2 and 3, every layer');
    assert.equal(r.commit.blocksCopied, 2);
    assert.deepEqual(dst.read(r.commit.seqId, 0, NUM_TOKENS), data);
    src.close();
    dst.close();
  });

  test('domains: another NVLink domain needs crossDomain: true (scale-out); one manager takes the transfer path', async () => {
    const src = manager('bytes');
    const dst = manager('bytes');
    const data = pattern(NUM_TOKENS * BPT, 2);
    const seqId = prompt(src, data);
    assert.equal(codeOf(() => src.handoffBegin(seqId, { destinationGpu: 4 })), 'E_CROSS_DOMAIN');
    await assert.rejects(handOff(src, src, seqId, { destinationGpu: 5 }), (e: Error & { code?: string }) => e.code === 'E_CROSS_DOMAIN');
    const plan = src.handoffBegin(seqId, { destinationGpu: 4, crossDomain: true });
    assert.equal(plan.link, 'scaleout');
    assert.equal(codeOf(() => dst.handoffReserve({ ...plan, crossDomain: false })), 'E_CROSS_DOMAIN');
    assert.equal(src.handoffAbort(plan.handoffId), true);
    const local = await handOff(src, src, seqId, { destinationGpu: 3 });
    assert.equal(local.plan, null);
    assert.equal(local.commit.seqId, seqId);
    assert.deepEqual(src.read(seqId, 0, NUM_TOKENS), data);
    assert.equal(src.sequenceInfo(seqId).location.index, 3);
    src.close();
    dst.close();
  });

  test('bad arguments throw coded errors and change nothing', () => {
    const src = manager('bytes');
    const dst = manager('bytes');
    const seqId = prompt(src, pattern(NUM_TOKENS * BPT, 4));
    const before = held(src);
    const cases: Array<[string, () => unknown, string]> = [
      ['no options', () => src.handoffBegin(seqId, undefined as never), 'E_INVALID_ARGUMENT'],
      ['gpu out of range', () => src.handoffBegin(seqId, { destinationGpu: 8 }), 'E_INVALID_ARGUMENT'],
      ['own gpu', () => src.handoffBegin(seqId, { destinationGpu: 0 }), 'E_INVALID_ARGUMENT'],
      ['string gpu', () => src.handoffBegin(seqId, { destinationGpu: '1' as never }), 'E_INVALID_ARGUMENT'],
      ['crossDomain not boolean', () => src.handoffBegin(seqId, { destinationGpu: 1, crossDomain: 1 as never }), 'E_INVALID_ARGUMENT'],
      ['mode', () => src.handoffBegin(seqId, { destinationGpu: 1, mode: 'swap' as never }), 'E_INVALID_ARGUMENT'],
      ['layersPerChunk > numLayers', () => src.handoffBegin(seqId, { destinationGpu: 1, layersPerChunk: 5 }), 'E_INVALID_ARGUMENT'],
      ['unknown seq', () => src.handoffBegin(999, { destinationGpu: 1 }), 'E_UNKNOWN_SEQUENCE'],
      ['unknown handoff', () => src.handoffExport(7, 0), 'E_UNKNOWN_HANDOFF'],
      ['handoff id not a number', () => src.handoffStatus('1' as never), 'E_INVALID_ARGUMENT'],
      ['handoff id 0', () => src.handoffAbort(0), 'E_UNKNOWN_HANDOFF'],
      ['plan not an object', () => dst.handoffReserve(null as never), 'E_INVALID_ARGUMENT'],
      ['plan missing fields', () => dst.handoffReserve({ handoffId: 1 } as never), 'E_INVALID_ARGUMENT'],
    ];
    for (const [what, fn, code] of cases) assert.equal(codeOf(fn), code, what);
    assert.deepEqual(held(src), before);
    const plan = src.handoffBegin(seqId, { destinationGpu: 1 });
    const other = manager('metadata');
    assert.equal(codeOf(() => other.handoffReserve(plan)), 'E_INVALID_ARGUMENT', 'data modes differ');
    assert.equal(codeOf(() => dst.handoffReserve({ ...plan, bytesPerToken: 32 })), 'E_INVALID_ARGUMENT', 'layouts differ');
    assert.equal(codeOf(() => dst.handoffReserve({ ...plan, blockHashes: [1n] as never })), 'E_INVALID_ARGUMENT');
    assert.equal(codeOf(() => dst.handoffReserve(plan, { reserveTokens: 1000 })), 'E_OUT_OF_BLOCKS');
    const ticket = dst.handoffReserve(plan);
    const chunk = src.handoffExport(plan.handoffId, 0);
    assert.equal(codeOf(() => dst.handoffImport(ticket.ticketId, 0, chunk.data?.subarray(1))), 'E_INVALID_ARGUMENT');
    assert.equal(codeOf(() => dst.handoffImport(ticket.ticketId, 0, [1, 2] as never)), 'E_INVALID_ARGUMENT');
    assert.equal(codeOf(() => dst.handoffImport(ticket.ticketId, 0, chunk.data, 5 as never)), 'E_INVALID_ARGUMENT');
    assert.equal(codeOf(() => dst.handoffImport(ticket.ticketId, plan.numChunks, chunk.data)), 'E_INVALID_ARGUMENT');
    assert.equal(codeOf(() => src.handoffImport(plan.handoffId, 0, chunk.data)), 'E_HANDOFF_STATE', 'wrong side');
    assert.equal(codeOf(() => dst.handoffComplete(ticket.ticketId)), 'E_HANDOFF_STATE', 'wrong side');
    assert.equal(dst.handoffStatus(ticket.ticketId).doneChunks, 0);
    dst.handoffAbort(ticket.ticketId);
    src.handoffAbort(plan.handoffId);
    src.close();
    assert.equal(codeOf(() => src.handoffStats()), 'E_CLOSED');
    dst.close();
    other.close();
  });
});
