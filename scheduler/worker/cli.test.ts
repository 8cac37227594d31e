// `nvlsched worker --port 0` as a real child process: the listening line, a few steps over gRPC, SIGTERM → drain →
// exit 0; bad flags exit 2 with a one-line reason. Every wait is bounded.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';

import { probeDevices } from '../kv/native.js';
import { packageRoot } from '../util/paths.js';
import { connect, StepStream, unary } from './testing.js';
import { withTimeout as waitAtMost } from '../util/timeout.js';

const MAIN = path.join(packageRoot(), 'scheduler', 'cli', 'main.ts');
const LIMIT_MS = 20_000;

/** Waits at most LIMIT_MS for `p`. */
const withTimeout = <T>(p: Promise<T>, what: string): Promise<T> => waitAtMost(p, LIMIT_MS, what);

function listeningLine(child: ChildProcess): Promise<{ event: string; grpc: number; metrics?: number }> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.once('line', (line) => resolve(JSON.parse(line) as { event: string; grpc: number; metrics?: number }));
    child.once('exit', (code) => reject(new Error(`worker exited (${code}) before listening`)));
  });
}

function exitCode(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

test('worker --port 0 prints its listening line, serves steps, and exits 0 on SIGTERM after draining', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'worker', '--port', '0', '--metrics-port', '0', '--tray', '1', '--tensor-parallel', '1', '--drain-timeout', '5'], {
    cwd: packageRoot(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = exitCode(child);
  try {
    const ready = await withTimeout(listeningLine(child), 'the listening line');
    assert.equal(ready.event, 'listening');
    assert.ok(Number.isInteger(ready.grpc) && ready.grpc > 0);
    const client = connect(ready.grpc);
    const s = new StepStream(client);
    const r1 = await withTimeout(s.send({ stepId: '1', instanceId: 'i0', sequences: [{ seqId: 1, gpu: 2, numTokens: 128, isPrefill: true, blockHashes: ['5', '6'] }] }), 'step 1');
    assert.ok(r1.durationS > 0);
    assert.deepEqual(r1.kvEvents.map((e) => e.eventId), ['1', '2']);
    for (let step = 2; step <= 4; step++) {
      const r = await withTimeout(s.send({ stepId: String(step), instanceId: 'i0', sequences: [{ seqId: 1, gpu: 2, numTokens: 1 }] }), `step ${step}`);
      assert.equal(r.outputs[0]?.tokenIds.length, 1);
    }
    assert.match((await unary(client.Health.bind(client), {})).detail, /tray 1 of gb200-nvl72/);
    // Prometheus on the worker: the 4 steps, the live sequence, its KV on GPU 2.
    const scrape = await (await withTimeout(fetch(`http://127.0.0.1:${ready.metrics}/metrics`), 'a scrape')).text();
    assert.match(scrape, /^nvlsched_worker_steps_total\{[^}]*\} 4$/m);
    assert.match(scrape, /^nvlsched_worker_live_sequences\{[^}]*\} 1$/m);
    assert.match(scrape, /^nvlsched_worker_kv_cache_used_blocks\{[^}]*gpu="2"[^}]*tier="device"[^}]*\} [1-9]/m);
    // The sequence is still running: SIGTERM drains until the gateway finishes it, then the process exits 0.
    child.kill('SIGTERM');
    // The signal arrives asynchronously: poll Health (bounded) until the worker says it is draining.
    let status = '';
    for (let i = 0; i < 5000 && status !== 'STATUS_DRAINING'; i++) status = (await unary(client.Health.bind(client), {})).status;
    assert.equal(status, 'STATUS_DRAINING');
    await withTimeout(s.send({ stepId: '5', instanceId: 'i0', sequences: [], finishedSeqIds: [1] }), 'the finishing step');
    assert.equal(await withTimeout(exited, 'exit'), 0, stderr);
    assert.match(stderr, /drained; exiting/);
    client.close();
  } catch (error) {
    throw new Error(`${(error as Error).message}; worker stderr: ${stderr}`);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});

test('bad flags exit 2 with a one-line reason naming the flag', () => {
  const cases: Array<[string[], RegExp]> = [
    [['--tray', '18'], /tray: expected an integer in \[0, 17\]/],
    [['--pace', 'fast'], /--pace: expected none or real/],
    [['--backend', 'tpu'], /--backend: expected sim or cuda/],
    // Without a usable GPU, --backend cuda refuses to start, naming why (on a GPU machine it would serve).
    ...(probeDevices().cudaDeviceCount === 0 ? [[['--backend', 'cuda', '--kv-blocks', '16'], /--backend cuda: backend 'cuda' is unavailable/] as [string[], RegExp]] : []),
    [['--model', 'gpt-9'], /model: expected one of/],
    [['--bogus'], /unknown flag --bogus/],
    [['--kv-data', 'lots'], /--kv-data: expected metadata or bytes/],
    [['--peer-tls-ca', '/nonexistent/ca.pem'], /--peer-tls-ca: cannot read/],
  ];
  for (const [args, reason] of cases) {
    const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, 'worker', ...args], { cwd: packageRoot(), encoding: 'utf8', timeout: LIMIT_MS });
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, reason);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
});
