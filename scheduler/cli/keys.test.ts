// `nvlsched keys` on a keys file: create prints the key once and stores only its digest (the file is what the
// gateway reads), list and disable/enable, and usage mistakes as one-line E_USAGE errors.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { ApiKeyAuth } from '../gateway/tenancy/auth.js';
import { FileKeySource } from '../gateway/tenancy/key_sources.js';
import { hashKey } from '../gateway/tenancy/keys.js';
import { parseKeysArgs, runKeys, type KeysArgs } from './keys.js';

const dir = mkdtempSync(join(tmpdir(), 'nvl-keys-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function keys(argv: string[]): Promise<{ code: number; out: string[]; err: string }> {
  const out: string[] = [];
  let err = '';
  const a = parseKeysArgs(argv) as KeysArgs;
  const code = await runKeys(a, { stdout: (t) => out.push(...t.trim().split('\n')), stderr: (t) => (err += t) });
  return { code, out, err };
}

test('create, list, disable, enable on a keys file the gateway reads', async () => {
  const file = join(dir, 'keys.yaml');
  const c = await keys(['create', '--tenant', 'acme', '--keys-file', file]);
  assert.equal(c.code, 0);
  const made = JSON.parse(c.out[0] as string) as { id: string; tenant: string; key: string };
  assert.equal(made.tenant, 'acme');
  assert.match(made.key, /^nvl-/);
  assert.match(c.err, /shown once/);
  const text = readFileSync(file, 'utf8');
  assert.ok(!text.includes(made.key.slice(4)), 'the key itself is never stored');
  assert.ok(text.includes(hashKey(made.key)));
  assert.equal(statSync(file).mode & 0o777, 0o600);
  await keys(['create', '--tenant', 'beta', '--id', 'beta-main', '--keys-file', file]);

  const src = new FileKeySource(file, { pollMs: 0 });
  const auth = new ApiKeyAuth([src]);
  assert.equal(auth.authenticate(made.key).ok, true);

  const list = await keys(['list', '--keys-file', file]);
  assert.deepEqual(list.out.map((l) => JSON.parse(l).id), [made.id, 'beta-main']);
  assert.ok(list.out.every((l) => !l.includes('nvl-')));

  assert.deepEqual(JSON.parse((await keys(['disable', made.id, '--keys-file', file])).out[0] as string), { id: made.id, tenant: 'acme', disabled: true });
  src.reload();
  assert.equal(auth.authenticate(made.key).ok, false);
  await keys(['enable', made.id, '--keys-file', file]);
  src.reload();
  assert.equal(auth.authenticate(made.key).ok, true);
  await auth.close();
});

test('usage mistakes are one line, E_USAGE', async () => {
  const usage = (argv: string[], msg: RegExp) => assert.throws(() => parseKeysArgs(argv), (e: Error & { code?: string }) => e.code === 'E_USAGE' && msg.test(e.message));
  usage(['create', '--keys-file', 'k.yaml'], /--tenant is required/);
  usage(['create', '--tenant', 'a'], /exactly one of --keys-file/);
  usage(['create', '--tenant', 'a', '--keys-file', 'k', '--redis', 'redis://127.0.0.1:6379'], /exactly one of/);
  usage(['list', '--redis', 'http://x'], /redis:\/\//);
  usage(['disable', '--keys-file', 'k'], /give the key id/);
  usage(['rotate', '--keys-file', 'k'], /one of create, list, disable, enable/);
  usage(['list', '--keys-file', 'k', '--tenant', 'a'], /for create/);
  const file = join(dir, 'k2.yaml');
  await assert.rejects(keys(['disable', 'nope', '--keys-file', file]), (e: Error & { code?: string }) => e.code === 'E_USAGE' && /no key with id "nope"/.test(e.message));
  await assert.rejects(keys(['create', '--tenant', 'bad name', '--keys-file', file]), (e: Error & { code?: string }) => e.code === 'E_USAGE' && /tenant name/.test(e.message));
  await keys(['create', '--tenant', 'a', '--id', 'dup', '--keys-file', file]);
  await assert.rejects(keys(['create', '--tenant', 'a', '--id', 'dup', '--keys-file', file]), /exists/);
});
