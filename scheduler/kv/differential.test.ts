// Randomised differential test: the native addon and the TypeScript reference get the same seeded operation
// sequence and must agree on every result, every error code, every block table, the event log, snapshots and
// stats (native/SPEC.md is the contract both implement).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { chainHashes, NativeKvManager } from './native.js';
import { ReferenceKvManager } from './reference/manager.js';
import type { KvManager, KvManagerConfig, Location, TopologySpec } from './types.js';
import { Rng } from '../util/random.js';

const SMALL_TOPOLOGY: TopologySpec = {
  name: 'diff-2x2x2',
  numDomains: 2,
  traysPerDomain: 2,
  gpusPerTray: 2,
  cpusPerTray: 1,
  hbmBytesPerGpu: 1e9,
  hostBytesPerTray: 1e9,
  diskBytesPerTray: 1e9,
  nvlink: { bandwidthBytesPerS: 900e9, latencyS: 2e-6 },
  hostLink: { bandwidthBytesPerS: 450e9, latencyS: 1e-6 },
  hostLinkKind: 'c2c',
  scaleOut: { bandwidthBytesPerS: 50e9, latencyS: 5e-6 },
  disk: { bandwidthBytesPerS: 7e9, latencyS: 20e-6 },
};

function config(dataMode: 'metadata' | 'bytes', eventLogCapacity: number): KvManagerConfig {
  return {
    topology: SMALL_TOPOLOGY,
    layout: { numLayers: 1, numKvHeads: 1, headDim: 4, mlaLatentDim: 0, bytesPerElement: 2, tensorParallel: 1 },
    tokensPerBlock: 4,
    deviceBlocksPerGpu: 24,
    hostBlocksPerTray: 32,
    diskBlocksPerTray: 16,
    dataMode,
    eventLogCapacity,
    backend: 'cpu',
  };
}

type Outcome = { ok: unknown } | { code: string };

async function outcome(fn: () => unknown): Promise<Outcome> {
  try {
    return { ok: await fn() };
  } catch (error) {
    const code = (error as { code?: string }).code;
    assert.ok(code, `an error without .code: ${(error as Error).message}`);
    return { code };
  }
}

/** One random operation applied to both implementations. */
class OpGenerator {
  private readonly chains: BigUint64Array[];
  private nextIdGuess = 1;

  constructor(private readonly rng: Rng, private readonly bs: number) {
    // A few base chains that share prefixes with each other (forks), so reuse really happens.
    const base = chainHashes(BigUint64Array.from({ length: 12 }, () => rng.u64()));
    this.chains = [base];
    for (let i = 0; i < 5; i++) {
      const forkAt = 1 + rng.int(10);
      const tail = chainHashes(BigUint64Array.from({ length: 12 - forkAt }, () => rng.u64()), base[forkAt - 1]);
      const chain = new BigUint64Array(12);
      chain.set(base.subarray(0, forkAt));
      chain.set(tail, forkAt);
      this.chains.push(chain);
    }
  }

  private seq(): number {
    // Mostly recent ids (live or freed), sometimes junk.
    const r = this.rng.next();
    if (r < 0.03) return this.rng.pick([0, -1, 1.5, 1e12, Number.NaN]);
    return Math.max(1, this.nextIdGuess - 1 - this.rng.int(8));
  }

  private location(numGpus: number, numTrays: number): Location {
    const r = this.rng.next();
    if (r < 0.45) return { tier: 'device', index: this.rng.int(numGpus + (this.rng.next() < 0.05 ? 2 : 0)) };
    if (r < 0.8) return { tier: 'host', index: this.rng.int(numTrays) };
    if (r < 0.98) return { tier: 'disk', index: this.rng.int(numTrays) };
    return { tier: 'gpu' as 'device', index: 0 };
  }

  next(numGpus: number, numTrays: number): { name: string; apply: (kv: KvManager) => unknown } {
    const rng = this.rng;
    const bs = this.bs;
    const r = rng.next();
    const chain = rng.pick(this.chains);
    if (r < 0.3) {
      const numTokens = rng.next() < 0.02 ? 0 : 1 + rng.int(bs * 10);
      const maxHashes = Math.floor(numTokens / bs);
      const numHashes = rng.next() < 0.03 ? maxHashes + 1 : rng.int(maxHashes + 1);
      const hashes = chain.slice(0, Math.min(numHashes, chain.length));
      const gpu = rng.next() < 0.03 ? numGpus : rng.int(numGpus);
      const reserveTokens = rng.int(bs * 3);
      this.nextIdGuess++;
      return { name: `allocate(gpu ${gpu}, ${numTokens} tokens, ${hashes.length} hashes, reserve ${reserveTokens})`,
        apply: (kv) => kv.allocate({ gpu, numTokens, blockHashes: hashes, reserveTokens }) };
    }
    if (r < 0.45) {
      const seqId = this.seq();
      const numTokens = rng.int(bs * 3) + (rng.next() < 0.03 ? 0 : 1);
      const withHashes = rng.next() < 0.5;
      const hashes = withHashes ? chainHashes(BigUint64Array.from({ length: 1 + rng.int(2) }, () => rng.u64()), rng.u64()) : undefined;
      return { name: `append(${seqId}, ${numTokens}, ${hashes?.length ?? 0} hashes)`, apply: (kv) => kv.append(seqId, numTokens, hashes) };
    }
    if (r < 0.6) {
      const seqId = this.seq();
      return { name: `free(${seqId})`, apply: (kv) => kv.free(seqId) };
    }
    if (r < 0.66) {
      const gpu = rng.int(numGpus);
      const hashes = chain.slice(0, rng.int(chain.length + 1));
      const unpin = rng.next() < 0.5;
      return { name: `${unpin ? 'unpin' : 'pin'}(${gpu}, ${hashes.length})`, apply: (kv) => (unpin ? kv.unpin(gpu, hashes) : kv.pin(gpu, hashes)) };
    }
    if (r < 0.8) {
      const seqId = this.seq();
      const r2 = rng.next();
      const tier = rng.next() < 0.8 ? 'host' : 'disk';
      if (r2 < 0.25) return { name: `demote(${seqId}, ${tier})`, apply: (kv) => kv.demote(seqId, tier) };
      if (r2 < 0.5) return { name: `promote(${seqId})`, apply: (kv) => kv.promote(seqId) };
      const destination = this.location(numGpus, numTrays);
      const mode = rng.next() < 0.5 ? 'move' : 'copy';
      if (mode === 'copy') this.nextIdGuess++;
      return { name: `transfer(${seqId}, ${destination.tier}:${destination.index}, ${mode})`, apply: (kv) => kv.transfer(seqId, destination, mode) };
    }
    if (r < 0.88) {
      const hashes = chain.slice(0, rng.int(chain.length + 1));
      const gpu = rng.int(numGpus);
      const r2 = rng.next();
      if (r2 < 0.25) return { name: `matchPrefixPacked(${hashes.length})`, apply: (kv) => kv.matchPrefixPacked(hashes) };
      return r2 < 0.6
        ? { name: `matchPrefix(${hashes.length})`, apply: (kv) => kv.matchPrefix(hashes) }
        : { name: `matchPrefixOnGpu(${gpu}, ${hashes.length})`, apply: (kv) => kv.matchPrefixOnGpu(gpu, hashes) };
    }
    if (r < 0.95) {
      const seqId = this.seq();
      const offset = rng.int(bs * 4);
      const numTokens = 1 + rng.int(bs * 2);
      if (rng.next() < 0.5) {
        const data = Uint8Array.from({ length: numTokens * 16 + (rng.next() < 0.05 ? 3 : 0) }, () => rng.int(256));
        return { name: `write(${seqId}, ${offset}, ${data.length} bytes)`, apply: (kv) => kv.write(seqId, offset, data) };
      }
      return { name: `read(${seqId}, ${offset}, ${numTokens})`, apply: (kv) => kv.read(seqId, offset, numTokens) };
    }
    if (r < 0.97) {
      const maxEvents = 1 + rng.int(20);
      if (rng.next() < 0.5) return { name: `drainEventsPacked(${maxEvents})`, apply: (kv) => kv.drainEventsPacked(maxEvents) };
      return { name: `drainEvents(${maxEvents})`, apply: (kv) => kv.drainEvents(maxEvents) };
    }
    const seqId = this.seq();
    return { name: `sequenceInfo+blockTable(${seqId})`, apply: (kv) => [kv.sequenceInfo(seqId), kv.blockTable(seqId)] };
  }
}

async function runDifferential(seed: number, numOps: number, dataMode: 'metadata' | 'bytes', eventLogCapacity: number): Promise<void> {
  const native = new NativeKvManager(config(dataMode, eventLogCapacity));
  const reference = new ReferenceKvManager(config(dataMode, eventLogCapacity));
  try {
    assert.deepEqual(reference.stats(), native.stats(), 'initial stats');
    const gen = new OpGenerator(new Rng(seed), native.tokensPerBlock);
    const errorCodes = new Map<string, number>();
    for (let i = 0; i < numOps; i++) {
      const op = gen.next(native.numGpus, native.numTrays);
      const expected = await outcome(() => op.apply(reference));
      const actual = await outcome(() => op.apply(native));
      const where = `seed ${seed}, op ${i}: ${op.name}`;
      if (process.env.DIFF_DEBUG) console.log(where, JSON.stringify(actual, (_k, v) => (typeof v === 'bigint' ? String(v % 1000n) : v)), JSON.stringify(expected, (_k, v) => (typeof v === 'bigint' ? String(v % 1000n) : v)));
      assert.deepEqual(actual, expected, where);
      if ('code' in actual) errorCodes.set(actual.code, (errorCodes.get(actual.code) ?? 0) + 1);
      assert.deepEqual(native.stats(), reference.stats(), `stats after ${where}`);
      if (i % 50 === 49) {
        assert.deepEqual(native.snapshot(), reference.snapshot(), `snapshot after ${where}`);
        assert.deepEqual(native.drainEvents(), reference.drainEvents(), `events after ${where}`);
      }
    }
    assert.deepEqual(native.drainEvents(), reference.drainEvents(), 'final events');
    // The generator must really reach the interesting paths, not only succeed or only fail.
    for (const code of ['E_OUT_OF_BLOCKS', 'E_SEQUENCE_FREED', 'E_INVALID_ARGUMENT']) {
      assert.ok((errorCodes.get(code) ?? 0) > 0, `seed ${seed}: no ${code} case was generated`);
    }
  } finally {
    native.close();
    reference.close();
  }
}

test('native and reference agree on 4 x 2,000 random operations (metadata mode)', async () => {
  for (const seed of [1, 2, 3, 4]) await runDifferential(seed, 2000, 'metadata', 1 << 20);
});

test('native and reference agree on 4 x 2,000 random operations (bytes mode, reads compared)', async () => {
  for (const seed of [11, 12, 13, 14]) await runDifferential(seed, 2000, 'bytes', 1 << 20);
});

test('native and reference agree when the event log overflows and drops its oldest events', async () => {
  await runDifferential(21, 1500, 'metadata', 16);
});
