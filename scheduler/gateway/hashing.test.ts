// Prompt hashing: equal prefixes give equal chained hashes, a change in one block changes it and every later one,
// partial blocks are not hashed, text maps to 4-byte pseudo tokens.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { promptBlockHashes, textToTokenIds } from './hashing.js';

test('chained block hashes: shared prefix equal, divergence propagates, partial block ignored', () => {
  const a = Array.from({ length: 50 }, (_, i) => i);
  const b = [...a];
  b[20] = 999; // block 1 of 16-token blocks
  const ha = promptBlockHashes(a, 16);
  const hb = promptBlockHashes(b, 16);
  assert.equal(ha.length, 3);
  assert.equal(ha[0], hb[0]);
  assert.notEqual(ha[1], hb[1]);
  assert.notEqual(ha[2], hb[2]);
  assert.deepEqual(promptBlockHashes(a.slice(0, 48), 16), ha);
  assert.deepEqual(promptBlockHashes(a.slice(0, 15), 16), []);
  assert.deepEqual(promptBlockHashes([], 16), []);
  // The same tokens in another block position hash differently (the chain, and the block index in the local hash).
  const rep = Array.from({ length: 32 }, (_, i) => i % 16);
  const hr = promptBlockHashes(rep, 16);
  assert.notEqual(hr[0], hr[1]);
});

test('text → pseudo tokens of 4 UTF-8 bytes, little-endian, last one zero-padded', () => {
  const cases: Array<[string, number[]]> = [
    ['', []],
    ['a', [0x61]],
    ['abcd', [0x64636261]],
    ['abcde', [0x64636261, 0x65]],
    ['é', [0xa9c3]],
  ];
  for (const [text, ids] of cases) assert.deepEqual(textToTokenIds(text), ids, text);
});
