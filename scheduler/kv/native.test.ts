// The native addon through its TypeScript facade: behaviour (prefix reuse, eviction order, pins, rollback,
// byte-exact moves, events and resync) and every bad-input case of SPEC §10.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { unpackEvents } from './event_batch.js';
import * as refHash from './hash.js';
import { chainHashes, hashTokens, NativeKvManager, probeDevices, topologyPreset, topologyPresetNames } from './native.js';
import type { KvEvent, KvManagerConfig, KvSnapshot } from './types.js';
import { BYTES_TOPOLOGY, byteExactScenario } from './testing/byte_exact.js';
import { Rng } from '../util/random.js';

const TINY_LAYOUT = { numLayers: 1, numKvHeads: 1, headDim: 4, mlaLatentDim: 0, bytesPerElement: 2, tensorParallel: 1 };

function tiny(overrides: Partial<KvManagerConfig> = {}): KvManagerConfig {
  return { topology: BYTES_TOPOLOGY, layout: TINY_LAYOUT, tokensPerBlock: 4, deviceBlocksPerGpu: 8, hostBlocksPerTray: 8,
    diskBlocksPerTray: 4, backend: 'cpu', ...overrides };
}

function chain(n: number, seed = 1): BigUint64Array {
  const rng = new Rng(seed);
  return chainHashes(BigUint64Array.from({ length: n }, () => rng.u64()));
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return (error as { code?: string }).code ?? 'NO_CODE';
  }
  return undefined;
}

describe('topology and sizing', () => {
  test('presets describe NVL72 racks and HGX nodes', () => {
    assert.deepEqual(topologyPresetNames().sort(), ['gb200-nvl72', 'gb300-nvl72', 'hgx-b200x8', 'hgx-h100x8', 'hgx-h200x8']);
    const gb200 = topologyPreset('gb200-nvl72');
    assert.equal(gb200.numDomains * gb200.traysPerDomain * gb200.gpusPerTray, 72);
    assert.equal(gb200.gpusPerTray, 4);
    assert.equal(gb200.cpusPerTray, 2);
    assert.equal(gb200.hbmBytesPerGpu, 186e9);
    assert.equal(gb200.hostLinkKind, 'c2c');
    assert.equal(gb200.nvlink.bandwidthBytesPerS, 900e9);
    assert.equal(topologyPreset('gb300-nvl72').hbmBytesPerGpu, 288e9);
    assert.equal(topologyPreset('gb300-nvl72').scaleOut.bandwidthBytesPerS, 2 * gb200.scaleOut.bandwidthBytesPerS);
    const h100 = topologyPreset('hgx-h100x8');
    assert.equal(h100.gpusPerTray * h100.traysPerDomain, 8);
    assert.equal(h100.hostLinkKind, 'pcie');
    assert.match(String(codeOf(() => topologyPreset('gb400'))), /E_INVALID_ARGUMENT/);
  });

  test('bytes per token and pool sizes follow the model layout', () => {
    const llama70b = { numLayers: 80, numKvHeads: 8, headDim: 128, mlaLatentDim: 0, bytesPerElement: 2, tensorParallel: 1 };
    const kv = new NativeKvManager({ topology: 'gb200-nvl72', layout: llama70b, tokensPerBlock: 16, weightsBytesPerGpu: 141e9 });
    assert.equal(kv.numGpus, 72);
    assert.equal(kv.numTrays, 18);
    assert.equal(kv.bytesPerToken, 327680); // 2 (K,V) x 80 layers x 8 heads x 128 x 2 bytes
    assert.equal(kv.blockBytes, 327680 * 16);
    const device = kv.stats().pools[0];
    assert.equal(device?.totalBlocks, Math.floor((186e9 * 0.9 - 141e9) / (327680 * 16)));
    kv.close();
    const dsv3 = { numLayers: 61, numKvHeads: 128, headDim: 128, mlaLatentDim: 576, bytesPerElement: 1, tensorParallel: 8 };
    const mla = new NativeKvManager({ topology: 'gb200-nvl72', layout: dsv3, weightsBytesPerGpu: 90e9 });
    assert.equal(mla.bytesPerToken, 61 * 576); // MLA latent, fp8, replicated across TP
    mla.close();
    const tooBig = { topology: 'hgx-h100x8' as const, layout: llama70b, weightsBytesPerGpu: 141e9 };
    assert.equal(codeOf(() => new NativeKvManager(tooBig)), 'E_INVALID_ARGUMENT');
  });

  test('numDomains multiplies racks', () => {
    const kv = new NativeKvManager({ ...tiny(), topology: 'gb200-nvl72', numDomains: 4, deviceBlocksPerGpu: 4 });
    assert.equal(kv.numGpus, 288);
    assert.equal(kv.topology().numDomains, 4);
    kv.close();
  });
});

describe('hashes', () => {
  test('native hashes equal the reference formulas (SPEC §3)', () => {
    const rng = new Rng(5);
    const tokens = Uint32Array.from({ length: 100 }, () => rng.nextU32());
    assert.deepEqual(hashTokens(tokens, 16), refHash.hashTokens(tokens, 16));
    assert.equal(hashTokens(tokens, 16).length, 6); // full blocks only
    const ids = BigUint64Array.from({ length: 9 }, () => rng.u64());
    assert.deepEqual(chainHashes(ids, 77n), refHash.chainHashes(ids, 77n));
    // A block's identity depends on its parent: the same ids under another parent hash differently.
    assert.notEqual(chainHashes(ids, 1n)[0], chainHashes(ids, 2n)[0]);
  });
});

describe('blocks and sequences', () => {
  test('a second sequence reuses the cached prefix and matchPrefix reports it per tier', async () => {
    const kv = new NativeKvManager(tiny());
    const hashes = chain(4);
    const first = kv.allocate({ gpu: 1, numTokens: 18, blockHashes: hashes });
    assert.deepEqual(first, { seqId: 1, numBlocks: 5, cachedBlocks: 0, newBlocks: 5 });
    kv.free(first.seqId);
    const second = kv.allocate({ gpu: 1, numTokens: 16, blockHashes: hashes.subarray(0, 3) });
    assert.equal(second.cachedBlocks, 3);
    assert.deepEqual(kv.matchPrefix(hashes), [{ gpu: 1, deviceBlocks: 4, hostBlocks: 0, diskBlocks: 0 }]);
    await kv.demote(second.seqId);
    // Blocks 0-2 now also sit in tray 0's host tier: GPU 0 (same tray) reaches them from host.
    assert.deepEqual(kv.matchPrefixOnGpu(0, hashes), { gpu: 0, deviceBlocks: 0, hostBlocks: 3, diskBlocks: 0 });
    const pool = kv.stats().pools[1];
    assert.equal(pool?.hits, 3);
    assert.equal(pool?.misses, 4);
    kv.close();
  });

  test('eviction takes the least recently freed block, chain tails before heads', () => {
    const kv = new NativeKvManager(tiny());
    const a = chain(4, 1);
    const b = chain(4, 2);
    kv.free(kv.allocate({ gpu: 0, numTokens: 16, blockHashes: a }).seqId);
    kv.free(kv.allocate({ gpu: 0, numTokens: 16, blockHashes: b }).seqId);
    kv.drainEvents();
    // 8 blocks, all cached; 3 new blocks must evict the 3 oldest: a's tail first.
    kv.allocate({ gpu: 0, numTokens: 12 });
    const removed = kv.drainEvents().filter((e): e is Extract<KvEvent, { kind: 'removed' }> => e.kind === 'removed');
    assert.deepEqual(removed.map((e) => e.hash), [a[3], a[2], a[1]]);
    assert.deepEqual(kv.matchPrefixOnGpu(0, a).deviceBlocks, 1);
    assert.deepEqual(kv.matchPrefixOnGpu(0, b).deviceBlocks, 4);
    kv.close();
  });

  test('pinned blocks are never evicted; unpin makes them evictable again', () => {
    const kv = new NativeKvManager(tiny());
    const a = chain(4, 3);
    kv.free(kv.allocate({ gpu: 0, numTokens: 16, blockHashes: a }).seqId);
    assert.equal(kv.pin(0, a), 4);
    assert.equal(kv.stats().pools[0]?.pinnedBlocks, 4);
    assert.equal(codeOf(() => kv.allocate({ gpu: 0, numTokens: 20 })), 'E_OUT_OF_BLOCKS');
    kv.allocate({ gpu: 0, numTokens: 16 });
    assert.equal(kv.matchPrefixOnGpu(0, a).deviceBlocks, 4);
    assert.equal(codeOf(() => kv.unpin(0, chain(2, 9))), 'E_NOT_PINNED');
    assert.equal(kv.unpin(0, a), 4);
    kv.allocate({ gpu: 0, numTokens: 4 });
    assert.equal(kv.matchPrefixOnGpu(0, a).deviceBlocks, 3);
    kv.close();
  });

  test('out of blocks changes nothing: stats, snapshot, tables and events stay identical', () => {
    const kv = new NativeKvManager(tiny());
    const live = kv.allocate({ gpu: 2, numTokens: 10, blockHashes: chain(2, 4) });
    kv.free(kv.allocate({ gpu: 2, numTokens: 12, blockHashes: chain(3, 5) }).seqId);
    const before = { stats: kv.stats(), snapshot: kv.snapshot(), table: kv.blockTable(live.seqId) };
    assert.equal(codeOf(() => kv.allocate({ gpu: 2, numTokens: 24, blockHashes: chain(3, 5) })), 'E_OUT_OF_BLOCKS');
    assert.equal(codeOf(() => kv.append(live.seqId, 40)), 'E_OUT_OF_BLOCKS');
    assert.deepEqual({ stats: kv.stats(), snapshot: kv.snapshot(), table: kv.blockTable(live.seqId) }, before);
    kv.close();
  });

  test('a transfer changes state at once; its Promise brings the plan with hops and link bytes', async () => {
    const kv = new NativeKvManager(tiny());
    const { seqId } = kv.allocate({ gpu: 0, numTokens: 8, blockHashes: chain(2, 6) });
    const pending = kv.transfer(seqId, { tier: 'device', index: 4 });
    assert.deepEqual(kv.sequenceInfo(seqId).location, { tier: 'device', index: 4 });
    const plan = await pending;
    assert.equal(plan.path, 'scaleout');
    assert.equal(plan.bytes, 2 * kv.blockBytes);
    assert.equal(plan.estimatedSeconds, 5e-6 + plan.bytes / 50e9);
    assert.equal(kv.stats().bytesMovedByLink.scaleout, plan.bytes);
    const estimate = kv.estimateTransfer({ tier: 'device', index: 0 }, { tier: 'disk', index: 0 }, 1e6);
    assert.equal(estimate.path, 'c2c+disk');
    assert.ok(Math.abs(estimate.seconds - (1e-6 + 1e6 / 450e9 + 20e-6 + 1e6 / 7e9)) < 1e-15);
    kv.close();
  });
});

describe('bytes mode', () => {
  test('data reads back identical after demote, disk, promote, NVLink and scale-out migration, copy', async () => {
    const kv = new NativeKvManager(tiny({ dataMode: 'bytes', tokensPerBlock: 16, deviceBlocksPerGpu: 16, hostBlocksPerTray: 16, diskBlocksPerTray: 16 }));
    assert.equal(kv.backendInfo().dataMode, 'bytes');
    assert.equal(await byteExactScenario(kv), 9);
    kv.close();
  });

  test('close() while a transfer is in flight: the transfer settles, later calls are E_CLOSED', async () => {
    const kv = new NativeKvManager(tiny({ dataMode: 'bytes' }));
    const { seqId } = kv.allocate({ gpu: 0, numTokens: 16 });
    kv.write(seqId, 0, new Uint8Array(16 * kv.bytesPerToken).fill(3));
    const pending = kv.demote(seqId);
    kv.close();
    const plan = await pending;
    assert.equal(plan.blocksCopied, 4);
    assert.equal(codeOf(() => kv.stats()), 'E_CLOSED');
  });

  test('pools larger than maxRealBytes are refused', () => {
    assert.equal(codeOf(() => new NativeKvManager(tiny({ dataMode: 'bytes', deviceBlocksPerGpu: 1e6, maxRealBytes: 1e6 }))), 'E_TOO_LARGE');
  });
});

describe('events and resync', () => {
  /** A consumer's view of resident hashes, built from events only. */
  function applyEvents(view: Map<string, Set<bigint>>, events: KvEvent[]): void {
    for (const e of events) {
      if (e.kind === 'moved') continue;
      const key = `${e.location.tier}:${e.location.index}`;
      if (!view.has(key)) view.set(key, new Set());
      if (e.kind === 'stored') view.get(key)?.add(e.hash);
      else view.get(key)?.delete(e.hash);
    }
  }
  function fromSnapshot(snapshot: KvSnapshot): Map<string, Set<bigint>> {
    return new Map(snapshot.locations.map((l) => [`${l.location.tier}:${l.location.index}`, new Set(l.hashes)]));
  }
  function nonEmpty(view: Map<string, Set<bigint>>): Map<string, Set<bigint>> {
    return new Map([...view].filter(([, s]) => s.size > 0).sort(([a], [b]) => (a < b ? -1 : 1)));
  }

  test('event ids increase by one and replaying them rebuilds the snapshot', async () => {
    const kv = new NativeKvManager(tiny());
    const view = new Map<string, Set<bigint>>();
    const rng = new Rng(8);
    let lastId = 0;
    for (let i = 0; i < 200; i++) {
      try {
        const { seqId } = kv.allocate({ gpu: rng.int(8), numTokens: 8 + rng.int(12), blockHashes: chain(1 + rng.int(2), rng.int(6)) });
        if (rng.next() < 0.5) await kv.demote(seqId);
        kv.free(seqId);
      } catch (error) {
        assert.equal((error as { code: string }).code, 'E_OUT_OF_BLOCKS');
      }
      const events = kv.drainEvents();
      for (const e of events) assert.equal(e.eventId, ++lastId);
      applyEvents(view, events);
    }
    const snapshot = kv.snapshot();
    assert.equal(snapshot.lastEventId, lastId);
    assert.deepEqual(nonEmpty(view), nonEmpty(fromSnapshot(snapshot)));
    kv.close();
  });

  test('packed drains carry the same events as object drains', () => {
    const a = new NativeKvManager(tiny());
    const b = new NativeKvManager(tiny());
    for (const kv of [a, b]) {
      const { seqId } = kv.allocate({ gpu: 0, numTokens: 32, blockHashes: chain(8, 12) });
      void kv.transfer(seqId, { tier: 'host', index: 0 }, 'copy');
      kv.free(seqId);
      kv.allocate({ gpu: 0, numTokens: 32 }); // evicts: removed events
    }
    const packed = a.drainEventsPacked();
    assert.equal(packed.count, 8 + 8 + 1 + 8);
    assert.deepEqual(unpackEvents(packed), b.drainEvents());
    assert.equal(a.drainEventsPacked().count, 0);
    a.close();
    b.close();
  });

  test('an overflowing log drops the oldest events; the gap shows in the ids and a snapshot resyncs', () => {
    const kv = new NativeKvManager(tiny({ eventLogCapacity: 4 }));
    kv.allocate({ gpu: 0, numTokens: 32, blockHashes: chain(8, 10) });
    const events = kv.drainEvents();
    assert.deepEqual(events.map((e) => e.eventId), [5, 6, 7, 8]);
    assert.equal(kv.stats().droppedEvents, 4);
    const snapshot = kv.snapshot();
    assert.equal(snapshot.lastEventId, 8);
    assert.equal(snapshot.locations[0]?.hashes.length, 8);
    kv.close();
  });
});

describe('backends', () => {
  test('auto picks CPU without a usable GPU; cuda is refused with a reason', () => {
    const probe = probeDevices();
    const kv = new NativeKvManager(tiny({ backend: 'auto' }));
    const info = kv.backendInfo();
    kv.close();
    if (probe.cudaDeviceCount > 0) {
      assert.equal(info.backend, 'cuda');
      return;
    }
    assert.equal(info.backend, 'cpu');
    const err = (() => { try { new NativeKvManager(tiny({ backend: 'cuda' })); } catch (e) { return e as Error & { code: string }; } return undefined; })();
    assert.equal(err?.code, 'E_BACKEND_UNAVAILABLE');
    assert.ok(err && err.message.length > 10);
  });
});

describe('bad input never crashes: each case is an error with a code', () => {
  const kv = new NativeKvManager(tiny({ dataMode: 'bytes' }));
  const live = kv.allocate({ gpu: 0, numTokens: 8, blockHashes: chain(2, 11) }).seqId;
  const freed = kv.allocate({ gpu: 0, numTokens: 4 }).seqId;
  kv.free(freed);
  const sharer = kv.allocate({ gpu: 0, numTokens: 8, blockHashes: chain(2, 11) }).seqId;
  const any = kv as unknown as Record<string, (...args: unknown[]) => unknown>;
  const cases: Array<[string, () => unknown, string]> = [
    ['config not an object', () => new NativeKvManager(7 as unknown as KvManagerConfig), 'E_INVALID_ARGUMENT'],
    ['unknown preset', () => new NativeKvManager({ ...tiny(), topology: 'nvl576' as 'gb200-nvl72' }), 'E_INVALID_ARGUMENT'],
    ['zero trays', () => new NativeKvManager({ ...tiny(), topology: { ...BYTES_TOPOLOGY, traysPerDomain: 0 } }), 'E_INVALID_ARGUMENT'],
    ['negative bandwidth', () => new NativeKvManager({ ...tiny(), topology: { ...BYTES_TOPOLOGY, nvlink: { bandwidthBytesPerS: -1, latencyS: 0 } } }), 'E_INVALID_ARGUMENT'],
    ['layout missing', () => new NativeKvManager({ topology: BYTES_TOPOLOGY } as KvManagerConfig), 'E_INVALID_ARGUMENT'],
    ['bytesPerElement 3', () => new NativeKvManager(tiny({ layout: { ...TINY_LAYOUT, bytesPerElement: 3 } })), 'E_INVALID_ARGUMENT'],
    ['tokensPerBlock 0', () => new NativeKvManager(tiny({ tokensPerBlock: 0 })), 'E_INVALID_ARGUMENT'],
    ['dataMode typo', () => new NativeKvManager(tiny({ dataMode: 'byte' as 'bytes' })), 'E_INVALID_ARGUMENT'],
    ['gpu out of range', () => kv.allocate({ gpu: 8, numTokens: 4 }), 'E_INVALID_ARGUMENT'],
    ['gpu negative', () => kv.allocate({ gpu: -1, numTokens: 4 }), 'E_INVALID_ARGUMENT'],
    ['gpu a string', () => kv.allocate({ gpu: '0' as unknown as number, numTokens: 4 }), 'E_INVALID_ARGUMENT'],
    ['numTokens 0', () => kv.allocate({ gpu: 0, numTokens: 0 }), 'E_INVALID_ARGUMENT'],
    ['numTokens NaN', () => kv.allocate({ gpu: 0, numTokens: Number.NaN }), 'E_INVALID_ARGUMENT'],
    ['numTokens huge', () => kv.allocate({ gpu: 0, numTokens: 2 ** 40 }), 'E_INVALID_ARGUMENT'],
    ['numTokens fractional', () => kv.allocate({ gpu: 0, numTokens: 2.5 }), 'E_INVALID_ARGUMENT'],
    ['hashes as a plain array', () => kv.allocate({ gpu: 0, numTokens: 8, blockHashes: [1n, 2n] as unknown as BigUint64Array }), 'E_INVALID_ARGUMENT'],
    ['more hashes than full blocks', () => kv.allocate({ gpu: 0, numTokens: 7, blockHashes: chain(2) }), 'E_INVALID_ARGUMENT'],
    ['allocate without an object', () => kv.allocate(undefined as unknown as { gpu: number; numTokens: number }), 'E_INVALID_ARGUMENT'],
    ['unknown sequence', () => kv.free(9999), 'E_UNKNOWN_SEQUENCE'],
    ['sequence id 0', () => kv.sequenceInfo(0), 'E_UNKNOWN_SEQUENCE'],
    ['double free', () => kv.free(freed), 'E_SEQUENCE_FREED'],
    ['append after free', () => kv.append(freed, 1), 'E_SEQUENCE_FREED'],
    ['read after free', () => kv.read(freed, 0, 1), 'E_SEQUENCE_FREED'],
    ['seqId a string', () => kv.free('1' as unknown as number), 'E_INVALID_ARGUMENT'],
    ['append 0 tokens', () => kv.append(live, 0), 'E_INVALID_ARGUMENT'],
    ['unpin what is not pinned', () => kv.unpin(0, chain(2, 11)), 'E_NOT_PINNED'],
    ['write a shared block', () => kv.write(sharer, 0, new Uint8Array(16)), 'E_BLOCK_SHARED'],
    ['write a partial token', () => kv.write(live, 0, new Uint8Array(15)), 'E_INVALID_ARGUMENT'],
    ['write past the end', () => kv.write(live, 7, new Uint8Array(32)), 'E_INVALID_ARGUMENT'],
    ['write not a Uint8Array', () => kv.write(live, 0, [1, 2] as unknown as Uint8Array), 'E_INVALID_ARGUMENT'],
    ['read past the end', () => kv.read(live, 0, 9), 'E_INVALID_ARGUMENT'],
    ['estimate to a bad tier', () => kv.estimateTransfer({ tier: 'device', index: 0 }, { tier: 'ssd' as 'disk', index: 0 }, 1), 'E_INVALID_ARGUMENT'],
    ['estimate across trays to host', () => kv.estimateTransfer({ tier: 'device', index: 0 }, { tier: 'host', index: 3 }, 1), 'E_INVALID_ARGUMENT'],
    ['drainEvents negative', () => kv.drainEvents(-1), 'E_INVALID_ARGUMENT'],
    ['missing arguments', () => any.matchPrefixOnGpu?.call(kv), 'E_INVALID_ARGUMENT'],
  ];
  for (const [name, fn, code] of cases) {
    test(name, () => assert.equal(codeOf(fn), code));
  }

  test('transfers reject (never throw synchronously) with codes', async () => {
    const rejects = async (p: Promise<unknown>, code: string) => assert.rejects(p, (e: { code?: string }) => e.code === code);
    await rejects(kv.transfer(live, { tier: 'device', index: 0 }), 'E_INVALID_ARGUMENT'); // same place
    await rejects(kv.transfer(live, { tier: 'host', index: 2 }), 'E_INVALID_ARGUMENT'); // another tray's host
    await rejects(kv.transfer(live, { tier: 'device', index: 99 }), 'E_INVALID_ARGUMENT');
    await rejects(kv.transfer(live, { tier: 'device', index: 1 }, 'teleport' as 'move'), 'E_INVALID_ARGUMENT');
    await rejects(kv.transfer(freed, { tier: 'device', index: 1 }), 'E_SEQUENCE_FREED');
    await rejects(kv.demote(live, 'tape' as 'disk'), 'E_INVALID_ARGUMENT');
    await rejects(kv.promote(live), 'E_INVALID_ARGUMENT'); // already on its home GPU
  });

  test('append on a demoted sequence is refused (E_WRONG_TIER); the sequence is intact', async () => {
    const { seqId } = kv.allocate({ gpu: 1, numTokens: 5 });
    await kv.demote(seqId);
    assert.equal(codeOf(() => kv.append(seqId, 1)), 'E_WRONG_TIER');
    assert.equal(kv.sequenceInfo(seqId).numTokens, 5);
  });

  test('after close every call is E_CLOSED', () => {
    const closing = new NativeKvManager(tiny());
    closing.close();
    closing.close(); // idempotent
    assert.equal(codeOf(() => closing.allocate({ gpu: 0, numTokens: 1 })), 'E_CLOSED');
    assert.equal(codeOf(() => closing.stats()), 'E_CLOSED');
  });

  test('thousands of random junk calls: only coded errors, stats stay consistent', () => {
    const fuzz = new NativeKvManager(tiny({ dataMode: 'bytes' }));
    const rng = new Rng(99);
    const junk = [undefined, null, -1, 0, 1, 2.5, 2 ** 32, 2 ** 53, Number.NaN, Infinity, '3', {}, [], 1n, new Uint8Array(3),
      new BigUint64Array([1n, 2n]), new Int32Array(2), { tier: 'device', index: 1 }, { tier: 'host', index: -1 }];
    const methods = ['allocate', 'append', 'free', 'sequenceInfo', 'blockTable', 'matchPrefix', 'matchPrefixOnGpu', 'pin', 'unpin',
      'estimateTransfer', 'write', 'read', 'drainEvents'];
    const target = fuzz as unknown as Record<string, (...args: unknown[]) => unknown>;
    for (let i = 0; i < 5000; i++) {
      const method = rng.pick(methods);
      const args = Array.from({ length: rng.int(4) }, () => (method === 'allocate' && rng.next() < 0.3
        ? { gpu: rng.pick(junk), numTokens: rng.pick(junk), blockHashes: rng.pick(junk) } : rng.pick(junk)));
      try {
        target[method]?.apply(fuzz, args);
      } catch (error) {
        assert.ok((error as { code?: string }).code, `${method}(${args.map(String).join(', ')}) threw without a code: ${(error as Error).message}`);
      }
    }
    for (const pool of fuzz.stats().pools) assert.equal(pool.usedBlocks + pool.cachedBlocks + pool.freeBlocks, pool.totalBlocks);
    fuzz.close();
  });
});
