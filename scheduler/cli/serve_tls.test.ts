// `nvlsched serve --local-workers 1` with transport security, as a real child process (which spawns its worker with
// the TLS flags it was given): settings from a --config file with paths relative to it, a Generate over TLS on the
// client-facing gRPC port through mTLS to the worker, a plaintext client refused; bad TLS flags exit 2 with one line
// naming the flag or config key. Certificates from rpc/testing/certs.ts.
import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, test } from 'node:test';

import { generate } from '../gateway/testing.js';
import { loadGatewayProto } from '../rpc/proto.js';
import { makeTestPki, type TestPki } from '../rpc/testing/certs.js';
import { httpsPost } from '../rpc/testing/https.js';
import { channelCredentials, readClientTls } from '../rpc/tls.js';
import { packageRoot } from '../util/paths.js';
import { withTimeout as waitAtMost } from '../util/timeout.js';

const MAIN = path.join(packageRoot(), 'scheduler', 'cli', 'main.ts');
const LIMIT_MS = 30_000;

/** Waits at most LIMIT_MS for `p`. */
const withTimeout = <T>(p: Promise<T>, what: string): Promise<T> => waitAtMost(p, LIMIT_MS, what);

let pki: TestPki;
before(() => {
  pki = makeTestPki();
});
after(() => pki.cleanup());

const base = (f: string): string => path.basename(f);

test('serve over TLS: client → gateway (TLS) → local worker (mTLS), settings and relative paths from --config', async () => {
  // The files sit beside the config and are named relative to it; the process runs from the package root.
  const config = path.join(pki.certs.dir, 'serve.yaml');
  writeFileSync(config, [
    'serve:',
    '  localWorkers: 1',
    '  tensorParallel: 2',
    '  kvBlocks: 512',
    '  blockTokens: 16',
    `  tlsCert: ${base(pki.server.certFile)}`,
    `  tlsKey: ${base(pki.server.keyFile)}`,
    `  workerTlsCa: ${base(pki.ca.certFile)}`,
    `  workerTlsCert: ${base(pki.client.certFile)}`,
    `  workerTlsKey: ${base(pki.client.keyFile)}`,
    `  localWorkerTlsCert: ${base(pki.server.certFile)}`,
    `  localWorkerTlsKey: ${base(pki.server.keyFile)}`,
  ].join('\n') + '\n');
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', MAIN, 'serve', '--insecure-no-auth', '--config', config, '--grpc-port', '0', '--http-port', '0', '--metrics-port', '0'], {
    cwd: packageRoot(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    const line = JSON.parse(await withTimeout(new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout as NodeJS.ReadableStream }).once('line', resolve);
      child.once('exit', (code) => reject(new Error(`serve exited (${code}) before listening: ${stderr}`)));
    }), 'the listening line')) as { grpc: number; http: number };
    assert.match(stderr, /transport: to workers mTLS \(with a client certificate\); client-facing gRPC and HTTP TLS/);
    assert.match(stderr, /nvlsched worker: serving .* \(mTLS \(client certificates required\)\)/);
    const proto = loadGatewayProto();
    const { credentials, options } = channelCredentials(readClientTls({ ca: pki.ca.certFile }));
    const client = new proto.nvlsched.v1.Gateway(`127.0.0.1:${line.grpc}`, credentials, options);
    const out = await withTimeout(generate(client, { promptTokenIds: Array.from({ length: 200 }, (_, i) => i), maxTokens: 7 }), 'Generate over TLS');
    client.close();
    assert.equal(out.error, undefined, out.error?.details);
    assert.equal(out.tokens.length, 7);
    const plain = new proto.nvlsched.v1.Gateway(`127.0.0.1:${line.grpc}`, grpc.credentials.createInsecure());
    const refused = await withTimeout(generate(plain, { promptTokenIds: [1, 2, 3], maxTokens: 2 }), 'a plaintext Generate');
    plain.close();
    assert.equal(refused.error?.code, grpc.status.UNAVAILABLE);
    // The HTTP API: HTTPS with the same certificate; plain HTTP gets no answer.
    const chat = { messages: [{ role: 'user', content: 'hello' }], max_tokens: 3 };
    const res = await httpsPost(line.http, '/v1/chat/completions', chat, { caFile: pki.ca.certFile });
    assert.ok(res.ok, res.ok ? '' : res.error.message);
    assert.equal(res.status, 200, res.body);
    await assert.rejects(fetch(`http://127.0.0.1:${line.http}/v1/models`, { signal: AbortSignal.timeout(5000) }));
    assert.doesNotMatch(stderr, /instance \S+ failed/);
    child.kill('SIGTERM');
    assert.equal(await withTimeout(exited, 'exit after SIGTERM'), 0, stderr);
  } catch (error) {
    throw new Error(`${(error as Error).message}\nserve stderr:\n${stderr}`);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});

test('bad TLS flags and keys exit 2 with one line naming the flag or config key', () => {
  const configWith = (lines: string[]): string => {
    const file = path.join(pki.certs.dir, `bad-${lines.length}-${Math.abs(lines.join('').length)}.yaml`);
    writeFileSync(file, ['serve:', '  localWorkers: 1', ...lines.map((l) => `  ${l}`)].join('\n') + '\n');
    return file;
  };
  const cases: Array<{ args: string[]; match: RegExp }> = [
    { args: ['--local-workers', '1', '--tls-cert', '/nonexistent/gw.crt', '--tls-key', pki.server.keyFile], match: /E_USAGE: --tls-cert: cannot read \/nonexistent\/gw\.crt: no such file$/m },
    { args: ['--local-workers', '1', '--tls-cert', pki.server.certFile, '--tls-key', pki.client.keyFile], match: /E_USAGE: --tls-key: the key in .* does not match the certificate/ },
    { args: ['--local-workers', '1', '--worker-tls-cert', pki.client.certFile, '--worker-tls-key', pki.client.keyFile], match: /E_USAGE: --worker-tls-ca: missing: --worker-tls-cert was given/ },
    { args: ['--local-workers', '1', '--worker-tls-ca', pki.ca.certFile], match: /E_USAGE: --local-worker-tls-cert: missing: with --worker-tls-ca, the local workers need/ },
    {
      args: ['--local-workers', '1', '--worker-tls-ca', pki.ca.certFile, '--local-worker-tls-cert', pki.otherServer.certFile, '--local-worker-tls-key', pki.otherServer.keyFile],
      match: /E_USAGE: --local-worker-tls-cert: .*other-server\.crt is not signed by the CA of --worker-tls-ca/,
    },
    { args: ['--worker-ports', '5001', '--local-worker-tls-cert', pki.server.certFile], match: /E_USAGE: --local-worker-tls-cert: only with --local-workers/ },
    { args: ['--local-workers', '1', '--tls-client-ca', pki.ca.certFile], match: /E_USAGE: --tls-client-ca: needs --tls-cert and --tls-key/ },
    // From a config file: the key is named, and its relative path was resolved against the file's folder.
    { args: ['--config', configWith(['tlsCert: missing.crt', `tlsKey: ${base(pki.server.keyFile)}`])], match: new RegExp(`E_USAGE: config\\.serve\\.tlsCert: cannot read ${pki.certs.dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/missing\\.crt: no such file$`, "m") },
    { args: ['--config', configWith(['tlsCert: 3'])], match: /E_USAGE: --config: config\.serve\.tlsCert: expected a string/ },
  ];
  for (const c of cases) {
    const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, 'serve', '--insecure-no-auth', ...c.args], { cwd: packageRoot(), encoding: 'utf8', timeout: LIMIT_MS });
    assert.equal(r.status, 2, `${c.args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, c.match);
  }
});
