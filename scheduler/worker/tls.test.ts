// `nvlsched worker` with mTLS (--tls-cert/--tls-key/--tls-client-ca) as a real child process, certificates made by
// rpc/testing/certs.ts: a gateway-side client with the cluster CA's client certificate runs steps; a client without a
// certificate, or with another CA's, cannot open a Step stream; a client that does not trust the worker's CA refuses
// it; bad TLS flags exit 2 naming the flag. Every wait is bounded.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';

import { makeTestPki, type TestPki } from '../rpc/testing/certs.js';
import { readClientTls, type ClientTlsPaths } from '../rpc/tls.js';
import { packageRoot } from '../util/paths.js';
import { connect, StepStream, unary } from './testing.js';
import { withTimeout as waitAtMost } from '../util/timeout.js';

const MAIN = path.join(packageRoot(), 'scheduler', 'cli', 'main.ts');
const LIMIT_MS = 20_000;

/** Waits at most LIMIT_MS for `p`. */
const withTimeout = <T>(p: Promise<T>, what: string): Promise<T> => waitAtMost(p, LIMIT_MS, what);

let pki: TestPki;
before(() => {
  pki = makeTestPki();
});
after(() => pki.cleanup());

describe('worker with mTLS', () => {
  let child: ChildProcess;
  let port: number;
  let stderr = '';

  before(async () => {
    child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'worker', '--port', '0', '--tensor-parallel', '1', '--drain-timeout', '1',
      '--tls-cert', pki.server.certFile, '--tls-key', pki.server.keyFile, '--tls-client-ca', pki.ca.certFile], { cwd: packageRoot(), stdio: ['ignore', 'pipe', 'pipe'] });
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const line = await withTimeout(new Promise<{ grpc: number }>((resolve, reject) => {
      createInterface({ input: child.stdout as NodeJS.ReadableStream }).once('line', (l) => resolve(JSON.parse(l) as { grpc: number }));
      child.once('exit', (code) => reject(new Error(`worker exited (${code}) before listening: ${stderr}`)));
    }), 'the listening line');
    port = line.grpc;
  });
  after(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await withTimeout(exited, 'exit');
  });

  const client = (files: ClientTlsPaths) => connect(port, readClientTls(files));
  const mtls = { ca: () => pki.ca.certFile, cert: () => pki.client.certFile, key: () => pki.client.keyFile };

  test('says it serves with mTLS, and a client with a cluster client certificate runs steps', async () => {
    assert.match(stderr, /\(mTLS \(client certificates required\)\)/);
    const c = client({ ca: mtls.ca(), cert: mtls.cert(), key: mtls.key() });
    try {
      const s = new StepStream(c);
      const r = await withTimeout(s.send({ stepId: '1', instanceId: 'i0', sequences: [{ seqId: 1, gpu: 0, numTokens: 64, isPrefill: true }] }), 'step 1');
      assert.equal(r.outputs[0]?.tokenIds.length, 1);
      await withTimeout(s.send({ stepId: '2', instanceId: 'i0', sequences: [], finishedSeqIds: [1] }), 'step 2');
      assert.equal(await withTimeout(s.end(), 'the stream end'), null);
      assert.equal((await unary(c.Health.bind(c), {})).status, 'STATUS_SERVING');
    } finally {
      c.close();
    }
  });

  // The Step stream is what a gateway drives a worker with: it must not open without a valid client certificate.
  for (const [name, files] of [
    ['no client certificate', () => ({ ca: pki.ca.certFile })],
    ['a client certificate of another CA', () => ({ ca: pki.ca.certFile, cert: pki.otherClient.certFile, key: pki.otherClient.keyFile })],
    ['a plaintext client', () => null],
  ] as const) {
    test(`${name}: the Step stream fails with UNAVAILABLE and no step runs`, async () => {
      const paths = files();
      const c = paths ? client(paths) : connect(port);
      try {
        const s = new StepStream(c);
        const sent = s.send({ stepId: '1', instanceId: `refused-${name}`, sequences: [{ seqId: 1, gpu: 0, numTokens: 64, isPrefill: true }] });
        await assert.rejects(withTimeout(sent, 'the refusal'), /step stream closed before the result/);
        const err = await s.closed;
        assert.equal(err?.code, grpc.status.UNAVAILABLE);
      } finally {
        c.close();
      }
    });
  }

  test('a client that does not trust the worker\'s CA refuses it, naming the certificate problem', async () => {
    const c = client({ ca: pki.otherCa.certFile, cert: mtls.cert(), key: mtls.key() });
    try {
      const err = await new Promise<grpc.ServiceError | null>((resolve) => c.Health({}, { deadline: Date.now() + 5000 }, (e) => resolve(e)));
      assert.equal(err?.code, grpc.status.UNAVAILABLE);
      assert.match(err?.details ?? '', /unable to verify|certificate/i);
    } finally {
      c.close();
    }
  });
});

test('bad TLS flags exit 2 with one line naming the flag', () => {
  const cases: Array<[string[], RegExp]> = [
    [['--tls-cert', '/nonexistent/worker.crt', '--tls-key', pki.server.keyFile], /E_USAGE: --tls-cert: cannot read \/nonexistent\/worker\.crt: no such file$/m],
    [['--tls-cert', pki.server.certFile], /E_USAGE: --tls-key: missing/],
    [['--tls-cert', pki.server.certFile, '--tls-key', pki.client.keyFile], /E_USAGE: --tls-key: the key in .* does not match the certificate/],
    [['--tls-cert', pki.server.certFile, '--tls-key', pki.server.keyFile, '--tls-client-ca', pki.server.keyFile], /E_USAGE: --tls-client-ca: .* is not a PEM certificate/],
    [['--tls-client-ca', pki.ca.certFile], /E_USAGE: --tls-client-ca: needs --tls-cert and --tls-key/],
  ];
  for (const [args, reason] of cases) {
    const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, 'worker', '--port', '0', ...args], { cwd: packageRoot(), encoding: 'utf8', timeout: LIMIT_MS });
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, reason);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
});
