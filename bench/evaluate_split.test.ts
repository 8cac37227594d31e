import assert from 'node:assert/strict';
import { test } from 'node:test';

import { MOONCAKE_ROLES, PLANNED_ROLES, readRolesFlag, splitConfigs, splitMarkdown, splitScenarios } from './evaluate_split.js';

test('--roles: default is the planned split, none turns the section off, bad values name the flag', () => {
  assert.deepEqual(readRolesFlag(undefined), PLANNED_ROLES);
  assert.equal(readRolesFlag('none'), null);
  assert.deepEqual(readRolesFlag('16/56'), { prefill: 16, decode: 56 });
  for (const bad of ['0/10', '40/40', '72/0', '16', 'a/b', '16/-1']) assert.throws(() => readRolesFlag(bad), /--roles: expected <prefill>\/<decode>/, bad);
});

test('every split config runs on the same rack; ours first, the Dynamo rule under each router, then aggregated baselines', () => {
  const cluster = { preset: 'gb200-nvl72', roles: { prefill: 8, decode: 60 } };
  const cs = splitConfigs({ cluster, aggregatedBaselines: ['round-robin'] });
  assert.deepEqual(cs.map((c) => c.cluster), cs.map(() => cluster));
  assert.deepEqual(cs[0]?.policy, { base: 'shape-aware', disaggregation: 'shape-aware' });
  assert.ok(cs.slice(1, 4).every((c) => typeof c.policy === 'object' && c.policy.disaggregation === 'dynamo-conditional'));
  assert.deepEqual(cs.slice(4).map((c) => [c.label, c.policy]), [['round-robin (aggregated, same GPUs)', 'round-robin']]);
  // Without the traces only the default mix; with them Mooncake on TP4 prefill instances too.
  assert.deepEqual(splitScenarios(PLANNED_ROLES, null).map((s) => s.name), ['default mix']);
  const [, mooncake] = splitScenarios(PLANNED_ROLES, '/traces');
  assert.deepEqual(mooncake?.roles, MOONCAKE_ROLES);
  assert.deepEqual(mooncake?.cluster, { preset: 'gb200-nvl72', roles: MOONCAKE_ROLES, tensorParallel: { prefill: 4, decode: 1, mixed: 1 } });
});

test('the verdict line divides ours by the best aggregated baseline, by round-robin and by the best other split config', () => {
  const md = splitMarkdown({ name: 'default mix', source: 'test', layout: '20 prefill and 52 decode instances' },
    [{ policy: 'ours', capacity: 21, probes: 7 }, { policy: 'dyn', capacity: 20, probes: 7 }, { policy: 'rr', capacity: 10, probes: 7 }],
    [{ policy: 'shape-aware', capacity: 13.5, probes: 7 }, { policy: 'round-robin', capacity: 14, probes: 7 }, { policy: 'dynamo-kv', capacity: 7, probes: 7 }]);
  assert.match(md, /best aggregated baseline \(round-robin\) = \*\*1\.50x\*\*/);
  assert.match(md, /\/ round-robin = \*\*1\.50x\*\*/);
  assert.match(md, /same split \(dyn\) = \*\*1\.05x\*\*/);
  assert.match(md, /20 prefill and 52 decode instances/);
  // No aggregated baseline with a capacity: the verdict says so instead of dividing by nothing.
  const none = splitMarkdown({ name: 'm', source: 'test', layout: 'x' }, [{ policy: 'ours', capacity: 12.5, probes: 7 }, { policy: 'dyn', capacity: 12, probes: 7 }],
    [{ policy: 'round-robin (aggregated, same GPUs)', capacity: null, probes: 10 }]);
  assert.match(none, /No aggregated baseline holds 90 % SLO attainment at any probed load/);
  assert.match(none, /same split \(dyn\) = \*\*1\.04x\*\*/);
});
