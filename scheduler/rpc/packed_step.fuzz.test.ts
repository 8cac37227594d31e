// Property-based fuzzing (fast-check) of the packed Step columns (packed_step.ts): pack → unpack is the identity
// for every sequence and output list; random bytes, and valid buffers truncated, extended or with a word
// overwritten, at any byte offset (protobufjs hands out Buffer slices of a larger message) — decode to a result or
// throw a RangeError whose message starts with the field name, never another exception or a read past the end.
// FUZZ_RUNS scales the runs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';

import { fuzzParams } from '../util/fuzz.js';
import { PackedOutputsWriter, PackedSequencesWriter, packOutputs, packSequences, unpackOutputs, unpackSequences, type PackableSequence, type PackedOutput } from './packed_step.js';

const u32 = fc.oneof(fc.nat({ max: 100 }), fc.nat({ max: 0xffffffff }), fc.constantFrom(0, 0xffffffff));
const hash = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
const sequence: fc.Arbitrary<PackableSequence> = fc.record({
  seqId: u32, gpu: u32, numTokens: u32, isPrefill: fc.boolean(), blockHashes: fc.array(hash.map(String), { maxLength: 5 }), reserveTokens: u32, numCachedTokens: u32,
});
const output: fc.Arbitrary<PackedOutput> = fc.record({ seqId: u32, tokenIds: fc.array(u32, { maxLength: 6 }) });

/** The bytes at `offset` inside a larger buffer (an unaligned view, as a decoded message's bytes field can be). */
function at(bytes: Uint8Array, offset: number): Buffer {
  const big = Buffer.alloc(bytes.length + offset + 3, 0xee);
  big.set(bytes, offset);
  return big.subarray(offset, offset + bytes.length);
}

/** Decodes or throws a RangeError naming `field`; anything else fails the property. */
function decodes<T>(fn: () => T, field: string): T | undefined {
  try {
    return fn();
  } catch (e) {
    assert.ok(e instanceof RangeError, `threw ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
    assert.ok(e.message.startsWith(`${field}: `), `the RangeError does not name ${field}: ${e.message}`);
    return undefined;
  }
}

/** A valid buffer damaged one way: truncated, extended, or one 32-bit word overwritten. */
function damaged(valid: fc.Arbitrary<Buffer>): fc.Arbitrary<Uint8Array> {
  return fc.tuple(valid, fc.constantFrom('truncate', 'extend', 'overwrite'), fc.nat(), u32, fc.uint8Array({ minLength: 1, maxLength: 12 })).map(([b, how, pick, word, extra]) => {
    if (how === 'truncate') return b.subarray(0, pick % (b.length + 1));
    if (how === 'extend') return Buffer.concat([b, extra]);
    const out = Buffer.from(b);
    const words = Math.floor(out.length / 4);
    if (words > 0) out.writeUInt32LE(word, 4 * (pick % words));
    return out;
  });
}

test('pack → unpack is the identity (sequences and outputs), at any byte offset', () => {
  fc.assert(fc.property(fc.array(sequence, { maxLength: 8 }), fc.nat({ max: 7 }), (seqs, offset) => {
    assert.deepEqual(unpackSequences(at(packSequences(seqs), offset)), seqs.map((s) => ({ ...s, blockHashes: [...s.blockHashes] })));
  }), fuzzParams(1000, 31));
  fc.assert(fc.property(fc.array(output, { maxLength: 8 }), fc.nat({ max: 7 }), (outs, offset) => {
    assert.deepEqual(unpackOutputs(at(packOutputs(outs), offset)), outs);
  }), fuzzParams(1000, 32));
});

test('the writers make the same bytes as packSequences / packOutputs', () => {
  fc.assert(fc.property(fc.array(sequence, { maxLength: 8 }), (seqs) => {
    const w = new PackedSequencesWriter(seqs.length);
    for (const s of seqs) w.add(s.seqId, s.gpu, s.numTokens, s.isPrefill, s.reserveTokens, s.numCachedTokens, s.blockHashes);
    assert.deepEqual(w.finish(), packSequences(seqs));
  }), fuzzParams(500, 33));
  fc.assert(fc.property(fc.array(fc.record({ seqId: u32, token: u32 }), { maxLength: 8 }), fc.nat({ max: 3 }), (outs, spare) => {
    const w = new PackedOutputsWriter(outs.length + spare, outs.length + spare);
    for (const o of outs) w.addOne(o.seqId, o.token);
    const got = w.finish();
    if (outs.length === 0) assert.equal(got, undefined);
    else assert.deepEqual(got, packOutputs(outs.map((o) => ({ seqId: o.seqId, tokenIds: [o.token] }))));
  }), fuzzParams(500, 34));
  assert.throws(() => new PackedSequencesWriter(1).finish(), /^RangeError: sequences: 0 of 1 written/);
  assert.throws(() => new PackedOutputsWriter(0, 0).addOne(1, 2), /^RangeError: outputs\[0\]: more outputs/);
});

test('random bytes: a result or a RangeError naming the field', () => {
  const bytes = fc.oneof(
    fc.uint8Array({ maxLength: 120 }),
    // A version-1 header with a random count, then random words: gets past the first check.
    fc.tuple(fc.nat({ max: 0xffffffff }), fc.uint32Array({ maxLength: 30 })).map(([n, words]) => new Uint8Array(Uint32Array.from([1, n, ...words]).buffer)),
  );
  fc.assert(fc.property(bytes, fc.nat({ max: 7 }), (b, offset) => {
    decodes(() => unpackSequences(at(b, offset)), 'packed_sequences');
    decodes(() => unpackOutputs(at(b, offset), 'packed_outputs'), 'packed_outputs');
  }), fuzzParams(3000, 33));
});

test('damaged valid buffers: a result or a RangeError naming the field; results stay within the buffer', () => {
  fc.assert(fc.property(damaged(fc.array(sequence, { maxLength: 6 }).map(packSequences)), fc.nat({ max: 7 }), (b, offset) => {
    const seqs = decodes(() => unpackSequences(at(b, offset)), 'packed_sequences');
    // Every decoded hash came from inside the buffer: their count is bounded by its size.
    if (seqs) assert.ok(seqs.reduce((n, s) => n + s.blockHashes.length, 0) * 8 <= b.length);
  }), fuzzParams(3000, 34));
  fc.assert(fc.property(damaged(fc.array(output, { maxLength: 6 }).map(packOutputs)), fc.nat({ max: 7 }), (b, offset) => {
    const outs = decodes(() => unpackOutputs(at(b, offset)), 'packed_outputs');
    if (outs) assert.ok(outs.reduce((n, o) => n + 2 + o.tokenIds.length, 2) * 4 === b.length);
  }), fuzzParams(3000, 35));
});

test('packing refuses values that are not uint32 with a RangeError naming the field', () => {
  const bad = fc.constantFrom(-1, 1.5, 2 ** 32, Number.NaN, Infinity);
  fc.assert(fc.property(sequence, fc.constantFrom('seqId', 'gpu', 'numTokens', 'reserveTokens', 'numCachedTokens'), bad, (s, key, v) => {
    const field = { seqId: 'seq_id', gpu: 'gpu', numTokens: 'num_tokens', reserveTokens: 'reserve_tokens', numCachedTokens: 'num_cached_tokens' }[key];
    assert.throws(() => packSequences([{ ...s, [key]: v }]), (e: Error) => e instanceof RangeError && e.message.startsWith(`sequences[0].${field}: `));
  }), fuzzParams(300, 36));
});
