import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Rng } from '../../util/random.js';
import { ConfigError } from '../config/params.js';
import { parsePool } from '../config/pools.js';
import { assignRoles, readRoles } from '../config/roles.js';
import { InstanceEngine } from '../engine/engine.js';
import { ENGINE_DEFAULTS, type EngineConfig } from '../engine/config.js';
import { makeBatchPolicy } from '../engine/registry.js';
import { Scheduler } from '../scheduler.js';
import { clusterInstances, simpleCostModel, TEST_POOL } from '../testing/cluster.js';
import type { ScheduleRequest, StepOutcome } from '../types.js';

test('roles: counts or a list, the rest mixed; errors name the field', () => {
  assert.deepEqual(assignRoles(readRoles({ prefill: 1, decode: 2 }, 'r'), 4, 'r'), ['prefill', 'decode', 'decode', 'mixed']);
  assert.deepEqual(assignRoles(readRoles(['decode', 'prefill'], 'r'), 3, 'r'), ['decode', 'prefill', 'mixed']);
  assert.deepEqual(assignRoles(undefined, 2, 'r'), ['mixed', 'mixed']);
  assert.throws(() => assignRoles(readRoles({ prefill: 3, decode: 2 }, 'r'), 4, 'pools[0].roles'), /pools\[0\]\.roles: prefill 3 \+ decode 2 exceeds the 4 instances/);
  assert.throws(() => assignRoles(readRoles({ prefill: 2 }, 'r'), 2, 'cluster.roles'), /cluster\.roles: 2 prefill instance\(s\) and no decode or mixed instance/);
  assert.throws(() => readRoles(['decode', 'prefil'], 'cluster.roles'), /cluster\.roles\[1\]: expected one of prefill, decode, mixed, got "prefil"/);
  assert.throws(() => readRoles({ prefill: 1, encode: 2 }, 'r'), /r\.encode: unknown field/);
  const pool = parsePool({ name: 'l', kind: 'self_hosted', model: 'llama-3.1-70b', instances: { gpu: 'gb200', count: 4, weightDtype: 'fp8' }, roles: { prefill: 1, decode: 3 } }, 'pools[0]');
  assert.deepEqual(pool.roles, ['prefill', 'decode', 'decode', 'decode']);
  assert.throws(() => parsePool({ name: 'l', kind: 'self_hosted', model: 'llama-3.1-70b', instances: { gpu: 'gb200', count: 1 }, roles: { prefill: 1 } }, 'pools[0]'), /pools\[0\]\.roles: 1 prefill instance/);
});

function sched(roles: ('prefill' | 'decode' | 'mixed')[], disaggregation: unknown, kvBlocks = 4096): Scheduler {
  const instances = clusterInstances({ policy: 'round-robin', seed: 1, instances: roles.length, kvBlocksPerInstance: kvBlocks }).map((s, i) => ({ ...s, role: roles[i] as 'prefill' }));
  return new Scheduler({ policy: { base: 'least-loaded', disaggregation }, pools: [TEST_POOL], instances, cost: simpleCostModel(), rng: new Rng(1) });
}

function req(id: string, promptTokens: number, maxOutputTokens = 256): ScheduleRequest {
  return { requestId: id, tenant: 't', arrivalS: 0, promptTokens, maxOutputTokens, blockHashes: [], hasTools: false, hasToolResults: false };
}

/** Runs planStep/completeStep on one instance until its queue is empty or limit steps; no EOS. */
function runSteps(s: Scheduler, id: string, nowS: number, limit = 50, eos: number[] = []): { ended: number; t: number } {
  let t = nowS;
  let ended = 0;
  for (let i = 0; i < limit; i++) {
    const plan = s.planStep(id, t);
    if (plan.items.length === 0) {
      s.completeStep(id, plan, { stepId: plan.stepId, durationS: 0, finishedSeqIds: [] }, t);
      break;
    }
    t += 0.01;
    const outcome: StepOutcome = { stepId: plan.stepId, durationS: 0.01, finishedSeqIds: eos };
    ended += s.completeStep(id, plan, outcome, t).length;
  }
  return { ended, t };
}

test('a pool of prefill instances only is refused; the aggregated policy ignores roles', () => {
  assert.throws(() => sched(['prefill', 'prefill'], 'always'), (e: unknown) => e instanceof ConfigError && /pools\.llama\.roles: 2 prefill instance/.test(e.message));
  const s = sched(['prefill', 'decode'], 'aggregated');
  const placed = new Set([0, 1, 2, 3].map((i) => { const r = s.submit(req(`a${i}`, 4000), 0); return r.ok && !r.external ? r.instanceId : ''; }));
  assert.deepEqual([...placed].sort(), ['i0', 'i1'], 'both instances serve as mixed');
  assert.equal(s.disaggStats().disaggregated, 0);
});

test('hand-off: prefill on the prefill instance, first token there, KV held on both sides, decode adopts it', () => {
  const s = sched(['prefill', 'decode'], 'always');
  const r = s.submit(req('r1', 4000), 0);
  assert.ok(r.ok && !r.external);
  assert.equal(r.instanceId, 'i0', 'the prefill runs on the prefill instance');
  const { t } = runSteps(s, 'i0', 0);
  assert.equal(s.instanceView('i0').runningRequests, 0);
  const transfers = s.takeTransfers();
  assert.deepEqual(transfers, [{ kind: 'handoff', requestId: 'r1', fromInstanceId: 'i0', toInstanceId: 'i1', blocks: 63 }]);
  // While the KV moves: the prefill side still holds the prompt's 63 blocks, the decode side reserved them.
  assert.equal(s.instanceView('i0').kvBlocksUsed, 63);
  assert.equal(s.instanceView('i1').kvBlocksUsed, 63);
  assert.equal(s.requestInstance('r1'), undefined, 'in flight: on no instance');
  assert.deepEqual(s.finishHandoff('r1', true, t + 0.002), { instanceId: 'i1' });
  assert.equal(s.instanceView('i0').kvBlocksUsed, 0, 'the prefill side released its copy');
  assert.equal(s.instanceView('i1').decodingSequences, 1, 'decoding at once, no prefill on the decode instance');
  assert.equal(s.instanceView('i1').pendingPrefillTokens, 0);
  const plan = s.planStep('i1', t + 0.002);
  assert.deepEqual(plan.items.map((i) => [i.kind, i.numNewTokens, i.numCachedTokens]), [['decode', 1, 4000]]);
  const seqId = (plan.items[0] as { seqId: number }).seqId;
  const ended = s.completeStep('i1', plan, { stepId: plan.stepId, durationS: 0.01, finishedSeqIds: [seqId] }, t + 0.012);
  assert.equal(ended.length, 1);
  const e = ended[0] as (typeof ended)[number];
  assert.equal(e.instanceId, 'i1');
  assert.equal(e.outputTokens, 2, 'first token from the prefill instance, second from the decode instance');
  assert.ok(e.firstTokenS !== undefined && e.firstTokenS <= t, 'TTFT is the prefill instance\'s first token');
  assert.equal(s.instanceView('i1').kvBlocksUsed, 0);
  assert.deepEqual(s.stats(), { submitted: 1, forwarded: 0, rejected: 0, completed: 1, cancelled: 0, live: 0 });
});

test('failed transfer → recompute on the decode side; cancel in flight → no block leaked anywhere', () => {
  const s = sched(['prefill', 'decode'], 'always');
  s.submit(req('r1', 4000), 0);
  s.submit(req('r2', 4000), 0);
  const { t } = runSteps(s, 'i0', 0);
  assert.equal(s.takeTransfers().length, 2);
  s.finishHandoff('r1', false, t);
  const v = s.instanceView('i1');
  assert.equal(v.queuedRequests, 1, 'queued to recompute');
  assert.equal(v.pendingPrefillTokens, 4001, 'prompt + the first token, recomputed');
  assert.equal(v.kvBlocksUsed, 63, 'only r2\'s reservation is held');
  const c = s.cancel('r2', 'client went away', t);
  assert.equal(c?.end.kind, 'cancelled');
  assert.equal(s.instanceView('i0').kvBlocksUsed, 0);
  assert.equal(s.instanceView('i1').kvBlocksUsed, 0);
  runSteps(s, 'i1', t, 50, [1, 2, 3, 4]);
  assert.equal(s.stats().live, 0);
  assert.equal(s.disaggStats().handoffFailures, 1);
  assert.equal(s.instanceView('i1').kvBlocksUsed, 0);
});

test('no room on any decode instance: decodes where its KV is (the prefill instance)', () => {
  const s = sched(['prefill', 'decode'], 'always', 100);
  s.submit(req('first', 5000, 64), 0); // 79 blocks, handed to the decode instance
  let { t } = runSteps(s, 'i0', 0, 3);
  assert.equal(s.takeTransfers()[0]?.toInstanceId, 'i1');
  s.finishHandoff('first', true, t);
  assert.equal(s.instanceView('i1').kvBlocksUsed, 79);
  s.submit(req('big', 3000, 64), t); // 47 blocks: the decode instance has 21 free
  ({ t } = runSteps(s, 'i0', t, 3));
  assert.deepEqual(s.takeTransfers(), [{ kind: 'handoff', requestId: 'big', fromInstanceId: 'i0', toInstanceId: 'i0', blocks: 0 }]);
  assert.equal(s.finishHandoff('big', true, t).instanceId, 'i0');
  assert.deepEqual([s.instanceView('i0').decodingSequences, s.instanceView('i0').kvBlocksUsed], [1, 47]);
  assert.equal(s.disaggStats().handoffsLocal, 1);
});

test('prefill instances unhealthy: aggregated on the decode side (empty prefill pool)', () => {
  const s = sched(['prefill', 'decode', 'mixed'], 'always');
  s.setInstanceHealth('i0', false);
  const r = s.submit(req('r', 1000), 0);
  assert.ok(r.ok && !r.external);
  assert.notEqual(r.instanceId, 'i0');
  assert.equal(s.disaggStats().noPrefillInstance, 1);
});

test('engine: incoming holds are all or nothing; adopt decodes on arrived KV or requeues to recompute', () => {
  const config: EngineConfig = { ...ENGINE_DEFAULTS, preemptionMode: { ...ENGINE_DEFAULTS.preemptionMode }, kvBlocksTotal: 100, hostKvBlocksTotal: 0 };
  const e = new InstanceEngine({ instanceId: 'x', config, policy: makeBatchPolicy({ name: 'fcfs' }, 'b') });
  assert.equal(e.holdIncoming(-1, 101), false);
  assert.equal(e.view().kvBlocksUsed, 0);
  assert.equal(e.holdIncoming(-1, 60), true);
  assert.equal(e.holdIncoming(-2, 41), false, 'only 40 left');
  const init = { requestId: 'a', shape: 'chat' as const, arrivalS: 0, promptTokens: 3800, cachedPromptTokens: 0, maxOutputTokens: 100, predictedOutputTokens: 50, slo: { ttftS: 1, tpotS: 0.05 } };
  const id = e.adopt(init, { outputTokens: 1, computedTokens: 3800, enqueuedS: 0, firstTokenS: 0.5, preemptions: 0, holdId: -1 }, 1);
  assert.ok(id !== undefined);
  assert.deepEqual([e.view().kvBlocksUsed, e.view().decodingSequences, e.view().runningRequests], [60, 1, 1]);
  const again = e.adopt({ ...init, requestId: 'b' }, { outputTokens: 3, computedTokens: 0, enqueuedS: 0, preemptions: 1 }, 1);
  assert.ok(again !== undefined);
  assert.deepEqual([e.view().queuedRequests, e.view().pendingPrefillTokens], [1, 3803]);
  assert.throws(() => e.adopt({ ...init, maxOutputTokens: 1 }, { outputTokens: 1, computedTokens: 0, enqueuedS: 0, preemptions: 0 }, 1), /maxOutputTokens/);
});
