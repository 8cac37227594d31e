// 'bytes' data mode (SPEC §7): token bytes survive every tier move byte for byte; shared blocks refuse writes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chain, expectCode, expectNoChange, makeManager } from './test-fixtures.js';

const TOKEN_BYTES = 16;

function pattern(numTokens: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: numTokens * TOKEN_BYTES }, (_, i) => (i * 7 + seed * 13) & 0xff);
}

test('write then read, whole and partial ranges; read returns a copy', () => {
  const m = makeManager({ dataMode: 'bytes' });
  const { seqId } = m.allocate({ gpu: 0, numTokens: 10 });
  const data = pattern(10, 1);
  m.write(seqId, 0, data);
  assert.deepEqual(m.read(seqId, 0, 10), data);
  assert.deepEqual(m.read(seqId, 3, 4), data.subarray(3 * TOKEN_BYTES, 7 * TOKEN_BYTES));
  const patch = pattern(2, 9);
  m.write(seqId, 5, patch);
  const expected = Uint8Array.from(data);
  expected.set(patch, 5 * TOKEN_BYTES);
  assert.deepEqual(m.read(seqId, 0, 10), expected);
  const out = m.read(seqId, 0, 1);
  out.fill(0);
  assert.deepEqual(m.read(seqId, 0, 1), expected.subarray(0, TOKEN_BYTES));
  assert.deepEqual(m.read(seqId, 10, 0), new Uint8Array(0));
  m.write(seqId, 10, new Uint8Array(0));
});

test('bytes survive demote → disk → promote → transfer → copy exactly', async () => {
  const m = makeManager({ dataMode: 'bytes' });
  const h = chain(2);
  const { seqId } = m.allocate({ gpu: 2, numTokens: 11, blockHashes: h, reserveTokens: 5 });
  const data = pattern(11, 2);
  m.write(seqId, 0, data);
  // Other sequences churn the pools in between so that block numbers differ at every hop.
  m.allocate({ gpu: 3, numTokens: 5 });
  await m.demote(seqId);
  assert.deepEqual(m.read(seqId, 0, 11), data);
  await m.demote(seqId, 'disk');
  assert.deepEqual(m.read(seqId, 0, 11), data);
  await m.promote(seqId, 3);
  assert.deepEqual(Array.from(m.blockTable(seqId)), [2, 3, 4]);
  assert.deepEqual(m.read(seqId, 0, 11), data);
  await m.transfer(seqId, { tier: 'device', index: 6 });
  assert.deepEqual(m.read(seqId, 0, 11), data);
  const copy = await m.transfer(seqId, { tier: 'device', index: 7 }, 'copy');
  assert.deepEqual(m.read(copy.seqId, 0, 11), data);
  assert.deepEqual(m.read(seqId, 0, 11), data);
  // The copy is independent: its unshared last block takes writes without touching the original.
  m.write(copy.seqId, 8, pattern(3, 5));
  assert.deepEqual(m.read(seqId, 0, 11), data);
});

test('E_BLOCK_SHARED: every touched block must be held by the writer alone', () => {
  const m = makeManager({ dataMode: 'bytes' });
  const h = chain(2);
  const a = m.allocate({ gpu: 2, numTokens: 8, blockHashes: h });
  m.write(a.seqId, 0, pattern(8, 3)); // a holds blocks 0 and 1 alone
  const b = m.allocate({ gpu: 2, numTokens: 12, blockHashes: h }); // shares blocks 0, 1; block 2 its own
  m.write(b.seqId, 8, pattern(4, 4));
  expectNoChange(m, 2, () => m.write(b.seqId, 4, pattern(1, 5)), 'E_BLOCK_SHARED');
  expectCode(() => m.write(b.seqId, 7, pattern(2, 6)), 'E_BLOCK_SHARED');
  expectCode(() => m.write(a.seqId, 0, pattern(1, 6)), 'E_BLOCK_SHARED');
  assert.deepEqual(m.read(b.seqId, 0, 12), Uint8Array.from([...pattern(8, 3), ...pattern(4, 4)]));
});

test('ranges, sizes and types are checked', () => {
  const m = makeManager({ dataMode: 'bytes' });
  const { seqId } = m.allocate({ gpu: 0, numTokens: 10 });
  expectCode(() => m.write(seqId, 9, pattern(2, 1)), 'E_INVALID_ARGUMENT', /outside/);
  expectCode(() => m.write(seqId, 0, new Uint8Array(15)), 'E_INVALID_ARGUMENT', /multiple of bytesPerToken/);
  expectCode(() => m.write(seqId, 0, [1, 2] as unknown as Uint8Array), 'E_INVALID_ARGUMENT', /data must be a Uint8Array/);
  expectCode(() => m.write(seqId, -1, pattern(1, 1)), 'E_INVALID_ARGUMENT', /tokenOffset/);
  expectCode(() => m.read(seqId, 8, 3), 'E_INVALID_ARGUMENT', /outside/);
  expectCode(() => m.read(seqId, 0, -1), 'E_INVALID_ARGUMENT', /numTokens/);
  expectCode(() => m.read(seqId, 0.5, 1), 'E_INVALID_ARGUMENT', /tokenOffset/);
  expectCode(() => m.read(99, 0, 1), 'E_UNKNOWN_SEQUENCE');
  m.write(seqId, 0, Buffer.alloc(TOKEN_BYTES, 1)); // a Buffer is a Uint8Array
});

test("metadata mode has no bytes: write/read say so", () => {
  const m = makeManager();
  const { seqId } = m.allocate({ gpu: 0, numTokens: 4 });
  expectCode(() => m.write(seqId, 0, pattern(1, 1)), 'E_INVALID_ARGUMENT', /dataMode is metadata/);
  expectCode(() => m.read(seqId, 0, 1), 'E_INVALID_ARGUMENT', /dataMode is metadata/);
  expectCode(() => m.read(99, 0, 1), 'E_INVALID_ARGUMENT', /dataMode is metadata/);
  // Converted arguments come first: a junk id is unknown before dataMode is looked at.
  expectCode(() => m.read(1.5, 0, 1), 'E_UNKNOWN_SEQUENCE');
  expectCode(() => m.write(seqId, 0, 'x' as unknown as Uint8Array), 'E_INVALID_ARGUMENT', /data must be a Uint8Array/);
});

test('write: dataMode, then the sequence, then size, range and sharing', () => {
  const m = makeManager({ dataMode: 'bytes' });
  const { seqId } = m.allocate({ gpu: 0, numTokens: 4 });
  m.free(seqId);
  expectCode(() => m.write(seqId, 0, new Uint8Array(15)), 'E_SEQUENCE_FREED');
  expectCode(() => m.write(seqId, 2 ** 31, new Uint8Array(16)), 'E_SEQUENCE_FREED');
  expectCode(() => m.write(seqId, 2 ** 32, new Uint8Array(16)), 'E_INVALID_ARGUMENT', /tokenOffset/);
  expectCode(() => m.read(seqId, 0, 2 ** 31), 'E_SEQUENCE_FREED');
});
