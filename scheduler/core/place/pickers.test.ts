import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Params } from '../config/params.js';
import type { InstanceView, PlacementPicker, ScoreTable } from '../types.js';
import { softmaxSample } from './pickers/dynamo_softmax.js';
import { readSglangParams } from './pickers/sglang_cache_aware.js';
import { PLACEMENT_PICKERS } from './registry.js';
import { context, instance, type ContextOptions } from './testing.js';

function picker(name: string, params: Params = {}): PlacementPicker {
  const factory = PLACEMENT_PICKERS[name];
  assert.ok(factory, name);
  return factory(params, 'p');
}

function table(total: number[]): ScoreTable {
  return { total: Float64Array.from(total), byScorer: new Map() };
}

const ids = (n: number, overrides: Array<Partial<InstanceView>> = []): InstanceView[] =>
  Array.from({ length: n }, (_, i) => instance(`i${i}`, overrides[i] ?? {}));

/** How often each index is picked over `draws` decisions with seeds 1..draws. */
function frequencies(p: PlacementPicker, cands: InstanceView[], total: number[], draws: number): number[] {
  const counts = cands.map(() => 0);
  for (let seed = 1; seed <= draws; seed++) counts[p.pick(context({ seed }), cands, table(total))]! += 1;
  return counts;
}

test('max-score: the highest total wins', () => {
  assert.equal(picker('max-score').pick(context(), ids(4), table([0.1, 2.5, 2.4, 0])), 1);
  assert.equal(picker('max-score').pick(context(), ids(1), table([0])), 0);
});

test('max-score: ties go uniformly at random among the tied only, reproducibly per seed', () => {
  const counts = frequencies(picker('max-score'), ids(4), [1, 3, 3, 3], 3000);
  assert.equal(counts[0], 0);
  for (const c of counts.slice(1)) assert.ok(c > 850 && c < 1150, `${counts}`);
  const again = frequencies(picker('max-score'), ids(4), [1, 3, 3, 3], 3000);
  assert.deepEqual(again, counts);
});

test('round-robin: cycles over the candidates, whatever their scores', () => {
  const p = picker('round-robin');
  const picks = Array.from({ length: 7 }, () => p.pick(context(), ids(3), table([9, 0, 0])));
  assert.deepEqual(picks, [0, 1, 2, 0, 1, 2, 0]);
  assert.equal(p.pick(context(), ids(2), table([0, 0])), 1, 'counter 7 mod 2');
});

test('dynamo-softmax T=0: argmax; ties to the fewest used KV blocks, then random', () => {
  const cands = ids(4, [{ kvBlocksUsed: 50 }, { kvBlocksUsed: 20 }, { kvBlocksUsed: 20 }, { kvBlocksUsed: 1 }]);
  const counts = frequencies(picker('dynamo-softmax'), cands, [1, 1, 1, 0.5], 2000);
  assert.equal(counts[0], 0);
  assert.equal(counts[3], 0);
  assert.ok((counts[1] as number) > 850 && (counts[2] as number) > 850, `${counts}`);
  assert.equal(picker('dynamo-softmax').pick(context(), cands, table([0.2, 0.9, 0.1, 0.8])), 1);
});

test('dynamo-softmax T=0, tieBreak random: ties ignore block counts (the current selector.rs)', () => {
  const cands = ids(3, [{ kvBlocksUsed: 50 }, { kvBlocksUsed: 1 }, { kvBlocksUsed: 9 }]);
  const counts = frequencies(picker('dynamo-softmax', { tieBreak: 'random' }), cands, [1, 1, 0], 2000);
  assert.ok((counts[0] as number) > 850 && (counts[1] as number) > 850 && counts[2] === 0, `${counts}`);
});

test('dynamo-softmax T>0: p ∝ exp(−(t_max − t)/((t_max − t_min)·T)); uniform when all equal', () => {
  const total = [1, 0.5, 0];
  const draws = 20000;
  const counts = frequencies(picker('dynamo-softmax', { temperature: 1 }), ids(3), total, draws);
  const w = total.map((t) => Math.exp(-(1 - t) / 1));
  const sum = w.reduce((a, b) => a + b, 0);
  counts.forEach((c, i) => assert.ok(Math.abs(c / draws - (w[i] as number) / sum) < 0.015, `${counts}`));
  const cold = frequencies(picker('dynamo-softmax', { temperature: 0.05 }), ids(3), total, 2000);
  assert.ok((cold[0] as number) > 1990, `low temperature ≈ argmax: ${cold}`);
  const flat = frequencies(picker('dynamo-softmax', { temperature: 1 }), ids(4), [2, 2, 2, 2], 4000);
  for (const c of flat) assert.ok(c > 900 && c < 1100, `${flat}`);
});

test('softmaxSample: one draw u, first index whose cumulative probability reaches u', () => {
  const weights = new Float64Array(3);
  const at = (u: number): number => softmaxSample({ ...context(), rng: { next: () => u } }, Float64Array.from([1, 1, 0]), 3, 1, weights);
  // weights 1, 1, e^-1 (sum 2.368) → cumulative 0.4223, 0.8446, 1
  assert.deepEqual([at(0), at(0.422), at(0.423), at(0.844), at(0.845), at(0.9999)], [0, 0, 1, 1, 2, 2]);
});

// ------------------------------------------------------------------ SGLang cache-aware

const H = Array.from({ length: 20 }, (_, i) => BigInt(i + 1));
const G = Array.from({ length: 20 }, (_, i) => BigInt(1000 + i));

function sglCtx(hashes: bigint[], extra: ContextOptions = {}): ReturnType<typeof context> {
  return context({ req: { promptTokens: hashes.length * 16, blockHashes: hashes }, ...extra });
}

test('sglang-cache-aware: defaults are the CLI\'s (0.3, 64, 1.5, 120 s)', () => {
  assert.deepEqual(readSglangParams({}, 'p'), { cacheThreshold: 0.3, balanceAbsThreshold: 64, balanceRelThreshold: 1.5, evictionIntervalS: 120, maxTreeBlocks: 1_048_576 });
});

test('sglang-cache-aware: balanced and nothing routed before → least load (first minimum)', () => {
  const p = picker('sglang-cache-aware');
  const cands = ids(3, [{ inFlightRequests: 5 }, { inFlightRequests: 2 }, { inFlightRequests: 2 }]);
  assert.equal(p.pick(sglCtx(H), cands, table([0, 0, 0])), 1);
});

test('sglang-cache-aware: balanced and a match above the threshold → the worker it routed that prefix to', () => {
  const p = picker('sglang-cache-aware');
  const cands = ids(3, [{ inFlightRequests: 0 }, { inFlightRequests: 0 }, { inFlightRequests: 0 }]);
  assert.equal(p.pick(sglCtx(H), cands, table([0, 0, 0])), 0, 'cold → first least-loaded, and remembered');
  const busier = ids(3, [{ inFlightRequests: 10 }, { inFlightRequests: 0 }, { inFlightRequests: 0 }]);
  assert.equal(p.pick(sglCtx(H.slice(0, 10)), busier, table([0, 0, 0])), 0, 'full match (rate 1) beats load');
  // Only 5 of 20 blocks match: rate 0.25 ≤ 0.3 → least load.
  assert.equal(p.pick(sglCtx([...H.slice(0, 5), ...G.slice(0, 15)]), busier, table([0, 0, 0])), 1);
  // 7 of 20: rate 0.35 > 0.3 → the matched worker again.
  assert.equal(p.pick(sglCtx([...H.slice(0, 7), ...G.slice(5, 18)]), busier, table([0, 0, 0])), 0);
});

test('sglang-cache-aware: imbalanced (both thresholds) → least load even against a full match; the tree still learns', () => {
  const p = picker('sglang-cache-aware');
  const even = ids(2);
  assert.equal(p.pick(sglCtx(H), even, table([0, 0])), 0);
  const imbalanced = ids(2, [{ inFlightRequests: 130 }, { inFlightRequests: 60 }]); // 70 > 64 and 130 > 90
  assert.equal(p.pick(sglCtx(G), imbalanced, table([0, 0])), 1, 'G goes to the least loaded and into its tree');
  assert.equal(p.pick(sglCtx(H), imbalanced, table([0, 0])), 1);
  const notRelative = ids(2, [{ inFlightRequests: 100 }, { inFlightRequests: 70 }]); // 30 ≤ 64: balanced
  assert.equal(p.pick(sglCtx(G), notRelative, table([0, 0])), 1, 'balanced: G matches where it was sent (worker 1)');
  const absOnly = ids(2, [{ inFlightRequests: 200 }, { inFlightRequests: 135 }]); // 65 > 64 but 200 < 202.5
  assert.equal(p.pick(sglCtx(G.slice(0, 3)), absOnly, table([0, 0])), 1, 'not imbalanced; short match (0.15) → least load');
});

test('sglang-cache-aware: ties between workers with the same match go by ctx.rng; only candidates count', () => {
  const seen = new Set<number>();
  for (let seed = 1; seed <= 40; seed++) {
    const p = picker('sglang-cache-aware') as PlacementPicker & { tree: { insert(h: bigint[], id: string, s: number): void } };
    p.tree.insert(H, 'i1', 0);
    p.tree.insert(H, 'i2', 0);
    p.tree.insert(H, 'gone', 0);
    seen.add(p.pick(sglCtx(H, { seed }), ids(3), table([0, 0, 0])));
  }
  assert.deepEqual([...seen].sort(), [1, 2]);
});

test('sglang-cache-aware: eviction every interval keeps each worker\'s most recent maxTreeBlocks', () => {
  const p = picker('sglang-cache-aware', { evictionIntervalS: 10, maxTreeBlocks: 20 });
  const cands = ids(2, [{ inFlightRequests: 0 }, { inFlightRequests: 0 }]);
  const busy = ids(2, [{ inFlightRequests: 5 }, { inFlightRequests: 0 }]);
  assert.equal(p.pick(sglCtx(H, { nowS: 0 }), cands, table([0, 0])), 0);
  assert.equal(p.pick(sglCtx(G, { nowS: 5 }), cands, table([0, 0])), 0, 'worker 0 now has 40 blocks');
  // At 12 s the eviction drops H (older); G stays.
  assert.equal(p.pick(sglCtx(G, { nowS: 12 }), busy, table([0, 0])), 0, 'G still matches worker 0');
  assert.equal(p.pick(sglCtx(H, { nowS: 13 }), busy, table([0, 0])), 1, 'H was evicted: least load');
});

const BAD_PARAMS: Array<[string, Params, RegExp]> = [
  ['max-score', { maxNumOfEndpoints: 2 }, /p\.maxNumOfEndpoints: unknown field/],
  ['dynamo-softmax', { temperature: -1 }, /p\.temperature: expected a number ≥ 0, got -1/],
  ['dynamo-softmax', { tieBreak: 'tree' }, /p\.tieBreak: expected one of fewest-blocks, random, got "tree"/],
  ['sglang-cache-aware', { cacheThreshold: 2 }, /p\.cacheThreshold: expected a number ≥ 0 and ≤ 1, got 2/],
  ['sglang-cache-aware', { maxTreeBlocks: 0.5 }, /p\.maxTreeBlocks: expected an integer ≥ 1, got 0\.5/],
  ['round-robin', { start: 1 }, /p\.start: unknown field; allowed: \(none\)/],
];

for (const [name, params, message] of BAD_PARAMS) {
  test(`picker ${name}: bad params name the field (${Object.keys(params).join(', ')})`, () => {
    assert.throws(() => picker(name, params), message);
  });
}
