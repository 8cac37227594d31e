// Shared fixtures of the reference's tests: a tiny hand-written cluster (2 domains x 2 trays x 2 GPUs), a 16-byte
// token layout and small pools, so every block number in an assertion can be worked out by hand.
import assert from 'node:assert/strict';
import { chainHashes } from '../hash.js';
import type { KvErrorCode, KvLayout, KvManagerConfig, TopologySpec } from '../types.js';
import { ReferenceKvManager } from './manager.js';
import type { KvState } from './state.js';

export const TEST_TOPOLOGY: TopologySpec = {
  name: 'test-2x2x2',
  numDomains: 2,
  traysPerDomain: 2,
  gpusPerTray: 2,
  cpusPerTray: 1,
  hbmBytesPerGpu: 1 << 20,
  hostBytesPerTray: 1 << 20,
  diskBytesPerTray: 1 << 20,
  nvlink: { bandwidthBytesPerS: 1000, latencyS: 0.5 },
  hostLink: { bandwidthBytesPerS: 100, latencyS: 0.25 },
  hostLinkKind: 'c2c',
  scaleOut: { bandwidthBytesPerS: 50, latencyS: 1 },
  disk: { bandwidthBytesPerS: 10, latencyS: 2 },
};

/** 2 * 1 layer * 1 head * 4 dims * 2 bytes = 16 bytes per token; 4 tokens per block = 64-byte blocks. */
export const TEST_LAYOUT: KvLayout = {
  numLayers: 1,
  numKvHeads: 1,
  headDim: 4,
  mlaLatentDim: 0,
  bytesPerElement: 2,
  tensorParallel: 1,
};

export const BS = 4;
export const BLOCK_BYTES = 64;
export const DEVICE_BLOCKS = 8;
export const HOST_BLOCKS = 16;
export const DISK_BLOCKS = 32;

export function testConfig(overrides: Partial<KvManagerConfig> = {}): KvManagerConfig {
  return {
    topology: TEST_TOPOLOGY,
    layout: TEST_LAYOUT,
    tokensPerBlock: BS,
    deviceBlocksPerGpu: DEVICE_BLOCKS,
    hostBlocksPerTray: HOST_BLOCKS,
    diskBlocksPerTray: DISK_BLOCKS,
    ...overrides,
  };
}

export function makeManager(overrides: Partial<KvManagerConfig> = {}): ReferenceKvManager {
  return new ReferenceKvManager(testConfig(overrides));
}

/** A chain of `n` hashes; different seeds give unrelated chains. */
export function chain(n: number, seed = 1): BigUint64Array {
  return chainHashes(Array.from({ length: n }, (_, i) => BigInt(seed * 1000 + i + 1)));
}

export function hashes(...values: bigint[]): BigUint64Array {
  return BigUint64Array.from(values);
}

export function expectCode(fn: () => unknown, code: KvErrorCode, message?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.equal((err as { code?: unknown }).code, code, `expected ${code}, got ${String(err)}`);
    if (message) assert.match((err as Error).message, message);
    return true;
  });
}

export async function expectReject(promise: Promise<unknown>, code: KvErrorCode, message?: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.equal((err as { code?: unknown }).code, code, `expected ${code}, got ${String(err)}`);
    if (message) assert.match((err as Error).message, message);
    return true;
  });
}

/** The manager's internals, for assertions the public API cannot express (LRU order). */
export function internals(m: ReferenceKvManager): KvState {
  return (m as unknown as { state: KvState }).state;
}

export function lruOrder(m: ReferenceKvManager, poolIndex: number): number[] {
  return internals(m).pools[poolIndex]!.lruOrder();
}

/**
 * Everything observable without draining events: stats, snapshot, every sequence id up to maxSeqId (info and table,
 * or the error code), and every pool's LRU order.
 */
export function observe(m: ReferenceKvManager, maxSeqId: number): unknown {
  const sequences: unknown[] = [];
  for (let id = 1; id <= maxSeqId; id++) {
    try {
      sequences.push({ info: m.sequenceInfo(id), table: Array.from(m.blockTable(id)) });
    } catch (err) {
      sequences.push((err as { code: string }).code);
    }
  }
  const lru = internals(m).pools.map((p) => p.lruOrder());
  return { stats: m.stats(), snapshot: m.snapshot(), sequences, lru };
}

/** Asserts that `fn` fails with `code` and leaves everything observable as it was. */
export function expectNoChange(m: ReferenceKvManager, maxSeqId: number, fn: () => unknown, code: KvErrorCode): void {
  const before = observe(m, maxSeqId);
  expectCode(fn, code);
  assert.deepEqual(observe(m, maxSeqId), before);
}

export async function expectNoChangeAsync(
  m: ReferenceKvManager,
  maxSeqId: number,
  fn: () => Promise<unknown>,
  code: KvErrorCode,
): Promise<void> {
  const before = observe(m, maxSeqId);
  await expectReject(fn(), code);
  assert.deepEqual(observe(m, maxSeqId), before);
}

export function assertPoolInvariant(m: ReferenceKvManager): void {
  for (const pool of m.stats().pools) {
    assert.equal(
      pool.usedBlocks + pool.cachedBlocks + pool.freeBlocks,
      pool.totalBlocks,
      `used + cached + free = total at ${pool.location.tier} ${pool.location.index}`,
    );
  }
}

/** Pool indices in location order: GPUs 0..7, host trays 8..11, disk trays 12..15. */
export const HOST_POOL = (tray: number) => 8 + tray;
export const DISK_POOL = (tray: number) => 12 + tray;
