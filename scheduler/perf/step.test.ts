// Step predictor properties on the roofline OpTimes (figures: anchors-performance.md §1a, B200 HGX dense).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { activeParamCount, getModel, MODEL_NAMES, paramCount, type ModelConfig } from './models.js';
import { makeRooflineOpTimes, type RooflineGpuSpec } from './roofline_optimes.js';
import { makeStepPredictor } from './step.js';
import type { InstanceSpec, StepBreakdown, StepSequence } from './step_types.js';

const B200: RooflineGpuSpec = {
  bf16Tflops: 2250,
  fp8Tflops: 4500,
  fp4Tflops: 9000,
  hbmTBps: 8,
  linkGBps: 900,
  linkLatencyUs: 5,
  kernelLatencyUs: 3,
};
const ops = makeRooflineOpTimes({ b200: B200, ideal: { ...B200, linkLatencyUs: 0, kernelLatencyUs: 0 } });

// The property loops below reach 120K-token contexts: they run on the long-context catalog models (Llama 2 70B has
// 4,096 tokens; throughput.test.ts covers it at its own lengths).
const LONG_CONTEXT_MODELS = MODEL_NAMES.filter((name) => getModel(name).maxContextTokens >= 131_072);

const decode = (kv: number): StepSequence => ({ phase: 'decode', numNewTokens: 1, numCachedTokens: kv });
const prefill = (n: number, cached = 0): StepSequence => ({ phase: 'prefill', numNewTokens: n, numCachedTokens: cached });

/** Instances valid for each model: TP 8 (EP 8 for MoE). */
function instanceFor(m: ModelConfig, extra: Partial<InstanceSpec> = {}): InstanceSpec {
  return { gpu: 'b200', tensorParallel: 8, expertParallel: m.moe ? 8 : 1, gemmDtype: 'fp8', kvDtype: 'fp8', ...extra };
}

function mixedBatch(numDecodes: number, chunk: number): StepSequence[] {
  const batch: StepSequence[] = [];
  for (let i = 0; i < numDecodes; i++) batch.push(decode(100 + ((i * 7919) % 30_000)));
  if (chunk > 0) batch.push(prefill(chunk, 4096));
  return batch;
}

describe('step predictor', () => {
  it('the breakdown sums to the step time, and `out` is reused', () => {
    for (const name of LONG_CONTEXT_MODELS) {
      const m = getModel(name);
      const p = makeStepPredictor(m, instanceFor(m), ops);
      const out: StepBreakdown = { stepS: 0, gemmS: 0, attentionS: 0, commS: 0, overheadS: 0 };
      const r = p.predict(mixedBatch(64, 512), out);
      assert.equal(r, out);
      assert.ok(Math.abs(r.stepS - (r.gemmS + r.attentionS + r.commS + r.overheadS)) < 1e-15, name);
      for (const part of [r.gemmS, r.attentionS, r.commS, r.overheadS]) assert.ok(part > 0, `${name}: ${JSON.stringify(r)}`);
    }
  });

  it('more tokens, longer KV or more sequences is never faster', () => {
    for (const name of LONG_CONTEXT_MODELS) {
      const m = getModel(name);
      const p = makeStepPredictor(m, instanceFor(m), ops);
      let last = 0;
      for (let kv = 0; kv <= 100_000; kv += 997) {
        const t = p.predict([...mixedBatch(8, 0), decode(kv)]).stepS;
        assert.ok(t >= last, `${name}: decode kv ${kv} → ${t} < ${last}`);
        last = t;
      }
      last = 0;
      for (let n = 1; n <= 16_384; n = Math.ceil(n * 1.3)) {
        const t = p.predict([...mixedBatch(16, 0), prefill(n, 1000)]).stepS;
        assert.ok(t >= last, `${name}: chunk ${n} → ${t} < ${last}`);
        last = t;
      }
      last = 0;
      for (let cached = 0; cached <= 120_000; cached += 4999) {
        const t = p.predict([prefill(256, cached)]).stepS;
        assert.ok(t >= last, `${name}: cached ${cached} → ${t} < ${last}`);
        last = t;
      }
      last = 0;
      for (let d = 1; d <= 512; d++) {
        const t = p.predict(mixedBatch(d, 128)).stepS;
        assert.ok(t >= last, `${name}: ${d} decodes → ${t} < ${last}`);
        last = t;
      }
    }
  });

  it('tensor parallelism cuts GEMM time but adds communication', () => {
    const m = getModel('llama-3.1-70b');
    const batch = mixedBatch(64, 1024);
    const at = (tp: number) => makeStepPredictor(m, instanceFor(m, { tensorParallel: tp }), ops).predict(batch);
    const tp1 = at(1);
    assert.equal(tp1.commS, 0);
    let prev = tp1;
    for (const tp of [2, 4, 8]) {
      const r = at(tp);
      assert.ok(r.gemmS < prev.gemmS, `TP${tp} GEMM ${r.gemmS} ≥ ${prev.gemmS}`);
      assert.ok(r.commS > prev.commS, `TP${tp} comm ${r.commS} ≤ ${prev.commS}`);
      prev = r;
    }
  });

  it('MoE decode reads the active experts, not all of them', () => {
    const m = getModel('deepseek-r1');
    const inst: InstanceSpec = { gpu: 'ideal', tensorParallel: 1, expertParallel: 1, gemmDtype: 'fp8', stepOverheadMs: 0 };
    const p = makeStepPredictor(m, inst, ops);
    const oneToken = p.predict([decode(1000)]);
    const bytesRead = oneToken.gemmS * B200.hbmTBps * 1e12; // memory-bound: time × bandwidth ≈ fp8 weight bytes
    const active = activeParamCount(m);
    assert.ok(bytesRead > 0.95 * active && bytesRead < 1.1 * active, `read ${bytesRead} vs active ${active}`);
    assert.ok(bytesRead < paramCount(m) / 10);
    // A large batch touches every expert: weights read approach the total.
    const big = p.predict(mixedBatch(0, 8192).concat(mixedBatch(4096, 0)));
    assert.ok(big.gemmS > 10 * oneToken.gemmS);
  });

  it('MoE experts run as one grouped GEMM per projection: kernel latency paid per layer, not per expert', () => {
    const m = getModel('deepseek-r1');
    const batch = mixedBatch(2048, 0); // every local expert is hit
    const gemmS = (gpu: string) =>
      makeStepPredictor(m, { gpu, tensorParallel: 8, expertParallel: 8, gemmDtype: 'fp8', stepOverheadMs: 0 }, ops).predict(batch).gemmS;
    const latencyCalls = (gemmS('b200') - gemmS('ideal')) / (B200.kernelLatencyUs * 1e-6);
    // MLA attention 5 GEMMs + router, shared expert (2) and 2 grouped expert GEMMs per MoE layer (10; dense layers
    // 7) + LM head = 602; kernels per expert would add 2 × 32 local experts per MoE layer (> 4,000).
    assert.ok(Math.abs(latencyCalls - (3 * 7 + 58 * 10 + 1)) < 1, `${latencyCalls.toFixed(1)} kernel latencies per step`);
  });

  it('expert parallelism spreads expert GEMMs and uses all-to-all', () => {
    const m = getModel('qwen3-coder-480b');
    const batch = mixedBatch(256, 0);
    const tp8 = makeStepPredictor(m, instanceFor(m, { expertParallel: 1 }), ops).predict(batch);
    const ep8 = makeStepPredictor(m, instanceFor(m, { expertParallel: 8 }), ops).predict(batch);
    assert.ok(ep8.gemmS > 0 && tp8.gemmS > 0 && ep8.commS > 0 && tp8.commS > 0);
    assert.notEqual(ep8.commS, tp8.commS);
  });

  it('sliding-window layers cap attention cost', () => {
    const oss = getModel('gpt-oss-120b');
    const noWindow: ModelConfig = { ...oss, name: 'gpt-oss-no-window', slidingWindow: null };
    const allWindow: ModelConfig = { ...oss, name: 'gpt-oss-all-window', slidingWindow: { windowTokens: 128, numSlidingLayers: 36 } };
    const inst = instanceFor(oss);
    const attn = (m: ModelConfig, kv: number) => makeStepPredictor(m, inst, ops).predict(mixedBatch(0, 0).concat(Array(64).fill(decode(kv)))).attentionS;
    assert.ok(attn(oss, 100_000) < attn(noWindow, 100_000));
    const growthOss = attn(oss, 100_000) - attn(oss, 50_000);
    const growthFull = attn(noWindow, 100_000) - attn(noWindow, 50_000);
    assert.ok(Math.abs(growthOss / growthFull - 0.5) < 0.01, `growth ratio ${growthOss / growthFull}`);
    assert.equal(attn(allWindow, 100_000), attn(allWindow, 200)); // beyond the window nothing grows
    const prefillAttn = (m: ModelConfig, cached: number) => makeStepPredictor(m, inst, ops).predict([prefill(512, cached)]).attentionS;
    assert.equal(prefillAttn(allWindow, 100_000), prefillAttn(allWindow, 50_000));
  });

  it('rejects bad instances and batches, naming the field', () => {
    const m = getModel('llama-3.1-70b');
    assert.throws(() => makeStepPredictor(m, instanceFor(m, { tensorParallel: 3 }), ops), /tensorParallel .*64 heads/);
    assert.throws(() => makeStepPredictor(m, instanceFor(m, { expertParallel: 2 }), ops), /expertParallel must be 1 for dense/);
    const ds = getModel('deepseek-r1');
    assert.throws(() => makeStepPredictor(ds, instanceFor(ds, { expertParallel: 16 }), ops), /expertParallel/);
    const p = makeStepPredictor(m, instanceFor(m), ops);
    assert.throws(() => p.predict([]), /at least one sequence/);
    assert.throws(() => p.predict([decode(5), { phase: 'decode', numNewTokens: 2, numCachedTokens: 5 }]), /batch\[1\]\.numNewTokens must be 1 for a decode/);
    assert.throws(() => p.predict([prefill(0)]), /batch\[0\]\.numNewTokens must be an integer ≥ 1/);
    assert.throws(() => p.predict([decode(131_072)]), /context 131072/);
    assert.throws(() => p.predict([{ phase: 'x' as 'decode', numNewTokens: 1, numCachedTokens: 0 }]), /phase must be "prefill" or "decode"/);
    // A throw half-way leaves no trace in the next prediction.
    const clean = p.predict([decode(1000)]).stepS;
    assert.throws(() => p.predict([decode(50_000), decode(60_000), prefill(-1)]));
    assert.equal(p.predict([decode(1000)]).stepS, clean);
    assert.throws(() => makeStepPredictor(m, instanceFor(m, { gpu: 'h100' }), ops).predict([decode(1)]), /gpu must be one of b200, ideal/);
  });
});
