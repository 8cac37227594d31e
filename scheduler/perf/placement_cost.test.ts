import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { InstanceView } from '../core/types.js';
import { makeFittedOpTimes } from './fitted_optimes.js';
import { getModel } from './models.js';
import { makePerfCostModel } from './placement_cost.js';
import { makeStepPredictor } from './step.js';

const opTimes = makeFittedOpTimes();
const pools = [
  { pool: 'llama', model: getModel('llama-3.1-70b'), instance: { gpu: 'gb200', tensorParallel: 4, expertParallel: 1, gemmDtype: 'fp8' as const }, kvDtype: 'fp8' as const, blockTokens: 64 },
  { pool: 'r1', model: getModel('deepseek-r1'), instance: { gpu: 'gb200', tensorParallel: 8, expertParallel: 8, gemmDtype: 'fp8' as const }, kvDtype: 'fp8' as const, blockTokens: 64 },
];
const model = makePerfCostModel(pools, opTimes);
const view = (pool: string, decodingSequences = 0): InstanceView => ({
  instanceId: 'i0', pool, domainId: 'd0', workerIds: ['w0'], numGpus: 4, healthy: true, draining: false, maxContextTokens: 131072,
  queuedRequests: 0, runningRequests: 0, pendingPrefillTokens: 0, decodingSequences, kvBlocksTotal: 1000, kvBlocksUsed: 0,
  kvBlocksRetained: 0, stepTokenBudget: 8192, inFlightRequests: 0,
});

test('closed forms stay close to the step predictor they were fitted to', () => {
  for (const [pool, r] of Object.entries(model.fitReport())) {
    assert.ok(r.prefillMaxRelErr < 0.35, `${pool} prefill fit error ${r.prefillMaxRelErr}`);
    assert.ok(r.decodeMaxRelErr < 0.2, `${pool} decode fit error ${r.decodeMaxRelErr}`);
  }
  const truth = makeStepPredictor(pools[0]!.model, pools[0]!.instance, opTimes).predict([{ phase: 'prefill', numNewTokens: 3000, numCachedTokens: 10000 }]).stepS;
  const approx = model.prefillS(view('llama'), 3000, 10000);
  assert.ok(Math.abs(approx - truth) / truth < 0.35, `off-grid prefill ${approx} vs ${truth}`);
});

test('monotone: more new tokens, more cached context or more decodes never take less time', () => {
  const v = view('llama');
  let last = 0;
  for (const n of [1, 16, 256, 4096, 32768]) {
    const t = model.prefillS(v, n, 0);
    assert.ok(t >= last, `prefill(${n}) ${t} < ${last}`);
    last = t;
  }
  assert.ok(model.prefillS(v, 1024, 65536) > model.prefillS(v, 1024, 0));
  assert.ok(model.decodeStepS(view('llama', 256)) > model.decodeStepS(view('llama', 1)));
  assert.equal(model.prefillS(v, 0, 1000), 0);
});

test('fetching over NVLink is faster than recomputing a long prefix, and C2C costs more than NVLink', () => {
  const v = view('llama');
  const blocks = 1024; // 64K tokens
  const nvlink = model.fetchS(v, blocks, 'nvlink');
  const c2c = model.fetchS(v, blocks, 'c2c');
  assert.ok(nvlink < c2c, `${nvlink} vs ${c2c}`);
  assert.ok(c2c < model.prefillS(v, blocks * 64, 0), 'promote from Grace beats recompute at 64K tokens');
  assert.equal(model.fetchS(v, 0, 'nvlink'), 0);
});

test('an instance of an unknown pool is an error naming the pool', () => {
  assert.throws(() => model.prefillS(view('nope'), 10, 0), /no performance figures for pool nope/);
});
