// OpenAI's Files and Batch API through the official `openai` client, on a real Redis (REDIS_URL, else a redis-server
// child, else skipped with a message) and a real gateway (in-process worker + gateway, startRig) with a batch drainer
// on the same queue, behind API keys (ApiKeyAuth over a keys file): upload → create → drained like a CLI batch →
// completed, output file in input order; tenants see only their own batches and files; cancel (on a queue no drainer
// serves, so nothing races it) fills the error file; bad input gets 400/404 naming the field; a file with bad lines
// makes a failed batch listing them; list pages; without Redis the routes answer 501 naming --redis.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import OpenAI, { toFile } from 'openai';

import { batchMeta } from '../../batch/client.js';
import type { OutputLine } from '../../batch/format.js';
import { batchLines, startBatchRig, testQueue, until, type BatchRig } from '../../batch/testing/rig.js';
import { startTestRedis, type TestRedis } from '../../tune/testing/redis_server.js';
import { ApiKeyAuth } from '../tenancy/auth.js';
import { FileKeySource } from '../tenancy/key_sources.js';
import { formatKeysFile, generateKey } from '../tenancy/keys.js';
import { SMALL } from '../testing.js';
import { startHttpApi, type BatchApiOptions, type RunningHttpApi } from './server.js';

const redis: TestRedis = await startTestRedis();

const jsonl = (lines: string[]): Buffer => Buffer.from(lines.join('\n') + '\n');
const parseLines = (text: string): OutputLine[] => text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as OutputLine);

describe('HTTP Batch API with the official client', { skip: 'skip' in redis ? redis.skip : false }, () => {
  if ('skip' in redis) return;
  const queue = testQueue('http');
  const idleQueue = testQueue('http-idle');
  let br: BatchRig;
  let api: RunningHttpApi;
  let idleApi: RunningHttpApi;
  let auth: ApiKeyAuth;
  let dir: string;
  let acme: OpenAI;
  let globex: OpenAI;
  let idle: OpenAI;

  const apiOn = (o: { batch: BatchApiOptions | null; auth?: ApiKeyAuth }) => {
    const cluster = br.rig.gateway.topology.cluster;
    return startHttpApi({ frontend: br.rig.gateway.frontend, limits: { maxContextTokens: cluster.model.maxContextTokens, blockTokens: SMALL.blockTokens }, models: [cluster.model.name], batch: o.batch, ...(o.auth ? { auth: o.auth } : {}) });
  };
  const clientOf = (port: number, apiKey: string, headers: Record<string, string> = {}) => new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey, maxRetries: 0, timeout: 10_000, defaultHeaders: headers });

  before(async () => {
    br = await startBatchRig(redis.url, queue, { maxInFlight: 8 });
    dir = mkdtempSync(join(tmpdir(), 'nvl-batch-http-'));
    const a = generateKey('acme', 'acme-0');
    const g = generateKey('globex', 'globex-0');
    writeFileSync(join(dir, 'keys.yaml'), formatKeysFile([a.record, g.record]));
    auth = new ApiKeyAuth([new FileKeySource(join(dir, 'keys.yaml'), { pollMs: 0 })]);
    api = await apiOn({ batch: { redisUrl: redis.url, queue, chunkLines: 4 }, auth });
    // No keys: the tenant is x-tenant as sent. No drainer serves this queue.
    idleApi = await apiOn({ batch: { redisUrl: redis.url, queue: idleQueue } });
    acme = clientOf(api.port, a.key);
    globex = clientOf(api.port, g.key);
    idle = clientOf(idleApi.port, 'unused', { 'x-tenant': 'initech' });
  });
  after(async () => {
    await idleApi.close();
    await api.close();
    await br.close();
    await auth.close();
    rmSync(dir, { recursive: true, force: true });
    await redis.stop();
  });

  test('upload → create → drained like a CLI batch → completed; the output file holds every answer in input order', async () => {
    const input = jsonl(batchLines(10, { maxTokens: (i) => 2 + (i % 3) }));
    const file = await acme.files.create({ file: await toFile(input, 'requests.jsonl'), purpose: 'batch' });
    assert.match(file.id, /^file-[0-9a-f]{24}$/);
    assert.deepEqual([file.object, file.bytes, file.filename, file.purpose], ['file', input.length, 'requests.jsonl', 'batch']);
    assert.deepEqual(await acme.files.retrieve(file.id), file);
    assert.equal(await (await acme.files.content(file.id)).text(), input.toString('utf8'));

    const created = await acme.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h', metadata: { job: 'nightly' } });
    assert.equal(created.object, 'batch');
    assert.equal(created.status, 'in_progress');
    assert.equal(created.input_file_id, file.id);
    assert.equal(created.endpoint, '/v1/chat/completions');
    assert.deepEqual(created.metadata, { job: 'nightly' });
    assert.equal(created.request_counts?.total, 10);
    assert.equal(created.output_file_id, null);
    // The same batch as the CLI's store sees it: owned by the key's tenant, drained by the drainer on the queue.
    assert.equal((await batchMeta({ redisUrl: redis.url, queue }, created.id)).tenant, 'acme');

    let done = created;
    await until(async () => (done = await acme.batches.retrieve(created.id)).status === 'completed', `batch ${created.id} completed`, 20_000);
    assert.deepEqual(done.request_counts, { total: 10, completed: 10, failed: 0, cancelled: 0, in_progress: 0 } as never);
    assert.ok(done.completed_at !== null && done.completed_at !== undefined && done.completed_at >= done.created_at);
    assert.equal(done.error_file_id, null);
    assert.ok(done.output_file_id);
    const text = await (await acme.files.content(done.output_file_id)).text();
    const out = parseLines(text);
    assert.deepEqual(out.map((o) => o.custom_id), Array.from({ length: 10 }, (_, i) => `req-${i}`));
    out.forEach((o, i) => {
      assert.equal(o.response?.status_code, 200);
      const body = o.response?.body as { object: string; usage: { completion_tokens: number } };
      assert.equal(body.object, 'chat.completion');
      assert.equal(body.usage.completion_tokens, 2 + (i % 3));
    });
    const outFile = await acme.files.retrieve(done.output_file_id);
    assert.deepEqual([outFile.purpose, outFile.bytes], ['batch_output', Buffer.byteLength(text)]);
    // The drainer ran each line once, and as acme's: the scheduler charged acme all 10 lines' output tokens (no other
    // test runs lines as acme).
    assert.equal(br.ends.filter((e) => e.batchId === created.id && e.outcome === 'result').length, 10);
    const expectedOut = Array.from({ length: 10 }, (_, i) => 2 + (i % 3)).reduce((a, b) => a + b, 0);
    assert.equal(br.rig.gateway.sched.costByTenant()['acme']?.outputTokens, expectedOut);

    // Tenancy: another key's tenant sees none of it.
    for (const call of [() => globex.batches.retrieve(created.id), () => globex.batches.cancel(created.id), () => globex.files.retrieve(file.id), () => globex.files.content(file.id), () => globex.files.content(done.output_file_id as string)]) {
      await assert.rejects(call(), (e: unknown) => e instanceof OpenAI.NotFoundError);
    }
    const mine = [];
    for await (const b of acme.batches.list()) mine.push(b.id);
    assert.ok(mine.includes(created.id));
    const theirs = [];
    for await (const b of globex.batches.list()) theirs.push(b.id);
    assert.ok(!theirs.includes(created.id));
  });

  test('cancel: every unfinished line gets its cancelled result, in the error file; no output file', async () => {
    const file = await idle.files.create({ file: await toFile(jsonl(batchLines(6)), 'c.jsonl'), purpose: 'batch' });
    const b = await idle.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    const cancelled = await idle.batches.cancel(b.id);
    assert.equal(cancelled.status, 'cancelled');
    assert.ok(cancelled.cancelled_at);
    assert.deepEqual(cancelled.request_counts, { total: 6, completed: 0, failed: 0, cancelled: 6, in_progress: 0 } as never);
    assert.equal(cancelled.output_file_id, null);
    const errors = parseLines(await (await idle.files.content(cancelled.error_file_id as string)).text());
    assert.deepEqual(errors.map((e) => [e.custom_id, e.error?.code]), Array.from({ length: 6 }, (_, i) => [`req-${i}`, 'batch_cancelled']));
    // Cancelling again changes nothing; the x-tenant header scoped it (another tenant cannot see it).
    assert.equal((await idle.batches.cancel(b.id)).cancelled_at, cancelled.cancelled_at);
    await assert.rejects(clientOf(idleApi.port, 'unused', { 'x-tenant': 'other' }).batches.retrieve(b.id), OpenAI.NotFoundError);
  });

  test('a file with bad lines makes a failed batch whose errors name each line and field', async () => {
    const good = batchLines(2);
    const lines = [good[0] as string, '{"custom_id": "x", "method": "POST", "url": "/v1/chat/completions", "body": {"messages": "hi"}}', good[1] as string, JSON.stringify({ custom_id: 'y', method: 'POST', url: '/v1/completions', body: { prompt: 'hi', max_tokens: 2 } }), 'not json'];
    const file = await idle.files.create({ file: await toFile(jsonl(lines), 'bad.jsonl'), purpose: 'batch' });
    const b = await idle.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    assert.equal(b.status, 'failed');
    assert.ok(b.failed_at);
    assert.deepEqual(b.errors?.data?.map((e) => [e.line, e.param]), [[2, 'body.messages'], [4, 'url'], [5, 'line']]);
    assert.match(b.errors?.data?.[1]?.message ?? '', /line 4: url: expected \/v1\/chat\/completions \(the batch's endpoint\)/);
    assert.equal(b.request_counts?.total, 0);
  });

  test('bad requests: 400 naming the field, 404 for a file that is not there, 401 without a key', async () => {
    const expect400 = async (p: Promise<unknown>, param: string, message: RegExp) => {
      await assert.rejects(p, (e: unknown) => {
        assert.ok(e instanceof OpenAI.BadRequestError, String(e));
        assert.equal((e.error as { param?: string }).param, param);
        assert.match(e.message, message);
        return true;
      });
    };
    await expect400(acme.files.create({ file: await toFile(jsonl(batchLines(1)), 'f.jsonl'), purpose: 'fine-tune' }), 'purpose', /only "batch" is supported/);
    await expect400(acme.files.create({ file: await toFile(Buffer.alloc(0), 'f.jsonl'), purpose: 'batch' }), 'file', /empty/);
    const file = await acme.files.create({ file: await toFile(jsonl(batchLines(1)), 'f.jsonl'), purpose: 'batch' });
    await expect400(acme.batches.create({ input_file_id: file.id, endpoint: '/v1/embeddings' as never, completion_window: '24h' }), 'endpoint', /expected \/v1\/chat\/completions or \/v1\/completions/);
    await expect400(acme.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '48h' as never }), 'completion_window', /expected "24h"/);
    await expect400(acme.batches.list({ limit: 0 }), 'limit', /from 1 to 100/);
    await assert.rejects(acme.batches.create({ input_file_id: 'file-nope', endpoint: '/v1/chat/completions', completion_window: '24h' }), (e: unknown) => e instanceof OpenAI.NotFoundError && /input_file_id: no file "file-nope"/.test(e.message));
    await assert.rejects(acme.batches.retrieve('batch_nope'), OpenAI.NotFoundError);
    await assert.rejects(clientOf(api.port, 'sk-wrong').batches.list(), OpenAI.AuthenticationError);
  });

  test('list: newest first, pages of `limit` with has_more, the client\'s auto-pagination reaches every one', async () => {
    const lister = clientOf(idleApi.port, 'unused', { 'x-tenant': 'lister' });
    const file = await lister.files.create({ file: await toFile(jsonl(batchLines(1)), 'l.jsonl'), purpose: 'batch' });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await lister.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' })).id);
    const page = await lister.batches.list({ limit: 2 });
    assert.equal(page.data.length, 2);
    assert.equal(page.hasNextPage(), true);
    const all = [];
    for await (const b of lister.batches.list({ limit: 2 })) all.push(b.id);
    // Same-second creations tie on the score; order within a second is Redis's (by id), so compare as sets.
    assert.deepEqual([...all].sort(), [...ids].sort());
    assert.equal(new Set(all).size, 3);
  });

  test('raw HTTP: an upload past the size limit is a 413, a malformed one a 400 saying why, wrong methods 405', async () => {
    const small = await startHttpApi({ frontend: br.rig.gateway.frontend, limits: { maxContextTokens: 8192, blockTokens: SMALL.blockTokens }, models: ['m'], batch: { redisUrl: redis.url, queue: idleQueue, maxFileBytes: 1024 } });
    const base = `http://127.0.0.1:${small.port}/v1`;
    const errorOf = async (r: Response) => ({ status: r.status, ...((await r.json()) as { error: { message: string; param: string | null } }).error });
    try {
      const form = (bytes: number) => {
        const f = new FormData();
        f.append('purpose', 'batch');
        f.append('file', new Blob([Buffer.alloc(bytes, 0x61)]), 'big.jsonl');
        return f;
      };
      const ok = await fetch(`${base}/files`, { method: 'POST', body: form(1024) });
      assert.equal(ok.status, 200);
      // Over the file limit but within the framing allowance: refused after parsing, naming the file.
      const over = await errorOf(await fetch(`${base}/files`, { method: 'POST', body: form(1025) }));
      assert.deepEqual([over.status, over.param], [413, 'file']);
      // Past the body limit: refused while reading, connection closed.
      const huge = await errorOf(await fetch(`${base}/files`, { method: 'POST', body: form(200 * 1024) }));
      assert.deepEqual([huge.status, huge.param], [413, 'body']);
      const json = await errorOf(await fetch(`${base}/files`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }));
      assert.deepEqual([json.status, json.param], [400, 'content-type']);
      const cut = await errorOf(await fetch(`${base}/files`, { method: 'POST', headers: { 'content-type': 'multipart/form-data; boundary=xyz' }, body: '--xyz\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\nhalf' }));
      assert.equal(cut.status, 400);
      assert.match(cut.message, /body: multipart: part 1 \(file\): the body ends without the closing boundary/);
      const noFile = await errorOf(await fetch(`${base}/files`, { method: 'POST', body: (() => { const f = new FormData(); f.append('purpose', 'batch'); return f; })() }));
      assert.deepEqual([noFile.status, noFile.param], [400, 'file']);
      const del = await fetch(`${base}/batches`, { method: 'DELETE' });
      assert.deepEqual([del.status, del.headers.get('allow')], [405, 'GET, POST']);
      await del.body?.cancel();
      assert.equal((await errorOf(await fetch(`${base}/batches/batch_x/results`))).status, 404);
      assert.equal((await errorOf(await fetch(`${base}/batches`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"input_file_id": ' }))).param, 'body');
    } finally {
      await small.close();
    }
  });

  test('without Redis the Batch and Files routes answer 501 naming serve --redis', async () => {
    const bare = await apiOn({ batch: null });
    try {
      const c = clientOf(bare.port, 'unused');
      await assert.rejects(c.batches.list(), (e: unknown) => e instanceof OpenAI.APIError && e.status === 501 && /needs Redis; start the gateway with serve --redis/.test(e.message));
      await assert.rejects(c.files.create({ file: await toFile(jsonl(batchLines(1)), 'f.jsonl'), purpose: 'batch' }), (e: unknown) => e instanceof OpenAI.APIError && e.status === 501);
    } finally {
      await bare.close();
    }
  });
});
