// HTTPS for the HTTP API (startHttpApi `tls`): throwaway certificates from the `openssl` binary in a temp dir; a
// client that trusts the CA is served, one that does not fails the handshake, and with `requestCert` (mTLS) a
// client without a certificate signed by the CA is refused while one with it is served.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import type { ApiFrontend } from './generate.js';
import { startHttpApi, type RunningHttpApi } from './server.js';

const hasOpenssl = spawnSync('openssl', ['version'], { stdio: 'ignore' }).status === 0;
const dir = mkdtempSync(join(tmpdir(), 'nvl-tls-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

/** A CA, a server certificate for 127.0.0.1 and a client certificate, all signed by the CA (1 day). */
function makeCerts(): Record<'ca' | 'serverKey' | 'serverCert' | 'clientKey' | 'clientCert' | 'otherKey' | 'otherCert', Buffer> {
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=nvl test ca');
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  for (const who of ['server', 'client']) {
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${who}.key`, '-out', `${who}.csr`, '-subj', `/CN=nvl ${who}`);
    openssl('x509', '-req', '-in', `${who}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${who}.crt`, '-days', '1', ...(who === 'server' ? ['-extfile', 'server.ext'] : []));
  }
  // A self-signed client certificate the CA never signed.
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'other.key', '-out', 'other.crt', '-days', '1', '-subj', '/CN=stranger');
  const f = (n: string) => readFileSync(join(dir, n));
  return { ca: f('ca.crt'), serverKey: f('server.key'), serverCert: f('server.crt'), clientKey: f('client.key'), clientCert: f('client.crt'), otherKey: f('other.key'), otherCert: f('other.crt') };
}

const frontend: ApiFrontend = {
  start: () => ({ ok: false, rejection: { kind: 'overloaded', code: 'E_QUEUE_FULL', reason: 'test' } }),
  newRequestId: () => 'r',
  now: () => 0,
  stopping: false,
  liveRequests: 0,
};

function get(port: number, path: string, o: { ca?: Buffer; key?: Buffer; cert?: Buffer }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET', ...o, agent: false }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.setTimeout(5000, () => req.destroy(new Error('no answer in 5 s')));
    req.end();
  });
}

describe('HTTPS', { skip: hasOpenssl ? false : 'openssl not on PATH' }, () => {
  let certs: ReturnType<typeof makeCerts>;
  let tls: RunningHttpApi;
  let mtls: RunningHttpApi;
  before(async () => {
    certs = makeCerts();
    const common = { frontend, limits: { maxContextTokens: 1000, blockTokens: 16 }, models: ['m'] };
    tls = await startHttpApi({ ...common, tls: { key: certs.serverKey, cert: certs.serverCert } });
    mtls = await startHttpApi({ ...common, tls: { key: certs.serverKey, cert: certs.serverCert, ca: certs.ca, requestCert: true } });
  });
  after(async () => {
    await tls?.close();
    await mtls?.close();
  });

  test('served over TLS to a client that trusts the CA; refused by one that does not', async () => {
    const r = await get(tls.port, '/health', { ca: certs.ca });
    assert.equal(r.status, 200);
    assert.equal(JSON.parse(r.body).status, 'serving');
    assert.equal((await get(tls.port, '/v1/models', { ca: certs.ca })).status, 200);
    await assert.rejects(get(tls.port, '/health', {}), /self[- ]signed|unable to verify/i);
  });

  test('mTLS: no client certificate or one the CA did not sign is refused; the CA-signed one is served', async () => {
    await assert.rejects(get(mtls.port, '/health', { ca: certs.ca }), (e: Error & { code?: string }) => /certificate|ECONNRESET|socket hang up/i.test(`${e.code} ${e.message}`));
    await assert.rejects(get(mtls.port, '/health', { ca: certs.ca, key: certs.otherKey, cert: certs.otherCert }), (e: Error & { code?: string }) => /certificate|ECONNRESET|socket hang up/i.test(`${e.code} ${e.message}`));
    const ok = await get(mtls.port, '/health', { ca: certs.ca, key: certs.clientKey, cert: certs.clientCert });
    assert.equal(ok.status, 200);
  });
});
