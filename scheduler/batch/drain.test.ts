// A batch end to end on a real Redis (REDIS_URL, else a redis-server child, else skipped with a message): submitted
// from JSONL, drained by a drainer on an in-process gateway (startRig), results complete, in input order, with usage;
// a line the gateway refuses at run time is a failed result with the HTTP API's status and error; the status counts.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { startTestRedis, type TestRedis } from '../tune/testing/redis_server.js';
import { batchMeta, eachBatchResult, submitBatch, waitForBatch } from './client.js';
import type { OutputLine } from './format.js';
import { statusOf } from './store.js';
import { batchLines, startBatchRig, testQueue, validateContext, type BatchRig } from './testing/rig.js';

const redis: TestRedis = await startTestRedis();

async function results(redisUrl: string, queue: string, id: string): Promise<OutputLine[]> {
  const out: OutputLine[] = [];
  await eachBatchResult({ redisUrl, queue }, id, (l) => void out.push(JSON.parse(l) as OutputLine));
  return out;
}

describe('batch drain', { skip: 'skip' in redis ? redis.skip : false }, () => {
  if ('skip' in redis) return;
  const queue = testQueue('drain');
  let br: BatchRig;
  before(async () => {
    br = await startBatchRig(redis.url, queue, { maxInFlight: 8 });
  });
  after(async () => {
    await br.close();
    await redis.stop();
  });

  test('40 lines (chat and completions, 3 chunks): every result, in input order, usage and text', async () => {
    const maxTokens = (i: number): number => 2 + (i % 5);
    const text = batchLines(40, { maxTokens, url: (i) => (i % 4 === 3 ? '/v1/completions' : '/v1/chat/completions') }).join('\n') + '\n';
    const sub = await submitBatch({ redisUrl: redis.url, queue, text, inputFile: 'in.jsonl', validate: validateContext(), chunkLines: 16 });
    assert.equal(sub.total, 40);
    assert.equal(sub.chunks, 3);
    const meta = await waitForBatch({ redisUrl: redis.url, queue }, sub.id, { timeoutMs: 20_000, pollMs: 50 });
    assert.equal(statusOf(meta), 'completed');
    assert.deepEqual([meta.total, meta.completed, meta.failed, meta.cancelled], [40, 40, 0, 0]);
    assert.ok(meta.finishedAtS !== undefined);
    const out = await results(redis.url, queue, sub.id);
    assert.deepEqual(out.map((o) => o.custom_id), Array.from({ length: 40 }, (_, i) => `req-${i}`));
    const requestIds = new Set<string>();
    out.forEach((o, i) => {
      assert.equal(o.error, null);
      assert.equal(o.response?.status_code, 200, JSON.stringify(o));
      const body = o.response?.body as { object: string; id: string; usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number }; choices: Array<{ finish_reason: string; message?: { content: string }; text?: string }> };
      assert.equal(body.object, i % 4 === 3 ? 'text_completion' : 'chat.completion');
      assert.equal(body.id, o.response?.request_id);
      assert.equal(body.usage.completion_tokens, maxTokens(i));
      assert.ok(body.usage.prompt_tokens > 8);
      assert.equal(body.usage.total_tokens, body.usage.prompt_tokens + body.usage.completion_tokens);
      assert.equal(body.choices[0]?.finish_reason, 'length');
      assert.ok((body.choices[0]?.message?.content ?? body.choices[0]?.text ?? '').length > 0);
      requestIds.add(o.response?.request_id ?? '');
    });
    assert.equal(requestIds.size, 40);
    // Every batch line ran at the drainer's low priority, and each exactly once.
    const ends = br.ends.filter((e) => e.batchId === sub.id);
    assert.equal(ends.length, 40);
    assert.ok(ends.every((e) => e.outcome === 'result'));
  });

  test('a line the gateway refuses when it runs (model not served) is a failed result with the HTTP status', async () => {
    const good = batchLines(3, { idPrefix: 'ok-' });
    const bad = JSON.stringify({ custom_id: 'bad-model', method: 'POST', url: '/v1/chat/completions', body: { model: 'gpt-9', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 } });
    const sub = await submitBatch({ redisUrl: redis.url, queue, text: [good[0], bad, good[1], good[2]].join('\n'), inputFile: 'mixed.jsonl', validate: validateContext() });
    const meta = await waitForBatch({ redisUrl: redis.url, queue }, sub.id, { timeoutMs: 20_000, pollMs: 50 });
    assert.deepEqual([statusOf(meta), meta.completed, meta.failed], ['completed', 3, 1]);
    const out = await results(redis.url, queue, sub.id);
    assert.deepEqual(out.map((o) => o.custom_id), ['ok-0', 'bad-model', 'ok-1', 'ok-2']);
    const refused = out[1] as OutputLine;
    assert.equal(refused.response?.status_code, 404);
    assert.deepEqual((refused.response?.body as { error: { param: string; code: string } }).error.param, 'model');
    assert.match((refused.response?.body as { error: { message: string } }).error.message, /gpt-9/);
    assert.equal((await batchMeta({ redisUrl: redis.url, queue }, sub.id)).failed, 1);
  });
});
