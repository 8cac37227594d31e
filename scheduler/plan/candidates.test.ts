// Candidate enumeration: every feasible split of one domain, pruned by memory and symmetry, the sizing rule's
// all-mixed baseline first; bad options name the field.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ConfigError } from '../core/config/params.js';
import { loadClusterConfig } from '../sim/cluster_file.js';
import { readClusterConfig } from '../sim/cluster.js';
import { buildCluster } from '../sim/cluster.js';
import { clusterFor, enumerateSplits, roleSplitsOf, splitsOf } from './candidates.js';

test('hgx-b200x8, llama-3.1-70b: every split of 8/4/2/1 instances, baseline first, no equivalent duplicates', () => {
  const e = enumerateSplits({ cluster: loadClusterConfig('hgx-b200x8'), model: 'llama-3.1-70b', prefillTensorParallel: 'same' });
  assert.deepEqual(e.rolePairs, []);
  const byTp = new Map<number, number>();
  for (const c of e.candidates) byTp.set(c.tensorParallel, (byTp.get(c.tensorParallel) ?? 0) + 1);
  // n instances: the baseline + Σ_{p=1}^{n-1} (n − p + 1) splits (d from 0 to n − p).
  const expected = (n: number) => 1 + Array.from({ length: Math.max(0, n - 1) }, (_, i) => n - (i + 1) + 1).reduce((a, b) => a + b, 0);
  assert.deepEqual([...byTp], [[1, expected(8)], [2, expected(4)], [4, expected(2)], [8, expected(1)]]);
  assert.equal(e.candidates.length, 36 + 10 + 3 + 1);
  assert.equal(e.candidates[0]?.id, 'tp1-mixed');
  assert.equal(e.defaultTensorParallel, 1);
  assert.equal(new Set(e.candidates.map((c) => c.id)).size, e.candidates.length);
  for (const c of e.candidates) {
    assert.equal(c.prefill + c.decode + c.mixed, c.instances, c.id);
    assert.equal(c.instances, 8 / c.tensorParallel, c.id);
    assert.equal(c.gpus, 8, c.id);
    if (c.baseline) assert.equal(c.prefill + c.decode, 0);
    // Symmetry: no prefill instance = the baseline under another name; all prefill = nothing to decode on.
    else assert.ok(c.prefill >= 1 && c.prefill < c.instances, c.id);
  }
  assert.ok(e.candidates.some((c) => c.id === 'tp1-p7-d1') && e.candidates.some((c) => c.id === 'tp1-p1-d0'));
  assert.ok(!e.candidates.some((c) => c.id === 'tp1-p0-d4'));
});

test('memory pruning: degrees at which the weights do not fit are dropped with the reason; nothing fits = an error naming model', () => {
  const cluster = readClusterConfig({ preset: 'hgx-h100x8', weightDtype: 'bf16' });
  const e = enumerateSplits({ cluster, model: 'llama-3.1-70b' });
  assert.deepEqual(e.pruned.map((p) => p.tensorParallel), [1]);
  assert.match(e.pruned[0]?.reason ?? '', /weights/);
  assert.ok(e.candidates.every((c) => c.tensorParallel >= 2));
  assert.equal(e.candidates[0]?.id, `tp${e.defaultTensorParallel}-mixed`);
  assert.throws(() => enumerateSplits({ cluster: loadClusterConfig('hgx-h100x8'), model: 'deepseek-r1' }),
    (err: unknown) => err instanceof ConfigError && err.field === 'model' && /do not fit/.test(err.message));
  assert.throws(() => enumerateSplits({ cluster, model: 'llama-3.1-70b', tensorParallel: [1] }),
    (err: unknown) => err instanceof ConfigError && err.field === 'tensorParallel' && /fits none of 1/.test(err.message));
});

test('large domains: a grid of about six levels per role; --role-step overrides; the end of each range stays', () => {
  const e = enumerateSplits({ cluster: loadClusterConfig('gb200-nvl72'), model: 'llama-3.1-70b', tensorParallel: [1] });
  assert.equal(e.steps[1], 12);
  const tp1 = e.candidates.filter((c) => !c.baseline);
  assert.deepEqual([...new Set(tp1.map((c) => c.prefill))], [12, 24, 36, 48, 60, 71]);
  assert.ok(tp1.some((c) => c.prefill === 12 && c.decode === 60), 'all the rest decode (no mixed) stays a candidate');
  assert.deepEqual(splitsOf(3, 1), [{ prefill: 0, decode: 0 }, { prefill: 1, decode: 0 }, { prefill: 1, decode: 1 }, { prefill: 1, decode: 2 }, { prefill: 2, decode: 0 }, { prefill: 2, decode: 1 }]);
  const stepped = enumerateSplits({ cluster: loadClusterConfig('hgx-b200x8'), model: 'llama-3.1-70b', tensorParallel: [1], roleStep: 4 });
  assert.deepEqual(stepped.candidates.map((c) => c.id), ['tp1-mixed', 'tp1-p4-d0', 'tp1-p4-d4', 'tp1-p7-d0', 'tp1-p7-d1']);
});

test('bad options name the field; clusterFor gives the candidate its degree and roles (and drops a file\'s own)', () => {
  const cluster = readClusterConfig({ preset: 'hgx-b200x8', tensorParallel: 2, roles: { prefill: 1, decode: 1 } });
  assert.throws(() => enumerateSplits({ cluster, model: 'llama-3.1-70b', tensorParallel: [3] }),
    (err: unknown) => err instanceof ConfigError && err.field === 'tensorParallel' && /expected one of 1, 2, 4, 8, got 3/.test(err.message));
  assert.throws(() => enumerateSplits({ cluster, model: 'llama-3.1-70b', roleStep: 0 }), (err: unknown) => err instanceof ConfigError && err.field === 'roleStep');
  const e = enumerateSplits({ cluster, model: 'llama-3.1-70b' });
  assert.equal(e.candidates[0]?.id, 'tp1-mixed', 'the file\'s tensorParallel is what the search varies');
  const split = e.candidates.find((c) => c.id === 'tp4-p1-d1');
  assert.ok(split);
  assert.deepEqual([clusterFor(cluster, split).tensorParallel, clusterFor(cluster, split).roles], [4, { prefill: 1, decode: 1 }]);
  const base = e.candidates.find((c) => c.id === 'tp2-mixed');
  assert.ok(base);
  assert.equal(clusterFor(cluster, base).roles, undefined);
});

test('per-role degrees on hgx-b200x8: prefill 2-4x the rest (rest ≤ 2x the sizing rule), every count filling the 8 GPUs', () => {
  const cluster = loadClusterConfig('hgx-b200x8');
  const e = enumerateSplits({ cluster, model: 'llama-3.1-70b' });
  assert.deepEqual(e.rolePairs, [{ prefill: 2, decode: 1 }, { prefill: 4, decode: 1 }, { prefill: 4, decode: 2 }, { prefill: 8, decode: 2 }]);
  const perRole = e.candidates.filter((c) => c.prefillTensorParallel !== c.tensorParallel);
  // 2/1: p 1..3 with 6, 4, 2 TP1 instances left (7 + 5 + 3 splits); 4/1: p 1 with 4 left (5); 4/2: p 1 with 2 (3); 8/2: none.
  assert.equal(perRole.length, 15 + 5 + 3);
  assert.equal(e.candidates.length, 50 + 23);
  assert.equal(e.candidates[0]?.id, 'tp1-mixed', 'the sizing rule\'s baseline stays first');
  assert.equal(new Set(e.candidates.map((c) => c.id)).size, e.candidates.length);
  for (const c of perRole) {
    assert.ok(c.prefill >= 1 && c.decode + c.mixed >= 1 && !c.baseline, c.id);
    assert.equal(c.prefill * c.prefillTensorParallel + (c.decode + c.mixed) * c.tensorParallel, 8, `${c.id} fills the node`);
    assert.equal(c.gpus, 8);
    // The simulator builds it: the roles' instances at their degrees, in the order the candidate counts them.
    const built = buildCluster(clusterFor(cluster, c), { model: 'llama-3.1-70b' });
    const shape = built.instances.map((i) => `${i.setup.role ?? 'mixed'}${i.setup.members.reduce((n, m) => n + m.gpus.length, 0)}`);
    assert.deepEqual(shape, [...Array(c.prefill).fill(`prefill${c.prefillTensorParallel}`), ...Array(c.decode).fill(`decode${c.tensorParallel}`), ...Array(c.mixed).fill(`mixed${c.tensorParallel}`)], c.id);
  }
  const one = perRole.find((c) => c.id === 'ptp4-tp1-p1-d4');
  assert.ok(one);
  assert.deepEqual(clusterFor(cluster, one).roleTensorParallel, { prefill: 4, decode: 1, mixed: 1 });
  assert.equal(clusterFor(cluster, one).tensorParallel, undefined);
  // Chosen degrees: --prefill-tp 4 with --tp 2 is the one pair; 'same' none; a degree the model refuses names the field.
  const chosen = enumerateSplits({ cluster, model: 'llama-3.1-70b', tensorParallel: [2], prefillTensorParallel: [4] });
  assert.deepEqual(chosen.candidates.filter((c) => c.prefillTensorParallel === 4).map((c) => c.id), ['ptp4-tp2-p1-d0', 'ptp4-tp2-p1-d1', 'ptp4-tp2-p1-d2']);
  assert.throws(() => enumerateSplits({ cluster, model: 'llama-3.1-70b', prefillTensorParallel: [3] }),
    (err: unknown) => err instanceof ConfigError && err.field === 'prefillTensorParallel' && /expected one of 1, 2, 4, 8, got 3/.test(err.message));
  assert.deepEqual(roleSplitsOf(72, { prefill: 4, decode: 1 }, undefined).map((s) => s.prefill).filter((p, i, a) => a.indexOf(p) === i), [3, 6, 9, 12, 15, 17]);
  // A file's per-role degrees are what the search varies: dropped like its tensorParallel.
  const file = readClusterConfig({ preset: 'hgx-b200x8', roles: { prefill: 1, decode: 1 }, tensorParallel: { prefill: 4, decode: 1 } });
  assert.equal(enumerateSplits({ cluster: file, model: 'llama-3.1-70b' }).candidates[0]?.id, 'tp1-mixed');
  assert.equal(clusterFor(file, e.candidates[0] as (typeof e.candidates)[number]).roleTensorParallel, undefined);
});

test('decodeLikeMixed: only prefill + mixed splits (a decode label changes nothing for such a policy)', () => {
  const cluster = loadClusterConfig('gb200-nvl72');
  const all = enumerateSplits({ cluster, model: 'llama-3.1-70b', tensorParallel: [1], prefillTensorParallel: 'same' });
  const collapsed = enumerateSplits({ cluster, model: 'llama-3.1-70b', tensorParallel: [1], prefillTensorParallel: 'same', decodeLikeMixed: true });
  assert.ok(collapsed.candidates.every((c) => c.decode === 0));
  // Every prefill count survives exactly once, the baseline first.
  assert.deepEqual(collapsed.candidates.map((c) => c.prefill), [...new Set(all.candidates.map((c) => c.prefill))]);
  assert.equal(collapsed.candidates[0]?.baseline, true);
  assert.equal(all.candidates.length, 23);
  assert.equal(collapsed.candidates.length, 7);
});
