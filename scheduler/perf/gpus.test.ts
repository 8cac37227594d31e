import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GPUS, GPU_NAMES, peakFlopsPerS } from './gpus.js';

test('catalog holds the anchor figures', () => {
  assert.deepEqual(GPU_NAMES, ['h100', 'h200', 'b200', 'gb200', 'gb300']);
  assert.equal(GPUS.h100.flopsPerS.bf16, 989.5e12);
  assert.equal(GPUS.h200.flopsPerS.fp8, 1979e12);
  assert.equal(GPUS.h100.hbmBytesPerS, 3.35e12);
  assert.equal(GPUS.h200.hbmBytes, 141e9);
  assert.equal(GPUS.b200.flopsPerS.fp4, 9000e12);
  assert.equal(GPUS.gb200.flopsPerS.bf16, 2500e12);
  assert.equal(GPUS.gb300.flopsPerS.fp4, 15000e12);
  assert.equal(GPUS.gb300.smCount, 160);
  assert.equal(GPUS.gb300.tdpW, 1400);
  assert.equal(GPUS.gb200.nvlinkBytesPerS, 900e9);
  assert.equal(GPUS.gb300.scaleOutBytesPerS, 2 * GPUS.gb200.scaleOutBytesPerS);
  assert.ok(GPUS.gb300.expPerS / GPUS.gb200.expPerS > 2, 'B300 doubles attention exp throughput');
  for (const name of GPU_NAMES) {
    const g = GPUS[name];
    assert.equal(g.name, name);
    assert.equal(g.generation, name.startsWith('h') ? 'hopper' : 'blackwell');
    assert.equal(g.flopsPerS.fp8, 2 * g.flopsPerS.bf16, `${name}: fp8 = 2x bf16`);
  }
});

test('Hopper has no fp4 tensor path: asking for it is an error, not a guess', () => {
  assert.throws(() => peakFlopsPerS(GPUS.h100, 'fp4'), /h100 has no fp4/);
  assert.equal(peakFlopsPerS(GPUS.gb300, 'fp4'), 15000e12);
});
