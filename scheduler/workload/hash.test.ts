import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../util/random.js';
import { type ChainNode, HashSpace, SharedPrefix, simBlockHashes } from './chain.js';
import { chainHash, fmix64, namespaceKey, toBigInt } from './hash.js';
import { freshSessionCopy } from './sessions.js';
import type { SessionScript } from './types.js';

// Reference implementation of SPEC §3 in BigInt, independent of the uint32-halves code under test.
const MASK = (1n << 64n) - 1n;
function refFmix(x: bigint): bigint {
  x ^= x >> 33n;
  x = (x * 0xff51afd7ed558ccdn) & MASK;
  x ^= x >> 33n;
  x = (x * 0xc4ceb9fe1a85ec53n) & MASK;
  return x ^ (x >> 33n);
}
function refChain(parent: bigint, local: bigint): bigint {
  return refFmix((parent * 0x9e3779b97f4a7c15n + local + 0x632be59bd9b4e019n) & MASK);
}

test('fmix64 and chainHash match the native golden values (native/core/tests/hash_test.cc)', () => {
  const cases: Array<[bigint, bigint]> = [
    [fmix64(1n), 0xb456bcfc34c2cb2cn],
    [fmix64(0n), 0n],
    [chainHash(0n, 1n), 0x89a31d0114170d9dn],
    [chainHash(0n, 0n), 0x155105a0563a073cn],
    [chainHash(0x89a31d0114170d9dn, 2n), 0x3bab45557c3366d5n],
    [chainHash(0x3bab45557c3366d5n, 3n), 0x87fd02b3d82057a1n],
  ];
  for (const [got, want] of cases) assert.equal(got, want);
});

test('the uint32-halves arithmetic equals the BigInt reference on random and extreme inputs', () => {
  const rng = new Rng(7);
  const inputs = [0n, 1n, MASK, 1n << 63n, 0xffffffffn, 1n << 32n];
  for (let i = 0; i < 500; i++) inputs.push(rng.u64());
  for (const a of inputs) {
    assert.equal(fmix64(a), refFmix(a));
    const b = inputs[(Number(a & 0xffn) + 3) % inputs.length] as bigint;
    assert.equal(chainHash(a, b), refChain(a, b));
  }
});

test('namespace keys: equal names agree, different names differ', () => {
  assert.deepEqual(namespaceKey('claude-code:trace_a'), namespaceKey('claude-code:trace_a'));
  const keys = new Set(['', 'a', 'b', 'ab', 'ba', 'claude-code:trace_a', 'claude-code:trace_b'].map((n) => toBigInt(namespaceKey(n))));
  assert.equal(keys.size, 7);
});

function walk(space: HashSpace, ids: number[], parent?: ChainNode): ChainNode[] {
  const out: ChainNode[] = [];
  space.walk(parent, ids, 0, ids.length, out);
  return out;
}

test('a hash space gives equal prefixes equal nodes and hashes each distinct block once', () => {
  const space = new HashSpace('t');
  const a = walk(space, [1, 2, 3]);
  const b = walk(space, [1, 2, 4]);
  const c = walk(space, [9, 2, 3]);
  assert.equal(a[0], b[0]);
  assert.equal(a[1], b[1]);
  assert.notEqual(toBigInt(a[2] as ChainNode), toBigInt(b[2] as ChainNode));
  // Same id at the same position after a different prefix: a different hash (chained).
  assert.notEqual(toBigInt(a[1] as ChainNode), toBigInt(c[1] as ChainNode));
  assert.equal(space.nodes, 7); // 1,2,3 + 4 + 9,2',3'
  // Another namespace never meets this one.
  assert.notEqual(toBigInt(walk(new HashSpace('u'), [1])[0] as ChainNode), toBigInt(a[0] as ChainNode));
  // The node hash is chainHash(parent, chainHash(namespaceKey, id)) from 0.
  const key = toBigInt(namespaceKey('t'));
  assert.equal(toBigInt(a[0] as ChainNode), chainHash(0n, chainHash(key, 1n)));
  assert.equal(toBigInt(a[1] as ChainNode), chainHash(toBigInt(a[0] as ChainNode), chainHash(key, 2n)));
});

test('a walk may continue a shared prefix: same suffix ids after the same prefix agree only within a space', () => {
  const prefix = new SharedPrefix('global').first(2);
  const s1 = new HashSpace('s1');
  const x = walk(s1, [5], prefix[1]);
  const y = walk(s1, [5], prefix[1]);
  const z = walk(new HashSpace('s2'), [5], prefix[1]);
  assert.equal(x[0], y[0]);
  assert.notEqual(toBigInt(x[0] as ChainNode), toBigInt(z[0] as ChainNode));
  assert.equal(toBigInt(x[0] as ChainNode), chainHash(toBigInt(prefix[1] as ChainNode), chainHash(toBigInt(namespaceKey('s1')), 5n)));
  assert.equal(new SharedPrefix('global').first(3)[1]?.lo, prefix[1]?.lo);
});

test('simBlockHashes maps trace blocks onto simulation blocks of any size', () => {
  const nodes = walk(new HashSpace('m'), [1, 2, 3]); // three 512-token trace blocks
  const big = nodes.map((n) => toBigInt(n));
  const cases: Array<{ name: string; prompt: number; block: number; want: (h: bigint[]) => void }> = [
    { name: 'B = T: the node hashes', prompt: 1536, block: 512, want: (h) => assert.deepEqual(h, big) },
    { name: 'only full blocks', prompt: 1100, block: 512, want: (h) => assert.deepEqual(h, big.slice(0, 2)) },
    { name: 'B > T merges (1024 ends on trace block 1)', prompt: 1536, block: 1024, want: (h) => assert.deepEqual(h, [big[1]]) },
    {
      name: 'B < T splits, the last sub-block is the node itself',
      prompt: 1100,
      block: 64,
      want: (h) => {
        assert.equal(h.length, 17);
        assert.equal(h[7], big[0]);
        assert.equal(h[15], big[1]);
        assert.equal(h[0], chainHash(big[0] as bigint, 63n));
        assert.equal(new Set(h).size, 17);
      },
    },
    { name: 'limited by the ids the trace has', prompt: 5000, block: 512, want: (h) => assert.equal(h.length, 3) },
    {
      name: 'sizes that do not divide still chain by offset',
      prompt: 1536,
      block: 384,
      want: (h) => assert.deepEqual(h, [chainHash(big[0] as bigint, 383n), chainHash(big[1] as bigint, 255n), chainHash(big[2] as bigint, 127n), big[2]]),
    },
    { name: 'empty prompt', prompt: 10, block: 64, want: (h) => assert.deepEqual(h, []) },
  ];
  for (const c of cases) {
    const got = simBlockHashes(nodes, c.prompt, 512, c.block);
    c.want(got);
    assert.deepEqual(simBlockHashes(nodes, c.prompt, 512, c.block), got, c.name); // cached sub-hashes are stable
  }
});

test('freshSessionCopy remaps all hashes but the kept ones, preserving equality, and renames ids', () => {
  const turn = (hashes: bigint[], k: number) => ({
    thinkTimeS: k,
    request: {
      req: { requestId: `s#${k}`, tenant: 't', arrivalS: 0, promptTokens: 100, maxOutputTokens: 10, blockHashes: hashes, hasTools: false, hasToolResults: false, sessionId: 's', turnIndex: k },
      outputTokens: 5,
      traceShape: 'terminal' as const,
    },
  });
  const script: SessionScript = { sessionId: 's', tenant: 't', turns: [turn([1n, 2n, 3n], 0), turn([1n, 2n, 3n, 4n], 1)], parent: { sessionId: 'p', afterTurn: 2 } };
  const copy = freshSessionCopy(script, 3, new Set([1n]));
  const [t0, t1] = copy.turns.map((t) => t.request.req.blockHashes);
  assert.equal(copy.sessionId, 's~3');
  assert.deepEqual(copy.parent, { sessionId: 'p~3', afterTurn: 2 });
  assert.equal(copy.turns[1]?.request.req.requestId, 's~3#1');
  assert.equal(copy.turns[1]?.request.req.sessionId, 's~3');
  assert.equal(t0?.[0], 1n);
  assert.notEqual(t0?.[1], 2n);
  assert.deepEqual(t1?.slice(0, 3), t0);
  assert.notDeepEqual(freshSessionCopy(script, 4).turns[0]?.request.req.blockHashes, t0);
  assert.deepEqual(script.turns[0]?.request.req.blockHashes, [1n, 2n, 3n]); // the original is untouched
  assert.throws(() => freshSessionCopy(script, 0), RangeError);
});
