import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from './config/params.js';
import { DEFAULT_SCHEDULER_CONFIG_YAML, loadSchedulerConfigText, parseSchedulerConfig } from './scheduler_config.js';

const fieldOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.field;
  }
  return assert.fail('no error');
};

test('the embedded default document loads and names the defaults', () => {
  const c = loadSchedulerConfigText(DEFAULT_SCHEDULER_CONFIG_YAML, 'default.yaml');
  assert.equal(c.policyName, 'shape-aware');
  assert.deepEqual(c.pools.map((p) => p.name), ['llama-70b', 'deepseek-r1', 'frontier-api']);
  assert.equal(parseSchedulerConfig({}).policyName, 'shape-aware');
});

test('policy overrides and pools are validated by building them; errors name the field', () => {
  const c = parseSchedulerConfig({ policy: { base: 'dynamo-kv', admission: { name: 'slo', params: { slack: 1.5 } } } });
  assert.equal(c.policyName, 'dynamo-kv+custom');
  assert.equal(fieldOf(() => parseSchedulerConfig({ policy: 'fastest' })), 'config.policy');
  assert.equal(fieldOf(() => parseSchedulerConfig({ policy: { base: 'dynamo-kv', admission: { name: 'slo', params: { slack: -1 } } } })), 'config.policy.admission.params.slack');
  assert.equal(fieldOf(() => parseSchedulerConfig({ policy: { placement: { filters: [{ name: 'healty' }], picker: { name: 'max-score' } } } })), 'config.policy.placement.filters[0].name');
  assert.equal(fieldOf(() => parseSchedulerConfig({ classification: { slo: { chat: { ttftS: 0 } } } })), 'config.classification.slo.chat.ttftS');
  assert.equal(fieldOf(() => parseSchedulerConfig({ pools: [{ name: 'x', kind: 'self_hosted', model: 'nope' }] })), 'config.pools[0].model');
  assert.equal(fieldOf(() => parseSchedulerConfig({ polcy: 'x' })), 'config.polcy');
});

test('YAML syntax errors name the file and line', () => {
  assert.throws(() => loadSchedulerConfigText('policy: shape-aware\npools: [\n', 'my.yaml'), /my\.yaml:3: not valid YAML/);
  assert.throws(() => loadSchedulerConfigText('policy: [1, 2]\n', 'p.yaml'), (e: unknown) => e instanceof ConfigError && e.field === 'config.policy');
});

test('the tenants section is validated with parseTenants and kept parsed; absent means no fair share', () => {
  assert.equal(parseSchedulerConfig({}).tenants, undefined);
  const c = loadSchedulerConfigText('tenants:\n  acme: {weight: 4, priorityBand: high}\n', 't.yaml');
  assert.equal(c.tenants?.byName.get('acme')?.weight, 4);
  assert.equal(c.tenants?.byName.get('acme')?.priorityBand, 'high');
  assert.equal(c.tenants?.byName.get('default')?.weight, 1, 'default is filled in');
  assert.equal(fieldOf(() => parseSchedulerConfig({ tenants: { acme: { weight: 0 } } })), 'config.tenants.acme.weight');
  assert.equal(fieldOf(() => parseSchedulerConfig({ tenants: { acme: { priorityBand: 'urgent' } } })), 'config.tenants.acme.priorityBand');
});
