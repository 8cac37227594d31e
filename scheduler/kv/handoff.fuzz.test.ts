// Property-based fuzzing (fast-check) of the KV hand-off between two managers (native/SPEC.md §11): random
// interleavings of allocate, write, free, handoffBegin (any GPU, either domain, any chunking), reserve, export +
// import (sometimes torn), commit, complete and abort on either side, with stale and wrong-side ids. Every call
// returns or throws an Error with a KV_ERROR_CODES code (never E_INTERNAL); a model of live sequences, plans and
// tickets must match stats() and handoffStats() after every call; a committed sequence reads the bytes its source
// held; and after aborting whatever is live and freeing every sequence, no block is used or pinned anywhere.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';

import { fuzzParams } from '../util/fuzz.js';
import { chainHashes, NativeKvManager } from './native.js';
import { attemptCoded } from './testing/coded.js';
import { BYTES_TOPOLOGY, pattern } from './testing/byte_exact.js';
import type { HandoffPlan, HandoffTicket } from './types.js';

const LAYOUT = { numLayers: 3, numKvHeads: 1, headDim: 2, mlaLatentDim: 0, bytesPerElement: 2, tensorParallel: 1 };
const BPT = 24; // 2 x 3 layers x 2 x 2 bytes: layer slices of 8 bytes
const BS = 4;

const make = (dataMode: 'bytes' | 'metadata') => new NativeKvManager({ topology: BYTES_TOPOLOGY, layout: LAYOUT, tokensPerBlock: BS,
  deviceBlocksPerGpu: 10, hostBlocksPerTray: 2, diskBlocksPerTray: 0, dataMode, backend: 'cpu', eventLogCapacity: 256 });

/** Block i's bytes depend only on its hash when it has one, so blocks shared by hash hold the same bytes. */
function content(numTokens: number, hashes: BigUint64Array, salt: number): Uint8Array {
  const out = new Uint8Array(numTokens * BPT);
  for (let b = 0; b * BS < numTokens; b++) {
    const seed = b < hashes.length ? Number((hashes[b] as bigint) % 1_000_003n) : salt * 31 + b;
    const bytes = pattern(BS * BPT, seed);
    out.set(bytes.subarray(0, Math.min(BS, numTokens - b * BS) * BPT), b * BS * BPT);
  }
  return out;
}

const w = <T>(weight: number, arbitrary: fc.Arbitrary<T>) => ({ weight, arbitrary });
// Weighted towards the protocol's forward steps, so that many hand-offs get all the way to commit.
const op = fc.oneof(
  w(3, fc.record({ k: fc.constant('alloc' as const), m: fc.nat(1), gpu: fc.nat(7), tokens: fc.integer({ min: 1, max: 18 }), ids: fc.array(fc.nat(3), { maxLength: 4 }), salt: fc.nat(1000) })),
  w(1, fc.record({ k: fc.constant('free' as const), pick: fc.nat() })),
  w(3, fc.record({ k: fc.constant('begin' as const), pick: fc.nat(), gpu: fc.nat(8), cross: fc.boolean(), bpc: fc.nat(3), lpc: fc.nat(4), copy: fc.boolean() })),
  w(3, fc.record({ k: fc.constant('reserve' as const), pick: fc.nat(), m: fc.nat(1), gpu: fc.option(fc.nat(7), { freq: 4 }), reserve: fc.nat(12), tamper: fc.nat(5).map((n) => n === 0) })),
  w(1, fc.record({ k: fc.constant('ship' as const), pick: fc.nat(), chunk: fc.nat(12), torn: fc.boolean() })),
  w(3, fc.record({ k: fc.constant('shipAll' as const), pick: fc.nat() })),
  w(3, fc.record({ k: fc.constant('commit' as const), pick: fc.nat() })),
  w(1, fc.record({ k: fc.constant('complete' as const), pick: fc.nat() })),
  w(1, fc.record({ k: fc.constant('abort' as const), pick: fc.nat(), ticket: fc.boolean() })),
  w(1, fc.record({ k: fc.constant('stale' as const), id: fc.integer({ min: 0, max: 40 }), m: fc.nat(1), call: fc.nat(5) })),
);
type Op = typeof op extends fc.Arbitrary<infer T> ? T : never;

/** What the campaign reached (checked at the end, so a generator change cannot silently stop exercising it). */
const reached = new Map<string, number>();
const note = (what: string) => reached.set(what, (reached.get(what) ?? 0) + 1);

interface Seq { m: number; id: number; data: Uint8Array | null }
interface Plan { src: number; plan: HandoffPlan; data: Uint8Array | null }
interface Ticket { dst: number; ticket: HandoffTicket; plan: Plan }

async function run(mode: 'bytes' | 'metadata', ops: Op[]): Promise<void> {
  const kvs = [make(mode), make(mode)];
  const seqs: Seq[] = [];
  let plans: Plan[] = [];
  let tickets: Ticket[] = [];
  const pick = <T>(list: T[], n: number): T | undefined => (list.length === 0 ? undefined : list[n % list.length]);
  const call = async (what: string, fn: () => unknown) => {
    const r = await attemptCoded(what, fn, { forbidInternal: true });
    if (!r.ok) note(r.code);
    return r;
  };
  try {
    for (const [i, o] of ops.entries()) {
      const what = `op ${i} ${o.k}`;
      if (o.k === 'alloc') {
        const kv = kvs[o.m] as NativeKvManager;
        const hashes = chainHashes(BigUint64Array.from(o.ids.slice(0, Math.floor(o.tokens / BS)).map(BigInt)));
        const r = await call(what, () => kv.allocate({ gpu: o.gpu, numTokens: o.tokens, blockHashes: hashes }));
        if (!r.ok) continue;
        const seqId = (r.v as { seqId: number }).seqId;
        const data = mode === 'bytes' ? content(o.tokens, hashes, o.salt) : null;
        if (data) {
          // Block by block: a block shared from the cache refuses the write (E_BLOCK_SHARED) and already holds
          // these bytes, since a block's bytes depend only on its hash.
          for (let b = 0; b * BS < o.tokens; b++) {
            await call(`${what} write`, () => kv.write(seqId, b * BS, data.subarray(b * BS * BPT, Math.min(o.tokens, (b + 1) * BS) * BPT)));
          }
          assert.deepEqual(kv.read(seqId, 0, o.tokens), data, `${what}: shared blocks hold their hash's bytes`);
        }
        seqs.push({ m: o.m, id: seqId, data });
      } else if (o.k === 'free') {
        const s = pick(seqs, o.pick);
        if (!s) continue;
        assert.ok((await call(what, () => (kvs[s.m] as NativeKvManager).free(s.id))).ok, `${what}: a live sequence frees`);
        seqs.splice(seqs.indexOf(s), 1);
      } else if (o.k === 'begin') {
        const s = pick(seqs, o.pick);
        if (!s) continue;
        const r = await call(what, () => (kvs[s.m] as NativeKvManager).handoffBegin(s.id, { destinationGpu: o.gpu, crossDomain: o.cross, blocksPerChunk: o.bpc, layersPerChunk: o.lpc, mode: o.copy ? 'copy' : 'move' }));
        if (r.ok) {
          const plan = r.v as HandoffPlan;
          assert.equal(plan.link === 'scaleout', Math.floor(plan.sourceGpu / 4) !== Math.floor(plan.destinationGpu / 4));
          plans.push({ src: s.m, plan, data: s.data });
        } else {
          assert.ok(o.gpu >= 8 || o.lpc === 0 || o.lpc > 3 || r.code === 'E_CROSS_DOMAIN' || r.code === 'E_INVALID_ARGUMENT' || r.code === 'E_WRONG_TIER', `${what}: ${r.code}`);
          if (r.code === 'E_CROSS_DOMAIN') assert.equal(o.cross, false);
        }
      } else if (o.k === 'reserve') {
        const p = pick(plans, o.pick);
        if (!p) continue;
        const plan = o.tamper ? { ...p.plan, numTokens: p.plan.numTokens + BS } : p.plan;
        const r = await call(what, () => (kvs[o.m] as NativeKvManager).handoffReserve(plan, { ...(o.gpu === null ? {} : { gpu: o.gpu }), reserveTokens: o.reserve }));
        if (r.ok) {
          assert.ok(!o.tamper, 'a plan whose numTokens no longer matches numBlocks must be refused');
          tickets.push({ dst: o.m, ticket: r.v as HandoffTicket, plan: p });
        }
      } else if (o.k === 'ship' || o.k === 'shipAll') {
        const t = pick(tickets, o.pick);
        if (!t) continue;
        const chunks = o.k === 'ship' ? [o.chunk] : Array.from({ length: t.plan.plan.numChunks }, (_, c) => c);
        for (const c of chunks) {
          const src = kvs[t.plan.src] as NativeKvManager;
          const r = await call(`${what} export`, () => src.handoffExport(t.plan.plan.handoffId, c));
          if (!r.ok) continue;
          const chunk = r.v as { data: Uint8Array | null; checksum: bigint };
          const torn = o.k === 'ship' && o.torn && chunk.data !== null && chunk.data.length > 0;
          if (torn) chunk.data![0] = (chunk.data![0] as number) ^ 1;
          const im = await call(`${what} import`, () => (kvs[t.dst] as NativeKvManager).handoffImport(t.ticket.ticketId, c, chunk.data, chunk.checksum));
          if (torn) assert.ok(!im.ok && im.code === 'E_INVALID_ARGUMENT', `${what}: a torn chunk must be refused`);
          if (torn) note('torn');
        }
      } else if (o.k === 'commit') {
        const t = pick(tickets, o.pick);
        if (!t) continue;
        const dst = kvs[t.dst] as NativeKvManager;
        const r = await call(what, () => dst.handoffCommit(t.ticket.ticketId));
        if (!r.ok) {
          assert.ok(r.code === 'E_HANDOFF_STATE', `${what}: ${r.code}`);
          continue;
        }
        const seqId = (r.v as { seqId: number }).seqId;
        note(t.ticket.cachedBlocks > 0 ? 'commit with a cached prefix' : 'commit');
        if (t.plan.data) assert.deepEqual(dst.read(seqId, 0, t.plan.plan.numTokens), t.plan.data, `${what}: bytes differ after the hand-off`);
        seqs.push({ m: t.dst, id: seqId, data: t.plan.data });
        tickets = tickets.filter((x) => x !== t);
      } else if (o.k === 'complete') {
        const p = pick(plans, o.pick);
        if (!p) continue;
        const r = await call(what, () => (kvs[p.src] as NativeKvManager).handoffComplete(p.plan.handoffId));
        assert.ok(r.ok, `${what}: a live plan completes`);
        note('complete');
        if ((r.v as { sourceFreed: boolean }).sourceFreed) {
          const gone = seqs.find((s) => s.m === p.src && s.id === p.plan.seqId);
          if (gone) seqs.splice(seqs.indexOf(gone), 1);
        }
        plans = plans.filter((x) => x !== p);
      } else if (o.k === 'abort') {
        if (o.ticket) {
          const t = pick(tickets, o.pick);
          if (!t) continue;
          assert.equal((kvs[t.dst] as NativeKvManager).handoffAbort(t.ticket.ticketId), true);
          tickets = tickets.filter((x) => x !== t);
        } else {
          const p = pick(plans, o.pick);
          if (!p) continue;
          assert.equal((kvs[p.src] as NativeKvManager).handoffAbort(p.plan.handoffId), true);
          plans = plans.filter((x) => x !== p);
        }
      } else {
        // An id that is not live on that manager (never issued, ended, or 0): every call refuses it, abort says false.
        const live = new Set([...plans.filter((p) => p.src === o.m).map((p) => p.plan.handoffId), ...tickets.filter((t) => t.dst === o.m).map((t) => t.ticket.ticketId)]);
        if (live.has(o.id)) continue;
        const kv = kvs[o.m] as NativeKvManager;
        const fns = [() => kv.handoffStatus(o.id), () => kv.handoffExport(o.id, 0), () => kv.handoffImport(o.id, 0, null), () => kv.handoffCommit(o.id), () => kv.handoffComplete(o.id), () => kv.handoffAbort(o.id)];
        const r = await call(what, fns[o.call] as () => unknown);
        if (r.ok) assert.ok(o.call === 5 && r.v === false, `${what}: a dead id answered`);
        else assert.ok(r.code === 'E_UNKNOWN_HANDOFF' || r.code === 'E_HANDOFF_STATE', `${what}: ${r.code}`);
      }
      for (const [m, kv] of kvs.entries()) {
        const s = kv.stats();
        const h = kv.handoffStats();
        for (const p of s.pools) assert.equal(p.usedBlocks + p.cachedBlocks + p.freeBlocks, p.totalBlocks);
        assert.equal(s.liveSequences, seqs.filter((x) => x.m === m).length, `${what}: live sequences of manager ${m}`);
        assert.equal(h.liveSources, plans.filter((x) => x.src === m).length, `${what}: live sources of manager ${m}`);
        assert.equal(h.liveDestinations, tickets.filter((x) => x.dst === m).length, `${what}: live tickets of manager ${m}`);
      }
    }
    for (const t of tickets) (kvs[t.dst] as NativeKvManager).handoffAbort(t.ticket.ticketId);
    for (const p of plans) (kvs[p.src] as NativeKvManager).handoffAbort(p.plan.handoffId);
    for (const s of seqs) (kvs[s.m] as NativeKvManager).free(s.id);
    for (const [m, kv] of kvs.entries()) {
      for (const p of kv.stats().pools) {
        assert.equal(p.usedBlocks, 0, `manager ${m} ${p.location.tier} ${p.location.index}: ${p.usedBlocks} blocks leaked`);
        assert.equal(p.pinnedBlocks, 0, `manager ${m}: pins leaked`);
      }
      const h = kv.handoffStats();
      assert.equal(h.pinnedBlocks + h.reservedBlocks + h.liveSources + h.liveDestinations, 0);
    }
  } finally {
    for (const kv of kvs) kv.close();
  }
}

for (const mode of ['metadata', 'bytes'] as const) {
  test(`hand-off fuzz (${mode}): random interleavings on both sides, coded errors only, model agrees, nothing leaks`, async () => {
    reached.clear();
    await fc.assert(fc.asyncProperty(fc.array(op, { minLength: 10, maxLength: 80, size: 'max' }), (ops) => run(mode, ops)), fuzzParams(mode === 'bytes' ? 60 : 120, mode === 'bytes' ? 71 : 72));
    const want = ['commit', 'complete', 'E_CROSS_DOMAIN', 'E_HANDOFF_STATE', 'E_UNKNOWN_HANDOFF', 'E_OUT_OF_BLOCKS', 'E_INVALID_ARGUMENT'];
    if (mode === 'bytes') want.push('torn');
    for (const w of want) assert.ok((reached.get(w) ?? 0) > 0, `the campaign never reached ${w}: ${JSON.stringify([...reached])}`);
  });
}
