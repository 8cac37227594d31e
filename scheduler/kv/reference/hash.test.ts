// The shared hash helpers (scheduler/kv/hash.ts, SPEC §3). Golden values were cross-checked with an independent
// Python implementation of the same formulas; the C++ core pins the same numbers.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chainHash, chainHashes, fmix64, hashTokens } from '../hash.js';
import { expectCode } from './test-fixtures.js';

const ONE_TO_32 = Uint32Array.from({ length: 32 }, (_, i) => i + 1);

test('golden values', () => {
  assert.equal(fmix64(1n), 0xb456bcfc34c2cb2cn);
  assert.equal(chainHash(0n, 1n), 0x89a31d0114170d9dn);
  assert.deepEqual(Array.from(hashTokens(ONE_TO_32, 16)), [0x3ce57ba645a66388n, 0x6e6620d551abe74fn]);
  assert.deepEqual(Array.from(chainHashes([1n, 2n, 3n])), [0x89a31d0114170d9dn, 0x3bab45557c3366d5n, 0x87fd02b3d82057a1n]);
});

test('fmix64 wraps its input to 64 bits and fixes 0', () => {
  assert.equal(fmix64(0n), 0n);
  assert.equal(fmix64((1n << 64n) + 1n), fmix64(1n));
});

test('hashTokens skips the trailing partial block and chains from a parent', () => {
  assert.equal(hashTokens(ONE_TO_32.subarray(0, 31), 16).length, 1);
  assert.equal(hashTokens(new Uint32Array(0), 16).length, 0);
  const whole = hashTokens(ONE_TO_32, 16);
  const tail = hashTokens(ONE_TO_32.subarray(16), 16, whole[0]!);
  assert.equal(tail[0], whole[1]);
  // A chain depends on its whole prefix: the same second block after a different first block hashes differently.
  const other = Uint32Array.from(ONE_TO_32);
  other[0] = 99;
  assert.notEqual(hashTokens(other, 16)[1], whole[1]);
});

test('chainHashes accepts arrays and typed arrays alike', () => {
  assert.deepEqual(chainHashes(BigUint64Array.from([1n, 2n]), 5n), chainHashes([1n, 2n], 5n));
  assert.equal(chainHashes([7n], 3n)[0], chainHash(3n, 7n));
});

test('hash helpers reject bad input', () => {
  expectCode(() => hashTokens([1, 2] as unknown as Uint32Array, 2), 'E_INVALID_ARGUMENT', /tokens must be a Uint32Array/);
  expectCode(() => hashTokens(ONE_TO_32, 0), 'E_INVALID_ARGUMENT', /tokensPerBlock/);
  expectCode(() => hashTokens(ONE_TO_32, 1.5), 'E_INVALID_ARGUMENT', /tokensPerBlock/);
  expectCode(() => hashTokens(ONE_TO_32, 16, -1n), 'E_INVALID_ARGUMENT', /parent/);
  expectCode(() => hashTokens(ONE_TO_32, 16, 1 as unknown as bigint), 'E_INVALID_ARGUMENT', /parent/);
  expectCode(() => chainHashes([1n, 1 as unknown as bigint]), 'E_INVALID_ARGUMENT', /ids\[1\]/);
  expectCode(() => chainHashes([1n << 64n]), 'E_INVALID_ARGUMENT', /ids\[0\]/);
  expectCode(() => chainHashes('12' as unknown as bigint[]), 'E_INVALID_ARGUMENT', /ids must be/);
});
