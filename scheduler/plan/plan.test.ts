// `tune --search-roles` end to end on the real simulator (tiny: hgx-b200x8 at TP4, 2 instances, 5 → 10 simulated s):
// flags refused naming the flag, the same seed giving the same plan, a slot that ignores roles giving no split an
// edge over all-mixed, and the --out YAML round trip (config check's loader; simulate --config runs the chosen
// split and reproduces its attainment at the capacity exactly).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';

import { parseSimulateArgs, realEngines, runSimulate } from '../cli/simulate.js';
import { loadSchedulerConfigText } from '../core/scheduler_config.js';
import { readClusterConfig } from '../sim/cluster.js';
import { parsePlanArgs, runPlan, type PlanArgs } from './cli.js';
import { clusterFromPools } from './pools_cluster.js';

const dir = mkdtempSync(path.join(tmpdir(), 'plan-'));
const TINY = ['--search-roles', '--cluster', 'hgx-b200x8', '--model', 'llama-3.1-70b', '--tp', '4', '--min-duration', '5', '--duration', '10', '--seed', '3'];

function parsed(argv: string[]): PlanArgs {
  const args = parsePlanArgs(argv);
  assert.notEqual(args, 'help');
  return args as PlanArgs;
}

async function plan(argv: string[]): Promise<{ stdout: string; stderr: string; json: Record<string, any> }> {
  const jsonPath = path.join(dir, `plan-${Math.random().toString(36).slice(2)}.json`);
  let stdout = '';
  const stderr = new PassThrough();
  let err = '';
  stderr.on('data', (d) => (err += String(d)));
  await runPlan(parsed([...argv, '--json', jsonPath]), { stdout: (t) => (stdout += t), stderr }, argv);
  return { stdout, stderr: err, json: JSON.parse(readFileSync(jsonPath, 'utf8')) };
}

test('bad --search-roles flags are refused with one line naming the flag', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['--tp', '2,x'], /--tp: expected comma-separated integers/],
    [['--role-step', '0'], /--role-step must be an integer ≥ 1/],
    [['--disaggregation', 'sometimes'], /--disaggregation: unknown 'sometimes'; allowed: shape-aware/],
    [['--migration', 'often'], /--migration: unknown 'often'/],
    [['--policy', 'fastest'], /--policy: unknown 'fastest'/],
    [['--target', '1.5'], /--target must be in \(0, 1\]/],
    [['--eta', '1'], /--eta must be an integer in \[2, 16\]/],
    [['--min-duration', '60', '--duration', '30'], /--min-duration \(60\) must be ≤ --duration \(30\)/],
    [['--samples', '8'], /--samples is a policy-tuning flag; it does not apply with --search-roles/],
    [['--redis', 'redis://127.0.0.1:1'], /--redis is a policy-tuning flag/],
    [['--out', '/no/such/dir/best.yaml'], /--out: directory '\/no\/such\/dir' does not exist/],
    [['--model', 'gpt-9'], /--model: unknown 'gpt-9'/],
    [['--rate-scale', '0'], /--rate-scale must be > 0/],
  ];
  for (const [argv, message] of cases) {
    assert.throws(() => parsePlanArgs(['--search-roles', ...argv]), (e: Error & { code?: string }) => e.code === 'E_USAGE' && message.test(e.message), argv.join(' '));
  }
  const sink = { stdout: () => undefined, stderr: new PassThrough() };
  await assert.rejects(runPlan(parsed(['--search-roles', '--cluster', 'hgx-b200x8', '--tp', '3']), sink), (e: Error & { code?: string }) => e.code === 'E_USAGE' && /^--tp: tensorParallel: .*expected one of 1, 2, 4, 8, got 3/.test(e.message));
  await assert.rejects(runPlan(parsed(['--search-roles', '--cluster', 'hgx-h100x8', '--model', 'deepseek-r1']), sink), (e: Error & { code?: string }) => e.code === 'E_USAGE' && /^--model: .*do not fit/.test(e.message));
  await assert.rejects(runPlan(parsed(['--search-roles', '--cluster', 'no-such-rack']), sink), (e: Error & { code?: string }) => e.code === 'E_USAGE' && /^--cluster: /.test(e.message));
  const a = parsed(['--search-roles']);
  assert.deepEqual([a.eta, a.minDurationS, a.maxDurationS, a.target, a.startLoad, a.policy.disaggregation, a.policy.migration], [3, 30, 120, 0.9, 1, 'shape-aware', 'none']);
});

test('the same seed gives the same plan; the table and --json carry every candidate', async () => {
  const one = await plan(TINY);
  const two = await plan(TINY);
  assert.deepEqual(one.json.candidates, two.json.candidates);
  assert.equal(one.json.best.candidate, two.json.best.candidate);
  // Ours treats decode instances as mixed ones, so p1-d1 (the same run as p1-d0) is not searched.
  assert.deepEqual(one.json.candidates.filter((c: any) => c.rung === 0).map((c: any) => c.candidate), ['tp4-mixed', 'tp4-p1-d0']);
  assert.ok(one.json.best.capacity > 0 && one.json.best.at_capacity.slo_attainment >= 0.9);
  assert.match(one.stdout, /\| 1 \| .* \| 4 \| 8 \| /);
  assert.match(one.stdout, /all mixed \(2\)/);
  assert.match(one.stderr, /plan: \[#+\.*\] 1\/\d+ splits, rung 1\/2/);
});

test('a disaggregation slot that ignores roles gives no split an edge: every split ties with all-mixed, which wins the tie', async () => {
  const { json } = await plan([...TINY, '--disaggregation', 'aggregated']);
  const first = json.candidates.filter((c: any) => c.rung === 0);
  assert.equal(first.length, 3);
  for (const c of first) {
    assert.equal(c.capacity, first[0].capacity, c.id);
    assert.deepEqual(c.at_capacity, first[0].at_capacity, c.id);
    assert.equal(c.at_capacity.disaggregated, 0, c.id);
  }
  assert.equal(json.best.candidate, 'tp4-mixed');
  assert.equal(json.best_vs_baseline, 1);
});

test('--out round trip: the YAML loads as a scheduler config and simulate --config runs that split, reproducing its attainment', async () => {
  const out = path.join(dir, 'best.yaml');
  const { json } = await plan([...TINY, '--disaggregation', 'always', '--out', out]);
  const text = readFileSync(out, 'utf8');
  const config = loadSchedulerConfigText(text, out);
  const pool = config.pools[0];
  assert.equal(pool?.instances?.tensorParallel, 4);
  assert.equal(pool?.instances?.count, 2);
  const best = json.best;
  const wantRoles = best.prefill + best.decode === 0 ? undefined : [...Array(best.prefill).fill('prefill'), ...Array(best.decode).fill('decode'), ...Array(best.mixed).fill('mixed')];
  assert.deepEqual(pool?.roles, wantRoles);
  const report = path.join(dir, 'sim.json');
  const args = parseSimulateArgs(['--config', out, '--cluster', 'hgx-b200x8', '--model', 'llama-3.1-70b', '--rate-scale', String(best.capacity), '--duration', '10', '--seed', '3', '--json', report]);
  assert.ok(args !== 'help' && args.config?.pools);
  await runSimulate(args, await realEngines(), { stdout: () => undefined, stderr: () => undefined });
  const sim = JSON.parse(readFileSync(report, 'utf8'));
  assert.equal(sim.overall.slo_attainment, best.at_capacity.slo_attainment);
  assert.equal(sim.overall.requests, best.at_capacity.requests);
});

test('a pool that does not fit the simulated cluster is refused naming the field', () => {
  const cluster = readClusterConfig('hgx-b200x8');
  const pools = loadSchedulerConfigText([
    'pools:',
    '  - {name: a, kind: self_hosted, model: llama-3.1-70b, instances: {gpu: b200, tensorParallel: 2, count: 3}}',
  ].join('\n'), 'x.yaml').pools;
  assert.throws(() => clusterFromPools(cluster, 'llama-3.1-70b', pools), /pools\[0\]\.instances\.count: the simulator fills each 8-GPU domain of hgx-b200x8 with 4 instances at tensorParallel 2, got 3/);
  assert.throws(() => clusterFromPools(readClusterConfig('hgx-h100x8'), 'llama-3.1-70b', pools), /pools\[0\]\.instances\.gpu: b200, but the cluster hgx-h100x8 has h100 GPUs/);
  assert.equal(clusterFromPools(cluster, 'qwen3-coder-480b', pools), undefined, 'no pool of the simulated model: the cluster as given');
});

test('per-role degrees end to end (hgx-b200x8, prefill TP4 with the rest at TP2): run, ranked, and the --cluster-out file replays the best', async () => {
  const argv = ['--search-roles', '--cluster', 'hgx-b200x8', '--model', 'llama-3.1-70b', '--tp', '2', '--prefill-tp', '4', '--role-step', '2', '--min-duration', '5', '--duration', '10', '--seed', '3', '--disaggregation', 'always'];
  const out = path.join(dir, 'best-roles.yaml');
  const clusterOut = path.join(dir, 'best-cluster.yaml');
  const { json, stdout, stderr } = await plan([...argv, '--out', out, '--cluster-out', clusterOut]);
  const first = json.candidates.filter((c: any) => c.rung === 0);
  // --role-step 2: counts 2 apart, the end of each range kept (TP2: 4 instances; TP4 + TP2: one prefill, two at TP2).
  assert.deepEqual(first.map((c: any) => c.candidate), ['tp2-mixed', 'tp2-p2-d0', 'tp2-p2-d2', 'tp2-p3-d0', 'tp2-p3-d1', 'ptp4-tp2-p1-d0', 'ptp4-tp2-p1-d2']);
  assert.deepEqual(json.role_pairs, [{ prefill: 4, decode: 2 }]);
  for (const c of first.filter((t: any) => t.prefill_tensor_parallel === 4)) {
    assert.equal(c.tensor_parallel, 2);
    assert.equal(c.gpus, 8);
    assert.ok(c.capacity > 0, `${c.candidate} served something`);
    assert.ok(c.at_capacity.disaggregated > 0, `${c.candidate} handed requests from its TP4 prefill instance`);
  }
  assert.match(stdout, /\| 4\/2 \| 8 \| /);
  assert.match(stderr, /per-role prefill\/rest 4\/2/);
  // The cluster file reads back as the best split, and simulate --cluster reproduces its attainment at the capacity.
  const { loadClusterConfig } = await import('../sim/cluster_file.js');
  const file = loadClusterConfig(clusterOut);
  const best = json.best;
  const perRole = best.prefill_tensor_parallel !== best.tensor_parallel;
  assert.deepEqual(file.roleTensorParallel ?? file.tensorParallel, perRole ? { prefill: 4, decode: 2, mixed: 2 } : 2);
  assert.match(readFileSync(out, 'utf8'), perRole ? /does not fit a pools section/ : /pools:/);
  const report = path.join(dir, 'sim-roles.json');
  const args = parseSimulateArgs(['--config', out, '--cluster', clusterOut, '--rate-scale', String(best.capacity), '--duration', '10', '--seed', '3', '--json', report]);
  assert.ok(args !== 'help');
  await runSimulate(args, await realEngines(), { stdout: () => undefined, stderr: () => undefined });
  const sim = JSON.parse(readFileSync(report, 'utf8'));
  assert.equal(sim.overall.slo_attainment, best.at_capacity.slo_attainment);
  assert.equal(sim.overall.requests, best.at_capacity.requests);
});

test('a per-role best writes no pool (a pool has one tensorParallel) and a cluster file that builds the split', async () => {
  const { planConfigYaml, planClusterYaml } = await import('./output.js');
  const { enumerateSplits } = await import('./candidates.js');
  const { loadClusterConfig } = await import('../sim/cluster_file.js');
  const { buildCluster } = await import('../sim/cluster.js');
  const cluster = loadClusterConfig('gb200-nvl72x2');
  const e = enumerateSplits({ cluster, model: 'llama-3.1-70b', tensorParallel: [1], prefillTensorParallel: [4] });
  const candidate = e.candidates.find((c) => c.id === 'ptp4-tp1-p12-d24');
  assert.ok(candidate);
  const trial = { id: 'r1-x', rung: 1, candidate, index: 1, duration_s: 10, capacity: 2, first_failing: 2.5, stop: 'x', probes: [], at_capacity: null };
  const info = { command: 'nvlsched tune', workload: 'w', cluster: cluster.name, model: 'llama-3.1-70b', policy: { disaggregation: 'shape-aware' }, load: 'rate_scale' as const, target: 0.9, eta: 3, minDurationS: 5, maxDurationS: 10, seed: 1, goodput: [], wallS: 1 };
  const yaml = planConfigYaml(trial, { ...trial, candidate: e.candidates[0] as typeof candidate }, cluster, 'llama-3.1-70b', info);
  assert.equal(loadSchedulerConfigText(yaml, 'x.yaml').policyName !== undefined, true);
  assert.doesNotMatch(yaml, /^pools:/m);
  const clusterFile = path.join(dir, 'nvl72-roles.yaml');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(clusterFile, planClusterYaml(trial, trial, cluster, 'llama-3.1-70b', info));
  const built = buildCluster(loadClusterConfig(clusterFile));
  assert.equal(built.numDomains, 2);
  assert.deepEqual(built.tensorParallelByRole, { prefill: 4, decode: 1, mixed: 1 });
  assert.equal(built.instances.filter((i) => i.setup.role === 'prefill').length, 2 * 12);
  assert.equal(built.instances.length, 2 * (12 + 24 + 0));
});
