import assert from 'node:assert/strict';
import { test } from 'node:test';

import { makeFittedOpTimes } from '../perf/fitted_optimes.js';
import { makePerfCostModel } from '../perf/placement_cost.js';
import type { OpenLoopWorkload } from '../workload/types.js';
import { buildCluster, readClusterConfig } from './cluster.js';
import { createSimulation, runSimulation, type SimRunResult } from './run.js';
import { chain, openMix } from './testing.js';

// One HGX B200 node: 8 TP1 instances of Llama 3.1 70B; with roles the first two are prefill, the next four decode.
const ROLES = { prefill: 2, decode: 4 };
const split = buildCluster(readClusterConfig({ preset: 'hgx-b200x8', roles: ROLES }));
const plain = buildCluster(readClusterConfig('hgx-b200x8'));

function one(promptTokens: number, outputTokens: number): OpenLoopWorkload {
  const hashes = chain(Array.from({ length: Math.floor(promptTokens / 64) }, (_, i) => 0xabc000n + BigInt(i)));
  return { kind: 'open', name: 'one', durationS: 0, requests: [{ req: { requestId: 'r0', tenant: 't', arrivalS: 0, promptTokens, maxOutputTokens: 1024, blockHashes: hashes, hasTools: false, hasToolResults: false }, outputTokens }] };
}

function noLeak(r: SimRunResult, sim: ReturnType<typeof createSimulation>['sim']): void {
  assert.equal(r.stats.stalled, 0);
  assert.equal(r.stats.kvFailures, 0, 'the native KV manager never refused');
  for (const id of sim.sched.instanceIds()) {
    const v = sim.sched.instanceView(id);
    assert.equal(v.kvBlocksUsed, 0, `${id}: no KV block left held in the engine's ledger`);
    assert.equal(v.inFlightRequests, 0, `${id}: nothing left in flight`);
  }
}

test('roles in a cluster file: per domain, validated; the aggregated policy on a split cluster changes nothing', () => {
  assert.deepEqual(split.instances.map((i) => i.setup.role ?? 'mixed'), ['prefill', 'prefill', 'decode', 'decode', 'decode', 'decode', 'mixed', 'mixed']);
  assert.throws(() => buildCluster(readClusterConfig({ preset: 'hgx-b200x8', roles: { prefill: 8 } })), /cluster\.roles: 8 prefill instance\(s\) and no decode or mixed instance/);
  assert.throws(() => buildCluster(readClusterConfig({ preset: 'hgx-b200x8', roles: { prefill: 6, decode: 3 } })), /cluster\.roles: prefill 6 \+ decode 3 exceeds the 8 instances/);
  const w = openMix({ seed: 5, count: 120, ratePerS: 10 });
  const a = runSimulation({ workload: w, cluster: plain, seed: 2 });
  const b = runSimulation({ workload: w, cluster: split, seed: 2, policy: { disaggregation: 'aggregated' } });
  assert.deepEqual(b.records, a.records, 'roles ignored by the aggregated policy: every record identical');
});

test('hand-off timing: first token at the prefill step, the decode after the modelled NVLink transfer', () => {
  const { sim } = createSimulation({ workload: one(8192, 5), cluster: split, seed: 1, policy: { disaggregation: 'always' }, traceTokens: true });
  const records = sim.run();
  const rec = records[0];
  assert.ok(rec && rec.end.kind === 'completed');
  const times = sim.tokenTimes?.get('r0') ?? [];
  assert.equal(times.length, 5);
  assert.equal(rec.firstTokenS, times[0], 'TTFT counts the prefill instance\'s token');
  assert.equal(rec.instanceId.startsWith('node0/i'), true);
  assert.ok(['node0/i2', 'node0/i3', 'node0/i4', 'node0/i5'].includes(rec.instanceId), `decoded on a decode instance, got ${rec.instanceId}`);
  const cost = makePerfCostModel([{ pool: split.pool.name, model: split.model, instance: split.perf, kvDtype: split.kvDtype, blockTokens: 64 }], makeFittedOpTimes());
  const transferS = cost.fetchS(sim.sched.instanceView(rec.instanceId), 128, 'nvlink');
  assert.ok(transferS > 0);
  const gap = (times[1] as number) - (times[0] as number);
  assert.ok(gap > transferS, `second token ${gap}s after the first: at least the ${transferS}s transfer and a decode step`);
  assert.ok(gap < transferS + 0.05, 'and not much more (one decode step)');
  const d = sim.sched.disaggStats();
  assert.deepEqual([d.disaggregated, d.handoffs, d.handoffBlocks], [1, 1, 128]);
});

test('failed transfers (fault injection) → recomputed on the decode side, every request completes, nothing leaked', () => {
  const w = openMix({ seed: 7, count: 80, ratePerS: 8, meanOutputTokens: 100 });
  const { sim } = createSimulation({ workload: w, cluster: split, seed: 3, policy: { base: 'least-loaded', disaggregation: 'always' }, handoffFailureRate: 1, traceTokens: true });
  const records = sim.run();
  const d = sim.sched.disaggStats();
  assert.ok(d.handoffs > 40);
  assert.equal(d.handoffFailures, d.handoffs - d.handoffsLocal, 'every transfer that crossed a link failed');
  assert.equal(records.filter((r) => r.end.kind === 'completed').length, 80);
  for (const r of records) assert.equal(sim.tokenTimes?.get(r.requestId)?.length, r.outputTokens, `${r.requestId}: one token per output`);
  noLeak({ stats: sim.stats } as SimRunResult, sim);
});

test('live migration: streams stay whole and in order, pauses bounded and reported, same seed → same decisions', () => {
  // An eager policy (every look moves a decode from the hottest to the coolest instance) on long decodes.
  const migration = { name: 'load-balance', params: { periodS: 0.2, imbalance: 0, minHotLoad: 0, payoffFactor: 0, minRemainingTokens: 1, maxInFlight: 4 } };
  const w = openMix({ seed: 11, count: 60, ratePerS: 6, meanOutputTokens: 600, meanPromptTokens: 2000 });
  const run = () => {
    const { sim } = createSimulation({ workload: w, cluster: plain, seed: 4, policy: { base: 'least-loaded', migration }, traceTokens: true });
    const records = sim.run();
    return { sim, records };
  };
  const { sim, records } = run();
  const d = sim.sched.disaggStats();
  assert.ok(d.migrationsDone >= 5, `migrations happened (${d.migrationsDone})`);
  assert.equal(d.migrationPausesS.length, d.migrationsDone);
  assert.ok(d.migrationBytes > 0);
  for (const p of d.migrationPausesS) assert.ok(p > 0 && p < 0.005, `pause ${p}s within the policy's bound`);
  for (const r of records) {
    assert.equal(r.end.kind, 'completed');
    const times = sim.tokenTimes?.get(r.requestId) ?? [];
    assert.equal(times.length, r.outputTokens, `${r.requestId}: every token once`);
    for (let i = 1; i < times.length; i++) assert.ok((times[i] as number) > (times[i - 1] as number), `${r.requestId}: token ${i} after token ${i - 1}`);
    assert.equal(times[0], r.firstTokenS);
    assert.equal(times[times.length - 1], r.endS);
  }
  noLeak({ stats: sim.stats } as SimRunResult, sim);
  const again = run();
  assert.deepEqual(again.sim.sched.disaggStats(), d, 'same seed: the same migrations, bytes and pauses');
  assert.deepEqual(again.records, records);
});
