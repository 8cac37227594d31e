// Property-based fuzzing (fast-check) of the native KV manager through its facade (NativeKvManager): random
// sequences of calls — every method, arguments valid or not (wrong types, negatives, huge, NaN, wrong typed-array
// kinds, detached buffers, freed and unknown sequence ids, unknown locations) — interleaved with valid calls so that
// state gets deep (allocate, append, free, transfer/demote/promote, pin/unpin, drains, snapshots). Every call
// returns or throws (transfers: rejects) an Error whose `.code` is one of KV_ERROR_CODES, never E_INTERNAL, never a
// crash. A model tracks live/freed sequence ids and pin counts: live ids always answer, freed ids never do, unpin
// succeeds exactly when the model says, stats agree (liveSequences, pinned blocks per GPU, used + cached + free =
// total per pool); at the end, unpinning and freeing what the model holds leaves every pool unused (a leak check).
// Metadata mode on a small topology; a shorter bytes-mode run adds write/read. FUZZ_RUNS scales the runs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';

import { fuzzParams } from '../util/fuzz.js';
import { attemptCoded } from './testing/coded.js';
import { chainHashes, NativeKvManager } from './native.js';
import type { KvManagerConfig } from './types.js';

const TOPOLOGY = {
  name: 'fuzz-2x2x2', numDomains: 2, traysPerDomain: 2, gpusPerTray: 2, cpusPerTray: 1, hbmBytesPerGpu: 1e9, hostBytesPerTray: 1e9, diskBytesPerTray: 1e9,
  nvlink: { bandwidthBytesPerS: 900e9, latencyS: 2e-6 }, hostLink: { bandwidthBytesPerS: 450e9, latencyS: 1e-6 }, hostLinkKind: 'c2c' as const,
  scaleOut: { bandwidthBytesPerS: 50e9, latencyS: 5e-6 }, disk: { bandwidthBytesPerS: 7e9, latencyS: 20e-6 },
};
const GPUS = 8;
const TRAYS = 4;
const BS = 4;
const config = (dataMode: 'metadata' | 'bytes'): KvManagerConfig => ({
  topology: TOPOLOGY, layout: { numLayers: 1, numKvHeads: 1, headDim: 4, mlaLatentDim: 0, bytesPerElement: 2, tensorParallel: 1 },
  tokensPerBlock: BS, deviceBlocksPerGpu: 24, hostBlocksPerTray: 32, diskBlocksPerTray: 16, dataMode, eventLogCapacity: 64, backend: 'cpu',
});
const BYTES_PER_TOKEN = 16; // 2 (k, v) x 1 layer x 1 head x 4 dims x 2 bytes

// Chains that share prefixes (forks of one base), so that allocations really hit the cache.
const BASE = chainHashes(BigUint64Array.from({ length: 12 }, (_, i) => BigInt(1000 + i)));
const CHAINS = [BASE, ...[2, 5, 8].map((at) => {
  const c = new BigUint64Array(12);
  c.set(BASE.subarray(0, at));
  c.set(chainHashes(BigUint64Array.from({ length: 12 - at }, (_, i) => BigInt(7000 + 31 * at + i)), BASE[at - 1]), at);
  return c;
})];

/** A BigUint64Array whose buffer was transferred away (length 0, no bytes). */
function detached(): BigUint64Array {
  const a = new BigUint64Array(4);
  structuredClone(a.buffer, { transfer: [a.buffer] });
  return a;
}

/** Junk for any argument; typed arrays are made per call (a detached one cannot be shared). */
const JUNK: Array<() => unknown> = [
  () => undefined, () => null, () => Number.NaN, () => Infinity, () => -Infinity, () => -1, () => -0, () => 0.5, () => 2 ** 31, () => 2 ** 32, () => 2 ** 53,
  () => Number.MAX_VALUE, () => '1', () => '', () => true, () => ({}), () => [], () => [1n, 2n], () => 1n, () => 2n ** 64n, () => Symbol('s'), () => () => 1,
  () => new BigInt64Array(2), () => new Uint32Array(4), () => new Float64Array(1), () => new DataView(new ArrayBuffer(16)), () => new ArrayBuffer(16), () => Buffer.alloc(16),
  detached,
  () => ({ tier: 'gpu', index: 0 }), () => ({ tier: 'host' }), () => ({ tier: 'device', index: -1 }), () => ({ tier: 'disk', index: 99 }),
  () => Object.create(null) as object,
];
type Junk = { junk: number };
const junk = fc.nat({ max: JUNK.length - 1 }).map((i): Junk => ({ junk: i }));
const orJunk = <T>(valid: fc.Arbitrary<T>): fc.Arbitrary<T | Junk> => fc.oneof({ weight: 8, arbitrary: valid }, { weight: 1, arbitrary: junk });
/**
 * Junk that String() can print. The facade's demote() builds its tier error with String(tier), which throws a
 * TypeError (no `.code`) for a detached typed array or a null-prototype object — a known bug (see the todo test
 * below); demote's tier gets only this junk so that the campaign checks everything else.
 */
const printable = fc.constantFrom(...JUNK.flatMap((f, i) => {
  try {
    String(f());
    return [{ junk: i }];
  } catch {
    return [];
  }
}));
const isJunk = (v: unknown): v is Junk => typeof v === 'object' && v !== null && 'junk' in v;

type SeqPick = { seq: 'live' | 'freed' | 'next'; i: number };
type HashPick = { chain: number; from: number; len: number };
const seq = orJunk(fc.record({ seq: fc.constantFrom<SeqPick['seq']>('live', 'live', 'live', 'live', 'freed', 'next'), i: fc.nat() }));
const hashes = orJunk(fc.record({ chain: fc.nat({ max: CHAINS.length - 1 }), from: fc.constantFrom(0, 0, 0, 1), len: fc.nat({ max: 12 }) }));
// Mostly two GPUs, so that their pools fill up (E_OUT_OF_BLOCKS, evictions) and transfers find company.
const gpu = orJunk(fc.oneof({ weight: 6, arbitrary: fc.constantFrom(0, 1) }, { weight: 2, arbitrary: fc.nat({ max: GPUS - 1 }) }, { weight: 1, arbitrary: fc.constant(GPUS) }));
const tokens = orJunk(fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 1, max: 12 * BS }) }, { weight: 1, arbitrary: fc.constantFrom(0, 2 ** 31 - 1, 2 ** 32 - 1) }));
const location = orJunk(fc.oneof(fc.record({ tier: fc.constant('device'), index: fc.nat({ max: GPUS }) }), fc.record({ tier: fc.constantFrom('host', 'disk'), index: fc.nat({ max: TRAYS }) })));
const count = orJunk(fc.nat({ max: 20 }));
/** write() data: whole tokens, or a size that is not. */
const data = orJunk(fc.oneof(fc.nat({ max: 6 }).map((n) => ({ bytes: n * BYTES_PER_TOKEN })), fc.constant({ bytes: 5 })));

/** allocate()'s request: mostly with no more hashes than full blocks (else it is only an argument error). */
const allocation = fc.record({ gpu, numTokens: tokens, blockHashes: fc.option(hashes, { nil: undefined }), reserveTokens: fc.option(count, { nil: undefined }), overlong: fc.nat({ max: 7 }) }).map(({ overlong, ...r }) => {
  const h = r.blockHashes;
  if (overlong === 0 || h === undefined || isJunk(h) || isJunk(r.numTokens)) return r;
  return { ...r, blockHashes: { ...h, len: Math.min(h.len, Math.floor(r.numTokens / BS)) } };
});

/** One call: its name and arguments as picks, resolved against the model when it runs. */
const op = fc.oneof(
  { weight: 8, arbitrary: fc.tuple(fc.constant('allocate'), fc.oneof({ weight: 9, arbitrary: allocation }, { weight: 1, arbitrary: junk })) },
  { weight: 3, arbitrary: fc.tuple(fc.constant('append'), seq, tokens, fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: hashes })) },
  { weight: 4, arbitrary: fc.tuple(fc.constant('free'), seq) },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom('sequenceInfo', 'blockTable'), seq) },
  { weight: 3, arbitrary: fc.tuple(fc.constant('transfer'), seq, location, orJunk(fc.constantFrom('move', 'copy'))) },
  { weight: 2, arbitrary: fc.tuple(fc.constant('demote'), seq, fc.oneof({ weight: 8, arbitrary: fc.constantFrom('host', 'disk') }, { weight: 1, arbitrary: printable })) },
  { weight: 2, arbitrary: fc.tuple(fc.constant('promote'), seq, fc.option(gpu, { nil: undefined })) },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom('pin', 'unpin', 'matchPrefixOnGpu'), gpu, hashes) },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom('matchPrefix', 'matchPrefixPacked'), hashes) },
  { weight: 1, arbitrary: fc.tuple(fc.constant('estimateTransfer'), location, location, orJunk(fc.nat({ max: 1e9 }))) },
  { weight: 1, arbitrary: fc.tuple(fc.constant('write'), seq, count, data) },
  { weight: 1, arbitrary: fc.tuple(fc.constant('read'), seq, count, count) },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom('drainEvents', 'drainEventsPacked'), fc.option(count, { nil: undefined })) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('snapshot', 'stats')) },
);

class Model {
  live: number[] = [];
  freed = new Set<number>();
  maxId = 0;
  /** `${gpu}:${hash}` → pins the model holds. */
  pins = new Map<string, number>();
  lastEventId = 0;
  failures = new Map<string, number>();

  seqOf(p: SeqPick | Junk): unknown {
    if (isJunk(p)) return (JUNK[p.junk] as () => unknown)();
    const freed = [...this.freed];
    if (p.seq === 'live' && this.live.length > 0) return this.live[p.i % this.live.length];
    if (p.seq === 'freed' && freed.length > 0) return freed[p.i % freed.length];
    return this.maxId + 1;
  }
  added(id: number): void {
    assert.ok(id > this.maxId, `seqId ${id} reissued (last ${this.maxId})`);
    this.maxId = id;
    this.live.push(id);
  }
}

function resolve(v: unknown, model: Model): unknown {
  if (isJunk(v)) return (JUNK[v.junk] as () => unknown)();
  if (typeof v === 'object' && v !== null && 'chain' in v) {
    const h = v as HashPick;
    return (CHAINS[h.chain] as BigUint64Array).subarray(h.from, h.from + h.len);
  }
  if (typeof v === 'object' && v !== null && 'seq' in v) return model.seqOf(v as SeqPick);
  if (typeof v === 'object' && v !== null && 'numTokens' in v) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, resolve(x, model)])); // allocate's request
  if (typeof v === 'object' && v !== null && 'bytes' in v) return new Uint8Array((v as { bytes: number }).bytes).fill(7);
  return v;
}

const attempt = (what: string, fn: () => unknown) => attemptCoded(what, fn, { forbidInternal: true });

const TRANSFERS = new Set(['transfer', 'demote', 'promote']);
/** Methods whose first argument is a sequence id. */
const SEQ_METHODS = new Set(['append', 'free', 'sequenceInfo', 'blockTable', 'transfer', 'demote', 'promote', 'write', 'read']);
const isValidHashes = (h: unknown): h is BigUint64Array => h instanceof BigUint64Array && h.buffer.byteLength > 0;
const isGpu = (g: unknown): g is number => typeof g === 'number' && Number.isInteger(g) && g >= 0 && g < GPUS;

function checkStats(kv: NativeKvManager, model: Model, where: string): void {
  const s = kv.stats();
  assert.equal(s.liveSequences, model.live.length, `${where}: liveSequences`);
  for (const p of s.pools) {
    assert.equal(p.usedBlocks + p.cachedBlocks + p.freeBlocks, p.totalBlocks, `${where}: pool ${p.location.tier} ${p.location.index}`);
    const pinned = p.location.tier === 'device' ? [...model.pins.entries()].filter(([k, n]) => n > 0 && k.startsWith(`${p.location.index}:`)).length : 0;
    assert.equal(p.pinnedBlocks, pinned, `${where}: pinned blocks on ${p.location.tier} ${p.location.index}`);
    assert.ok(p.pinnedBlocks <= p.usedBlocks);
  }
}

async function runOps(kv: NativeKvManager, ops: ReadonlyArray<readonly unknown[]>): Promise<Model> {
  const model = new Model();
  for (const [i, [name, ...picks]] of ops.entries()) {
    const args = picks.map((p) => resolve(p, model));
    const where = `op ${i} ${String(name)}`;
    const liveBefore = new Set(model.live);
    const target = args[0];
    const method = (kv as unknown as Record<string, (...a: unknown[]) => unknown>)[name as string] as (...a: unknown[]) => unknown;
    const r = await attempt(where, () => {
      if (!TRANSFERS.has(name as string)) return method.apply(kv, args);
      // Transfers never throw synchronously: failures reject.
      let p: unknown;
      assert.doesNotThrow(() => (p = method.apply(kv, args)), where);
      assert.ok(p instanceof Promise, where);
      return p;
    });
    if (!r.ok) model.failures.set(r.code, (model.failures.get(r.code) ?? 0) + 1);
    const seqTarget = SEQ_METHODS.has(name as string) && typeof target === 'number';
    if (seqTarget && model.freed.has(target)) assert.ok(!r.ok, `${where}: freed seq ${target} answered`);
    if (seqTarget && !Object.is(target, -0) && target > model.maxId) assert.ok(!r.ok, `${where}: unknown seq ${target} answered`);
    const liveTarget = seqTarget && liveBefore.has(target);
    if (name === 'allocate' && r.ok) {
      const a = r.v as { seqId: number; numBlocks: number; cachedBlocks: number; newBlocks: number };
      assert.equal(a.cachedBlocks + a.newBlocks, a.numBlocks, where);
      model.added(a.seqId);
    } else if ((name === 'free' || name === 'sequenceInfo' || name === 'blockTable') && liveTarget) {
      assert.ok(r.ok, `${where}: live seq ${String(target)} refused`);
      if (name === 'free') {
        model.live = model.live.filter((id) => id !== target);
        model.freed.add(target);
      }
    } else if (name === 'transfer' && r.ok && args[2] === 'copy') {
      model.added((r.v as { seqId: number }).seqId);
    } else if (TRANSFERS.has(name as string) && r.ok) {
      assert.equal((r.v as { seqId: number }).seqId, target, `${where}: a move keeps the sequence's id`);
    } else if (name === 'pin' && r.ok && (r.v as number) > 0) {
      for (const h of (args[1] as BigUint64Array).subarray(0, r.v as number)) model.pins.set(`${String(args[0])}:${h}`, (model.pins.get(`${String(args[0])}:${h}`) ?? 0) + 1);
    } else if (name === 'unpin' && isGpu(args[0]) && isValidHashes(args[1])) {
      const want = new Map<string, number>();
      for (const h of args[1]) want.set(`${args[0]}:${h}`, (want.get(`${args[0]}:${h}`) ?? 0) + 1);
      const expected = [...want].every(([k, n]) => (model.pins.get(k) ?? 0) >= n);
      assert.equal(r.ok, expected, `${where}: unpin ${r.ok ? 'succeeded' : 'failed'} against the model's pins`);
      if (r.ok) for (const [k, n] of want) model.pins.set(k, (model.pins.get(k) ?? 0) - n);
    } else if ((name === 'drainEvents' || name === 'drainEventsPacked') && r.ok) {
      const ids = name === 'drainEvents' ? (r.v as Array<{ eventId: number }>).map((e) => e.eventId) : [...(r.v as { eventIds: Float64Array }).eventIds];
      for (const id of ids) {
        assert.ok(id > model.lastEventId, `${where}: event ids go back`);
        model.lastEventId = id;
      }
    } else if (name === 'stats') {
      checkStats(kv, model, where);
    }
  }
  return model;
}

/** Gives back everything the model holds; then no pool may have a used block (anything else leaked). */
async function cleanUp(kv: NativeKvManager, model: Model): Promise<void> {
  for (const [k, n] of model.pins) {
    const [g, h] = k.split(':') as [string, string];
    for (let i = 0; i < n; i++) kv.unpin(Number(g), BigUint64Array.of(BigInt(h)));
    model.pins.set(k, 0);
  }
  checkStats(kv, model, 'after unpinning');
  for (const id of model.live) kv.free(id);
  model.live = [];
  checkStats(kv, model, 'after freeing');
  for (const p of kv.stats().pools) assert.equal(p.usedBlocks, 0, `pool ${p.location.tier} ${p.location.index}: ${p.usedBlocks} blocks leaked`);
  kv.close();
  assert.throws(() => kv.stats(), (e: Error & { code?: string }) => e.code === 'E_CLOSED');
}

test('metadata mode: thousands of random calls, errors with codes only; the model, stats and a leak check agree', async () => {
  const seen = new Map<string, number>();
  await fc.assert(
    fc.asyncProperty(fc.array(op, { minLength: 10, maxLength: 120, size: 'max' }), async (ops) => {
      const kv = new NativeKvManager(config('metadata'));
      try {
        const model = await runOps(kv, ops);
        for (const [c, n] of model.failures) seen.set(c, (seen.get(c) ?? 0) + n);
        await cleanUp(kv, model);
      } finally {
        kv.close();
      }
    }),
    fuzzParams(200, 51),
  );
  // The campaign reaches the interesting refusals, not only argument errors.
  for (const code of ['E_INVALID_ARGUMENT', 'E_UNKNOWN_SEQUENCE', 'E_SEQUENCE_FREED', 'E_OUT_OF_BLOCKS', 'E_NOT_PINNED']) assert.ok((seen.get(code) ?? 0) > 0, `no ${code} was reached`);
});

test('bytes mode: random calls with writes and reads of real block bytes', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(op, { minLength: 10, maxLength: 40, size: 'max' }), async (ops) => {
      const kv = new NativeKvManager(config('bytes'));
      try {
        await cleanUp(kv, await runOps(kv, ops));
      } finally {
        kv.close();
      }
    }),
    fuzzParams(40, 52),
  );
});

test('demote() with a tier String() cannot print rejects with E_INVALID_ARGUMENT', async () => {
  const kv = new NativeKvManager(config('metadata'));
  try {
    const { seqId } = kv.allocate({ gpu: 0, numTokens: 4 });
    for (const tier of [Object.create(null) as unknown, detached()]) {
      await assert.rejects(kv.demote(seqId, tier as 'host'), (e: Error & { code?: string }) => e.code === 'E_INVALID_ARGUMENT');
    }
  } finally {
    kv.close();
  }
});
