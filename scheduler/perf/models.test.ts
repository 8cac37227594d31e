// Catalog figures against published values (docs/reference/anchors-performance.md §6, model cards).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bytesPerToken } from '../kv/sizing.js';
import {
  activeParamCount,
  flopsPerToken,
  getModel,
  kvBytesPerToken,
  kvBytesPerTokenGrowing,
  kvLayout,
  MODEL_NAMES,
  paramBytes,
  paramCount,
  resolveModel,
  slidingKvBytesPerSequence,
  validateModelConfig,
} from './models.js';

function near(actual: number, expected: number, relTol: number, what: string): void {
  const rel = Math.abs(actual - expected) / expected;
  assert.ok(rel <= relTol, `${what}: ${actual} vs published ${expected} (${(rel * 100).toFixed(2)}% > ${relTol * 100}%)`);
}

describe('model catalog vs published values', () => {
  it('lists the CLI names of architecture.md §5', () => {
    assert.deepEqual([...MODEL_NAMES], ['llama-3.1-70b', 'llama-3.1-405b', 'deepseek-r1', 'gpt-oss-120b', 'qwen3-coder-480b',
      'llama-2-70b']);
  });

  it('Llama 2 70B: ≈68.98e9 params, Llama 3.1 70B shape with a 32,000 vocabulary and a 4,096 context', () => {
    const m = getModel('llama-2-70b');
    near(paramCount(m), 68.98e9, 0.005, 'params'); // safetensors total of meta-llama/Llama-2-70b-hf
    assert.equal(kvBytesPerToken(m, 'fp8'), 163_840);
    assert.equal(m.vocabSize, 32_000);
    assert.equal(m.maxContextTokens, 4096);
  });

  it('Llama 3.1 70B: ≈70.6e9 params, 327,680 B/token KV in bf16 (LLAMA-CFG)', () => {
    const m = getModel('llama-3.1-70b');
    near(paramCount(m), 70.6e9, 0.005, 'params');
    assert.equal(kvBytesPerToken(m, 'bf16'), 327_680);
    assert.equal(kvBytesPerToken(m, 'fp8'), 163_840);
    assert.equal(paramBytes(m, 'bf16'), 2 * paramCount(m));
    assert.equal(paramBytes(m, 'fp8'), paramCount(m));
    near(paramBytes(m, 'fp4'), 0.5625 * paramCount(m), 1e-12, 'fp4 bytes');
    // anchors "Physical limits": ~2 × 70.6 GFLOP + 21.5 GFLOP attention at 8K = 162.7 GFLOP/token (embedding
    // lookup excluded here, hence ~1.4% lower).
    near(flopsPerToken(m, 8192), 162.7e9, 0.02, 'FLOPs/token at 8K');
    assert.equal(m.maxContextTokens, 131_072);
  });

  it('Llama 3.1 405B: ≈405.9e9 params, 126 layers, 8 KV heads × 128 → 516,096 B/token bf16 (LLAMA405-CFG)', () => {
    const m = getModel('llama-3.1-405b');
    near(paramCount(m), 405.9e9, 0.005, 'params');
    assert.equal(m.numLayers, 126);
    assert.equal(m.numKvHeads, 8);
    assert.equal(m.headDim, 128);
    assert.equal(kvBytesPerToken(m, 'bf16'), 516_096);
    assert.equal(kvBytesPerToken(m, 'fp8'), 258_048);
  });

  it('DeepSeek-R1/V3: ≈671e9 total, ≈37e9 active, MLA KV 61 × 576 × 2 = 70,272 B/token (DSV3-CFG)', () => {
    const m = getModel('deepseek-r1');
    near(paramCount(m), 671e9, 0.005, 'total params');
    near(activeParamCount(m), 37e9, 0.03, 'active params');
    assert.equal(kvBytesPerToken(m, 'bf16'), 70_272);
    assert.equal(kvBytesPerToken(m, 'fp8'), 35_136);
    assert.equal(m.moe?.numExperts, 256);
    assert.equal(m.moe?.numActiveExperts, 8);
    assert.equal(m.moe?.numSharedExperts, 1);
  });

  it('gpt-oss-120b: ≈116.8e9 total, ≈5.1e9 active, 36 L, 8 KV heads × 64, half the layers windowed (GPTOSS-CFG)', () => {
    const m = getModel('gpt-oss-120b');
    near(paramCount(m), 116.8e9, 0.005, 'total params');
    near(activeParamCount(m), 5.1e9, 0.03, 'active params');
    assert.equal(m.numLayers, 36);
    assert.equal(m.numKvHeads, 8);
    assert.equal(m.headDim, 64);
    assert.equal(kvBytesPerTokenGrowing(m, 'bf16'), 36_864); // anchors: 2*18*8*64*2
    assert.equal(kvBytesPerTokenGrowing(m, 'fp8'), 18_432);
    near(slidingKvBytesPerSequence(m, 'bf16'), 4.7e6, 0.01, 'fixed sliding KV per sequence'); // anchors: ~4.7 MB
    assert.equal(kvBytesPerToken(m, 'bf16'), 2 * 36_864); // every layer counted when not window-aware
  });

  it('Qwen3-Coder-480B-A35B: 62 L, 96/8 heads × 128, 160 experts (8 active), 262,144 context, 480e9/35e9', () => {
    const m = getModel('qwen3-coder-480b');
    assert.equal(m.numLayers, 62);
    assert.equal(m.numHeads, 96);
    assert.equal(m.numKvHeads, 8);
    assert.equal(m.headDim, 128);
    assert.equal(m.moe?.numExperts, 160);
    assert.equal(m.moe?.numActiveExperts, 8);
    assert.equal(m.maxContextTokens, 262_144);
    near(paramCount(m), 480e9, 0.005, 'total params');
    near(activeParamCount(m), 35e9, 0.03, 'active params');
    assert.equal(kvBytesPerToken(m, 'bf16'), 2 * 62 * 8 * 128 * 2);
  });

  it('sliding-window layers stop adding attention FLOPs beyond the window', () => {
    const m = getModel('gpt-oss-120b');
    const full = getModel('llama-3.1-70b');
    const perToken = 2 * m.numHeads * 2 * m.headDim;
    assert.equal(flopsPerToken(m, 20_000) - flopsPerToken(m, 10_000), 18 * perToken * 10_000);
    assert.ok(flopsPerToken(full, 20_000) - flopsPerToken(full, 10_000) === 80 * 4 * 64 * 128 * 10_000);
  });
});

describe('kvLayout', () => {
  it('matches the KV manager sizing for GQA and MLA', () => {
    const l70 = kvLayout(getModel('llama-3.1-70b'), { tensorParallel: 1, kvDtype: 'bf16' });
    assert.equal(bytesPerToken(l70), 327_680);
    const l70tp4 = kvLayout(getModel('llama-3.1-70b'), { tensorParallel: 4, kvDtype: 'fp8' });
    assert.equal(bytesPerToken(l70tp4), 163_840 / 4); // KV heads split over TP
    const ds = kvLayout(getModel('deepseek-r1'), { tensorParallel: 8, kvDtype: 'bf16' });
    assert.equal(ds.mlaLatentDim, 576);
    assert.equal(bytesPerToken(ds), 70_272); // latent replicated on every TP rank
    const oss = kvLayout(getModel('gpt-oss-120b'), { tensorParallel: 1, kvDtype: 'bf16', slidingWindowAware: true });
    assert.equal(bytesPerToken(oss), 36_864);
  });

  it('rejects a bad tensorParallel or dtype, naming it', () => {
    const m = getModel('llama-3.1-70b');
    assert.throws(() => kvLayout(m, { tensorParallel: 0, kvDtype: 'bf16' }), /tensorParallel/);
    assert.throws(() => kvLayout(m, { tensorParallel: 1, kvDtype: 'int3' as 'bf16' }), /kvDtype must be one of bf16, fp8, fp4/);
  });
});

describe('custom models', () => {
  it('every catalog entry passes validation unchanged', () => {
    for (const name of MODEL_NAMES) assert.deepEqual(validateModelConfig(getModel(name)), getModel(name));
  });

  it('resolveModel takes a name or a config; unknown names list the allowed ones', () => {
    assert.equal(resolveModel('deepseek-r1').name, 'deepseek-r1');
    assert.throws(() => resolveModel('llama-4'), /model must be one of llama-3.1-70b, .*qwen3-coder-480b, llama-2-70b, got "llama-4"/);
    const custom = resolveModel({ ...getModel('llama-3.1-70b'), name: 'my-70b', numLayers: 40 });
    assert.equal(kvBytesPerToken(custom, 'bf16'), 327_680 / 2);
  });

  it('errors name the field and the allowed range', () => {
    const base = getModel('llama-3.1-70b');
    assert.throws(() => validateModelConfig({ ...base, numLayers: 0 }), /model\.numLayers must be an integer in \[1,/);
    assert.throws(() => validateModelConfig({ ...base, numKvHeads: 7 }), /numKvHeads \(7\) must divide model\.numHeads/);
    assert.throws(() => validateModelConfig({ ...base, denseFfnSize: 0 }), /denseFfnSize must be at least 1/);
    assert.throws(() => validateModelConfig({ ...base, moe: { numExperts: 8, numActiveExperts: 9, expertFfnSize: 1 } }), /moe\.numActiveExperts/);
    assert.throws(() => validateModelConfig('x', 'models[3]'), /models\[3\] must be an object, got "x"/);
    const ds = getModel('deepseek-r1');
    assert.throws(() => validateModelConfig({ ...ds, headDim: 128 }), /headDim must equal mla\.qkNopeHeadDim \+ mla\.qkRopeHeadDim \(192\)/);
  });
});
