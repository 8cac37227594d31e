// API keys: generation and hashing, the keys file's validation, authentication (accept, reject, disabled), header
// forms, rotation through a keys file (reload() and the file watcher), and the auth-mode check.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';

import { ConfigError } from '../../core/config/params.js';
import { ApiKeyAuth, checkAuthSettings, keyFromGrpc, keyFromHttp, NO_AUTH_WARNING, openAuth, presentedKey } from './auth.js';
import { FileKeySource } from './key_sources.js';
import { formatKeysFile, generateKey, hashKey, parseKeysFile, type KeyRecord } from './keys.js';

const dir = mkdtempSync(join(tmpdir(), 'nvl-auth-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('keys', () => {
  test('a generated key is nvl- + 43 base64url characters; only its SHA-256 is in the record', () => {
    const { key, record } = generateKey('acme', 'acme-1');
    assert.match(key, /^nvl-[A-Za-z0-9_-]{43}$/);
    assert.equal(record.sha256, hashKey(key));
    assert.match(record.sha256, /^[0-9a-f]{64}$/);
    assert.ok(!JSON.stringify(record).includes(key.slice(4)));
    assert.notEqual(generateKey('acme').key, key);
    assert.match(generateKey('acme').record.id, /^acme-[0-9a-f]{8}$/);
  });

  test('the keys file round-trips and its mistakes name the field', () => {
    const a = generateKey('acme', 'a1').record;
    const b = { ...generateKey('beta', 'b1').record, disabled: true };
    assert.deepEqual(parseKeysFile(formatKeysFile([a, b])), [a, b]);
    assert.deepEqual(parseKeysFile(''), []);
    const bad = (text: string, field: string, msg: RegExp) => {
      assert.throws(() => parseKeysFile(text, 'k.yaml'), (e: unknown) => e instanceof ConfigError && e.field === field && msg.test(e.message));
    };
    bad('keys: [{id: a, tenant: acme, sha256: abc}]', 'k.yaml.keys[0].sha256', /64 hex digits/);
    bad(`keys: [{id: a, tenant: "bad name", sha256: ${a.sha256}}]`, 'k.yaml.keys[0].tenant', /tenant name/);
    bad(`keys: [{id: a, tenant: acme, sha256: ${a.sha256}, disabled: "yes"}]`, 'k.yaml.keys[0].disabled', /true or false/);
    bad(`keys: [{id: a, tenant: acme, sha256: ${a.sha256}, key: x}]`, 'k.yaml.keys[0].key', /unknown field/);
    bad(`keys: [{id: a, tenant: acme, sha256: ${a.sha256}}, {id: a, tenant: acme, sha256: ${b.sha256}}]`, 'k.yaml.keys[1].id', /duplicate key id/);
    bad(`keys: [{id: a, tenant: acme, sha256: ${a.sha256}}, {id: b, tenant: beta, sha256: ${a.sha256}}]`, 'k.yaml.keys[1].sha256', /appears twice/);
    bad('keys: {a: 1}', 'k.yaml.keys', /a list/);
    bad('keys: [', 'k.yaml', /not valid YAML/);
  });
});

class StaticSource {
  readonly name = 'static';
  constructor(public records: KeyRecord[]) {}
  current = () => this.records;
  onChange = () => undefined;
  close = async () => undefined;
}

describe('authentication', () => {
  const acme = generateKey('acme', 'acme-1');
  const old = generateKey('acme', 'acme-0');
  const auth = new ApiKeyAuth([new StaticSource([acme.record, { ...old.record, disabled: true }])]);

  test('the right key gives its tenant; wrong, empty, missing, disabled and oversized keys are refused', () => {
    assert.deepEqual(auth.authenticate(acme.key), { ok: true, tenant: 'acme', keyId: 'acme-1' });
    const refused = (k: string | undefined) => {
      const r = auth.authenticate(k);
      assert.equal(r.ok, false);
      return r.ok ? '' : r.reason;
    };
    assert.equal(refused(undefined), 'missing');
    assert.equal(refused(''), 'missing');
    // One character off, a prefix, the digest itself: all invalid (the digest is not a key).
    assert.equal(refused(acme.key.slice(0, -1) + (acme.key.endsWith('A') ? 'B' : 'A')), 'invalid');
    assert.equal(refused(acme.key.slice(0, 20)), 'invalid');
    assert.equal(refused(acme.record.sha256), 'invalid');
    assert.equal(refused('x'.repeat(10_000)), 'invalid');
    assert.equal(refused(old.key), 'disabled');
  });

  test('Bearer (any case), x-api-key, and a non-Bearer Authorization refused as missing', () => {
    assert.equal(presentedKey('Bearer abc', undefined), 'abc');
    assert.equal(presentedKey('bearer   abc ', undefined), 'abc');
    assert.equal(presentedKey(undefined, ' abc '), 'abc');
    assert.equal(presentedKey('Basic dXNlcjpwdw==', 'abc'), '');
    assert.equal(presentedKey('Bearer a b', undefined), '');
    assert.equal(presentedKey(undefined, undefined), undefined);
    assert.equal(keyFromHttp({ authorization: `Bearer ${acme.key}` }), acme.key);
    assert.equal(keyFromHttp({ 'x-api-key': acme.key }), acme.key);
    const md: Record<string, string[]> = { authorization: [`Bearer ${acme.key}`] };
    assert.equal(keyFromGrpc((n) => md[n] ?? []), acme.key);
    assert.equal(keyFromGrpc((n) => (n === 'x-api-key' ? [Buffer.from('k1')] : [])), 'k1');
  });
});

describe('rotation through a keys file', () => {
  test('reload(): a new key works and the disabled old key is refused, without a restart; a bad file keeps the last good keys', () => {
    const path = join(dir, 'rotate.yaml');
    const k0 = generateKey('acme', 'acme-0');
    writeFileSync(path, formatKeysFile([k0.record]));
    const lines: string[] = [];
    const src = new FileKeySource(path, { pollMs: 0, log: (l) => lines.push(l) });
    const auth = new ApiKeyAuth([src], (l) => lines.push(l));
    assert.equal(auth.authenticate(k0.key).ok, true);
    const k1 = generateKey('acme', 'acme-1');
    writeFileSync(path, formatKeysFile([{ ...k0.record, disabled: true }, k1.record]));
    assert.equal(src.reload(), true);
    assert.deepEqual(auth.authenticate(k1.key), { ok: true, tenant: 'acme', keyId: 'acme-1' });
    assert.equal(auth.authenticate(k0.key).ok, false);
    assert.ok(lines.some((l) => /1 enabled keys, 1 disabled/.test(l)), lines.join('\n'));
    writeFileSync(path, 'keys: [{id: broken');
    assert.equal(src.reload(), false);
    assert.equal(auth.authenticate(k1.key).ok, true);
    assert.ok(lines.some((l) => /not reloaded, keeping the 2 keys/.test(l)));
    assert.equal(src.reload(), false);
  });

  test('the watcher picks up a changed file by itself', async () => {
    const path = join(dir, 'watch.yaml');
    const k0 = generateKey('acme', 'w0');
    writeFileSync(path, formatKeysFile([k0.record]));
    const src = new FileKeySource(path, { pollMs: 20 });
    const auth = new ApiKeyAuth([src]);
    const k1 = generateKey('beta', 'w1');
    const changed = new Promise<void>((resolve) => src.onChange(resolve));
    writeFileSync(path, formatKeysFile([k0.record, k1.record]));
    // A ref'd timer: the source's poll never keeps the process alive (unref'd), so the test must.
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('the watcher did not see the change in 5 s')), 5000)));
    await Promise.race([changed, timeout]).finally(() => clearTimeout(timer));
    assert.deepEqual(auth.authenticate(k1.key), { ok: true, tenant: 'beta', keyId: 'w1' });
    await auth.close();
  });

  test('a missing keys file stops the start with its name', () => {
    assert.throws(() => new FileKeySource(join(dir, 'nope.yaml')), (e: unknown) => e instanceof ConfigError && e.field.endsWith('nope.yaml') && /cannot read/.test(e.message));
  });
});

describe('auth mode', () => {
  test('keys or --insecure-no-auth, exactly one; no-auth prints the warning', async () => {
    const warned: string[] = [];
    assert.throws(() => checkAuthSettings({}, (l) => warned.push(l)), (e: unknown) => e instanceof ConfigError && e.field === 'auth' && /--insecure-no-auth/.test(e.message));
    assert.throws(() => checkAuthSettings({ keysFile: 'k.yaml', insecureNoAuth: true }, (l) => warned.push(l)), /choose one/);
    assert.equal(warned.length, 0);
    assert.equal(checkAuthSettings({ insecureNoAuth: true }, (l) => warned.push(l)), 'none');
    assert.deepEqual(warned, [NO_AUTH_WARNING]);
    assert.equal(checkAuthSettings({ keysFile: 'k.yaml' }, (l) => warned.push(l)), 'keys');
    assert.equal(await openAuth({ insecureNoAuth: true }, () => undefined), null);
    const path = join(dir, 'open.yaml');
    const k = generateKey('acme', 'o1');
    writeFileSync(path, formatKeysFile([k.record]));
    const auth = await openAuth({ keysFile: path }, () => undefined, { filePollMs: 0 });
    assert.equal(auth?.authenticate(k.key).ok, true);
    await auth?.close();
  });
});
