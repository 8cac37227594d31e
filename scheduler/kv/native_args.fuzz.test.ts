// Property-based fuzzing (fast-check) of the native addon's argument conversion, below the facade: the raw
// NativeKvManager handle's methods called with random argument lists (junk of every JS type, valid values, wrong
// typed-array kinds, short output buffers, hand-off plans and options with one field wrong), the constructor with one field of a valid config replaced (top level,
// topology, layout, links; presets and objects; extreme and junk values), and the module functions hashTokens,
// chainHashes, topologyPreset. Every call returns or throws an Error whose `.code` is one of KV_ERROR_CODES —
// never a crash; built managers are consistent; the hash functions keep their chain rule (a prefix hashes to a
// prefix; the rest continues from its last hash). FUZZ_RUNS scales the runs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';

import { fuzzParams } from '../util/fuzz.js';
import { attemptCoded } from './testing/coded.js';
import { chainHashes, hashTokens, nativeModule, topologyPreset } from './native.js';

const attempt = (what: string, fn: () => unknown) => attemptCoded(what, fn);

const LAYOUT = { numLayers: 1, numKvHeads: 1, headDim: 4, mlaLatentDim: 0, bytesPerElement: 2, tensorParallel: 1 };
const LINK = { bandwidthBytesPerS: 100e9, latencyS: 1e-6 };
const TOPOLOGY = { name: 't', numDomains: 1, traysPerDomain: 2, gpusPerTray: 2, cpusPerTray: 1, hbmBytesPerGpu: 1e9, hostBytesPerTray: 1e9, diskBytesPerTray: 0, nvlink: LINK, hostLink: LINK, hostLinkKind: 'c2c', scaleOut: LINK, disk: LINK };
const base = (dataMode: 'metadata' | 'bytes'): Record<string, unknown> => ({
  topology: structuredClone(TOPOLOGY), layout: { ...LAYOUT }, tokensPerBlock: 4, deviceBlocksPerGpu: 16, hostBlocksPerTray: 16, diskBlocksPerTray: 4, dataMode, maxRealBytes: 16 << 20, eventLogCapacity: 64, backend: 'cpu',
});

const PLAN = { handoffId: 1, seqId: 1, sourceGpu: 0, destinationGpu: 1, mode: 'move', crossDomain: false, dataMode: 'metadata', numTokens: 8, numBlocks: 2, tokensPerBlock: 4, bytesPerToken: 16, numLayers: 1, blockHashes: new BigUint64Array(2), blocksPerChunk: 2, layersPerChunk: 1, numChunks: 1 };

const JUNK: Array<() => unknown> = [
  () => undefined, () => null, () => Number.NaN, () => Infinity, () => -Infinity, () => -1, () => -0, () => 0, () => 0.5, () => 2 ** 31, () => 2 ** 32, () => 2 ** 53, () => 2 ** 64,
  () => Number.MAX_VALUE, () => '1', () => '', () => 'gb200-nvl72', () => 'x'.repeat(10_000), () => '\u0000', () => true, () => ({}), () => [], () => [1, 2], () => 1n, () => 2n ** 64n, () => -1n,
  () => Symbol('s'), () => () => 1, () => Object.create(null) as object, () => new Date(0), () => new Proxy({}, {}),
  () => new BigUint64Array(3), () => new BigInt64Array(2), () => new Uint32Array(40), () => new Uint32Array(3), () => new Int32Array(4), () => new Uint8Array(33), () => new Float64Array(2),
  () => new DataView(new ArrayBuffer(8)), () => new ArrayBuffer(16), () => Buffer.alloc(8), () => new BigUint64Array(new SharedArrayBuffer(32)),
  () => { const a = new BigUint64Array(4); structuredClone(a.buffer, { transfer: [a.buffer] }); return a; },
  () => ({ tier: 'device', index: 0 }), () => ({ tier: 'host', index: 1 }), () => ({ tier: 'disk', index: 0 }), () => ({ tier: 'host' }), () => ({ tier: 'gpu', index: 0 }), () => ({ tier: 'device', index: 2 ** 32 }),
  () => 'move', () => 'copy', () => 1, () => 2, () => 3, () => 8,
  // Hand-off options and plans: valid shapes (so calls get past the type checks) and near misses.
  () => ({ destinationGpu: 1 }), () => ({ destinationGpu: 2, crossDomain: true, mode: 'copy', blocksPerChunk: 1, layersPerChunk: 1 }), () => ({ destinationGpu: 1, crossDomain: 'yes' }),
  () => ({ gpu: 3, reserveTokens: 4 }), () => ({ gpu: -1 }), () => 5n,
  () => ({ ...PLAN, blockHashes: new BigUint64Array(2) }), () => ({ ...PLAN, dataMode: 'bytes' }), () => ({ ...PLAN, numChunks: 2 ** 32 }), () => ({ ...PLAN, blockHashes: [1n] }), () => ({ ...PLAN, bytesPerToken: -1 }),
];
const anyArg = fc.nat({ max: JUNK.length - 1 });

const METHODS = ['info', 'topology', 'backendInfo', 'allocate', 'append', 'setResultBuffer', 'drainEventsPacked', 'free', 'sequenceInfo', 'blockTable', 'matchPrefixPacked', 'matchPrefixOnGpu', 'pin', 'unpin', 'transfer', 'estimateTransfer', 'write', 'read', 'snapshot', 'stats',
  'handoffBegin', 'handoffExport', 'handoffComplete', 'handoffReserve', 'handoffImport', 'handoffCommit', 'handoffStatus', 'handoffAbort', 'handoffStats'];

test('the raw addon handle: random methods with random argument lists throw coded Errors, never crash', async () => {
  const Native = nativeModule().NativeKvManager as unknown as new (c: unknown) => Record<string, (...a: unknown[]) => unknown>;
  await fc.assert(
    fc.asyncProperty(fc.constantFrom<'metadata' | 'bytes'>('metadata', 'bytes'), fc.array(fc.tuple(fc.constantFrom(...METHODS), fc.array(anyArg, { maxLength: 4 })), { minLength: 20, maxLength: 100, size: 'max' }), async (mode, calls) => {
      const h = new Native(base(mode));
      try {
        h['setResultBuffer']?.(new Uint32Array(4));
        for (const [i, [name, picks]] of calls.entries()) {
          const args = picks.map((p) => (JUNK[p] as () => unknown)());
          const r = await attempt(`call ${i} ${name}(${args.map((a) => typeof a).join(', ')})`, () => (h[name] as (...a: unknown[]) => unknown).apply(h, args));
          if (!r.ok) assert.notEqual(r.code, 'E_INTERNAL', `${name}: the result buffer is set, nothing is internal`);
        }
        const s = h['stats']?.() as { pools: Array<{ usedBlocks: number; cachedBlocks: number; freeBlocks: number; totalBlocks: number }>; liveSequences: number };
        for (const p of s.pools) assert.equal(p.usedBlocks + p.cachedBlocks + p.freeBlocks, p.totalBlocks);
      } finally {
        h['close']?.();
      }
      await attempt('after close', () => h['stats']?.()).then((r) => assert.ok(!r.ok && r.code === 'E_CLOSED'));
    }),
    fuzzParams(200, 61),
  );
});

/** Where one field of a config can be replaced: top level, topology, layout, or a link of the topology. */
const FIELDS: Array<[string[], string]> = [
  ...Object.keys(base('metadata')).map((k): [string[], string] => [[], k]),
  ...Object.keys(TOPOLOGY).map((k): [string[], string] => [['topology'], k]),
  ...Object.keys(LAYOUT).map((k): [string[], string] => [['layout'], k]),
  ...['nvlink', 'hostLink', 'scaleOut', 'disk'].flatMap((l) => ['bandwidthBytesPerS', 'latencyS'].map((k): [string[], string] => [['topology', l], k])),
  [[], 'numDomains'], [[], 'weightsBytesPerGpu'], [[], 'deviceReserveFraction'], [[], 'hostFraction'],
];

test('the constructor: a valid config with one field replaced builds a consistent manager or throws a coded Error', async () => {
  const Native = nativeModule().NativeKvManager as unknown as new (c: unknown) => { stats(): { pools: Array<{ usedBlocks: number; freeBlocks: number; totalBlocks: number }> }; info(): { numGpus: number; numTrays: number }; close(): void };
  await fc.assert(
    fc.asyncProperty(fc.constantFrom<'metadata' | 'bytes'>('metadata', 'bytes'), fc.nat({ max: FIELDS.length - 1 }), anyArg, fc.boolean(), async (mode, f, value, preset) => {
      const config = base(mode);
      if (preset) config['topology'] = 'hgx-h100x8';
      const [path, key] = FIELDS[f] as [string[], string];
      const parent = path.reduce<Record<string, unknown> | undefined>((o, k) => (typeof o?.[k] === 'object' ? (o[k] as Record<string, unknown>) : undefined), config);
      if (parent) parent[key] = (JUNK[value] as () => unknown)();
      const r = await attempt(`new NativeKvManager with ${[...path, key].join('.')} = ${String(JUNK[value])}`, () => new Native(config));
      if (!r.ok) return;
      const kv = r.v as InstanceType<typeof Native>;
      try {
        const { numGpus, numTrays } = kv.info();
        const pools = kv.stats().pools;
        assert.equal(pools.length, numGpus + 2 * numTrays);
        for (const p of pools) assert.ok(p.usedBlocks === 0 && p.freeBlocks === p.totalBlocks);
      } finally {
        kv.close();
      }
    }),
    fuzzParams(1500, 62),
  );
});

test('module functions: junk throws coded Errors; hashes keep the chain rule', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(anyArg, { maxLength: 3 }), fc.constantFrom('hashTokens', 'chainHashes', 'topologyPreset', 'topologyPresetNames'), async (picks, name) => {
      const fn = (nativeModule() as unknown as Record<string, (...a: unknown[]) => unknown>)[name] as (...a: unknown[]) => unknown;
      await attempt(name, () => fn(...picks.map((p) => (JUNK[p] as () => unknown)())));
    }),
    fuzzParams(1500, 63),
  );
  fc.assert(
    fc.property(fc.uint32Array({ maxLength: 64 }), fc.integer({ min: 1, max: 9 }), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.nat(), (tokens, tpb, parent, cut) => {
      const all = hashTokens(tokens, tpb, parent);
      assert.equal(all.length, Math.floor(tokens.length / tpb));
      const k = all.length === 0 ? 0 : cut % (all.length + 1);
      assert.deepEqual(hashTokens(tokens.subarray(0, k * tpb), tpb, parent), all.slice(0, k));
      assert.deepEqual(hashTokens(tokens.subarray(k * tpb), tpb, k === 0 ? parent : all[k - 1]), all.slice(k));
    }),
    fuzzParams(1000, 64),
  );
  fc.assert(
    fc.property(fc.bigUint64Array({ maxLength: 32 }), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.nat(), (ids, parent, cut) => {
      const all = chainHashes(ids, parent);
      assert.equal(all.length, ids.length);
      const k = cut % (ids.length + 1);
      assert.deepEqual(chainHashes(ids.subarray(k), k === 0 ? parent : all[k - 1]), all.slice(k));
    }),
    fuzzParams(1000, 65),
  );
  assert.throws(() => topologyPreset('nope'), (e: Error & { code?: string }) => e.code === 'E_INVALID_ARGUMENT' && /presets: /.test(e.message));
});



test('a result buffer detached after setResultBuffer: the next call is a coded error, not a write into freed memory', () => {
  const Native = nativeModule().NativeKvManager as unknown as new (c: unknown) => Record<string, (...a: unknown[]) => unknown>;
  const h = new Native(base('metadata'));
  try {
    const result = new Uint32Array(4);
    h['setResultBuffer']?.(result);
    structuredClone(result.buffer, { transfer: [result.buffer] });
    assert.throws(() => h['allocate']?.(0, 16, undefined, 0), (e: unknown) => (e as { code?: unknown }).code === 'E_INVALID_ARGUMENT' && /detached/.test((e as Error).message));
    h['setResultBuffer']?.(new Uint32Array(4));
    h['allocate']?.(0, 16, undefined, 0);
  } finally {
    h['close']?.();
  }
});
