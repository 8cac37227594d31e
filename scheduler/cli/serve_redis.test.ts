// `serve --redis` end to end, as processes: a gateway with a local worker drains a batch job submitted with
// `nvlsched batch submit` (the same Redis), and `batch wait` / `batch results` see every line answered once.
// Redis: REDIS_URL, else a redis-server on a free port, else skipped visibly.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, test } from 'node:test';

import { startTestRedis, type TestRedis } from '../tune/testing/redis_server.js';
import { packageRoot } from '../util/paths.js';

const MAIN = path.join(packageRoot(), 'scheduler', 'cli', 'main.ts');
const LIMIT_MS = 60_000;

let redis: TestRedis;
before(async () => {
  redis = await startTestRedis();
  if ('skip' in redis) process.stderr.write(`SKIP serve_redis.test: ${redis.skip}\n`);
});
after(async () => {
  if (!('skip' in redis)) await redis.stop();
});

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: packageRoot(), encoding: 'utf8', timeout: LIMIT_MS });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('serve --redis drains a batch job submitted from the CLI', async (t) => {
  if ('skip' in redis) return t.skip(redis.skip);
  const url = redis.url;
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', MAIN, 'serve', '--insecure-no-auth', '--local-workers', '1', '--tensor-parallel', '2', '--kv-blocks', '512', '--block-tokens', '16', '--redis', url], {
    cwd: packageRoot(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listening line: ${stderr}`)), LIMIT_MS);
      createInterface({ input: child.stdout as NodeJS.ReadableStream }).once('line', () => {
        clearTimeout(timer);
        resolve();
      });
      child.once('exit', (code) => reject(new Error(`serve exited ${code}: ${stderr}`)));
    });
    const dir = mkdtempSync(path.join(tmpdir(), 'serve-batch-'));
    const file = path.join(dir, 'batch.jsonl');
    const lines = Array.from({ length: 6 }, (_, i) => JSON.stringify({ custom_id: `req-${i}`, method: 'POST', url: '/v1/chat/completions', body: { model: 'llama-3.1-70b', messages: [{ role: 'user', content: `question ${i}` }], max_tokens: 3 } }));
    writeFileSync(file, lines.join('\n') + '\n');
    const submitted = cli(['batch', 'submit', file, '--redis', url]);
    assert.equal(submitted.status, 0, submitted.stderr);
    const id = (JSON.parse(submitted.stdout.trim().split('\n').pop() as string) as { id: string }).id;
    const waited = cli(['batch', 'wait', id, '--redis', url, '--timeout-s', '50']);
    assert.equal(waited.status, 0, waited.stderr + waited.stdout);
    const results = cli(['batch', 'results', id, '--redis', url]);
    assert.equal(results.status, 0, results.stderr);
    const rows = results.stdout.trim().split('\n').map((l) => JSON.parse(l) as { custom_id: string; response: { status_code: number; body: { usage: { completion_tokens: number } } } | null });
    assert.deepEqual(rows.map((r) => r.custom_id), lines.map((_, i) => `req-${i}`));
    for (const r of rows) {
      assert.equal(r.response?.status_code, 200);
      assert.equal(r.response?.body.usage.completion_tokens, 3);
    }
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
  }
});
