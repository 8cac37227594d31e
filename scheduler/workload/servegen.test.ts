// ServeGen sampling on tiny fixtures (testdata/servegen), the dict-literal parser, and the random variates.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Rng } from '../util/random.js';
import { readTrace } from './read_trace.js';
import { parseNumberDict } from './pylit.js';
import { gammaGap, lognormal, weibull } from './sample.js';
import { windowArrivals } from './servegen.js';
import type { OpenLoopWorkload } from './types.js';

const DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'testdata', 'servegen');

function read(options: object) {
  const { workload, problems } = readTrace(DIR, { format: 'servegen', ...options });
  return { w: workload as OpenLoopWorkload, problems };
}

const summary = (w: OpenLoopWorkload) => w.requests.map((r) => [r.req.tenant, r.req.arrivalS, r.req.promptTokens, r.outputTokens]);

test('servegen: rate × 600 arrivals per window inside [offset, offset + duration), lengths from the window\'s PMFs', () => {
  const { w, problems } = read({ durationS: 1200 });
  assert.equal(w.durationS, 1200);
  const one = w.requests.filter((r) => r.req.tenant === 'servegen-client-1');
  const two = w.requests.filter((r) => r.req.tenant === 'servegen-client-2');
  assert.equal(one.filter((r) => r.req.arrivalS < 600).length, 300); // 0.5/s
  assert.equal(one.filter((r) => r.req.arrivalS >= 600).length, 120); // 0.2/s
  assert.equal(two.length, 120);
  for (let i = 1; i < w.requests.length; i++) assert.ok((w.requests[i]?.req.arrivalS as number) >= (w.requests[i - 1]?.req.arrivalS as number));
  assert.ok(w.requests.every((r) => r.req.arrivalS >= 0 && r.req.arrivalS < 1200));
  assert.deepEqual(new Set(one.map((r) => r.req.promptTokens)), new Set([100, 200]));
  assert.deepEqual(new Set(one.map((r) => r.outputTokens)), new Set([1000, 3000]));
  // Client 2's first window is corrupt: the nearest window with data (21600) answers.
  assert.ok(two.every((r) => r.req.promptTokens === 7000 && r.outputTokens === 5));
  assert.ok(w.requests.every((r) => r.traceShape === 'reasoning' && r.req.maxOutputTokens === 32768));
  assert.ok(one.every((r) => r.req.blockHashes.length === Math.floor(r.req.promptTokens / 64)));
  assert.deepEqual(w.requests.map((r) => r.req.requestId).slice(0, 2), ['servegen-0', 'servegen-1']);
  const lines = problems.map((p) => [path.basename(p.file), p.line, p.message.split(':')[0]]);
  assert.deepEqual(lines, [
    ['chunk-1-trace.csv', 3, 'rate'],
    ['chunk-1-trace.csv', 5, 'window_start_s'],
    ['chunk-1-trace.csv', 6, 'pattern'],
    ['chunk-2-dataset.json', 1, '"0".input_tokens'],
  ]);
  assert.match(problems[3]?.message ?? '', /value "__import__\('os'\)" is not a number/);
});

test('servegen: deterministic by seed; windows sample the same whatever the offset; rateScale scales counts', () => {
  const base = read({ durationS: 1200, seed: 5 }).w;
  assert.deepEqual(summary(read({ durationS: 1200, seed: 5 }).w), summary(base));
  assert.notDeepEqual(summary(read({ durationS: 1200, seed: 6 }).w), summary(base));
  const late = read({ durationS: 600, offsetS: 600, seed: 5 }).w;
  const shifted = base.requests.filter((r) => r.req.arrivalS >= 600).map((r) => [r.req.tenant, r.req.arrivalS - 600, r.req.promptTokens, r.outputTokens]);
  assert.deepEqual(summary(late), shifted);
  assert.equal(read({ durationS: 1200, rateScale: 2 }).w.requests.length, 2 * base.requests.length);
  assert.equal(read({ durationS: 1200, maxRequests: 7 }).w.requests.length, 7);
  const fine = read({ durationS: 1200, seed: 5, blockTokens: 16 }).w; // block size moves no arrival or length
  assert.deepEqual(summary(fine), summary(base));
  assert.ok(fine.requests.every((r) => r.req.blockHashes.length === Math.floor(r.req.promptTokens / 16)));
  assert.equal(read({ offsetS: 5000 }).w.requests.length, 0); // past the fixture's data
  assert.throws(() => read({ strict: true }), /chunk-1-trace\.csv:3: rate: expected a number ≥ 0, got "abc"/);
});

test('servegen: window arrivals are rescaled gaps: count from the rate, inside the window, bursty for small shapes', () => {
  const rng = new Rng(1);
  const bursty = windowArrivals(rng, { startS: 600, ratePerS: 1, pattern: 'Gamma', shape: 0.05, scale: 1 }, 1);
  const smooth = windowArrivals(rng, { startS: 600, ratePerS: 1, pattern: 'Weibull', shape: 5, scale: 1 }, 1);
  for (const arrivals of [bursty, smooth]) {
    assert.equal(arrivals.length, 600);
    assert.ok(arrivals.every((t, i) => t > 600 && t < 1200 && (i === 0 || t >= (arrivals[i - 1] as number))));
  }
  const cv = (a: number[]) => {
    const gaps = a.slice(1).map((t, i) => t - (a[i] as number));
    const mean = gaps.reduce((s, g) => s + g, 0) / gaps.length;
    return Math.sqrt(gaps.reduce((s, g) => s + (g - mean) ** 2, 0) / gaps.length) / mean;
  };
  assert.ok(cv(bursty) > 2, `bursty cv ${cv(bursty)}`);
  assert.ok(cv(smooth) < 0.5, `smooth cv ${cv(smooth)}`);
  // A fractional expected count is rounded stochastically: 0.3 × 600 × 0.01 = 1.8 → 1 or 2, 1.8 on average.
  const counts = Array.from({ length: 400 }, () => windowArrivals(rng, { startS: 0, ratePerS: 0.3, pattern: 'Gamma', shape: 1, scale: 1 }, 0.01).length);
  assert.ok(counts.every((c) => c === 1 || c === 2));
  const mean = counts.reduce((s, c) => s + c, 0) / counts.length;
  assert.ok(Math.abs(mean - 1.8) < 0.06, `mean ${mean}`);
});

test('python dict literals: numbers only, never code', () => {
  const good: Array<[string, number[], number[]]> = [
    ['{}', [], []],
    ['{45: 0.25, 46: 0.75}', [45, 46], [0.25, 0.75]],
    [' {0.0: 1e-3, 0.5: .5, } ', [0, 0.5], [0.001, 0.5]],
    ['{1: 2.5E+2}', [1], [250]],
  ];
  for (const [text, keys, values] of good) assert.deepEqual(parseNumberDict(text), { keys, values }, text);
  const bad: Array<[string, RegExp]> = [
    ['[1, 2]', /expected a dict literal/],
    ['{1: 2, 3}', /entry 2 "3" has no ':'/],
    ["{1: __import__('os')}", /entry 1: value .* is not a number/],
    ['{nan: 1}', /entry 1: key "nan" is not a number/],
    ['{1: inf}', /is not a number/],
  ];
  for (const [text, want] of bad) assert.throws(() => parseNumberDict(text), want, text);
});

test('random variates have the moments they promise', () => {
  const rng = new Rng(11);
  const n = 40000;
  const moments = (draw: () => number) => {
    let sum = 0;
    let sq = 0;
    for (let i = 0; i < n; i++) {
      const x = draw();
      sum += x;
      sq += x * x;
    }
    const mean = sum / n;
    return { mean, cv: Math.sqrt(sq / n - mean * mean) / mean };
  };
  const cases: Array<{ name: string; draw: () => number; mean: number; cv: number }> = [
    { name: 'poisson gaps', draw: () => gammaGap(rng, 4, 1), mean: 0.25, cv: 1 },
    { name: 'gamma bursts cv 3', draw: () => gammaGap(rng, 2, 3), mean: 0.5, cv: 3 },
    { name: 'gamma smooth cv 0.5', draw: () => gammaGap(rng, 10, 0.5), mean: 0.1, cv: 0.5 },
    { name: 'weibull k=1 is exponential', draw: () => weibull(rng, 1, 2), mean: 2, cv: 1 },
    { name: 'lognormal', draw: () => lognormal(rng, 100, 0.5), mean: 100 * Math.exp(0.125), cv: Math.sqrt(Math.exp(0.25) - 1) },
  ];
  for (const c of cases) {
    const m = moments(c.draw);
    assert.ok(Math.abs(m.mean / c.mean - 1) < 0.05, `${c.name}: mean ${m.mean} vs ${c.mean}`);
    assert.ok(Math.abs(m.cv / c.cv - 1) < 0.1, `${c.name}: cv ${m.cv} vs ${c.cv}`);
  }
});
