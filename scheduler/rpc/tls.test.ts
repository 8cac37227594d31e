// tls.ts over real loopback gRPC with throwaway certificates (testing/certs.ts): the file checks (each error names
// its flag), then a server requiring client certificates: a client with a certificate of the same CA gets answers;
// one without a certificate, one with another CA's, one that does not trust the server's CA, and one that checks a
// name the certificate does not carry all fail; the server-name override makes the last one work.
import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { ConfigError } from '../core/config/params.js';
import type { WorkerClient } from '../gen/proto/nvlsched/v1/Worker.js';
import { loadWorkerProto } from './proto.js';
import { makeTestPki, type TestPki } from './testing/certs.js';
import { channelCredentials, explainTransportError, readClientTls, readServerTls, serverCredentials, signedBy, type ClientTls, type ServerTls } from './tls.js';

let pki: TestPki;
before(() => {
  pki = makeTestPki();
});
after(() => pki.cleanup());

function configError(fn: () => unknown, field: string, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ConfigError, String(err));
    assert.equal(err.field, field);
    assert.match(err.message, message);
    return true;
  });
}

describe('reading certificate files', () => {
  test('no files: insecure (null) on both sides', () => {
    assert.equal(readServerTls({}), null);
    assert.equal(readClientTls({}), null);
  });

  test('a full server set and a full client set load; the client CA turns on mTLS', () => {
    const s = readServerTls({ cert: pki.server.certFile, key: pki.server.keyFile, clientCa: pki.ca.certFile });
    assert.ok(s?.clientCaPem?.includes('BEGIN CERTIFICATE'));
    assert.equal(readServerTls({ cert: pki.server.certFile, key: pki.server.keyFile })?.clientCaPem, null);
    const c = readClientTls({ ca: pki.ca.certFile, cert: pki.client.certFile, key: pki.client.keyFile, serverName: 'worker-0.nvlsched' });
    assert.equal(c?.serverName, 'worker-0.nvlsched');
    assert.ok(c?.certPem && c.keyPem);
    assert.equal(readClientTls({ ca: pki.ca.certFile })?.certPem, null);
  });

  test('a missing file names its flag and the path', () => {
    configError(() => readServerTls({ cert: '/nonexistent/w.crt', key: pki.server.keyFile }), '--tls-cert', /cannot read \/nonexistent\/w\.crt/);
    configError(() => readServerTls({ cert: pki.server.certFile, key: pki.server.keyFile, clientCa: '/nonexistent/ca.crt' }), '--tls-client-ca', /cannot read/);
    configError(() => readClientTls({ ca: '/nonexistent/ca.crt' }), '--worker-tls-ca', /cannot read/);
  });

  test('a file that is not PEM, or the wrong kind of PEM, names its flag', () => {
    const junk = path.join(pki.certs.dir, 'junk.txt');
    writeFileSync(junk, 'hello\n');
    configError(() => readServerTls({ cert: junk, key: pki.server.keyFile }), '--tls-cert', /not a PEM certificate/);
    configError(() => readServerTls({ cert: pki.server.certFile, key: junk }), '--tls-key', /not a PEM private key/);
    // A key given where the certificate belongs, and the reverse.
    configError(() => readServerTls({ cert: pki.server.keyFile, key: pki.server.keyFile }), '--tls-cert', /not a PEM certificate/);
    configError(() => readServerTls({ cert: pki.server.certFile, key: pki.server.certFile }), '--tls-key', /not a PEM private key/);
    const broken = path.join(pki.certs.dir, 'broken.crt');
    writeFileSync(broken, '-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n');
    configError(() => readClientTls({ ca: broken }), '--worker-tls-ca', /not a valid PEM certificate/);
  });

  test('a key that does not belong to the certificate is refused at start', () => {
    configError(() => readServerTls({ cert: pki.server.certFile, key: pki.client.keyFile }), '--tls-key', /does not match the certificate in .*server\.crt \(--tls-cert\)/);
    configError(() => readClientTls({ ca: pki.ca.certFile, cert: pki.client.certFile, key: pki.server.keyFile }), '--worker-tls-key', /does not match/);
  });

  test('partial sets name what is missing', () => {
    configError(() => readServerTls({ cert: pki.server.certFile }), '--tls-key', /its private key is needed/);
    configError(() => readServerTls({ key: pki.server.keyFile }), '--tls-cert', /missing/);
    configError(() => readServerTls({ clientCa: pki.ca.certFile }), '--tls-client-ca', /needs --tls-cert and --tls-key/);
    configError(() => readClientTls({ cert: pki.client.certFile, key: pki.client.keyFile }), '--worker-tls-ca', /missing: --worker-tls-cert was given/);
    configError(() => readClientTls({ ca: pki.ca.certFile, key: pki.client.keyFile }), '--worker-tls-cert', /missing/);
    configError(() => readClientTls({ serverName: 'x' }), '--worker-tls-server-name', /needs --worker-tls-ca/);
    configError(() => readClientTls({ ca: pki.ca.certFile, serverName: 'a b' }), '--worker-tls-server-name', /expected a DNS name/);
  });

  test('an expired (or not yet valid) certificate is refused with its dates; names come from the caller', () => {
    const names = { cert: 'config.serve.tlsCert', key: 'config.serve.tlsKey', clientCa: 'config.serve.tlsClientCa' };
    const inTwoDaysMs = Date.now() + 2 * 86_400_000;
    configError(() => readServerTls({ cert: pki.server.certFile, key: pki.server.keyFile }, names, inTwoDaysMs), 'config.serve.tlsCert', /expired on /);
    configError(() => readServerTls({ cert: pki.server.certFile, key: pki.server.keyFile }, names, Date.now() - 86_400_000), 'config.serve.tlsCert', /not valid before/);
  });
});

test('handshake failures read as one line with a hint; other details pass through', () => {
  // As grpc-js 1.14 reports them (seen in the tests below and in gateway/tls.test.ts).
  const required = 'No connection established. Last error: 804CC73C257F0000:error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13 alert certificate required:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 116\n (2026-01-26T07:11:34.036Z). Resolution note: ';
  assert.equal(explainTransportError(required), 'No connection established. Last error: tlsv13 alert certificate required (TLS: the worker requires a client certificate: give the gateway --worker-tls-cert/--worker-tls-key signed by the worker\'s --tls-client-ca)');
  const plaintext = 'No connection established. Last error: Error: 807C3F1DD07F0000:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../deps/openssl/openssl/ssl/record/ssl3_record.c:350:\n. Resolution note: ';
  assert.equal(explainTransportError(plaintext), 'No connection established. Last error: wrong version number (TLS: the worker does not speak TLS (start it with --tls-cert/--tls-key, or drop --worker-tls-ca))');
  assert.match(explainTransportError('No connection established. Last error: Error: unable to verify the first certificate. Resolution note: '), /unable to verify the first certificate \(TLS: the worker's certificate does not chain to --worker-tls-ca\)$/);
  assert.match(explainTransportError("Error [ERR_TLS_CERT_ALTNAME_INVALID]: Hostname/IP does not match certificate's altnames: IP: 127.0.0.1 is not in the cert's list: ."), /--worker-tls-server-name/);
  assert.equal(explainTransportError('No connection established. Last error: connect ECONNREFUSED 127.0.0.1:1'), 'No connection established. Last error: connect ECONNREFUSED 127.0.0.1:1');
});

test('signedBy: a leaf of the CA, not of another CA, not the CA itself by a leaf', () => {
  const pem = (f: string): Buffer => readServerTls({ cert: f, key: f.replace(/\.crt$/, '.key') })?.certPem as Buffer;
  assert.equal(signedBy(pem(pki.server.certFile), pem(pki.ca.certFile)), true);
  assert.equal(signedBy(pem(pki.otherServer.certFile), pem(pki.ca.certFile)), false);
  assert.equal(signedBy(pem(pki.ca.certFile), pem(pki.server.certFile)), false);
});

describe('gRPC with mTLS on loopback', () => {
  let server: grpc.Server;
  let port: number;
  const proto = loadWorkerProto();

  async function serve(tls: ServerTls | null): Promise<{ server: grpc.Server; port: number }> {
    const s = new grpc.Server();
    s.addService(proto.nvlsched.v1.Worker.service, {
      Health: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, { status: 'STATUS_SERVING', detail: 'tls test' }),
    });
    const p = await new Promise<number>((resolve, reject) => s.bindAsync('127.0.0.1:0', serverCredentials(tls), (err, bound) => (err ? reject(err) : resolve(bound))));
    return { server: s, port: p };
  }

  function health(tls: ClientTls | null, p = port, host = '127.0.0.1'): Promise<{ ok: true; detail: string } | { ok: false; err: grpc.ServiceError }> {
    const { credentials, options } = channelCredentials(tls);
    const client: WorkerClient = new proto.nvlsched.v1.Worker(`${host}:${p}`, credentials, options);
    return new Promise((resolve) =>
      client.Health({}, { deadline: Date.now() + 5000 }, (err, res) => {
        client.close();
        resolve(err ? { ok: false, err } : { ok: true, detail: res?.detail ?? '' });
      }));
  }

  before(async () => {
    ({ server, port } = await serve(readServerTls({ cert: pki.server.certFile, key: pki.server.keyFile, clientCa: pki.ca.certFile })));
  });
  after(() => server.forceShutdown());

  test('a client with a certificate of the cluster CA is served', async () => {
    const r = await health(readClientTls({ ca: pki.ca.certFile, cert: pki.client.certFile, key: pki.client.keyFile }));
    assert.deepEqual(r, { ok: true, detail: 'tls test' });
  });

  test('a client without a certificate is refused', async () => {
    const r = await health(readClientTls({ ca: pki.ca.certFile }));
    assert.equal(r.ok, false);
    if (!r.ok) assert.equal(r.err.code, grpc.status.UNAVAILABLE);
  });

  test('a client whose certificate another CA signed is refused', async () => {
    const r = await health(readClientTls({ ca: pki.ca.certFile, cert: pki.otherClient.certFile, key: pki.otherClient.keyFile }));
    assert.equal(r.ok, false);
    if (!r.ok) assert.equal(r.err.code, grpc.status.UNAVAILABLE);
  });

  test('a plaintext client is refused', async () => {
    const r = await health(null);
    assert.equal(r.ok, false);
  });

  test('a client that does not trust the server\'s CA refuses the server, and says why', async () => {
    const r = await health(readClientTls({ ca: pki.otherCa.certFile, cert: pki.client.certFile, key: pki.client.keyFile }));
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.equal(r.err.code, grpc.status.UNAVAILABLE);
      assert.match(r.err.details, /certificate/i, r.err.details);
    }
  });

  test('server names: a certificate without the dialled name fails; the override checks the name it carries', async () => {
    const named = pki.ca.issue('named-server', 'server', ['DNS:worker-0.nvlsched.test']);
    const other = await serve(readServerTls({ cert: named.certFile, key: named.keyFile, clientCa: pki.ca.certFile }));
    try {
      const files = { ca: pki.ca.certFile, cert: pki.client.certFile, key: pki.client.keyFile };
      const plain = await health(readClientTls(files), other.port);
      assert.equal(plain.ok, false);
      if (!plain.ok) assert.match(plain.err.details, /127\.0\.0\.1|altnames|name/i, plain.err.details);
      const overridden = await health(readClientTls({ ...files, serverName: 'worker-0.nvlsched.test' }), other.port);
      assert.equal(overridden.ok, true, overridden.ok ? '' : overridden.err.details);
    } finally {
      other.server.forceShutdown();
    }
  });
});
