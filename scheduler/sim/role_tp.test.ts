// Per-role tensor parallelism (`tensorParallel: {prefill: 4, decode: 1}`): validation naming the field, instances laid
// out so their GPUs fill the domain, each instance's KV budget, step times and placement costs from its own degree,
// and a cluster whose roles all share one degree identical, record for record, to the one-number form.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ConfigError } from '../core/config/params.js';
import type { OpenLoopWorkload } from '../workload/types.js';
import { buildCluster, readClusterConfig } from './cluster.js';
import { createSimulation, runSimulation } from './run.js';
import { chain, openMix } from './testing.js';

const build = (value: Record<string, unknown>) => buildCluster(readClusterConfig(value));
const gpusOf = (members: ReadonlyArray<{ gpus: readonly number[] }>) => members.reduce((n, m) => n + m.gpus.length, 0);

function rejects(value: Record<string, unknown>, field: string, message: RegExp): void {
  assert.throws(() => build(value), (e: unknown) => e instanceof ConfigError && e.field === field && message.test(e.message), `${field} ${message}`);
}

test('bad per-role degrees are refused naming the field and the allowed values', () => {
  const roles = { prefill: 1, decode: 2 };
  rejects({ preset: 'hgx-b200x8', roles, tensorParallel: { prefill: 3, decode: 1 } }, 'cluster.tensorParallel.prefill', /expected one of 1, 2, 4, 8, got 3/);
  rejects({ preset: 'hgx-b200x8', roles, tensorParallel: { prefill: 16 } }, 'cluster.tensorParallel.prefill', /domain of 8 GPUs expected one of 1, 2, 4, 8, got 16/);
  rejects({ preset: 'hgx-b200x8', roles, tensorParallel: { prefil: 4 } }, 'cluster.tensorParallel.prefil', /unknown field; allowed: prefill, decode, mixed/);
  rejects({ preset: 'hgx-b200x8', roles, tensorParallel: { decode: 0 } }, 'cluster.tensorParallel.decode', /≥ 1/);
  rejects({ preset: 'hgx-b200x8', tensorParallel: { prefill: 4, decode: 1 } }, 'cluster.tensorParallel', /per-role degrees need cluster\.roles/);
  // The weights must fit at every role's degree (405B fp8 is 405 GB: not on one B200).
  rejects({ preset: 'hgx-b200x8', model: 'llama-3.1-405b', roles, tensorParallel: { prefill: 8, decode: 1 } }, 'cluster.tensorParallel.decode', /leaves no HBM for KV|weights/);
  // Role counts count instances; their GPUs must fit the domain.
  rejects({ preset: 'hgx-b200x8', roles: { prefill: 2, decode: 1 }, tensorParallel: { prefill: 4, decode: 1 } }, 'cluster.roles', /prefill 2 × TP4 \+ decode 1 × TP1 = 9 GPUs, more than the 8 GPUs of a domain/);
  rejects({ preset: 'hgx-b200x8', roles: { prefill: 2 }, tensorParallel: { prefill: 4, decode: 1 } }, 'cluster.roles', /2 prefill instance\(s\) and no decode or mixed instance/);
  rejects({ preset: 'gb200-nvl72', roles: { prefill: 4, decode: 60 }, tensorParallel: { prefill: 4, decode: 1 } }, 'cluster.roles', /= 76 GPUs, more than the 72 GPUs/);
  // Expert parallelism must divide every degree.
  rejects({ preset: 'gb200-nvl72', model: 'deepseek-r1', roles, expertParallel: 16, tensorParallel: { prefill: 16, decode: 8 } }, 'cluster.expertParallel', /must divide tensorParallel \(8\), got 16/);
});

test('NVL72, prefill 4 × TP4 + decode 40 × TP1 + the rest mixed at TP1: the instances fill the 72 GPUs of each domain', () => {
  const cluster = build({ preset: 'gb200-nvl72x2', roles: { prefill: 4, decode: 40 }, tensorParallel: { prefill: 4, decode: 1, mixed: 1 } });
  assert.deepEqual(cluster.tensorParallelByRole, { prefill: 4, decode: 1, mixed: 1 });
  assert.equal(cluster.tensorParallel, 1);
  assert.deepEqual(cluster.shapes.map((s) => s.tensorParallel), [1, 4]);
  assert.equal(cluster.instances.length, 2 * (4 + 40 + 16));
  for (const domain of ['rack0', 'rack1']) {
    const mine = cluster.instances.filter((i) => i.setup.domainId === domain);
    assert.equal(mine.reduce((n, i) => n + gpusOf(i.setup.members), 0), 72, `${domain}: every GPU used`);
    const seen = new Set(mine.flatMap((i) => i.setup.members.flatMap((m) => m.gpus.map((g) => `${m.workerId}:${g}`))));
    assert.equal(seen.size, 72, `${domain}: no GPU twice`);
    assert.deepEqual(mine.map((i) => i.setup.role ?? 'mixed'), [...Array(4).fill('prefill'), ...Array(40).fill('decode'), ...Array(16).fill('mixed')]);
    for (const i of mine) assert.equal(gpusOf(i.setup.members), i.setup.role === 'prefill' ? 4 : 1, i.setup.instanceId);
    // The TP4 instances take whole trays (the first four); the engine config is the degree's.
    assert.deepEqual(mine.slice(0, 4).map((i) => i.setup.members.map((m) => `${m.workerId}:${m.gpus.join(',')}`).join()), [0, 1, 2, 3].map((t) => `${domain}/tray${t}:0,1,2,3`));
    for (const i of mine) assert.equal(i.setup.engine, cluster.shapes[i.shape]?.engine);
  }
  assert.equal(cluster.pool.roles?.length, cluster.instances.length);
  // Host blocks: each tray holds the Grace share of the instances it leads.
  const host = cluster.workers.reduce((n, w) => n + w.hostBlocks, 0);
  assert.equal(host, cluster.instances.reduce((n, i) => n + (cluster.shapes[i.shape]?.engine.hostKvBlocksTotal ?? 0), 0));
  // A role list works the same way: listed roles at their degrees, then mixed ones filling the domain.
  const listed = build({ preset: 'hgx-b200x8', roles: ['decode', 'prefill'], tensorParallel: { prefill: 4, mixed: 2 } });
  assert.deepEqual(listed.instances.map((i) => `${i.setup.role ?? 'mixed'}:${gpusOf(i.setup.members)}`), ['decode:1', 'prefill:4', 'mixed:2']);
  assert.equal(listed.instances.reduce((n, i) => n + gpusOf(i.setup.members), 0), 7, 'one GPU left over, smaller than a mixed TP2 instance');
});

/** One request with a cold `promptTokens`-token prompt, disaggregated: its TTFT is the prefill instance's step. */
function one(promptTokens: number): OpenLoopWorkload {
  const hashes = chain(Array.from({ length: Math.floor(promptTokens / 64) }, (_, i) => 0x7e5000n + BigInt(i)));
  return { kind: 'open', name: 'one', durationS: 0, requests: [{ req: { requestId: 'r0', tenant: 't', arrivalS: 0, promptTokens, maxOutputTokens: 64, blockHashes: hashes, hasTools: false, hasToolResults: false }, outputTokens: 4 }] };
}

test('a TP4 prefill instance has a bigger KV budget, prefills faster (step predictor and cost model) than a TP1 one', () => {
  const roles = { prefill: 1, decode: 2 };
  const wide = build({ preset: 'hgx-b200x8', roles, tensorParallel: { prefill: 4, decode: 1 } });
  const narrow = build({ preset: 'hgx-b200x8', roles, tensorParallel: 1 });
  const prefillOf = (c: typeof wide) => c.instances.find((i) => i.setup.role === 'prefill');
  const kvWide = prefillOf(wide)?.setup.engine.kvBlocksTotal ?? 0;
  const kvNarrow = prefillOf(narrow)?.setup.engine.kvBlocksTotal ?? 0;
  // A quarter of the weights per GPU leaves more HBM for KV on each of four GPUs: well over 4× the blocks.
  assert.ok(kvWide > 4 * kvNarrow, `TP4 ${kvWide} blocks vs TP1 ${kvNarrow}`);
  assert.equal(wide.instances.find((i) => i.setup.role === 'decode')?.setup.engine.kvBlocksTotal, kvNarrow, 'decode instances keep the TP1 budget');
  const ttft = (cluster: typeof wide) => {
    const { sim } = createSimulation({ workload: one(16384), cluster, seed: 1, policy: { disaggregation: 'always' } });
    const records = sim.run();
    const rec = records[0];
    assert.ok(rec?.end.kind === 'completed' && rec.firstTokenS !== undefined);
    assert.equal(sim.stats.kvFailures, 0);
    const p = prefillOf(cluster)?.setup.instanceId as string;
    return { s: rec.firstTokenS - rec.arrivalS, view: sim.sched.instanceView(p) };
  };
  const a = ttft(wide);
  const b = ttft(narrow);
  assert.equal(a.view.numGpus, 4);
  assert.equal(a.view.kvBlocksTotal, kvWide);
  assert.ok(a.s < b.s / 2.5, `16K-token prefill: TP4 ${a.s.toFixed(3)} s vs TP1 ${b.s.toFixed(3)} s`);
  // The placement cost model prices each instance at its own degree.
  const { sim, cost } = createSimulation({ workload: one(64), cluster: wide, seed: 1 });
  const p = sim.sched.instanceView('node0/i0');
  const d = sim.sched.instanceView('node0/i1');
  assert.ok(cost.prefillS(p, 16384, 0) < cost.prefillS(d, 16384, 0) / 2.5);
  assert.ok(Math.abs(cost.prefillS(p, 16384, 0) - a.s) / a.s < 0.35, 'the cost model agrees with the simulated step');
  assert.deepEqual(Object.keys(cost.fitReport()).sort(), ['llama-3.1-70b/tp1', 'llama-3.1-70b/tp4']);
});

test('per-role degrees that are all one degree: the same cluster and the same records as the one-number form', () => {
  const roles = { prefill: 1, decode: 2 };
  const a = build({ preset: 'hgx-b200x8', roles, tensorParallel: 2 });
  const b = build({ preset: 'hgx-b200x8', roles, tensorParallel: { prefill: 2, decode: 2, mixed: 2 } });
  assert.equal(b.tensorParallelByRole, undefined);
  assert.deepEqual(b, a);
  const w = openMix({ seed: 9, count: 150, ratePerS: 12 });
  const ra = runSimulation({ workload: w, cluster: { preset: 'hgx-b200x8', roles: { prefill: 2, decode: 3 } }, seed: 4, policy: { disaggregation: 'shape-aware' } });
  const rb = runSimulation({ workload: w, cluster: { preset: 'hgx-b200x8', roles: { prefill: 2, decode: 3 }, tensorParallel: { prefill: 1, decode: 1 } }, seed: 4, policy: { disaggregation: 'shape-aware' } });
  assert.ok(ra.disagg.disaggregated > 0);
  assert.deepEqual(rb.records, ra.records);
});

test('a disaggregated run on TP4 prefill + TP1 decode: every request ends once, no KV failure, nothing left held', () => {
  const w = openMix({ seed: 3, count: 160, ratePerS: 8, meanPromptTokens: 6000 });
  const { sim } = createSimulation({ workload: w, cluster: { preset: 'hgx-b200x8', roles: { prefill: 1, decode: 3 }, tensorParallel: { prefill: 4, decode: 1 } }, seed: 2, policy: { disaggregation: 'always', migration: 'load-balance' } });
  const records = sim.run();
  assert.equal(new Set(records.map((r) => r.requestId)).size, 160);
  assert.equal(sim.stats.stalled, 0);
  assert.equal(sim.stats.kvFailures, 0);
  assert.ok(sim.sched.disaggStats().handoffs > 100);
  for (const id of sim.sched.instanceIds()) assert.equal(sim.sched.instanceView(id).kvBlocksUsed, 0, id);
});
