import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bucketOf, histAdd, histQuantiles, makeLogHistogram, makeLogScale } from './histogram.js';
import { lognormalQuantile, normalQuantile } from './lognormal.js';
import { exactQuantile, lognormalSample } from './testing.js';
import { makeSlab, slabAdd, slabCount, slabQuantiles, slabSlot } from './window.js';

const scale = makeLogScale(1, 1_048_576, 1.05, 0);

test('log scale: 5% buckets over 1..1M tokens, edges land in their own bucket', () => {
  assert.equal(scale.numBuckets, 286);
  const cases: Array<[number, number]> = [[0, 0], [-3, 0], [NaN, 0], [1, 0], [1.05, 1], [1.0501, 2], [1.05 ** 10, 10], [2e6, 285], [Infinity, 285]];
  for (const [value, bucket] of cases) assert.equal(bucketOf(scale, value), bucket, `value ${value}`);
});

test('histogram quantiles: empty is NaN; one value answers within its bucket', () => {
  const h = makeLogHistogram(scale);
  const out = new Float64Array(2);
  histQuantiles(scale, h, [0.5, 0.9], out);
  assert.ok(Number.isNaN(out[0]) && Number.isNaN(out[1]));
  histAdd(scale, h, 300);
  histQuantiles(scale, h, [0.5, 0.9], out);
  for (const v of out) assert.ok(v > 300 / 1.05 && v <= 300 * 1.0001, `got ${v}`);
  assert.ok((out[0] as number) <= (out[1] as number));
});

test('histogram quantiles of a seeded log-normal are within 3% of the exact ones', () => {
  const h = makeLogHistogram(scale);
  const sample = lognormalSample(7, 20_000, 250, 1.1);
  for (const v of sample) histAdd(scale, h, v);
  const qs = [0.1, 0.5, 0.9, 0.99];
  const out = new Float64Array(qs.length);
  histQuantiles(scale, h, qs, out);
  qs.forEach((q, i) => {
    const exact = exactQuantile(sample, q);
    assert.ok(Math.abs((out[i] as number) / exact - 1) < 0.03, `q${q}: ${out[i]} vs ${exact}`);
  });
});

test('decay: after a shift the median follows the new distribution; rescaling keeps weights finite', () => {
  const decayed = makeLogScale(1, 1_048_576, 1.05, 50);
  const h = makeLogHistogram(decayed);
  const flat = makeLogHistogram(scale);
  for (let i = 0; i < 1000; i++) { histAdd(decayed, h, 100); histAdd(scale, flat, 100); }
  for (let i = 0; i < 400; i++) { histAdd(decayed, h, 2000); histAdd(scale, flat, 2000); }
  const out = new Float64Array(1);
  histQuantiles(decayed, h, [0.5], out);
  assert.ok(Math.abs((out[0] as number) / 2000 - 1) < 0.05, `decayed median ${out[0]}`);
  histQuantiles(scale, flat, [0.5], out);
  assert.ok(Math.abs((out[0] as number) / 100 - 1) < 0.05, `undecayed median ${out[0]}`);
  // 2^(40000/50) overflows float64 without the rescale.
  for (let i = 0; i < 40_000; i++) histAdd(decayed, h, 10);
  assert.ok(Number.isFinite(h.totalWeight) && h.totalWeight > 0 && h.nextWeight <= 1e200);
  assert.equal(h.count, 41_400);
  histQuantiles(decayed, h, [0.5], out);
  assert.ok(Math.abs((out[0] as number) / 10 - 1) < 0.05);
});

test('window slab keeps the last N per slot, interpolates order statistics, reuses and grows slots', () => {
  const slab = makeSlab(4, 3000);
  const a = slabSlot(slab);
  const b = slabSlot(slab);
  const out = new Float64Array(3);
  const scratch = new Float64Array(4);
  slabQuantiles(slab, a, [0, 0.5, 1], out, scratch);
  assert.ok(Number.isNaN(out[0]));
  for (const v of [1000, 1, 40, 10, 20]) slabAdd(slab, a, v); // 1000 falls out of the ring
  slabAdd(slab, b, 7);
  slabQuantiles(slab, a, [0, 0.5, 1], out, scratch);
  assert.deepEqual([...out], [1, 15, 40]);
  assert.equal(slabCount(slab, a), 5);
  slabQuantiles(slab, b, [0, 0.5, 1], out, scratch);
  assert.deepEqual([...out], [7, 7, 7]);
  // A reused slot starts empty.
  assert.equal(slabSlot(slab, a), a);
  assert.equal(slabCount(slab, a), 0);
  // Growth past the initial 1024 slots keeps earlier samples.
  for (let i = 2; i < 3000; i++) slabAdd(slab, slabSlot(slab), i);
  slabQuantiles(slab, b, [0.5], out, scratch);
  assert.equal(out[0], 7);
  slabQuantiles(slab, 2999, [0.5], out, scratch);
  assert.equal(out[0], 2999);
  assert.throws(() => slabSlot(slab), /window slab full \(3000 slots\)/);
});

test('log-normal prior quantiles pass through p50 and p90', () => {
  assert.equal(lognormalQuantile(800, 3550, 0.5), 800);
  assert.ok(Math.abs(lognormalQuantile(800, 3550, 0.9) - 3550) < 1e-3);
  // p99 of the reasoning prior ≈ 12K (architecture §3).
  assert.ok(Math.abs(lognormalQuantile(800, 3550, 0.99) / 12000 - 1) < 0.02);
  assert.equal(lognormalQuantile(100, 100, 0.99), 100);
  for (const [p, z] of [[0.5, 0], [0.975, 1.959964], [0.01, -2.326348], [0.999, 3.090232]] as const) {
    assert.ok(Math.abs(normalQuantile(p) - z) < 1e-5, `z(${p})`);
  }
});
