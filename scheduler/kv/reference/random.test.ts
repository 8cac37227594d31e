// Seeded random operation streams against invariants that need no second implementation:
//   - used + cached + free = total per pool, and refCounts equal the references held by live block tables;
//   - a failing call changes nothing observable (stats, snapshot, sequences, LRU order, event ids);
//   - replaying the stored/removed events rebuilds exactly the snapshot;
//   - in 'bytes' mode every sequence reads back the bytes its tokens determine, across every transfer.
// Token content is a function of (token id, position), and hashes come from hashTokens over a 2-letter alphabet,
// so equal hashes mean equal content and prefix sharing happens often.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hashTokens } from '../hash.js';
import type { KvEvent, Location } from '../types.js';
import type { ReferenceKvManager } from './manager.js';
import { BS, internals, makeManager, observe } from './test-fixtures.js';

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TOKEN_BYTES = 16;

function tokenBytes(tokens: readonly number[], from: number, to: number): Uint8Array {
  const out = new Uint8Array((to - from) * TOKEN_BYTES);
  for (let t = from; t < to; t++) {
    for (let i = 0; i < TOKEN_BYTES; i++) out[(t - from) * TOKEN_BYTES + i] = (tokens[t]! * 31 + t * 7 + i) & 0xff;
  }
  return out;
}

const key = (loc: Location) => `${loc.tier}:${loc.index}`;

class Checker {
  readonly tokens = new Map<number, number[]>();
  private readonly replay = new Map<string, Set<bigint>>();
  readonly pins = new Map<number, Map<bigint, number>>();
  failures = 0;
  readonly codes = new Map<string, number>();
  maxSeqId = 0;

  constructor(readonly m: ReferenceKvManager) {}

  /** Writes the content of every block of `seqId` that it holds alone (shared blocks already hold it). */
  fill(seqId: number, from: number): void {
    const tokens = this.tokens.get(seqId)!;
    for (let start = Math.floor(from / BS) * BS; start < tokens.length; start += BS) {
      const end = Math.min(start + BS, tokens.length);
      try {
        this.m.write(seqId, start, tokenBytes(tokens, start, end));
      } catch (err) {
        assert.equal((err as { code: string }).code, 'E_BLOCK_SHARED');
      }
    }
  }

  applyEvents(events: KvEvent[]): void {
    for (const e of events) {
      if (e.kind === 'moved') continue;
      const set = this.replay.get(key(e.location)) ?? new Set<bigint>();
      this.replay.set(key(e.location), set);
      if (e.kind === 'stored') {
        assert.ok(!set.has(e.hash), 'stored twice without removal');
        set.add(e.hash);
      } else {
        assert.ok(set.delete(e.hash), 'removed a hash never stored');
      }
    }
  }

  verify(): void {
    const { m } = this;
    this.applyEvents(m.drainEvents());
    const fromEvents = [...this.replay.entries()].filter(([, s]) => s.size > 0);
    const snap = m.snapshot();
    assert.deepEqual(
      snap.locations.map((l) => [key(l.location), Array.from(l.hashes)]),
      fromEvents
        .map(([k, s]): [string, bigint[]] => [k, [...s].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0))])
        .sort((a, b) => order(a[0]) - order(b[0])),
    );
    const state = internals(m);
    const refs = state.pools.map(() => new Map<number, number>());
    for (const seqId of this.tokens.keys()) {
      const info = m.sequenceInfo(seqId);
      const poolIndex = state.pools.indexOf(state.pool(info.location));
      for (const block of m.blockTable(seqId)) refs[poolIndex]!.set(block, (refs[poolIndex]!.get(block) ?? 0) + 1);
      if (state.config.dataMode === 'bytes') {
        const tokens = this.tokens.get(seqId)!;
        assert.deepEqual(m.read(seqId, 0, tokens.length), tokenBytes(tokens, 0, tokens.length), `bytes of seq ${seqId}`);
      }
    }
    const stats = m.stats();
    state.pools.forEach((pool, i) => {
      const s = stats.pools[i]!;
      assert.equal(s.usedBlocks + s.cachedBlocks + s.freeBlocks, s.totalBlocks);
      const used = new Set(refs[i]!.keys());
      for (const [block, count] of refs[i]!) assert.equal(pool.refCount(block), count);
      for (const [hash] of this.pins.get(i) ?? []) used.add(pool.byHash.get(hash)!);
      assert.equal(s.usedBlocks, used.size, `used blocks of pool ${i}`);
    });
    assert.equal(stats.liveSequences, this.tokens.size);
  }

  /** Runs a call that may fail; a failure must leave everything as it was. */
  attempt<T>(fn: () => T): T | undefined {
    const before = observe(this.m, this.maxSeqId);
    try {
      return fn();
    } catch (err) {
      this.failures++;
      this.codes.set((err as { code: string }).code, (this.codes.get((err as { code: string }).code) ?? 0) + 1);
      assert.ok(typeof (err as { code?: unknown }).code === 'string', String(err));
      assert.deepEqual(observe(this.m, this.maxSeqId), before, `failed call changed state: ${String(err)}`);
      return undefined;
    }
  }
}

function order(k: string): number {
  const [tier, index] = k.split(':') as [string, string];
  return ['device', 'host', 'disk'].indexOf(tier) * 1000 + Number(index);
}

async function run(seed: number, dataMode: 'metadata' | 'bytes', steps: number): Promise<Checker> {
  const rand = mulberry32(seed);
  const int = (n: number) => Math.floor(rand() * n);
  const m = makeManager({ dataMode });
  const c = new Checker(m);
  const live = () => [...c.tokens.keys()];
  const randomTokens = (n: number) => Array.from({ length: n }, () => 1 + int(2));
  for (let step = 0; step < steps; step++) {
    const op = int(10);
    const ids = live();
    const seqId = ids.length > 0 && int(8) > 0 ? ids[int(ids.length)]! : 1 + int(c.maxSeqId + 2);
    if (op <= 2) {
      const tokens = randomTokens(1 + int(20));
      const all = hashTokens(Uint32Array.from(tokens), BS);
      const blockHashes = all.subarray(0, int(all.length + 1));
      const r = c.attempt(() => m.allocate({ gpu: int(8), numTokens: tokens.length, blockHashes, reserveTokens: int(3) * 3 }));
      if (r) {
        c.maxSeqId = r.seqId;
        c.tokens.set(r.seqId, tokens);
        if (dataMode === 'bytes') c.fill(r.seqId, 0);
      }
    } else if (op === 3) {
      const tokens = c.tokens.get(seqId);
      const added = randomTokens(1 + int(9));
      const next = [...(tokens ?? []), ...added];
      let hashes: BigUint64Array | undefined;
      if (tokens && int(4) > 0) {
        const info = internals(m).sequences.get(seqId);
        const oldFull = Math.floor(tokens.length / BS);
        if (info.hashes.length === oldFull) hashes = hashTokens(Uint32Array.from(next), BS).subarray(oldFull);
      }
      const r = c.attempt(() => m.append(seqId, added.length, hashes));
      if (r) {
        c.tokens.set(seqId, next);
        if (dataMode === 'bytes') c.fill(seqId, tokens!.length);
      }
    } else if (op === 4) {
      if (c.attempt(() => m.free(seqId)) !== undefined || !c.tokens.has(seqId)) continue;
      c.tokens.delete(seqId);
    } else if (op <= 7) {
      const tier = (['device', 'host', 'disk'] as const)[int(3)]!;
      const destination: Location = { tier, index: int(tier === 'device' ? 8 : 4) };
      const mode = int(3) === 0 ? 'copy' : 'move';
      const before = observe(m, c.maxSeqId);
      try {
        const plan = await (op === 5 ? m.transfer(seqId, destination, mode) : op === 6 ? m.demote(seqId, int(2) ? 'host' : 'disk') : m.promote(seqId, int(2) ? undefined : int(8)));
        if (plan.mode === 'copy') {
          c.maxSeqId = plan.seqId;
          c.tokens.set(plan.seqId, c.tokens.get(seqId)!.slice());
        }
      } catch (err) {
        c.failures++;
        c.codes.set((err as { code: string }).code, (c.codes.get((err as { code: string }).code) ?? 0) + 1);
        assert.deepEqual(observe(m, c.maxSeqId), before, `failed transfer changed state: ${String(err)}`);
      }
    } else if (op === 8) {
      const tokens = c.tokens.get(ids[int(ids.length)] ?? -1);
      if (!tokens) continue;
      const gpu = int(8);
      const hashes = hashTokens(Uint32Array.from(tokens), BS).subarray(0, 1 + int(3));
      const pool = gpu;
      if (int(2)) {
        const k = m.pin(gpu, hashes);
        const pins = c.pins.get(pool) ?? new Map<bigint, number>();
        c.pins.set(pool, pins);
        for (const h of hashes.subarray(0, k)) pins.set(h, (pins.get(h) ?? 0) + 1);
      } else if (c.attempt(() => m.unpin(gpu, hashes)) !== undefined) {
        const pins = c.pins.get(pool)!;
        for (const h of hashes) {
          const left = pins.get(h)! - 1;
          if (left === 0) pins.delete(h);
          else pins.set(h, left);
        }
      }
    } else {
      const pins = [...c.pins.entries()].filter(([, p]) => p.size > 0);
      if (pins.length === 0) continue;
      const [gpu, p] = pins[int(pins.length)]!;
      const all = [...p.keys()];
      const one = BigUint64Array.of(all[int(all.length)]!);
      m.unpin(gpu, one);
      const left = p.get(one[0]!)! - 1;
      if (left === 0) p.delete(one[0]!);
      else p.set(one[0]!, left);
    }
    if (step % 10 === 0) c.verify();
  }
  c.verify();
  return c;
}

for (const [seed, mode] of [
  [1, 'metadata'],
  [2, 'metadata'],
  [3, 'bytes'],
  [4, 'bytes'],
] as const) {
  test(`random operations keep every invariant (seed ${seed}, ${mode})`, async () => {
    const c = await run(seed, mode, 1500);
    const stats = c.m.stats();
    // The stream must actually exercise the interesting paths.
    for (const code of ['E_OUT_OF_BLOCKS', 'E_INVALID_ARGUMENT', 'E_UNKNOWN_SEQUENCE', 'E_SEQUENCE_FREED', 'E_WRONG_TIER']) {
      assert.ok((c.codes.get(code) ?? 0) > 0, `no ${code} in ${JSON.stringify([...c.codes])}`);
    }
    if (process.env.KV_RANDOM_VERBOSE) console.log(seed, mode, [...c.codes], stats.transfers);
    assert.ok(stats.transfers > 50, `transfers ${stats.transfers}`);
    assert.ok(stats.pools.some((p) => p.evictions > 0), 'some evictions');
    assert.ok(stats.pools.some((p) => p.hits > 0), 'some hits');
  });
}
