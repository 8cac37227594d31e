// Property-based fuzzing (fast-check) of step-plan decoding on the worker: checkPlan alone on random StepPlans as
// proto-loader decodes them (null, or one "field: reason" naming a proto field path; an accepted plan keeps every
// rule of validate.ts, checked here independently), and random plans — repeated or packed sequences, KV moves,
// junk — over a real worker's Step stream (in-process, loopback): each plan gets its result or ends the stream with
// INVALID_ARGUMENT naming a field, never another status or a hang; the worker then serves a valid plan, and once
// every stream is closed its KV is empty (no sequence, hold or block leaked). FUZZ_RUNS scales the runs.
import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';

import type { StepPlan, StepPlan__Output } from '../gen/proto/nvlsched/v1/StepPlan.js';
import type { StepResult__Output } from '../gen/proto/nvlsched/v1/StepResult.js';
import type { WorkerClient } from '../gen/proto/nvlsched/v1/Worker.js';
import { packSequences } from '../rpc/packed_step.js';
import { fuzzParams } from '../util/fuzz.js';
import type { WorkerConfig } from './config.js';
import { connect, StepStream, unary } from './testing.js';
import { checkPlan } from './validate.js';
import { startWorker, type RunningWorker } from './worker.js';

const LIMITS = { maxContextTokens: 4096, tokensPerBlock: 16 };
const FIELD = /^(instance_id|sequences(\[\d+\](\.(seq_id|num_tokens|num_cached_tokens|reserve_tokens|block_hashes))?)?|hold_sessions\[\d+\]\.(session_key|seq_id)|swap_(out|in)_seq_ids\[\d+\]|session_moves\[\d+\]\.session_key|release_sessions\[\d+\]|packed_sequences): ./;

const small = fc.oneof(fc.nat({ max: 6 }), fc.constantFrom(0, 1, 15, 16, 17));
const u32 = fc.oneof({ weight: 4, arbitrary: small }, { weight: 1, arbitrary: fc.constantFrom(4095, 4096, 4097, 2 ** 31, 2 ** 32 - 1) }, { weight: 1, arbitrary: fc.nat({ max: 2 ** 32 - 1 }) });
const numTokens = fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 1, max: 40 }) }, { weight: 1, arbitrary: u32 });
const hashText = fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(String), fc.constantFrom('18446744073709551616', '-1', '', '0x10', '1e3', '99999999999999999999999'));
const sessionKey = fc.oneof(fc.constantFrom('s1', 's2', 's3'), fc.constantFrom('', 'k'.repeat(256), 'k'.repeat(257)), fc.string({ unit: 'binary', maxLength: 8 }));
const seqId = fc.nat({ max: 8 });

const u64Text = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(String);
const sequenceWith = (hash: fc.Arbitrary<string>) =>
  fc.record({ seqId, gpu: fc.oneof(fc.nat({ max: 3 }), u32), numTokens, isPrefill: fc.boolean(), blockHashes: fc.array(hash, { maxLength: 4 }), reserveTokens: u32, numCachedTokens: u32 });
/** Fields of a plan; `hash` varies: anything a direct caller could pass, or what a client can encode (decimal u64). */
const planFieldsWith = (hash: fc.Arbitrary<string>) => ({
  stepId: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(String),
  instanceId: fc.constantFrom('i0', 'i1', ''),
  sequences: fc.array(sequenceWith(hash), { maxLength: 4 }),
  finishedSeqIds: fc.array(seqId, { maxLength: 3 }),
  holdSessions: fc.array(fc.record({ seqId, sessionKey, toHost: fc.boolean() }), { maxLength: 2 }),
  swapOutSeqIds: fc.array(seqId, { maxLength: 2 }),
  swapInSeqIds: fc.array(seqId, { maxLength: 2 }),
  sessionMoves: fc.array(fc.record({ sessionKey, toHost: fc.boolean(), gpu: fc.oneof(fc.nat({ max: 3 }), u32) }), { maxLength: 2 }),
  releaseSessions: fc.array(sessionKey, { maxLength: 2 }),
});
/** A plan as proto-loader decodes it: every field present. */
const decodedPlan = fc.record(planFieldsWith(hashText)).map((p): StepPlan__Output => ({ ...p, packedSequences: Buffer.alloc(0) }));

/** The rules of validate.ts, restated: what an accepted plan must satisfy. */
function keepsTheRules(p: StepPlan__Output, before: (seq: number) => number | undefined): void {
  const scheduled = new Set<number>();
  for (const s of p.sequences) {
    assert.ok(!scheduled.has(s.seqId), 'a seq scheduled twice');
    scheduled.add(s.seqId);
    assert.ok(s.numTokens >= 1 && s.numTokens <= LIMITS.maxContextTokens && (s.isPrefill || s.numTokens === 1));
    assert.ok(s.numCachedTokens <= LIMITS.maxContextTokens && s.reserveTokens <= LIMITS.maxContextTokens);
    assert.ok(s.blockHashes.length <= Math.floor(((before(s.seqId) ?? s.numCachedTokens) + s.numTokens) / LIMITS.tokensPerBlock));
    for (const h of s.blockHashes) assert.ok(/^[0-9]+$/.test(h) && BigInt(h) < 2n ** 64n, `hash ${h}`);
  }
  const moved = [...p.holdSessions.map((h) => h.seqId), ...p.swapOutSeqIds, ...p.swapInSeqIds];
  assert.equal(new Set(moved).size, moved.length, 'a seq moved twice');
  for (const id of [...p.holdSessions.map((h) => h.seqId), ...p.swapOutSeqIds]) assert.ok(!scheduled.has(id), 'held or swapped out and scheduled');
  for (const k of [...p.holdSessions.map((h) => h.sessionKey), ...p.sessionMoves.map((m) => m.sessionKey), ...p.releaseSessions]) assert.ok(k.length >= 1 && k.length <= 256, `key of ${k.length}`);
}

describe('checkPlan under fuzzing', () => {
  test('random plans: null (and every rule holds) or one "field: reason"', () => {
    fc.assert(fc.property(decodedPlan, fc.func(fc.option(fc.nat({ max: 200 }), { nil: undefined })), (plan, tokens) => {
      const before = (seq: number): number | undefined => tokens(seq);
      const verdict = checkPlan(plan, LIMITS, (_i, seq) => before(seq));
      if (verdict === null) keepsTheRules(plan, before);
      else assert.match(verdict, FIELD);
    }), fuzzParams(4000, 41));
  });
});

const BLOCK_TOKENS = 16;
const CONFIG: WorkerConfig = { topology: 'gb200-nvl72', tray: 1, model: 'llama-3.1-70b', tensorParallel: 1, kvBlocksPerGpu: 16, blockTokens: BLOCK_TOKENS, seed: 3 };
const SEND_BOUND_MS = 5000;

type PlanFields = { [K in keyof ReturnType<typeof planFieldsWith>]: ReturnType<typeof planFieldsWith>[K] extends fc.Arbitrary<infer T> ? T : never };

/** Makes a random plan well formed (as far as the worker's state allows), so that most plans really run. */
function repaired(p: PlanFields): PlanFields {
  const seen = new Set<number>();
  const sequences = p.sequences.filter((s) => !seen.has(s.seqId) && seen.add(s.seqId)).map((s) => {
    const numTokens = s.isPrefill ? 1 + (s.numTokens % 64) : 1;
    const numCachedTokens = s.numCachedTokens % 64;
    return { ...s, gpu: s.gpu % 4, numTokens, numCachedTokens, reserveTokens: s.reserveTokens % 64, blockHashes: s.blockHashes.slice(0, Math.floor((numCachedTokens + numTokens) / BLOCK_TOKENS)) };
  });
  const moved = new Set<number>();
  const free = (id: number): boolean => !moved.has(id) && !seen.has(id) && moved.add(id) !== undefined;
  const key = (k: string): string => (k.length >= 1 && k.length <= 256 ? k : 's1');
  return {
    ...p,
    sequences,
    holdSessions: p.holdSessions.filter((h) => free(h.seqId)).map((h) => ({ ...h, sessionKey: key(h.sessionKey) })),
    swapOutSeqIds: p.swapOutSeqIds.filter(free),
    swapInSeqIds: p.swapInSeqIds.filter((id) => !moved.has(id) && moved.add(id) !== undefined),
    sessionMoves: p.sessionMoves.map((m) => ({ ...m, sessionKey: key(m.sessionKey), gpu: m.gpu % 4 })),
    releaseSessions: p.releaseSessions.map(key),
  };
}

/** A plan as a client sends it: mostly repaired, sometimes raw; repeated sequences, or packed; sometimes junk bytes. */
const wirePlan: fc.Arbitrary<StepPlan> = fc.tuple(fc.record(planFieldsWith(u64Text)), fc.boolean(), fc.uint8Array({ maxLength: 40 }), fc.nat({ max: 9 })).map(([raw, pack, junk, roll]) => {
  if (roll === 0) return { ...raw, sequences: [], packedSequences: Buffer.from(junk) };
  const p = roll <= 2 ? raw : repaired(raw);
  return pack ? { ...p, sequences: [], packedSequences: packSequences(p.sequences) } : p;
});

/** Sends one plan: its result, or the stream's end status (the stream is then done). */
async function sendOne(s: StepStream, plan: StepPlan): Promise<{ result: StepResult__Output } | { ended: grpc.ServiceError | null }> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_r, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${SEND_BOUND_MS} ms to ${JSON.stringify(plan).slice(0, 300)}`)), SEND_BOUND_MS)));
  try {
    return await Promise.race([s.send(plan).then((result) => ({ result })), s.closed.then((ended) => ({ ended })), bound]);
  } finally {
    clearTimeout(timer);
  }
}

describe('worker Step stream under fuzzing', () => {
  let w: RunningWorker;
  let client: WorkerClient;
  before(async () => {
    w = await startWorker(CONFIG, { port: 0 });
    client = connect(w.port);
  });
  after(async () => {
    client?.close();
    await w?.server.close();
  });

  test('random plans: a result or INVALID_ARGUMENT naming a field; the worker serves after; nothing leaks', async () => {
    let results = 0;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(wirePlan, { minLength: 1, maxLength: 6 }), async (plans) => {
        const s = new StepStream(client);
        for (const plan of plans) {
          const r = await sendOne(s, plan);
          if ('result' in r) {
            results++;
            assert.equal(r.result.stepId, String(BigInt(String(plan.stepId ?? '0'))));
            continue;
          }
          refused++;
          assert.equal(r.ended?.code, grpc.status.INVALID_ARGUMENT, `ended with ${r.ended?.code}: ${r.ended?.details}`);
          const m = /^StepPlan \d+: (.*)$/s.exec(r.ended?.details ?? '');
          assert.ok(m, `details: ${r.ended?.details}`);
          assert.match(m[1] as string, FIELD);
          return;
        }
        assert.equal(await s.end(), null);
      }),
      fuzzParams(150, 42),
    );
    assert.ok(results > 0 && refused > 0, `the campaign exercised both ends: ${results} results, ${refused} refusals`);
    const s = new StepStream(client);
    const ok = await s.send({ stepId: '1', instanceId: 'i0', sequences: [{ seqId: 1, gpu: 0, numTokens: 20, isPrefill: true, blockHashes: ['7'] }] });
    assert.equal(ok.errorCode, '');
    assert.equal(ok.outputs[0]?.tokenIds.length, 1);
    assert.equal((await unary(client.Health.bind(client), {})).status, 'STATUS_SERVING');
    assert.equal(await s.end(), null);
    // Every stream is closed: the worker freed what each one drove (sequences, holds, blocks).
    assert.equal(w.backend.liveSequences, 0, 'live sequences leaked');
    assert.equal(w.backend.heldSessions, 0, 'held sessions leaked');
    for (const p of w.backend.kvUsage()) assert.equal(p.usedBlocks, 0, `${p.tier} ${p.gpu ?? ''}: ${p.usedBlocks} blocks leaked`);
  });
});
