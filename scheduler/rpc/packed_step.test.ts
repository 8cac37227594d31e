// Packed Step columns: what goes in comes out (sequences with and without block hashes, outputs with several
// tokens), and a malformed buffer is a RangeError naming the field — never a read past the end.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { packOutputs, packSequences, unpackOutputs, unpackSequences, type PackableSequence } from './packed_step.js';

const SEQS: PackableSequence[] = [
  { seqId: 7, gpu: 3, numTokens: 512, isPrefill: true, blockHashes: [1n, 0xffffffffffffffffn, 42n], reserveTokens: 100, numCachedTokens: 64 },
  { seqId: 0xffffffff, gpu: 0, numTokens: 1, isPrefill: false, blockHashes: [], reserveTokens: 0, numCachedTokens: 0 },
  { seqId: 9, gpu: 1, numTokens: 64, isPrefill: true, blockHashes: ['18446744073709551615'], reserveTokens: 0, numCachedTokens: 5 },
];

test('sequences round-trip; hashes come back as decimal strings (as proto-loader gives fixed64)', () => {
  for (const seqs of [SEQS, SEQS.slice(1, 2), []]) {
    const back = unpackSequences(packSequences(seqs));
    assert.deepEqual(back, seqs.map((s) => ({ ...s, blockHashes: s.blockHashes.map((h) => String(h)) })));
  }
});

test('outputs round-trip', () => {
  const outs = [{ seqId: 1, tokenIds: [5] }, { seqId: 2, tokenIds: [] }, { seqId: 3, tokenIds: [0, 0xffffffff, 9] }];
  assert.deepEqual(unpackOutputs(packOutputs(outs)), outs);
  assert.deepEqual(unpackOutputs(packOutputs([])), []);
});

test('values that are not uint32 are refused naming the field', () => {
  assert.throws(() => packSequences([{ ...(SEQS[1] as PackableSequence), numTokens: -1 }]), /sequences\[0\]\.num_tokens/);
  assert.throws(() => packOutputs([{ seqId: 1, tokenIds: [1.5] }]), /outputs\[0\]\.token_ids/);
});

const words = (...w: number[]): Buffer => Buffer.from(new Uint32Array(w).buffer);

const BAD_SEQS: Array<{ name: string; buf: Uint8Array; match: RegExp }> = [
  { name: 'shorter than the header', buf: Buffer.alloc(5), match: /packed_sequences: 5 bytes is shorter/ },
  { name: 'unknown version', buf: words(2, 0), match: /packed_sequences: version 2/ },
  { name: 'more records than bytes', buf: words(1, 1000), match: /packed_sequences: 1000 records do not fit/ },
  { name: 'hashes past the end', buf: words(1, 1, 1, 0, 1, 0, 0, 0, 5, 0), match: /record 0 names 5 block hashes past the end/ },
  { name: 'trailing bytes', buf: Buffer.concat([packSequences(SEQS.slice(1, 2)), Buffer.alloc(8)]), match: /bytes after the last block hash/ },
];
for (const c of BAD_SEQS) test(`malformed packed_sequences: ${c.name}`, () => assert.throws(() => unpackSequences(c.buf), (e: unknown) => e instanceof RangeError && c.match.test(e.message)));

const BAD_OUTS: Array<{ name: string; buf: Uint8Array; match: RegExp }> = [
  { name: 'more outputs than bytes', buf: words(1, 99), match: /packed_outputs: 99 outputs do not fit/ },
  { name: 'tokens past the end', buf: words(1, 1, 4, 3, 1), match: /output 0 names 3 tokens past the end/ },
  { name: 'output header past the end', buf: words(1, 2, 4, 0), match: /output 1 runs past the end/ },
  { name: 'trailing bytes', buf: words(1, 0, 7), match: /bytes after the last output/ },
];
for (const c of BAD_OUTS) test(`malformed packed_outputs: ${c.name}`, () => assert.throws(() => unpackOutputs(c.buf), (e: unknown) => e instanceof RangeError && c.match.test(e.message)));
