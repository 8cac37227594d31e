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

import OpenAI, { toFile } from 'openai';

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

test('serve --redis drains a batch job submitted from the CLI and one made over the OpenAI Batch API; /metrics counts the lines', async (t) => {
  if ('skip' in redis) return t.skip(redis.skip);
  const url = redis.url;
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', MAIN, 'serve', '--insecure-no-auth', '--local-workers', '1', '--tensor-parallel', '2', '--kv-blocks', '512', '--block-tokens', '16', '--redis', url], {
    cwd: packageRoot(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  try {
    const listening = await new Promise<{ http: number; metrics: number }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listening line: ${stderr}`)), LIMIT_MS);
      createInterface({ input: child.stdout as NodeJS.ReadableStream }).once('line', (line) => {
        clearTimeout(timer);
        resolve(JSON.parse(line) as { http: number; metrics: number });
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
    // The same kind of job over HTTP with the official client: upload, create, wait, read the output file.
    const client = new OpenAI({ apiKey: 'unused (--insecure-no-auth)', baseURL: `http://127.0.0.1:${listening.http}/v1`, maxRetries: 0 });
    const input = Buffer.from(lines.slice(0, 3).join('\n') + '\n');
    const uploaded = await client.files.create({ file: await toFile(input, 'batch.jsonl'), purpose: 'batch' });
    const created = await client.batches.create({ input_file_id: uploaded.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    let done = created;
    for (let k = 0; k < 200 && done.status !== 'completed' && done.status !== 'failed'; k++) {
      await new Promise((r) => setTimeout(r, 100));
      done = await client.batches.retrieve(created.id);
    }
    assert.equal(done.status, 'completed');
    assert.equal(done.request_counts?.completed, 3);
    const output = (await (await client.files.content(done.output_file_id as string)).text()).trim().split('\n').map((l) => JSON.parse(l) as { custom_id: string });
    assert.deepEqual(output.map((o) => o.custom_id).sort(), ['req-0', 'req-1', 'req-2']);
    // Nine lines in all went through this gateway's drainer: counted by outcome.
    const scrape = await (await fetch(`http://127.0.0.1:${listening.metrics}/metrics`)).text();
    assert.match(scrape, /^nvlsched_batch_lines_total\{outcome="completed"\} 9$/m);
    assert.match(scrape, /^nvlsched_batch_jobs\{status="completed"\} [1-9]/m);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
  }
});
