// The hand codec of the Step stream (step_codec.ts) against proto-loader's, property-based (fast-check): a message
// in the common form encodes to bytes proto-loader decodes to the same plan/result, and decodes to exactly what
// proto-loader decodes; anything else is left to the generic path (undefined); on random and damaged bytes the hand
// decoder either declines or agrees with proto-loader. FUZZ_RUNS scales the runs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';

import type { StepPlan } from '../gen/proto/nvlsched/v1/StepPlan.js';
import type { StepResult } from '../gen/proto/nvlsched/v1/StepResult.js';
import { fuzzParams } from '../util/fuzz.js';
import { packOutputs, packSequences } from './packed_step.js';
import { loadWorkerProto } from './proto.js';
import { decodeStepPlan, decodeStepResult, encodeStepPlan, encodeStepResult, stepCodec } from './step_codec.js';

const method = loadWorkerProto().nvlsched.v1.Worker.service.Step;

/** What proto-loader makes of `bytes`, or the error it throws. */
function generic<T>(decode: (b: Buffer) => T, bytes: Buffer): { ok: true; value: T } | { ok: false } {
  try {
    return { ok: true, value: decode(bytes) };
  } catch {
    return { ok: false };
  }
}

const u32 = fc.oneof(fc.nat({ max: 300 }), fc.nat({ max: 0xffffffff }), fc.constantFrom(0, 127, 128, 0xffffffff));
const ids = fc.array(u32, { maxLength: 6 });
const stepId = fc.oneof(fc.nat({ max: 1000 }), fc.maxSafeNat(), fc.maxSafeNat().map(String), fc.constant(0));
const text = fc.oneof(fc.string({ maxLength: 20 }), fc.fullUnicodeString({ maxLength: 8 }), fc.constant(''));
const bytes = fc.oneof(fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)), fc.constant(packSequences([{ seqId: 7, gpu: 1, numTokens: 1, isPrefill: false, blockHashes: [], reserveTokens: 0, numCachedTokens: 0 }])));

const commonPlan: fc.Arbitrary<StepPlan> = fc.record(
  { stepId, instanceId: text, finishedSeqIds: ids, swapOutSeqIds: ids, swapInSeqIds: ids, packedSequences: bytes, holdSessions: fc.constant([]), releaseSessions: fc.constant([]) },
  { requiredKeys: [] },
);
const commonResult: fc.Arbitrary<StepResult> = fc.record(
  {
    stepId,
    durationS: fc.oneof(fc.double(), fc.constantFrom(0, -0, 0.0134, Number.NaN, Infinity)),
    errorCode: text,
    errorMessage: text,
    freedSeqIds: ids,
    packedOutputs: fc.oneof(bytes, fc.constant(packOutputs([{ seqId: 3, tokenIds: [42] }]))),
    outputs: fc.constant([]),
    kvEvents: fc.constant([]),
  },
  { requiredKeys: [] },
);

/** One message kind: its arbitrary in the common form, the hand codec, proto-loader's. */
const kinds = [
  { name: 'plan', arb: commonPlan as fc.Arbitrary<unknown>, encode: encodeStepPlan, decode: decodeStepPlan, serialize: method.requestSerialize, deserialize: method.requestDeserialize, salt: 41 },
  { name: 'result', arb: commonResult as fc.Arbitrary<unknown>, encode: encodeStepResult, decode: decodeStepResult, serialize: method.responseSerialize, deserialize: method.responseDeserialize, salt: 42 },
] as Array<{ name: string; arb: fc.Arbitrary<unknown>; encode(m: unknown): Buffer | undefined; decode(b: Buffer): unknown; serialize(m: unknown): Buffer; deserialize(b: Buffer): unknown; salt: number }>;

for (const k of kinds) {
  test(`a ${k.name} in the common form: hand bytes decode (proto-loader) to the same ${k.name}; proto-loader bytes decode (hand) to the same`, () => {
    fc.assert(fc.property(k.arb, (m) => {
      const hand = k.encode(m);
      assert.ok(hand, 'the common form encodes by hand');
      const want = k.deserialize(k.serialize(m));
      assert.deepStrictEqual(k.deserialize(hand), want);
      assert.deepStrictEqual(k.decode(k.serialize(m)), want);
      assert.deepStrictEqual(k.decode(hand), want);
    }), fuzzParams(1000, k.salt));
  });
}

test('anything else goes the generic way, with the same bytes and objects as proto-loader', () => {
  const plan: StepPlan = {
    stepId: 9, instanceId: 'i0', finishedSeqIds: [1],
    sequences: [{ seqId: 1, gpu: 0, numTokens: 1, isPrefill: false, blockHashes: ['18446744073709551615'], reserveTokens: 0, numCachedTokens: 0 }],
    holdSessions: [{ seqId: 2, sessionKey: 's', toHost: true }], sessionMoves: [{ sessionKey: 's', toHost: false, gpu: 1 }], releaseSessions: ['t'],
  };
  for (const p of [plan, { ...plan, holdSessions: [], sessionMoves: [], releaseSessions: [] }, { stepId: 'x' }, { stepId: -1 }, { finishedSeqIds: [-1] }, { packedSequences: 'AAAA' }]) {
    assert.equal(encodeStepPlan(p as StepPlan), undefined, JSON.stringify(p));
    const bytes = method.requestSerialize(p as StepPlan);
    assert.deepStrictEqual(stepCodec.serializePlan(p as StepPlan), bytes);
    if (p === plan) assert.equal(decodeStepPlan(bytes), undefined);
    assert.deepStrictEqual(stepCodec.deserializePlan(bytes), method.requestDeserialize(bytes));
  }
  const result: StepResult = {
    stepId: 3, durationS: 0.5, outputs: [{ seqId: 1, tokenIds: [], finished: false, errorCode: 'E_DRAINING', errorMessage: 'draining' }],
    kvEvents: [{ eventId: '5', stored: { location: { tier: 'TIER_DEVICE', index: 1 }, hash: '12', parentHash: '0' } }], droppedSessions: ['s'],
  };
  for (const r of [result, { ...result, outputs: [], kvEvents: [] }, { ...result, outputs: [], droppedSessions: [] }, { durationS: '0.5' }]) {
    assert.equal(encodeStepResult(r as StepResult), undefined, JSON.stringify(r));
    const bytes = method.responseSerialize(r as StepResult);
    assert.deepStrictEqual(stepCodec.serializeResult(r as StepResult), bytes);
    if (r === result) assert.equal(decodeStepResult(bytes), undefined);
    assert.deepStrictEqual(stepCodec.deserializeResult(bytes), method.responseDeserialize(bytes));
  }
});

test('random and damaged bytes: the hand decoders decline or agree with proto-loader', () => {
  const valid = fc.oneof(commonPlan.map((p) => method.requestSerialize(p)), commonResult.map((r) => method.responseSerialize(r)));
  const damaged = fc.tuple(valid, fc.nat(), fc.nat({ max: 255 }), fc.constantFrom('truncate', 'flip', 'append')).map(([b, pick, byte, how]) => {
    if (how === 'truncate') return b.subarray(0, pick % (b.length + 1));
    const out = how === 'append' ? Buffer.concat([b, Buffer.from([byte, pick & 0xff, 0x80])]) : Buffer.from(b);
    if (how === 'flip' && out.length > 0) out[pick % out.length] = byte;
    return out;
  });
  const input = fc.oneof(fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)), damaged);
  fc.assert(fc.property(input, (b) => {
    const plan = decodeStepPlan(b);
    if (plan !== undefined) assert.deepStrictEqual(generic(method.requestDeserialize, b), { ok: true, value: plan });
    const result = decodeStepResult(b);
    if (result !== undefined) assert.deepStrictEqual(generic(method.responseDeserialize, b), { ok: true, value: result });
  }), fuzzParams(3000, 43));
});

test('the codec used by the stream: one plan and its answer as the driver and the worker write them', () => {
  assert.equal(stepCodec.path, method.path);
  const plan: StepPlan = { stepId: 12, instanceId: 'rack0/i0', packedSequences: packSequences([{ seqId: 5, gpu: 0, numTokens: 1, isPrefill: false, blockHashes: [], reserveTokens: 0, numCachedTokens: 0 }]), finishedSeqIds: [4], holdSessions: [], swapOutSeqIds: [], swapInSeqIds: [], sessionMoves: [], releaseSessions: [] };
  const bytes = stepCodec.serializePlan(plan);
  assert.deepStrictEqual(bytes, encodeStepPlan(plan));
  assert.deepStrictEqual(stepCodec.deserializePlan(bytes), method.requestDeserialize(method.requestSerialize(plan)));
  const result: StepResult = { stepId: '12', durationS: 0.0134, outputs: [], kvEvents: [], errorCode: '', errorMessage: '', freedSeqIds: [], droppedSessions: [], packedOutputs: packOutputs([{ seqId: 5, tokenIds: [99] }]) };
  const out = stepCodec.serializeResult(result);
  assert.deepStrictEqual(out, encodeStepResult(result));
  assert.deepStrictEqual(stepCodec.deserializeResult(out), method.responseDeserialize(method.responseSerialize(result)));
});
