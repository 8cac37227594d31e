// Redis going away mid-job and coming back. (1) Any Redis: the drainer reaches it through a TCP proxy that is cut
// for longer than the chunk locks last — one log line naming the URL, no line starts while it is away, lines that
// finish meanwhile keep their results in memory, a line is never run twice (even though BullMQ hands the expired
// chunk back while its first run goes on), and after the proxy is back the job completes with one result per line.
// (2) Where a redis-server binary exists: the server is SIGKILLed and restarted on the same port with its
// append-only file, and the job completes the same way. What is NOT survivable is a Redis that restarts empty:
// the batch is gone (the drainer says so and fails the chunk; see README).
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Queue } from 'bullmq';

import { startTestRedis, type TestRedis } from '../tune/testing/redis_server.js';
import { eachBatchResult, submitBatch, waitForBatch } from './client.js';
import type { OutputLine } from './format.js';
import { failFastClient } from './redis_conn.js';
import { statusOf } from './store.js';
import { startDurableRedis, type DurableRedis } from './testing/durable_redis.js';
import { batchLines, startBatchRig, testQueue, until, validateContext, type BatchRig } from './testing/rig.js';
import { startTcpProxy } from '../util/tcp_proxy.js';

const redis: TestRedis = await startTestRedis();
const durable: DurableRedis = await startDurableRedis();

/** Every line 40 tokens (~0.15 s): some are always in flight. */
const LINES = 30;
const text = batchLines(LINES, { maxTokens: 40 }).join('\n');

async function checkComplete(url: string, queue: string, id: string, br: BatchRig): Promise<void> {
  const meta = await waitForBatch({ redisUrl: url, queue }, id, { timeoutMs: 30_000, pollMs: 50 });
  assert.deepEqual([statusOf(meta), meta.completed, meta.failed, meta.cancelled], ['completed', LINES, 0, 0]);
  const out: OutputLine[] = [];
  await eachBatchResult({ redisUrl: url, queue }, id, (l) => void out.push(JSON.parse(l) as OutputLine));
  assert.deepEqual(out.map((o) => o.custom_id), Array.from({ length: LINES }, (_, i) => `req-${i}`));
  assert.ok(out.every((o) => o.response?.status_code === 200));
  // Each line ran to a result exactly once: nothing re-ran, nothing was written twice.
  const ran = br.ends.filter((e) => e.outcome === 'result').map((e) => e.customId);
  const trail = (): string => br.ends.map((e) => `${e.customId}:${e.outcome}:${e.requestId}`).join(' ');
  assert.equal(ran.length, LINES, `lines run to a result: ${ran.length}; ${trail()}`);
  assert.equal(new Set(ran).size, LINES, trail());
  // A write whose reply was lost with the connection is sent again when it is back and finds its result there.
  const st = br.drainer.stats();
  assert.equal(st.resultsWritten + st.resultsAlreadyThere, LINES);
}

describe('Redis away mid-job, through a cut proxy', { skip: 'skip' in redis ? redis.skip : false }, () => {
  if ('skip' in redis) return;
  after(() => redis.stop());

  test('one clear line, nothing starts while away, results kept in memory, the job completes exactly once', async () => {
    const target = new URL(redis.url);
    const proxy = await startTcpProxy(Number(target.port || 6379), target.hostname);
    const proxied = `redis://127.0.0.1:${proxy.port}`;
    const queue = testQueue('outage');
    const logs: string[] = [];
    const br = await startBatchRig(proxied, queue, { maxInFlight: 4, log: (l) => logs.push(l) });
    const direct = failFastClient(redis.url, 5000);
    await direct.connect();
    const bull = new Queue(queue, { connection: { url: redis.url } });
    try {
      const sub = await submitBatch({ redisUrl: redis.url, queue, text, inputFile: 'o.jsonl', validate: validateContext(), chunkLines: 15 });
      await until(() => br.ends.length >= 8 && br.drainer.stats().inFlight >= 2, 'a few results and lines in flight');
      const activeJobs = (await bull.getActive()).map((j) => j.id as string);
      assert.ok(activeJobs.length >= 1);
      await proxy.cut();
      await until(() => !br.drainer.stats().redisUp, 'the drainer to notice');
      const startedWhenDown = br.drainer.stats().linesStarted;
      await until(() => br.drainer.stats().inFlight === 0, 'the lines in flight to end');
      // Away longer than the chunk locks: they expire, and BullMQ will hand the chunks back when Redis returns.
      await until(async () => (await Promise.all(activeJobs.map((id) => direct.exists(`bull:${queue}:${id}:lock`)))).every((n) => n === 0), 'the chunk locks to expire');
      assert.equal(br.drainer.stats().linesStarted, startedWhenDown, 'a line started while Redis was away');
      const endedResults = br.ends.filter((e) => e.outcome === 'result').length;
      const stored = Number(await direct.hget(`${queue}:${sub.id}:meta`, 'completed'));
      assert.ok(endedResults > stored, `results held in memory during the outage: ${endedResults} ended, ${stored} stored`);
      await proxy.resume();
      await checkComplete(redis.url, queue, sub.id, br);
      const down = logs.filter((l) => l.includes(`Redis at ${proxied} unreachable`));
      assert.equal(down.length, 1, logs.join('\n'));
      assert.match(down[0] as string, /lines stay pending, retrying/);
      assert.equal(logs.filter((l) => l.includes(`Redis at ${proxied} is back`)).length, 1);
      assert.ok(logs.length < 20, `a quiet log: ${logs.length} lines\n${logs.join('\n')}`);
    } finally {
      await br.close();
      await bull.close();
      direct.disconnect();
      await proxy.close();
    }
  });
});

describe('Redis killed and restarted with its append-only file', { skip: 'skip' in durable ? durable.skip : false }, () => {
  if ('skip' in durable) return;
  after(() => durable.stop());

  test('the job completes exactly once after SIGKILL and restart on the same port', async () => {
    const queue = testQueue('kill');
    const logs: string[] = [];
    const br = await startBatchRig(durable.url, queue, { maxInFlight: 4, log: (l) => logs.push(l) });
    try {
      const sub = await submitBatch({ redisUrl: durable.url, queue, text, inputFile: 'k.jsonl', validate: validateContext(), chunkLines: 15 });
      await until(() => br.ends.length >= 8 && br.drainer.stats().inFlight >= 2, 'a few results and lines in flight');
      await durable.kill();
      await until(() => !br.drainer.stats().redisUp && br.drainer.stats().inFlight === 0, 'the drainer to notice and its lines to end');
      await durable.restart();
      await checkComplete(durable.url, queue, sub.id, br);
      assert.equal(logs.filter((l) => l.includes(`Redis at ${durable.url} unreachable`)).length, 1, logs.join('\n'));
    } finally {
      await br.close();
    }
  });
});
