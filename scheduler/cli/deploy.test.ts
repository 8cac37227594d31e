// `nvlsched deploy` through real child processes: render (default and from a file), default, the pods' exec hooks
// against a real worker on loopback (probe → drain → probe), discover with and without an `nvidia-smi` on PATH, and
// one-line errors with exit 2 for bad input.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import { GB200_TRAY, nvidiaSmiQuery } from '../deploy/fabric_samples.js';
import { makeTestPki } from '../rpc/testing/certs.js';
import { readServerTls } from '../rpc/tls.js';
import { packageRoot } from '../util/paths.js';
import { startWorker } from '../worker/worker.js';
import { run } from './deploy.js';

interface Result { code: number; stdout: string; stderr: string }

/** Async, so a worker served by this process keeps answering while the child runs. */
function cli(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Result> {
  return new Promise((resolve) =>
    execFile(process.execPath, ['--import', 'tsx', 'scheduler/cli/main.ts', 'deploy', ...args], { cwd: packageRoot(), env, timeout: 60_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr })));
}

test('render prints the committed default; default → file → render gives the same objects', async () => {
  const r = await cli(['render']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, readFileSync(path.join(packageRoot(), 'deploy/k8s/default.yaml'), 'utf8'));
  const dir = mkdtempSync(path.join(tmpdir(), 'nvl-deploy-'));
  try {
    const d = await cli(['default']);
    assert.equal(d.code, 0);
    const file = path.join(dir, 'cluster.yaml');
    writeFileSync(file, d.stdout);
    const fromFile = await cli(['render', '--config', file]);
    assert.equal(fromFile.code, 0, fromFile.stderr);
    const body = (t: string) => t.slice(t.indexOf('\n---\n'));
    assert.equal(body(fromFile.stdout), body(r.stdout));
    assert.match(fromFile.stdout, new RegExp(`source: ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad input exits 2 with one line naming the field or flag', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'nvl-deploy-'));
  try {
    const file = path.join(dir, 'bad.yaml');
    writeFileSync(file, 'deploy:\n  ports: {http: 0}\n');
    const r = await cli(['render', '--config', file]);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /config\.deploy\.ports\.http: expected an integer ≥ 1/);
    // The rest in process: each is a usage error (what main.ts turns into exit 2 and one line).
    const cases: Array<[string[], RegExp]> = [
      [['render', '--config', path.join(dir, 'missing.yaml')], /--config: cannot read .*ENOENT/],
      [['render', '--confg', file], /unknown flag --confg/],
      [['probe'], /--worker: expected host:port/],
      [['probe', '--worker', 'http://x:1'], /--worker: expected host:port/],
      [['drain', '--worker', '127.0.0.1:1', '--gateway', 'http://127.0.0.1:2'], /one of them/],
      [['drain', '--gateway', 'ftp://x'], /--gateway: expected http:\/\/host:port/],
      [['drain', '--worker', '127.0.0.1:1', '--timeout', '-3'], /--timeout: expected seconds/],
      [['discover', '--domain', ''], /--domain: expected a non-empty/],
      [['launch'], /unknown subcommand 'launch'/],
    ];
    for (const [args, pattern] of cases) {
      await assert.rejects(run(args), (e: Error & { code?: string }) => {
        assert.equal(e.code, 'E_USAGE', `${args.join(' ')}: ${e.message}`);
        assert.match(e.message, pattern);
        return true;
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the worker hooks: probe exits 0 while serving, drain exits 0 once drained, probe then exits 1', async () => {
  const worker = await startWorker({ topology: 'gb200-nvl72', tray: 3, model: 'llama-3.1-70b', tensorParallel: 1, kvBlocksPerGpu: 64, blockTokens: 16, seed: 1 }, { port: 0 });
  try {
    const address = `127.0.0.1:${worker.port}`;
    assert.equal((await cli(['probe', '--worker', address])).code, 0);
    const drained = await cli(['drain', '--worker', address, '--timeout', '5']);
    assert.equal(drained.code, 0, drained.stderr);
    assert.match(drained.stderr, /drained/);
    const after = await cli(['probe', '--worker', address]);
    assert.equal(after.code, 1);
    assert.match(after.stderr, /STATUS_DRAINING/);
  } finally {
    await worker.server.close();
  }
});

test('the worker hooks speak mTLS: probe with the cluster CA and a client certificate exits 0, without them 1', async () => {
  const pki = makeTestPki();
  const tls = readServerTls({ cert: pki.server.certFile, key: pki.server.keyFile, clientCa: pki.ca.certFile });
  const worker = await startWorker({ topology: 'gb200-nvl72', tray: 2, model: 'llama-3.1-70b', tensorParallel: 1, kvBlocksPerGpu: 64, blockTokens: 16, seed: 1 }, { port: 0, tls });
  try {
    const address = `127.0.0.1:${worker.port}`;
    const withCerts = ['--tls-ca', pki.ca.certFile, '--tls-cert', pki.client.certFile, '--tls-key', pki.client.keyFile];
    const ok = await cli(['probe', '--worker', address, ...withCerts]);
    assert.equal(ok.code, 0, ok.stderr);
    // Plaintext against a TLS port, and TLS without the client certificate the worker requires: both fail (exit 1).
    assert.equal((await cli(['probe', '--worker', address, '--timeout', '2'])).code, 1);
    assert.equal((await cli(['probe', '--worker', address, '--timeout', '2', '--tls-ca', pki.ca.certFile])).code, 1);
    const drained = await cli(['drain', '--worker', address, '--timeout', '5', ...withCerts]);
    assert.equal(drained.code, 0, drained.stderr);
    // A key that is not the certificate's: exit 2 naming the flag.
    const bad = await cli(['probe', '--worker', address, '--tls-ca', pki.ca.certFile, '--tls-cert', pki.client.certFile, '--tls-key', pki.server.keyFile]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--tls-key/);
  } finally {
    await worker.server.close();
    pki.cleanup();
  }
});

test('probe of nothing returns 1 within its timeout', async () => {
  const started = Date.now();
  assert.equal(await run(['probe', '--worker', '127.0.0.1:9', '--timeout', '1']), 1);
  assert.ok(Date.now() - started < 5000);
});

test('discover: the config domain without nvidia-smi; the fabric domain with one on PATH', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'nvl-smi-'));
  try {
    const bare = { ...process.env, PATH: path.dirname(process.execPath), NVLSCHED_NODE_CLIQUE: '', NVLSCHED_NVML_LIBRARY: '/nonexistent/libnvidia-ml.so.1' };
    const none = await cli(['discover', '--domain', 'rack7'], bare);
    assert.equal(none.code, 0, none.stderr);
    const d1 = JSON.parse(none.stdout) as { source: string; domainId: string; skipped: string[] };
    assert.deepEqual([d1.source, d1.domainId], ['config', 'rack7']);
    assert.match(d1.skipped.join(), /nvidia-smi is not installed/);
    // A stand-in nvidia-smi that prints a GB200 tray's `-q` output.
    writeFileSync(path.join(dir, 'query.txt'), nvidiaSmiQuery(GB200_TRAY));
    writeFileSync(path.join(dir, 'nvidia-smi'), `#!/bin/sh\n[ "$1" = "-q" ] || exit 9\ncat "${path.join(dir, 'query.txt')}"\n`);
    chmodSync(path.join(dir, 'nvidia-smi'), 0o755);
    const withSmi = await cli(['discover', '--domain', 'rack7'], { ...bare, PATH: `${dir}:/bin:/usr/bin:${path.dirname(process.execPath)}` });
    assert.equal(withSmi.code, 0, withSmi.stderr);
    const d2 = JSON.parse(withSmi.stdout) as { source: string; domainId: string };
    assert.deepEqual([d2.source, d2.domainId], ['nvidia-smi', '50000000-0000-0000-0000-000000000005.4000000004']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
