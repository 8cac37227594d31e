// serve --config: the file's `serve` section maps onto serve's flags, scheduler sections are validated by building
// their plugins, and every mistake names its field.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import { ConfigError } from '../core/config/params.js';
import type { FlagSpec } from './args.js';
import { loadServeConfig, mergeFlags, parseServeConfig } from './serve_config.js';

const SPECS: Record<string, FlagSpec> = {
  config: { type: 'string', help: '' },
  'grpc-port': { type: 'number', help: '' },
  'local-workers': { type: 'number', help: '' },
  'worker-ports': { type: 'string', help: '' },
  cluster: { type: 'string', help: '' },
  policy: { type: 'string', help: '' },
  help: { type: 'boolean', help: '' },
};

test('the serve section becomes flags; policy and classification pass through as written', () => {
  const c = parseServeConfig({ policy: 'dynamo-kv', classification: { slo: { tool_call: { ttftS: 0.3 } } }, serve: { localWorkers: 2, grpcPort: 0, cluster: 'gb200-nvl72' } }, SPECS);
  assert.deepEqual(c.flags, { 'local-workers': 2, 'grpc-port': 0, cluster: 'gb200-nvl72' });
  assert.equal(c.policy, 'dynamo-kv');
  assert.equal(c.scheduler.policyName, 'dynamo-kv');
  assert.deepEqual(c.classification, { slo: { tool_call: { ttftS: 0.3 } } });
});

test('workerPorts may be a list', () => {
  assert.deepEqual(parseServeConfig({ serve: { workerPorts: [5001, 5002] } }, SPECS).flags, { 'worker-ports': '5001,5002' });
});

test('command-line flags win over the file', () => {
  assert.deepEqual(mergeFlags({ 'grpc-port': 9000, cluster: 'a' }, { 'grpc-port': 0, cluster: undefined }), { 'grpc-port': 0, cluster: 'a' });
});

const BAD: Array<{ name: string; doc: unknown; field: string }> = [
  { name: 'unknown serve key', doc: { serve: { grpcPrt: 1 } }, field: 'config.serve.grpcPrt' },
  { name: 'policy in the serve section', doc: { serve: { policy: 'x' } }, field: 'config.serve.policy' },
  { name: 'a string where a number goes', doc: { serve: { localWorkers: 'two' } }, field: 'config.serve.localWorkers' },
  { name: 'a number where a string goes', doc: { serve: { cluster: 7 } }, field: 'config.serve.cluster' },
  { name: 'pools (one self-hosted pool only)', doc: { pools: [] }, field: 'config.pools' },
  { name: 'unknown policy', doc: { policy: 'nope' }, field: 'config.policy' },
  { name: 'bad SLO', doc: { classification: { slo: { tool_call: { ttftS: -1 } } } }, field: 'config.classification.slo.tool_call.ttftS' },
  { name: 'unknown top-level key', doc: { polcy: 'x' }, field: 'config.polcy' },
  { name: 'serve not a mapping', doc: { serve: 3 }, field: 'config.serve' },
];
for (const c of BAD) {
  test(`rejected: ${c.name} → names ${c.field}`, () => {
    assert.throws(() => parseServeConfig(c.doc, SPECS), (e: unknown) => e instanceof ConfigError && e.field === c.field);
  });
}

test('a YAML syntax error names the file and line', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'serve-config-'));
  const file = path.join(dir, 'bad.yaml');
  writeFileSync(file, 'serve:\n  grpcPort: 0\n  cluster: [unclosed\n');
  assert.throws(() => loadServeConfig(file, SPECS), (e: unknown) => e instanceof ConfigError && e.field.startsWith(`${file}:`));
  assert.throws(() => loadServeConfig(path.join(dir, 'missing.yaml'), SPECS), (e: unknown) => e instanceof ConfigError && /cannot read/.test(e.message));
});

test('file paths named by pathFlags are relative to the config file; absolute ones and other keys stay as written', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'serve-config-paths-'));
  const file = path.join(dir, 'serve.yaml');
  const specs = { ...SPECS, 'tls-cert': { type: 'string', help: '' }, 'tls-key': { type: 'string', help: '' } } as const;
  writeFileSync(file, 'serve:\n  cluster: certs/x\n  tlsCert: certs/gw.crt\n  tlsKey: /etc/nvlsched/gw.key\n');
  const c = loadServeConfig(file, specs, ['tls-cert', 'tls-key']);
  assert.deepEqual(c.flags, { cluster: 'certs/x', 'tls-cert': path.join(dir, 'certs', 'gw.crt'), 'tls-key': '/etc/nvlsched/gw.key' });
});
