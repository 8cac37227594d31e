import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import { paramBytes, getModel } from '../perf/models.js';
import { GPUS } from '../perf/gpus.js';
import { buildCluster, readClusterConfig } from './cluster.js';
import { loadClusterConfig } from './cluster_file.js';
import { parsePresetName } from './presets.js';
import { WEIGHT_SHARE_TARGET } from './sizing.js';

const PRESETS: Array<{ preset: string; model: string; gpus: number; tp: number; ep: number; instances: number; workers: number }> = [
  { preset: 'gb200-nvl72', model: 'llama-3.1-70b', gpus: 72, tp: 1, ep: 1, instances: 72, workers: 18 },
  { preset: 'gb200-nvl72x4', model: 'llama-3.1-70b', gpus: 288, tp: 1, ep: 1, instances: 288, workers: 72 },
  { preset: 'gb200-nvl72', model: 'deepseek-r1', gpus: 72, tp: 8, ep: 8, instances: 9, workers: 18 },
  { preset: 'gb200-nvl72', model: 'llama-3.1-405b', gpus: 72, tp: 4, ep: 1, instances: 18, workers: 18 },
  { preset: 'gb300-nvl72', model: 'qwen3-coder-480b', gpus: 72, tp: 4, ep: 4, instances: 18, workers: 18 },
  { preset: 'hgx-h100x8', model: 'llama-3.1-70b', gpus: 8, tp: 2, ep: 1, instances: 4, workers: 1 },
  { preset: 'hgx-h200x8', model: 'deepseek-r1', gpus: 8, tp: 8, ep: 8, instances: 1, workers: 1 },
  { preset: 'hgx-b200x8x3', model: 'llama-3.1-70b', gpus: 24, tp: 1, ep: 1, instances: 24, workers: 3 },
];

for (const c of PRESETS) {
  test(`preset ${c.preset} with ${c.model}: TP${c.tp}/EP${c.ep}, ${c.instances} instances on ${c.workers} workers`, () => {
    const cluster = buildCluster(readClusterConfig(c.preset), { model: c.model });
    assert.equal(cluster.numGpus, c.gpus);
    assert.equal(cluster.tensorParallel, c.tp);
    assert.equal(cluster.expertParallel, c.ep);
    assert.equal(cluster.instances.length, c.instances);
    assert.equal(cluster.workers.length, c.workers);
    assert.equal(cluster.pool.model, c.model);
    assert.equal(cluster.pool.maxContextTokens, getModel(c.model).maxContextTokens);
    // Weights within the target share at the chosen TP, and not at half of it (the smallest degree wins).
    const weights = (tp: number) => paramBytes(cluster.model, cluster.weightDtype) / tp;
    assert.ok(weights(c.tp) <= WEIGHT_SHARE_TARGET * GPUS[cluster.gpu].hbmBytes);
    if (c.tp > 1) assert.ok(weights(c.tp / 2) > WEIGHT_SHARE_TARGET * GPUS[cluster.gpu].hbmBytes);
    assert.ok(cluster.engine.kvBlocksTotal > 1000 && cluster.engine.hostKvBlocksTotal > 0);
    // Every GPU of a domain belongs to at most one instance; members are tray-local and each instance stays in its domain.
    const seen = new Set<string>();
    for (const inst of cluster.instances) {
      const n = inst.setup.members.reduce((k, m) => k + m.gpus.length, 0);
      assert.equal(n, c.tp);
      for (const m of inst.setup.members) {
        assert.ok(m.workerId.startsWith(`${inst.setup.domainId}/`), `${m.workerId} in ${inst.setup.domainId}`);
        for (const g of m.gpus) {
          assert.ok(g >= 0 && g < cluster.trayTopology.gpusPerTray);
          assert.ok(!seen.has(`${m.workerId}:${g}`));
          seen.add(`${m.workerId}:${g}`);
        }
      }
      const leader = cluster.workers[inst.leaderWorker];
      assert.equal(leader?.workerId, inst.setup.members[0]?.workerId);
      assert.equal(inst.leaderGpu, inst.setup.members[0]?.gpus[0]);
    }
    const hostBlocks = cluster.workers.reduce((k, w) => k + w.hostBlocks, 0);
    assert.equal(hostBlocks, cluster.instances.length * cluster.engine.hostKvBlocksTotal);
  });
}

test('GB200 trays hold 4 GPUs; a TP8 instance spans two trays of its rack', () => {
  const cluster = buildCluster(readClusterConfig('gb200-nvl72x4'), { model: 'deepseek-r1' });
  const inst = cluster.instances[10];
  assert.deepEqual(inst?.setup.members, [{ workerId: 'rack1/tray2', gpus: [0, 1, 2, 3] }, { workerId: 'rack1/tray3', gpus: [0, 1, 2, 3] }]);
  assert.equal(inst?.setup.domainId, 'rack1');
  assert.equal(inst?.setup.instanceId, 'rack1/i1');
  assert.equal(cluster.trayTopology.traysPerDomain, 1);
  assert.equal(cluster.trayTopology.gpusPerTray, 4);
});

test('overrides: tensorParallel, racks, engine fields, dtypes', () => {
  const cluster = buildCluster(readClusterConfig({ preset: 'gb200-nvl72', racks: 2, tensorParallel: 2, weightDtype: 'bf16', engine: { stepTokenBudget: 4096, kvBlocksTotal: 1000 } }));
  assert.equal(cluster.tensorParallel, 2);
  assert.equal(cluster.instances.length, 72);
  assert.equal(cluster.engine.stepTokenBudget, 4096);
  assert.equal(cluster.engine.kvBlocksTotal, 1000);
  assert.equal(cluster.name, 'gb200-nvl72x2');
  assert.equal(cluster.perf.gemmDtype, 'bfloat16');
  assert.equal(buildCluster(readClusterConfig({ racks: 3 })).name, 'gb200-nvl72x3', 'racks alone: GB200 NVL72 racks');
  const byGpu = buildCluster(readClusterConfig({ gpu: 'h200', racks: 2, model: 'llama-3.1-70b' }));
  assert.equal(byGpu.numGpus, 16);
  assert.equal(byGpu.instances[0]?.setup.domainId, 'node0');
});

test('preset names: bases, xN suffixes, unknowns', () => {
  assert.equal(parsePresetName('gb200-nvl72x4')?.numDomains, 4);
  assert.equal(parsePresetName('hgx-h100x8')?.numDomains, 1);
  assert.equal(parsePresetName('hgx-h100x8x2')?.numDomains, 2);
  assert.equal(parsePresetName('gb200-nvl72x0'), undefined);
  assert.equal(parsePresetName('gb200'), undefined);
});

const BAD: Array<{ name: string; value: unknown; model?: string; field: string }> = [
  { name: 'unknown preset', value: 'gb200-nvl36', field: 'cluster.preset' },
  { name: 'neither preset nor racks', value: { model: 'llama-3.1-70b' }, field: 'cluster.preset' },
  { name: 'unknown key', value: { preset: 'gb200-nvl72', rack: 2 }, field: 'cluster.rack' },
  { name: 'racks 0', value: { preset: 'gb200-nvl72', racks: 0 }, field: 'cluster.racks' },
  { name: 'racks not an integer', value: { preset: 'gb200-nvl72', racks: 1.5 }, field: 'cluster.racks' },
  { name: 'gpu disagrees with preset', value: { preset: 'gb200-nvl72', gpu: 'h100' }, field: 'cluster.gpu' },
  { name: 'unknown gpu', value: { gpu: 'a100' }, field: 'cluster.gpu' },
  { name: 'unknown model', value: { preset: 'gb200-nvl72', model: 'gpt-5' }, field: 'cluster.model' },
  { name: 'tensorParallel not dividing heads', value: { preset: 'gb200-nvl72', tensorParallel: 3 }, field: 'cluster.tensorParallel' },
  { name: 'tensorParallel beyond an HGX node', value: { preset: 'hgx-h100x8', tensorParallel: 16 }, field: 'cluster.tensorParallel' },
  { name: 'model too big for the domain', value: 'hgx-h100x8', model: 'deepseek-r1', field: 'cluster.model' },
  { name: 'TP too small for the weights', value: { preset: 'gb200-nvl72', tensorParallel: 1, model: 'llama-3.1-405b' }, field: 'cluster.tensorParallel' },
  { name: 'weights over 90% of HBM with no reserve', value: { preset: 'gb200-nvl72', tensorParallel: 4, model: 'deepseek-r1', deviceReserveFraction: 0 }, field: 'cluster.tensorParallel' },
  { name: 'fp4 on Hopper', value: { preset: 'hgx-h100x8', weightDtype: 'fp4' }, field: 'cluster.weightDtype' },
  { name: 'bad kvDtype', value: { preset: 'gb200-nvl72', kvDtype: 'int8' }, field: 'cluster.kvDtype' },
  { name: 'bad engine field', value: { preset: 'gb200-nvl72', engine: { stepTokenBudget: '8k' } }, field: 'cluster.engine.stepTokenBudget' },
  { name: 'unknown engine field', value: { preset: 'gb200-nvl72', engine: { maxBatch: 8 } }, field: 'cluster.engine.maxBatch' },
  { name: 'hostKvFraction above 1', value: { preset: 'gb200-nvl72', hostKvFraction: 2 }, field: 'cluster.hostKvFraction' },
];

for (const c of BAD) {
  test(`bad cluster config (${c.name}) names ${c.field}`, () => {
    assert.throws(() => buildCluster(readClusterConfig(c.value), c.model ? { model: c.model } : {}), (e: Error & { field?: string }) => {
      assert.equal(e.field, c.field, e.message);
      assert.ok(e.message.startsWith(`${c.field}: `), e.message);
      return true;
    });
  });
}

test('cluster files: YAML and JSON, errors name the field, missing files name the choice', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'nvlsched-cluster-'));
  const yamlFile = path.join(dir, 'c.yaml');
  writeFileSync(yamlFile, 'name: two-racks\npreset: gb300-nvl72\nracks: 2\nmodel: llama-3.1-70b\ntensorParallel: 2\n');
  const cluster = buildCluster(loadClusterConfig(yamlFile));
  assert.equal(cluster.name, 'two-racks');
  assert.equal(cluster.numGpus, 144);
  assert.equal(cluster.instances.length, 72);
  const jsonFile = path.join(dir, 'c.json');
  writeFileSync(jsonFile, JSON.stringify({ preset: 'hgx-b200x8', racks: -1 }));
  assert.throws(() => loadClusterConfig(jsonFile), /^ConfigError: cluster\.racks: expected an integer ≥ 1/);
  const broken = path.join(dir, 'broken.yaml');
  writeFileSync(broken, 'preset: [unclosed\n');
  assert.throws(() => loadClusterConfig(broken), /cluster: cannot parse .*broken\.yaml/);
  assert.throws(() => loadClusterConfig(path.join(dir, 'none.yaml')), /cluster: ".*none\.yaml" is neither a preset \(gb200-nvl72, gb200-nvl72x4/);
  assert.equal(loadClusterConfig('gb200-nvl72x4').numDomains, 4);
});
