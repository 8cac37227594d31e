// Candidate enumeration: every feasible split of one domain, pruned by memory and symmetry, the sizing rule's
// all-mixed baseline first; bad options name the field.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ConfigError } from '../core/config/params.js';
import { loadClusterConfig } from '../sim/cluster_file.js';
import { readClusterConfig } from '../sim/cluster.js';
import { clusterFor, enumerateSplits, splitsOf } from './candidates.js';

test('hgx-b200x8, llama-3.1-70b: every split of 8/4/2/1 instances, baseline first, no equivalent duplicates', () => {
  const e = enumerateSplits({ cluster: loadClusterConfig('hgx-b200x8'), model: 'llama-3.1-70b' });
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
