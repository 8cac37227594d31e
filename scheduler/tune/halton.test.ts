// Scrambled Halton points: deterministic per seed, different across seeds, in [0, 1), and still stratified (the
// first b points of a base-b coordinate fall one in each 1/b bin, the property plain Halton has).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { MAX_HALTON_DIMENSIONS, ScrambledHalton } from './halton.js';

const BASES = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29];

test('same seed, same points; another seed, other points; all in [0, 1)', () => {
  const a = new ScrambledHalton(10, 7);
  const b = new ScrambledHalton(10, 7);
  const c = new ScrambledHalton(10, 8);
  for (let i = 0; i < 50; i++) {
    const p = a.point(i);
    assert.deepEqual(p, b.point(i));
    assert.notDeepEqual(p, c.point(i));
    for (const u of p) assert.ok(u >= 0 && u < 1, `coordinate ${u}`);
  }
});

test('the first b points of each coordinate fill the b bins of width 1/b, one each', () => {
  const h = new ScrambledHalton(10, 1);
  BASES.forEach((base, d) => {
    const bins = new Set(Array.from({ length: base }, (_, i) => Math.floor((h.point(i)[d] as number) * base)));
    assert.equal(bins.size, base, `dimension ${d} (base ${base})`);
  });
});

test('scrambling breaks the lockstep of high plain-Halton dimensions', () => {
  // Plain Halton in bases 23 and 29 gives i/23 and i/29 for i < 23: correlation ~1. Scrambled, far from it.
  const h = new ScrambledHalton(10, 1);
  const xs = Array.from({ length: 20 }, (_, i) => h.point(i)[8] as number);
  const ys = Array.from({ length: 20 }, (_, i) => h.point(i)[9] as number);
  const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;
  const mx = mean(xs);
  const my = mean(ys);
  const cov = xs.reduce((s, x, i) => s + (x - mx) * ((ys[i] as number) - my), 0);
  const sx = Math.sqrt(xs.reduce((s, x) => s + (x - mx) ** 2, 0));
  const sy = Math.sqrt(ys.reduce((s, y) => s + (y - my) ** 2, 0));
  assert.ok(Math.abs(cov / (sx * sy)) < 0.6, `correlation ${cov / (sx * sy)}`);
});

test('bad arguments are refused with the limit named', () => {
  assert.throws(() => new ScrambledHalton(0, 1), /dimensions must be an integer in \[1, /);
  assert.throws(() => new ScrambledHalton(MAX_HALTON_DIMENSIONS + 1, 1), /dimensions/);
  assert.throws(() => new ScrambledHalton(2, 1).point(-1), /index must be an integer ≥ 0/);
});
