import assert from 'node:assert/strict';
import { test } from 'node:test';

import path from 'node:path';

import { resolveCluster, createSimulation } from '../scheduler/sim/run.js';
import { sharedDir } from '../scheduler/util/paths.js';
import { disaggConfigs, disaggScenarios, migrationScenario, mooncakeRackScenarios, simOptions, type RunSetup } from './disagg_configs.js';

// The bench's migration scenario exactly as `nvlsched bench disagg --scenario migration` runs it, at load 3.5
// (its common load for seed 1): reasoning bursts on a 64K-token KV budget per B200, the whole policy, migration off/on.
const SETUP: RunSetup = { cluster: 'hgx-b200x8', model: 'llama-3.1-70b', roles: { prefill: 2, decode: 4 }, seed: 1 };
const LOAD = 3.5;
const config = (name: string) => disaggConfigs().find((c) => c.name === name) as NonNullable<ReturnType<typeof disaggConfigs>[number]>;

function run(name: string) {
  const { sim } = createSimulation({ ...simOptions(migrationScenario(), config(name), LOAD, SETUP), traceTokens: true });
  const records = sim.run();
  return { sim, records, d: sim.sched.disaggStats() };
}

test('scenario selection: migration alone, or after the others; --quick leaves it out', () => {
  assert.deepEqual(disaggScenarios('/t', false, 'migration').map((s) => s.name), [migrationScenario().name]);
  assert.deepEqual(disaggScenarios('/t', false).map((s) => s.trace), [null, '/t/AzureLLMInferenceTrace_code.csv', ...Array(3).fill('/t/synthetic_trace.jsonl'), 'reasoning-bursts']);
  assert.deepEqual(disaggScenarios('/t', false, 'traces').length, 5);
  assert.deepEqual(disaggScenarios('/t', false, 'mooncake').map((s) => s.cluster ?? 'run'), ['run', 'gb200-nvl72', 'gb200-nvl72']);
  assert.deepEqual(disaggScenarios(null, false, 'mooncake'), []);
  assert.deepEqual(disaggScenarios(null, true).map((s) => s.name), ['default mix']);
  for (const name of migrationScenario().configs ?? []) assert.ok(config(name), `${name} is a known config`);
});

test('migration scenario: moves fire, every token stream stays whole and in order, fewer preemptions, same seed → same moves', () => {
  const on = run('aggregated+migration');
  assert.ok(on.d.migrationsDone >= 20, `migrations fired (${on.d.migrationsDone})`);
  assert.equal(on.d.migrationPausesS.length, on.d.migrationsDone);
  assert.ok(on.d.migrationBytes > 0);
  for (const p of on.d.migrationPausesS) assert.ok(p > 0 && p < 0.005, `pause ${p}s within the policy's 5 ms bound`);
  // The gap the client sees spans the stop-and-copy plus a step boundary on each side: one per move, longer than
  // the copy, shorter than a few steps.
  assert.equal(on.sim.migrationGapsS.length, on.d.migrationsDone);
  const minPause = Math.min(...on.d.migrationPausesS);
  for (const g of on.sim.migrationGapsS) assert.ok(g > minPause && g < 1, `token gap ${g}s across a move`);
  assert.equal(on.sim.stats.kvFailures, 0, 'the native KV manager never refused');
  assert.equal(on.sim.stats.stalled, 0);
  let completed = 0;
  for (const r of on.records) {
    if (r.end.kind !== 'completed') continue;
    completed++;
    const times = on.sim.tokenTimes?.get(r.requestId) ?? [];
    assert.equal(times.length, r.outputTokens, `${r.requestId}: every token once`);
    for (let i = 1; i < times.length; i++) assert.ok((times[i] as number) > (times[i - 1] as number), `${r.requestId}: token ${i} after token ${i - 1}`);
    assert.equal(times[0], r.firstTokenS);
    assert.equal(times[times.length - 1], r.endS);
  }
  // The rest were refused at submit (all eight instances momentarily without the blocks a prompt needs), never cut.
  for (const r of on.records) if (r.end.kind !== 'completed') assert.equal(r.end.kind, 'rejected', `${r.requestId}: ${JSON.stringify(r.end)}`);
  assert.ok(completed >= 0.99 * on.records.length, `${completed} of ${on.records.length} completed`);
  for (const id of on.sim.sched.instanceIds()) assert.equal(on.sim.sched.instanceView(id).kvBlocksUsed, 0, `${id}: no KV block left held`);

  const off = run('aggregated');
  assert.equal(off.d.migrationsStarted, 0);
  assert.equal(off.sim.migrationGapsS.length, 0);
  const preemptions = (rs: typeof on.records) => rs.reduce((n, r) => n + r.preemptions, 0);
  // The measured effect of the seed-1 run (EVALUATION.md): 118 → 87 preemptions.
  assert.ok(preemptions(off.records) > 0, 'the scenario is KV-bound: preemptions without migration');
  assert.ok(preemptions(on.records) < preemptions(off.records), `migration avoids preemptions (${preemptions(on.records)} vs ${preemptions(off.records)})`);

  const again = run('aggregated+migration');
  assert.deepEqual(again.d, on.d, 'same seed: the same migrations, bytes and pauses');
  assert.deepEqual(again.records, on.records);
});

test('Mooncake on the rack: prefill instances at TP4, decode at TP1, filling the 72 GPUs; the TP4 prefill keeps chat TTFT', (t) => {
  const [wide, narrow] = mooncakeRackScenarios('/t', 120);
  assert.ok(wide && narrow);
  const shape = (s: typeof wide) => {
    const cluster = resolveCluster(simOptions({ ...s, trace: null }, config('shape-aware'), 1, SETUP).cluster, SETUP.model);
    const gpus = (role: string) => cluster.instances.filter((i) => (i.setup.role ?? 'mixed') === role).map((i) => i.setup.members.reduce((n, m) => n + m.gpus.length, 0));
    return { prefill: gpus('prefill'), decode: gpus('decode'), mixed: gpus('mixed') };
  };
  assert.deepEqual(shape(wide), { prefill: Array(8).fill(4), decode: Array(40).fill(1), mixed: [] });
  assert.deepEqual(shape(narrow), { prefill: Array(32).fill(1), decode: Array(40).fill(1), mixed: [] });
  const shared = sharedDir();
  if (!shared) return t.skip('../shared/data/traces not present');
  // 20 simulated s at load 8: the same requests on both racks; the long cold prompts miss 1 s far less often at TP4.
  const traces = path.join(shared, 'data', 'traces');
  const ttftMissed = (s: typeof wide) => {
    const { sim } = createSimulation(simOptions({ ...s, trace: path.join(traces, 'synthetic_trace.jsonl'), durationS: 20 }, config('shape-aware'), 8, SETUP));
    const records = sim.run();
    assert.equal(sim.stats.kvFailures, 0);
    assert.equal(sim.stats.stalled, 0);
    assert.ok(sim.sched.disaggStats().handoffs > 50, 'long cold prompts go to the prefill instances');
    const done = records.filter((r) => r.firstTokenS !== undefined);
    return done.filter((r) => (r.firstTokenS as number) - r.arrivalS > r.slo.ttftS).length / done.length;
  };
  const missWide = ttftMissed(wide);
  const missNarrow = ttftMissed(narrow);
  assert.ok(missWide < missNarrow / 2, `TTFT SLO missed: ${(missWide * 100).toFixed(1)} % at TP4 prefill vs ${(missNarrow * 100).toFixed(1)} % at TP1`);
});
