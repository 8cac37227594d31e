// The un-calibrated roofline OpTimes: closed forms against brute force and the anchors' hand calculations.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getModel } from './models.js';
import { attendedPairs, makeRooflineOpTimes, type RooflineGpuSpec } from './roofline_optimes.js';
import { makeStepPredictor } from './step.js';

const B200_IDEAL: RooflineGpuSpec = {
  bf16Tflops: 2250,
  fp8Tflops: 4500,
  fp4Tflops: 9000,
  hbmTBps: 8,
  linkGBps: 900,
  linkLatencyUs: 0,
  kernelLatencyUs: 0,
};
const H100: RooflineGpuSpec = { ...B200_IDEAL, bf16Tflops: 989.5, fp8Tflops: 1979, fp4Tflops: 0, hbmTBps: 3.35 };

describe('roofline OpTimes', () => {
  it('attendedPairs matches a brute-force sum, windowed or not', () => {
    for (const [isl, cached, w] of [[1, 0, 0], [7, 3, 0], [100, 50, 128], [300, 0, 128], [5, 1000, 128], [64, 100, 128]]) {
      let sum = 0;
      for (let i = 1; i <= isl!; i++) sum += w! > 0 ? Math.min(cached! + i, w!) : cached! + i;
      assert.equal(attendedPairs(isl!, cached!, w!), sum, `isl ${isl} cached ${cached} window ${w}`);
    }
  });

  it('GEMMs are compute-bound when large, memory-bound when thin', () => {
    const ops = makeRooflineOpTimes({ b200: B200_IDEAL });
    const big = ops.gemmMs('b200', 'bfloat16', 8192, 8192, 8192);
    assert.ok(Math.abs(big - ((2 * 8192 ** 3) / 2250e12) * 1e3) < 1e-9);
    const thin = ops.gemmMs('b200', 'fp8', 1, 8192, 8192);
    assert.ok(Math.abs(thin - ((8192 + 8192 * 8192) * 1 + 8192 * 2) / 8e12 * 1e3) < 1e-9);
    assert.ok(ops.gemmMs('b200', 'nvfp4', 1, 8192, 8192) < thin);
  });

  it('reproduces the anchors\' Llama 3.1 70B FP8 decode floors on one B200 (8.99 ms at B=1, 19.56 ms at B=64)', () => {
    const ops = makeRooflineOpTimes({ b200: B200_IDEAL });
    const inst = { gpu: 'b200', tensorParallel: 1, expertParallel: 1, gemmDtype: 'fp8', kvDtype: 'fp8', stepOverheadMs: 0 } as const;
    const p = makeStepPredictor(getModel('llama-3.1-70b'), inst, ops);
    const step = (b: number) => p.predict(Array.from({ length: b }, () => ({ phase: 'decode' as const, numNewTokens: 1, numCachedTokens: 8192 }))).stepS;
    // The anchors stream all 70.6e9 weights; the predictor skips the embedding table (1.05e9), hence ~1.5% lower.
    assert.ok(Math.abs(step(1) / 8.99e-3 - 1) < 0.03, `B=1: ${step(1)}`);
    assert.ok(Math.abs(step(64) / 19.56e-3 - 1) < 0.03, `B=64: ${step(64)}`);
  });

  it('collectives: zero on one GPU, all-reduce moves twice the ring traffic of all-gather', () => {
    const ops = makeRooflineOpTimes({ b200: B200_IDEAL });
    assert.equal(ops.collectiveMs('b200', 'all_reduce', 1, 1e6), 0);
    const ar = ops.collectiveMs('b200', 'all_reduce', 4, 1e9);
    assert.ok(Math.abs(ar - (1.5e9 / 900e9) * 1e3) < 1e-9);
    assert.ok(Math.abs(ops.collectiveMs('b200', 'all_gather', 4, 1e9) * 2 - ar) < 1e-9);
  });

  it('refuses unknown GPUs, FP4 on Hopper and bad figures, naming them', () => {
    const ops = makeRooflineOpTimes({ h100: H100 });
    assert.throws(() => ops.gemmMs('gb300', 'fp8', 1, 1, 1), /gpu must be one of h100, got "gb300"/);
    assert.throws(() => ops.gemmMs('h100', 'nvfp4', 1, 1, 1), /nvfp4 is not supported on h100/);
    assert.throws(() => makeRooflineOpTimes({ x: { ...H100, hbmTBps: 0 } }), /gpus\.x\.hbmTBps must be a finite number > 0/);
  });
});
