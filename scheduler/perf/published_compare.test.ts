// Predicted vs published serving throughput (published.ts): every point is predicted or is a known unreachable
// floor, ratios are finite and positive, and within a 0.2x-5x sanity band except the known outliers below. The
// exception lists name why; when the model changes so that a listed point behaves, the test says so and the entry
// must go (the lists only ever record today's state, never widen the band).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeFittedOpTimes } from './fitted_optimes.js';
import { getModel } from './models.js';
import { PUBLISHED_POINTS } from './published.js';
import { comparePublished, formatPublished, medianRatio } from './published_compare.js';

const BAND: readonly [number, number] = [0.2, 5];

/**
 * Per-user floors no candidate reaches even with one request. Dense 70B: the fitted kernels put a step at ≥ 10.5 ms
 * (~320 GEMMs at a 15-25 µs floor each, 160 NCCL all-reduces at ~18-28 µs, per layer attention kernels), while
 * InferenceMAX measured 108 and 139 tok/s/user (7-9 ms steps). DeepSeek-R1 at 125 tok/s/user relies on MTP
 * speculative decoding (anchors §2c/§2d: TRT-LLM reaches 111 tok/s/user without it on 8xB200), not modelled.
 */
const KNOWN_UNREACHABLE: Readonly<Record<string, string>> = {
  'ix-b200-l33-70b-fp8-108': 'dense small-batch step floor (kernel + NCCL latencies)',
  'ix-b200-l33-70b-fp8-139': 'dense small-batch step floor (kernel + NCCL latencies)',
  'ix-b200-l33-70b-nvfp4-108': 'dense small-batch step floor (kernel + NCCL latencies)',
  'ix-b200-l33-70b-nvfp4-139': 'dense small-batch step floor (kernel + NCCL latencies)',
  'ix-b200-ds-r1-125': 'needs MTP speculative decoding',
  'ix-gb200-ds-r1-125': 'needs MTP speculative decoding (and disaggregation, wide EP)',
};

/**
 * Predicted but outside the band. DeepSeek-R1 8k/1k at 50 tok/s/user on GB200 NVL72: published with disaggregated
 * prefill, wide EP, attention DP and MTP (none modelled), and the figure is NVIDIA's "~10,000" read off a chart.
 */
const KNOWN_OUTSIDE_BAND: Readonly<Record<string, string>> = {
  'ix-gb200-ds-r1-8k1k-50': 'disaggregated + wide EP + MTP run; ~ figure read off a chart',
};

const rows = comparePublished(makeFittedOpTimes());

test('published points: unique ids, catalog models, positive figures, at least one candidate each', () => {
  assert.equal(new Set(PUBLISHED_POINTS.map((p) => p.id)).size, PUBLISHED_POINTS.length);
  for (const p of PUBLISHED_POINTS) {
    getModel(p.model);
    assert.ok(p.publishedTokensPerSPerGpu > 0 && p.candidates.length > 0, p.id);
    for (const c of p.candidates) assert.equal(c.gpu, p.gpu, p.id);
  }
  for (const id of [...Object.keys(KNOWN_UNREACHABLE), ...Object.keys(KNOWN_OUTSIDE_BAND)]) {
    assert.ok(PUBLISHED_POINTS.some((p) => p.id === id), `exception list names unknown point ${id}`);
  }
});

test('every published point has a finite positive ratio, or is a known unreachable floor', () => {
  console.log(formatPublished(rows).split('\n').map((l) => `# ${l}`).join('\n'));
  for (const r of rows) {
    if (r.id in KNOWN_UNREACHABLE) {
      assert.equal(r.ratio, null, `${r.id} is now predicted (${r.ratio}): remove it from KNOWN_UNREACHABLE`);
      assert.ok(r.minPerUserTokensPerS !== null && r.maxPerUserTokensPerS < r.minPerUserTokensPerS);
      continue;
    }
    assert.ok(r.ratio !== null && Number.isFinite(r.ratio) && r.ratio > 0, `${r.id}: ratio ${r.ratio}`);
    assert.ok(r.perUserTokensPerS !== null && r.perUserTokensPerS >= (r.minPerUserTokensPerS ?? 0), r.id);
  }
  assert.ok(Number.isFinite(medianRatio(rows)));
});

test(`ratios within the ${BAND[0]}x-${BAND[1]}x sanity band, except the known outliers`, () => {
  for (const r of rows) {
    if (r.ratio === null) continue;
    const inside = r.ratio >= BAND[0] && r.ratio <= BAND[1];
    if (r.id in KNOWN_OUTSIDE_BAND) assert.ok(!inside, `${r.id} is now inside the band (${r.ratio.toFixed(2)}): remove it from KNOWN_OUTSIDE_BAND`);
    else assert.ok(inside, `${r.id}: ratio ${r.ratio.toFixed(2)} outside ${BAND.join('-')}`);
  }
});

test('InferenceMAX input + output figures are compared as output tokens (osl / (isl + osl))', () => {
  const r = rows.find((x) => x.id === 'ix-b200-gpt-oss-120b-72');
  assert.ok(r);
  assert.equal(r.publishedCounts, 'input+output');
  assert.equal(r.publishedOutputTokensPerSPerGpu, r.publishedTokensPerSPerGpu / 2);
  const mlperf = rows.find((x) => x.id === 'mlp51-b200-l2-70b-offline');
  assert.equal(mlperf?.publishedOutputTokensPerSPerGpu, mlperf?.publishedTokensPerSPerGpu);
});
