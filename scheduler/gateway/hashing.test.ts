// Prompt hashing: equal prefixes give equal chained hashes, a change in one block changes it and every later one,
// partial blocks are not hashed; text prompts through the tokenizer share the hashes of their shared prefix.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { promptBlockHashes } from './hashing.js';
import { defaultTokenizer } from './tokenizer.js';

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

test('text prompts: a shared text prefix gives shared leading block hashes, the divergence changes the rest', () => {
  const tk = defaultTokenizer();
  const system = 'You are a careful assistant that answers in one sentence. '.repeat(20);
  const qa = 'What is the capital of France? '.repeat(6);
  const qb = 'Which planet is the largest one? '.repeat(6);
  const a = promptBlockHashes(tk.encode(system + qa), 16);
  const b = promptBlockHashes(tk.encode(system + qb), 16);
  // The last system token may merge with the question's first; blocks before it are shared.
  const sharedBlocks = Math.floor((tk.encode(system).length - 1) / 16);
  assert.ok(sharedBlocks >= 10, `${sharedBlocks} shared blocks`);
  assert.deepEqual(a.slice(0, sharedBlocks), b.slice(0, sharedBlocks));
  assert.deepEqual(promptBlockHashes(tk.encode(system + qa), 16), a);
  // The block after the one holding the divergence (and every later one, chained) differs.
  assert.ok(a.length > sharedBlocks + 1 && b.length > sharedBlocks + 1);
  assert.notEqual(a[sharedBlocks + 1], b[sharedBlocks + 1]);
});
