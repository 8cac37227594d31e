// A batch end to end on a real Redis (REDIS_URL, else a redis-server child, else skipped with a message): submitted
// from JSONL, drained by a drainer on an in-process gateway (startRig), results complete, in input order, with usage;
// a line the gateway refuses at run time is a failed result with the HTTP API's status and error; the status counts;
// a batch whose chunks were lost is put back by requeue, and a stored line that cannot be read fails alone.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { startTestRedis, type TestRedis } from '../tune/testing/redis_server.js';
import { Queue } from 'bullmq';

import { startBatchDrainer } from './drainer.js';
import type { BatchFrontend } from './line_run.js';
import { failFastClient } from './redis_conn.js';
import { BatchStore } from './store.js';
import { batchMeta, eachBatchResult, requeueBatch, submitBatch, waitForBatch } from './client.js';
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

  test('requeue puts back lost chunks; a damaged stored line fails alone (500 damaged_line)', async () => {
    const idle = `${queue}-lost`;
    const sub = await submitBatch({ redisUrl: redis.url, queue: idle, text: batchLines(6).join('\n'), inputFile: 'lost.jsonl', validate: validateContext(), chunkLines: 3 });
    // The chunks vanish from the queue (as if the submit died before queueing), and line 1 is damaged.
    const bull = new Queue(idle, { connection: { url: redis.url } });
    await bull.obliterate({ force: true });
    await bull.close();
    const client = failFastClient(redis.url, 5000);
    await client.connect();
    await client.lset(new BatchStore(client, idle).key(sub.id, 'lines'), 1, '{"custom_id": "req-1"}');
    client.disconnect();
    const cluster = br.rig.gateway.topology.cluster;
    const drainer = await startBatchDrainer({ frontend: br.rig.gateway.frontend, redisUrl: redis.url, queue: idle, limits: { maxContextTokens: cluster.model.maxContextTokens, blockTokens: 16 }, models: [cluster.model.name] });
    try {
      const r = await requeueBatch({ redisUrl: redis.url, queue: idle }, sub.id);
      assert.deepEqual([r.added, r.retried], [2, 0]);
      const meta = await waitForBatch({ redisUrl: redis.url, queue: idle }, sub.id, { timeoutMs: 20_000, pollMs: 50 });
      assert.deepEqual([statusOf(meta), meta.completed, meta.failed], ['completed', 5, 1]);
      const out = await results(redis.url, idle, sub.id);
      assert.equal(out[1]?.response?.status_code, 500);
      const err = (out[1]?.response?.body as { error: { code: string; message: string } }).error;
      assert.equal(err.code, 'damaged_line');
      assert.match(err.message, /batch .* line index 1: the stored line is damaged/);
      assert.deepEqual((await requeueBatch({ redisUrl: redis.url, queue: idle }, sub.id)).added, 0, 'a finished batch is left alone');
    } finally {
      await drainer.stop();
    }
  });

  test('bad drainer options and an unreachable Redis are refused with one line naming them', async () => {
    const base = { frontend: br.rig.gateway.frontend, redisUrl: redis.url, limits: { maxContextTokens: 1000, blockTokens: 16 }, models: ['m'] };
    await assert.rejects(startBatchDrainer({ ...base, maxInFlight: 0 }), /startBatchDrainer: maxInFlight must be an integer ≥ 1, got 0/);
    await assert.rejects(startBatchDrainer({ ...base, priority: 0.5 }), /startBatchDrainer: priority must be an integer/);
    await assert.rejects(startBatchDrainer({ ...base, redisUrl: 'redis://127.0.0.1:1' }), /^Error: cannot reach Redis at redis:\/\/127\.0\.0\.1:1: .*ECONNREFUSED/);
  });

  test('429-style rejections: the drainer waits out the retry hint before any line starts, then every line completes', async () => {
    const q = `${queue}-busy`;
    const real = br.rig.gateway.frontend;
    const calls: Array<{ atMs: number; rejected: boolean }> = [];
    let rejections = 3;
    const busy: BatchFrontend = {
      now: () => real.now(),
      get stopping() {
        return real.stopping;
      },
      start: (parsed, sink) => {
        const rejected = rejections-- > 0;
        calls.push({ atMs: performance.now(), rejected });
        if (rejected) return { ok: false, rejection: { kind: 'overloaded', code: 'E_QUEUE_FULL', reason: 'queue full', retryAfterS: 0.25 } };
        return real.start(parsed, sink);
      },
    };
    const cluster = br.rig.gateway.topology.cluster;
    const drainer = await startBatchDrainer({ frontend: busy, redisUrl: redis.url, queue: q, limits: { maxContextTokens: cluster.model.maxContextTokens, blockTokens: 16 }, models: [cluster.model.name], maxInFlight: 1, idlePollMs: 10 });
    try {
      const sub = await submitBatch({ redisUrl: redis.url, queue: q, text: batchLines(4).join('\n'), inputFile: 'busy.jsonl', validate: validateContext() });
      const meta = await waitForBatch({ redisUrl: redis.url, queue: q }, sub.id, { timeoutMs: 20_000, pollMs: 50 });
      assert.deepEqual([statusOf(meta), meta.completed], ['completed', 4]);
      assert.equal(drainer.stats().linesRetried, 3);
      assert.deepEqual(calls.map((c) => c.rejected), [true, true, true, false, false, false, false]);
      for (let i = 1; i < calls.length; i++) {
        const prev = calls[i - 1] as { atMs: number; rejected: boolean };
        if (prev.rejected) assert.ok((calls[i] as { atMs: number }).atMs - prev.atMs >= 245, `call ${i} came ${((calls[i] as { atMs: number }).atMs - prev.atMs).toFixed(0)} ms after a rejection that asked for 250`);
      }
      // The rejected line ran in its turn: results in input order, each exactly once.
      assert.deepEqual((await results(redis.url, q, sub.id)).map((o) => o.custom_id), ['req-0', 'req-1', 'req-2', 'req-3']);
    } finally {
      await drainer.stop();
    }
  });
});
