// Serving throughput estimator on the fitted op times: monotone in concurrency, per-user floors honoured and
// costing throughput, memory bound computed by hand, prefill amortised as documented, errors naming the field.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeFittedOpTimes } from './fitted_optimes.js';
import { getModel, paramCount } from './models.js';
import { makeStepPredictor } from './step.js';
import type { InstanceSpec, StepSequence } from './step_types.js';
import {
  HBM_UTILIZATION,
  MAX_CONCURRENCY,
  kvBytesPerRequestPerGpu,
  makeThroughputEstimator,
  memoryMaxConcurrency,
  type ServingScenario,
} from './throughput.js';

const opTimes = makeFittedOpTimes();

interface Case { model: string; instance: InstanceSpec; scenario: ServingScenario }
const CASES: Case[] = [
  { model: 'llama-2-70b', instance: { gpu: 'b200', tensorParallel: 1, expertParallel: 1, gemmDtype: 'nvfp4', kvDtype: 'fp8' },
    scenario: { islTokens: 400, oslTokens: 294 } },
  { model: 'llama-3.1-70b', instance: { gpu: 'h100', tensorParallel: 4, expertParallel: 1, gemmDtype: 'fp8', kvDtype: 'fp8' },
    scenario: { islTokens: 1024, oslTokens: 1024 } },
  { model: 'deepseek-r1', instance: { gpu: 'gb300', tensorParallel: 8, expertParallel: 8, gemmDtype: 'nvfp4', kvDtype: 'fp8' },
    scenario: { islTokens: 800, oslTokens: 3886 } },
  { model: 'gpt-oss-120b', instance: { gpu: 'b200', tensorParallel: 8, expertParallel: 8, gemmDtype: 'nvfp4' },
    scenario: { islTokens: 8192, oslTokens: 1024 } },
];

const estimatorFor = (c: Case) => makeThroughputEstimator(getModel(c.model), c.instance, opTimes, c.scenario);

test('per-GPU throughput never falls and per-user speed never rises as concurrency grows (up to memory)', () => {
  for (const c of CASES) {
    const e = estimatorFor(c);
    assert.ok(e.maxConcurrency > 8, `${c.model}: ${e.maxConcurrency} requests fit`);
    let last = e.at(1);
    for (let n = 2; n <= e.maxConcurrency; n += n < 64 ? 1 : Math.ceil(n / 29)) {
      const x = e.at(n);
      assert.ok(x.outputTokensPerSPerGpu >= last.outputTokensPerSPerGpu, `${c.model}: ${n} → ${x.outputTokensPerSPerGpu} < ${last.outputTokensPerSPerGpu}`);
      assert.ok(x.perUserTokensPerS <= last.perUserTokensPerS, `${c.model}: ${n} requests faster per user than ${last.concurrency}`);
      assert.ok(Number.isFinite(x.outputTokensPerSPerGpu) && x.outputTokensPerSPerGpu > 0);
      last = x;
    }
  }
});

test('a higher per-user floor never gives more per-GPU throughput; the best state meets the floor and is maximal', () => {
  for (const c of CASES) {
    const e = estimatorFor(c);
    let last = Infinity;
    for (const floor of [0, 5, 10, 20, 40, 60, 80, 120, 200]) {
      const b = e.best(floor);
      if (!b) {
        assert.ok(e.at(1).perUserTokensPerS < floor, `${c.model}: no state although one request reaches the floor ${floor}`);
        last = 0;
        continue;
      }
      assert.ok(b.outputTokensPerSPerGpu <= last, `${c.model}: floor ${floor} → ${b.outputTokensPerSPerGpu} > ${last}`);
      assert.ok(b.perUserTokensPerS >= floor);
      assert.ok(b.concurrency <= e.maxConcurrency);
      if (b.concurrency < e.maxConcurrency) assert.ok(e.at(b.concurrency + 1).perUserTokensPerS < floor, `${c.model}: floor ${floor} not maximal`);
      last = b.outputTokensPerSPerGpu;
    }
    assert.equal(e.best()?.concurrency, e.maxConcurrency, 'no floor: as many requests as fit');
  }
});

test('memory bound: weights split over TP, KV at the mean length isl + osl/2, HBM_UTILIZATION of the rest', () => {
  const m = getModel('llama-2-70b');
  const inst: InstanceSpec = { gpu: 'h100', tensorParallel: 1, expertParallel: 1, gemmDtype: 'fp8', kvDtype: 'fp8' };
  // 80 GB − 68.98e9 × 1 B of FP8 weights; 547 tokens × 163,840 B of FP8 KV per request.
  const expected = Math.floor((HBM_UTILIZATION * (80e9 - paramCount(m))) / (547 * 163_840));
  assert.equal(memoryMaxConcurrency(m, inst, { islTokens: 400, oslTokens: 294 }), expected);
  assert.ok(expected > 50 && expected < 150, String(expected));
  // TP2 halves weights and KV per GPU (≈ 8x the requests here); BF16 405B does not fit one H100 at all.
  assert.ok(memoryMaxConcurrency(m, { ...inst, tensorParallel: 2 }, { islTokens: 400, oslTokens: 294 }) > 5 * expected);
  const big = makeThroughputEstimator(getModel('llama-3.1-405b'), { ...inst, gemmDtype: 'bfloat16' }, opTimes, { islTokens: 100, oslTokens: 100 });
  assert.equal(big.maxConcurrency, 0);
  assert.equal(big.best(), undefined);
  // The engine cap applies when memory allows more.
  const small = makeThroughputEstimator(getModel('gpt-oss-120b'), { gpu: 'gb300', tensorParallel: 8, expertParallel: 8, gemmDtype: 'nvfp4', kvDtype: 'fp8' },
    opTimes, { islTokens: 128, oslTokens: 128 });
  assert.equal(small.maxConcurrency, MAX_CONCURRENCY);
});

test('KV per request per GPU: GQA heads split over TP, MLA latent replicated, sliding layers capped at the window', () => {
  const l70 = getModel('llama-2-70b');
  const tp = (n: number): InstanceSpec => ({ gpu: 'b200', tensorParallel: n, expertParallel: 1, kvDtype: 'fp8' });
  assert.equal(kvBytesPerRequestPerGpu(l70, tp(1), 1000), 1000 * 163_840);
  assert.equal(kvBytesPerRequestPerGpu(l70, tp(4), 1000), (1000 * 163_840) / 4);
  assert.equal(kvBytesPerRequestPerGpu(l70, tp(16), 1000), (1000 * 163_840) / 8); // 8 KV heads replicated beyond TP8
  const ds = getModel('deepseek-r1');
  assert.equal(kvBytesPerRequestPerGpu(ds, { ...tp(8), expertParallel: 8 }, 1000), 1000 * 35_136);
  const oss = getModel('gpt-oss-120b');
  const perToken = 2 * 8 * 64; // elements per layer per token (BF16 KV: 2 bytes)
  assert.equal(kvBytesPerRequestPerGpu(oss, { ...tp(1), kvDtype: 'bfloat16' }, 10_000), 2 * perToken * (18 * 10_000 + 18 * 128));
});

test('prefill is amortised: concurrency = osl puts exactly one whole prompt in every step', () => {
  const m = getModel('llama-2-70b');
  const inst: InstanceSpec = { gpu: 'gb200', tensorParallel: 2, expertParallel: 1, gemmDtype: 'nvfp4', kvDtype: 'fp8' };
  const scenario = { islTokens: 400, oslTokens: 294 };
  const x = makeThroughputEstimator(m, inst, opTimes, scenario).at(294);
  assert.equal(x.prefillTokensPerStep, 400);
  const batch: StepSequence[] = Array.from({ length: 294 }, () => ({ phase: 'decode' as const, numNewTokens: 1, numCachedTokens: 547 }));
  batch.push({ phase: 'prefill', numNewTokens: 400, numCachedTokens: 0 });
  assert.equal(x.step.stepS, makeStepPredictor(m, inst, opTimes).predict(batch).stepS);
  assert.equal(x.outputTokensPerSPerGpu, 294 / x.step.stepS / 2);
  assert.equal(x.perUserTokensPerS, 1 / x.step.stepS);
});

test('bad scenarios, concurrencies and options are refused, naming the field', () => {
  const m = getModel('llama-2-70b');
  const inst: InstanceSpec = { gpu: 'b200', tensorParallel: 1, expertParallel: 1 };
  assert.throws(() => makeThroughputEstimator(m, inst, opTimes, { islTokens: 0, oslTokens: 10 }), /scenario\.islTokens must be an integer ≥ 1, got 0/);
  assert.throws(() => makeThroughputEstimator(m, inst, opTimes, { islTokens: 10, oslTokens: 1.5 }), /scenario\.oslTokens/);
  assert.throws(() => makeThroughputEstimator(m, inst, opTimes, { islTokens: 4000, oslTokens: 1000 }), /at most llama-2-70b's context 4096, got 5000/);
  assert.throws(() => makeThroughputEstimator(m, { ...inst, gpu: 'a100' }, opTimes, { islTokens: 10, oslTokens: 10 }), /instance\.gpu must be one of/);
  assert.throws(() => makeThroughputEstimator(m, inst, opTimes, { islTokens: 10, oslTokens: 10 }, { maxConcurrency: 0 }), /options\.maxConcurrency/);
  assert.throws(() => makeThroughputEstimator(m, inst, opTimes, { islTokens: 10, oslTokens: 10 }, { hbmUtilization: 1.5 }), /options\.hbmUtilization/);
  const e = makeThroughputEstimator(m, inst, opTimes, { islTokens: 10, oslTokens: 10 });
  assert.throws(() => e.at(0), /concurrency must be an integer ≥ 1, got 0/);
});
