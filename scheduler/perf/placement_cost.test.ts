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

test('a pool with several degrees prices each instance at its numGpus; one degree serves any; a missing one names it', () => {
  const llama = getModel('llama-3.1-70b');
  const shape = (tp: number) => ({ pool: 'llama', model: llama, instance: { gpu: 'b200', tensorParallel: tp, expertParallel: 1, gemmDtype: 'fp8' as const }, kvDtype: 'fp8' as const, blockTokens: 64 });
  const both = makePerfCostModel([shape(1), shape(4)], opTimes);
  const at = (numGpus: number, decodingSequences = 0): InstanceView => ({ ...view('llama', decodingSequences), numGpus });
  // Alternating degrees (the memo of the last instance must not leak between them).
  for (let i = 0; i < 2; i++) {
    const wide = both.prefillS(at(4), 16384, 0);
    const narrow = both.prefillS(at(1), 16384, 0);
    assert.ok(wide < narrow / 2.5, `TP4 ${wide} s vs TP1 ${narrow} s`);
    assert.ok(both.fetchS(at(4), 1024, 'nvlink') < both.fetchS(at(1), 1024, 'nvlink'), 'four GPUs take their shards in parallel');
    assert.ok(both.decodeStepS(at(4, 64)) < both.decodeStepS(at(1, 64)));
  }
  const truth = (tp: number) => makeStepPredictor(llama, shape(tp).instance, opTimes).predict([{ phase: 'prefill', numNewTokens: 8192, numCachedTokens: 0 }]).stepS;
  for (const tp of [1, 4]) assert.ok(Math.abs(both.prefillS(at(tp), 8192, 0) - truth(tp)) / truth(tp) < 0.2, `TP${tp} fit`);
  assert.deepEqual(Object.keys(both.fitReport()), ['llama/tp1', 'llama/tp4']);
  assert.throws(() => both.prefillS(at(2), 10, 0), /no performance figures for pool llama at 2 GPUs \(has tensorParallel 1, 4\)/);
  assert.throws(() => makePerfCostModel([shape(1), shape(1)], opTimes), /pool llama lists tensorParallel 1 twice/);
  const one = makePerfCostModel([shape(4)], opTimes);
  assert.equal(one.prefillS(at(1), 4096, 0), one.prefillS(at(4), 4096, 0), 'a single degree serves every instance of its pool');
  assert.deepEqual(Object.keys(one.fitReport()), ['llama']);
});
