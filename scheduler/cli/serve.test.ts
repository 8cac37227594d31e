// `nvlsched serve --local-workers 1` as a real child process (which spawns its worker child): the listening line,
// one Generate over gRPC to max_tokens, SIGTERM → exit 0 with its workers gone; bad flags exit 2 with one line.
import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';

import { generate } from '../gateway/testing.js';
import { loadGatewayProto } from '../rpc/proto.js';
import { packageRoot } from '../util/paths.js';
import { withTimeout as waitAtMost } from '../util/timeout.js';

const MAIN = path.join(packageRoot(), 'scheduler', 'cli', 'main.ts');
const LIMIT_MS = 30_000;

/** Waits at most LIMIT_MS for `p`. */
const withTimeout = <T>(p: Promise<T>, what: string): Promise<T> => waitAtMost(p, LIMIT_MS, what);

function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`serve exited (${code}) before listening`)));
  });
}

test('serve --local-workers 1: listening line, a Generate to max_tokens, SIGTERM → exit 0', async () => {
  // Most settings from a config file (its serve section mirrors the flags), the ports on the command line.
  const dir = mkdtempSync(path.join(tmpdir(), 'serve-test-'));
  const config = path.join(dir, 'serve.yaml');
  writeFileSync(config, 'policy: shape-aware\nserve:\n  localWorkers: 1\n  tensorParallel: 2\n  kvBlocks: 512\n  blockTokens: 16\n  grpcPort: 1\n');
  // Bare, as architecture §6 starts it: no keys and no --insecure-no-auth, on loopback.
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'serve', '--config', config, '--grpc-port', '0', '--http-port', '0', '--metrics-port', '0'], {
    cwd: packageRoot(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    const line = JSON.parse(await withTimeout(firstLine(child), 'the listening line')) as Record<string, unknown>;
    assert.deepEqual(Object.keys(line), ['event', 'grpc', 'http', 'metrics']);
    assert.equal(line.event, 'listening');
    assert.match(stderr, /WARNING: no API keys given: serving without authentication, on 127\.0\.0\.1 only/);
    assert.ok(typeof line.grpc === 'number' && line.grpc > 0);
    const proto = loadGatewayProto();
    const client = new proto.nvlsched.v1.Gateway(`127.0.0.1:${line.grpc}`, grpc.credentials.createInsecure());
    const out = await withTimeout(generate(client, { promptTokenIds: Array.from({ length: 200 }, (_, i) => i), maxTokens: 7 }), 'Generate');
    client.close();
    assert.equal(out.error, undefined, out.error?.details);
    assert.equal(out.tokens.length, 7);
    assert.equal(out.last?.finishReason, 'length');
    // The OpenAI-compatible HTTP API of the same process.
    assert.ok(typeof line.http === 'number' && line.http > 0);
    const res = await withTimeout(fetch(`http://127.0.0.1:${line.http}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'hello there' }], max_tokens: 5 }),
    }), 'HTTP chat completion');
    assert.equal(res.status, 200);
    const body = (await res.json()) as { object: string; usage: { completion_tokens: number }; choices: Array<{ finish_reason: string }> };
    assert.equal(body.object, 'chat.completion');
    assert.equal(body.usage.completion_tokens, 5);
    assert.equal(body.choices[0]?.finish_reason, 'length');
    // Prometheus: the two requests above are counted, by shape and outcome.
    assert.ok(typeof line.metrics === 'number' && line.metrics > 0);
    const scrape = await (await withTimeout(fetch(`http://127.0.0.1:${line.metrics}/metrics`), 'a scrape')).text();
    const completed = [...scrape.matchAll(/^nvlsched_requests_total\{[^}]*outcome="completed"[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
    assert.equal(completed, 2, scrape.split('\n').filter((l) => l.startsWith('nvlsched_requests_total')).join('\n'));
    assert.match(scrape, /^nvlsched_time_to_first_token_seconds_count\{/m);
    assert.match(scrape, /^nvlsched_scheduling_latency_seconds_count\{[^}]*plugin="submit"[^}]*\} 2$/m);
    assert.match(scrape, /^nvlsched_scheduling_latency_seconds_count\{[^}]*plugin="plan_step"[^}]*\} [1-9]/m);
    assert.match(scrape, /^nvlsched_prefix_cache_queries_total\{[^}]*\} [1-9]/m);
    child.kill('SIGTERM');
    assert.equal(await withTimeout(exited, 'exit after SIGTERM'), 0, stderr);
    assert.match(stderr, /worker of tray 0 exited \(0\)/);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});

test('serve --keys-file: 401 without a key, the key\'s tenant served under the config\'s limits, SIGHUP re-reads', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'serve-keys-'));
  const keys = path.join(dir, 'keys.yaml');
  const created = spawnSync(process.execPath, ['--import', 'tsx', MAIN, 'keys', 'create', '--tenant', 'acme', '--keys-file', keys], { cwd: packageRoot(), encoding: 'utf8', timeout: LIMIT_MS });
  assert.equal(created.status, 0, created.stderr);
  const { key } = JSON.parse(created.stdout.trim()) as { key: string };
  const config = path.join(dir, 'serve.yaml');
  // The keys file relative to the config file; tenants and limits sections beside serve.
  writeFileSync(config, 'tenants:\n  acme: {weight: 2, maxConcurrentRequests: 4}\nlimits: {maxOutputTokens: 50}\n' +
    'serve:\n  localWorkers: 1\n  tensorParallel: 2\n  kvBlocks: 512\n  blockTokens: 16\n  keysFile: keys.yaml\n');
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'serve', '--config', config, '--grpc-port', '0', '--http-port', '0', '--metrics-port', '0'], { cwd: packageRoot(), stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    const line = JSON.parse(await withTimeout(firstLine(child), 'the listening line')) as { http: number; metrics: number };
    assert.match(stderr, /auth: API keys required \(.*1 enabled\)/);
    const chat = (headers: Record<string, string>, maxTokens: number) => withTimeout(fetch(`http://127.0.0.1:${line.http}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'hello there' }], max_tokens: maxTokens }),
    }), 'HTTP chat completion');
    const missing = await chat({}, 5);
    assert.equal(missing.status, 401);
    assert.equal(((await missing.json()) as { error: { code: string } }).error.code, 'invalid_api_key');
    assert.equal((await chat({ authorization: 'Bearer nvl-not-a-key' }, 5)).status, 401);
    const ok = await chat({ authorization: `Bearer ${key}`, 'x-tenant': 'someone-else' }, 5);
    assert.equal(ok.status, 200);
    const tooLong = await chat({ authorization: `Bearer ${key}` }, 60);
    assert.equal(tooLong.status, 400);
    assert.match(((await tooLong.json()) as { error: { message: string } }).error.message, /limits\.maxOutputTokens = 50/);
    const scrape = await (await withTimeout(fetch(`http://127.0.0.1:${line.metrics}/metrics`), 'a scrape')).text();
    // The key's tenant, not the x-tenant the client sent.
    assert.match(scrape, /^nvlsched_tenant_requests_total\{tenant="acme",outcome="completed"\} 1$/m);
    assert.doesNotMatch(scrape, /tenant="someone-else"/);
    assert.match(scrape, /^nvlsched_auth_failures_total\{reason="missing"\} 1$/m);
    child.kill('SIGHUP');
    await withTimeout(new Promise<void>((resolve) => {
      const look = (): void => void (/SIGHUP: API keys re-read/.test(stderr) ? resolve() : setTimeout(look, 20));
      look();
    }), 'the SIGHUP re-read');
    child.kill('SIGTERM');
    assert.equal(await withTimeout(exited, 'exit after SIGTERM'), 0, stderr);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});

const BAD_AUTH: Array<{ args: string[]; match: RegExp }> = [
  { args: ['--local-workers', '1', '--host', '0.0.0.0'], match: /auth: no API keys: give --keys-file/ },
  { args: ['--local-workers', '1', '--keys-file', '/nonexistent/keys.yaml'], match: /keys/ },
  { args: ['--local-workers', '1', '--keys-file', '/nonexistent/keys.yaml', '--insecure-no-auth'], match: /choose one/ },
];
for (const c of BAD_AUTH) {
  test(`serve ${c.args.join(' ')} exits 2 naming the auth setting, before any worker starts`, () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, 'serve', ...c.args], { cwd: packageRoot(), encoding: 'utf8', timeout: LIMIT_MS });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, c.match);
    assert.doesNotMatch(r.stderr, /worker of tray/);
  });
}

const BAD: Array<{ args: string[]; match: RegExp }> = [
  { args: ['--grpc-port', '0'], match: /give one of --local-workers <n>, --worker-ports <p0,p1,...> or --workers/ },
  { args: ['--workers', 'tray0:50052,nope'], match: /--workers: expected comma-separated host:port, got 'nope'/ },
  { args: ['--workers', 'a:1', '--local-workers', '1'], match: /give one of/ },
  { args: ['--worker-ports', '5001,5002', '--trays', '2'], match: /--trays: 1 trays for 2 workers/ },
  { args: ['--local-workers', '1', '--trays', '3'], match: /--trays: only with --worker-ports or --workers/ },
  { args: ['--local-workers', '1', '--redis', 'localhost:6379'], match: /--redis: expected redis:\/\/host:port/ },
  { args: ['--local-workers', '1', '--peer-port', '5000'], match: /--peer-port: only with --redis/ },
  { args: ['--local-workers', '99'], match: /^nvlsched: E_USAGE: --local-workers: expected an integer in \[1, 18\]/ },
  { args: ['--local-workers', '1', '--cluster', 'nope'], match: /--cluster: .*unknown cluster preset/ },
  { args: ['--local-workers', '1', '--grpc-port', '70000'], match: /--grpc-port: expected an integer/ },
  { args: ['--local-workers', '1', '--pace', 'fast'], match: /--pace: expected none or real/ },
  { args: ['--local-workers', '1', '--policy', 'nope'], match: /^nvlsched: E_USAGE: --policy: .*unknown policy "nope"/ },
  { args: ['--local-workers', '1', '--bogus'], match: /unknown flag --bogus/ },
  { args: ['--config', '/nonexistent/serve.yaml'], match: /^nvlsched: E_USAGE: --config: .*cannot read/ },
];
for (const c of BAD) {
  test(`serve ${c.args.join(' ')} exits 2 with one line`, () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, 'serve', '--insecure-no-auth', ...c.args], { cwd: packageRoot(), encoding: 'utf8', timeout: LIMIT_MS });
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, c.match);
  });
}
