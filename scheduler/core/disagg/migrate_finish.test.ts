// The ends of a live migration in the core: the tail arrived (the destination adopts the KV and decodes on) or the
// copy failed (finishMigration(…, ok = false): the room held on the destination is released and the destination
// recomputes the sequence), and a failed hand-off whose KV stayed on the prefill instance (keepOnPrefill).
// Scheduler.finishMigration / finishHandoff do not pass the new arguments yet (scheduler.ts is not this folder's):
// the tests call the coordinator itself.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Rng } from '../../util/random.js';
import { Scheduler } from '../scheduler.js';
import { clusterInstances, simpleCostModel, TEST_POOL } from '../testing/cluster.js';
import type { ScheduleRequest, StepOutcome } from '../types.js';
import type { Coordinator } from './coordinator.js';

function sched(roles: ('prefill' | 'decode' | 'mixed')[], disaggregation: unknown): { s: Scheduler; coord: Coordinator } {
  const instances = clusterInstances({ policy: 'round-robin', seed: 1, instances: roles.length, kvBlocksPerInstance: 4096 }).map((x, i) => ({ ...x, role: roles[i] as 'prefill' }));
  const s = new Scheduler({ policy: { base: 'least-loaded', disaggregation }, pools: [TEST_POOL], instances, cost: simpleCostModel(), rng: new Rng(1) });
  return { s, coord: (s as unknown as { coord: Coordinator }).coord };
}

function req(id: string, promptTokens: number, maxOutputTokens = 256): ScheduleRequest {
  return { requestId: id, tenant: 't', arrivalS: 0, promptTokens, maxOutputTokens, blockHashes: [], hasTools: false, hasToolResults: false };
}

function steps(s: Scheduler, id: string, t: number, n: number): number {
  for (let i = 0; i < n; i++) {
    const plan = s.planStep(id, t);
    t += 0.01;
    const outcome: StepOutcome = { stepId: plan.stepId, durationS: 0.01, finishedSeqIds: [] };
    s.completeStep(id, plan, outcome, t);
  }
  return t;
}

/** r1 decoding on i0, then stopped for migration to i1 (pre-copy rounds answered at once). */
function stopped(): { s: Scheduler; coord: Coordinator; t: number; outputs: number } {
  const { s, coord } = sched(['decode', 'decode'], 'aggregated');
  const r = s.submit(req('r1', 1000), 0);
  assert.ok(r.ok && !r.external && r.instanceId === 'i0');
  let t = steps(s, 'i0', 0, 6);
  const outputs = s.instanceView('i0').decodingSequences;
  assert.equal(outputs, 1);
  let next = s.startMigration('r1', 'i1', t);
  assert.equal(next?.kind, 'precopy');
  for (let i = 0; i < 8 && next?.kind === 'precopy'; i++) next = s.migrationCopied('r1', t);
  assert.equal(next?.kind, 'stop');
  t += 0.01;
  assert.ok(s.instanceView('i1').kvBlocksUsed > 0, 'room held on the destination');
  return { s, coord, t, outputs };
}

test('finishMigration ok: the destination decodes on the arrived KV (no prefill)', () => {
  const { s, coord, t } = stopped();
  assert.deepEqual(coord.finishMigration('r1', t), { instanceId: 'i1' });
  const v = s.instanceView('i1');
  assert.deepEqual([v.decodingSequences, v.queuedRequests, v.pendingPrefillTokens], [1, 0, 0]);
  assert.equal(s.disaggStats().migrationRecomputes, 0);
});

test('finishMigration not ok: the hold is released and the destination recomputes prompt + streamed tokens', () => {
  const { s, coord, t } = stopped();
  const held = s.instanceView('i1').kvBlocksUsed;
  assert.deepEqual(coord.finishMigration('r1', t, false), { instanceId: 'i1' });
  const v = s.instanceView('i1');
  assert.equal(v.queuedRequests, 1, 'queued to recompute');
  assert.equal(v.kvBlocksUsed, 0, `the ${held} held blocks were released`);
  assert.equal(v.pendingPrefillTokens, 1000 + 6, 'prompt + the 6 tokens already streamed (one per step)');
  assert.equal(s.disaggStats().migrationRecomputes, 1);
  assert.equal(s.requestInstance('r1'), 'i1');
  assert.equal(s.instanceView('i0').kvBlocksUsed, 0, 'nothing left on the source');
});

test('finishHandoff failed with keepOnPrefill: decodes on the prefill instance where the KV is, nothing recomputed', () => {
  const { s, coord } = sched(['prefill', 'decode'], 'always');
  s.submit(req('r1', 4000), 0);
  const t = steps(s, 'i0', 0, 10);
  assert.equal(s.takeTransfers()[0]?.toInstanceId, 'i1');
  assert.deepEqual(coord.finishHandoff('r1', false, t, { keepOnPrefill: true }), { instanceId: 'i0' });
  const p = s.instanceView('i0');
  const d = s.instanceView('i1');
  assert.deepEqual([p.decodingSequences, p.pendingPrefillTokens, p.kvBlocksUsed], [1, 0, 63], 'decoding on its own KV');
  assert.deepEqual([d.kvBlocksUsed, d.queuedRequests], [0, 0], 'the decode side released its reservation');
  assert.equal(s.disaggStats().handoffFailures, 1);
  // Without keepOnPrefill the decode side recomputes (unchanged).
  const b = sched(['prefill', 'decode'], 'always');
  b.s.submit(req('r1', 4000), 0);
  const t2 = steps(b.s, 'i0', 0, 10);
  b.s.takeTransfers();
  assert.deepEqual(b.coord.finishHandoff('r1', false, t2), { instanceId: 'i1' });
  assert.deepEqual([b.s.instanceView('i1').pendingPrefillTokens, b.s.instanceView('i0').kvBlocksUsed], [4001, 0]);
});
