// Roles for the served instances: the gateway topology option, serve's --roles text and the config's serve.roles
// mapping, each error naming its field.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ConfigError } from '../core/config/params.js';
import { FLAGS } from '../cli/serve.js';
import { parseRolesText, parseServeConfig } from '../cli/serve_config.js';
import { buildGatewayCluster } from './topology.js';

const SHAPE = { cluster: 'gb200-nvl72', model: 'llama-3.1-70b', tensorParallel: 4, numWorkers: 3 } as const;

test('roles apply to the served instances in order, the rest mixed; bad splits name the field', () => {
  const t = buildGatewayCluster({ ...SHAPE, roles: { prefill: 1, decode: 1 } });
  assert.deepEqual(t.instances.map((i) => i.setup.role ?? 'mixed'), ['prefill', 'decode', 'mixed']);
  const list = buildGatewayCluster({ ...SHAPE, roles: ['decode', 'prefill'] });
  assert.deepEqual(list.instances.map((i) => i.setup.role ?? 'mixed'), ['decode', 'prefill', 'mixed']);
  assert.deepEqual(buildGatewayCluster(SHAPE).instances.map((i) => i.setup.role ?? 'mixed'), ['mixed', 'mixed', 'mixed']);
  assert.throws(() => buildGatewayCluster({ ...SHAPE, roles: { prefill: 3, decode: 1 } }), (e: unknown) => e instanceof ConfigError && /^roles: prefill 3 \+ decode 1 exceeds the 3 instances/.test(e.message));
  assert.throws(() => buildGatewayCluster({ ...SHAPE, roles: { prefill: 3, decode: 0 } }), /roles: 3 prefill instance\(s\) and no decode or mixed instance/);
  // Per-role degrees are simulated only: serving them at one degree would be wrong without a word.
  const perRole = { preset: 'gb200-nvl72', roles: { prefill: 4, decode: 40 }, tensorParallel: { prefill: 4, decode: 1, mixed: 1 } };
  assert.throws(() => buildGatewayCluster({ ...SHAPE, cluster: perRole, tensorParallel: undefined }), (e: unknown) => e instanceof ConfigError && e.field === 'cluster.tensorParallel' && /simulated only/.test(e.message));
});

test('--roles text and serve.roles in a config file', () => {
  assert.deepEqual(parseRolesText('prefill=1,decode=2'), { prefill: 1, decode: 2 });
  assert.deepEqual(parseRolesText('prefill,decode,mixed'), ['prefill', 'decode', 'mixed']);
  assert.throws(() => parseRolesText('prefill=x'), /--roles: expected prefill=N,decode=M/);
  assert.throws(() => parseRolesText('prefill,fast'), /--roles\[1\]: expected one of prefill, decode, mixed/);
  assert.throws(() => parseRolesText('prefill=1,warm=2'), /--roles/);
  const c = parseServeConfig({ serve: { roles: { prefill: 1, decode: 1 }, localWorkers: 2 }, policy: { disaggregation: 'shape-aware' } }, FLAGS);
  assert.equal(c.flags.roles, 'prefill=1,decode=1');
  assert.deepEqual(parseServeConfig({ serve: { roles: ['decode', 'prefill'] } }, FLAGS).flags.roles, 'decode,prefill');
  assert.throws(() => parseServeConfig({ serve: { roles: { prefill: -1 } } }, FLAGS), /config\.serve\.roles\.prefill/);
  assert.throws(() => parseServeConfig({ serve: { roles: { prefil: 1 } } }, FLAGS), /config\.serve\.roles/);
});
