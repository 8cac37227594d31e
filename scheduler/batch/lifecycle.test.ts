// A batch's life beyond the happy path, on a real Redis: cancelled mid-job (lines in flight are cancelled through
// their handles, results written before stay, every other line gets a cancelled result, the chunk lets go), and a
// gateway restart mid-job — graceful (chunks handed back at once) and a crash (chunks recovered by BullMQ's stalled
// check once their locks expire) — after which a fresh gateway and drainer finish the job: every custom_id has
// exactly one result, the results written before the restart are unchanged, and the new drainer ran only the lines
// without one (lines in flight at the restart included).
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';

import { startTestRedis, type TestRedis } from '../tune/testing/redis_server.js';
import { cancelBatch, eachBatchResult, submitBatch, waitForBatch } from './client.js';
import type { OutputLine } from './format.js';
import { BatchStore, statusOf } from './store.js';
import { failFastClient } from './redis_conn.js';
import { batchLines, startBatchRig, testQueue, until, validateContext, type BatchRig } from './testing/rig.js';

const redis: TestRedis = await startTestRedis();

async function outputs(redisUrl: string, queue: string, id: string): Promise<OutputLine[]> {
  const out: OutputLine[] = [];
  await eachBatchResult({ redisUrl, queue }, id, (l) => void out.push(JSON.parse(l) as OutputLine));
  return out;
}

async function rawResults(redisUrl: string, queue: string, id: string): Promise<Record<string, string>> {
  const client = failFastClient(redisUrl, 5000);
  await client.connect();
  try {
    return await client.hgetall(new BatchStore(client, queue).key(id, 'results'));
  } finally {
    client.disconnect();
  }
}

/** Lines 0..19 short, 20..24 long (300 tokens: about a second in flight at ~3 ms a step), 25.. short. */
const LONG = (i: number): number => (i >= 20 && i < 25 ? 300 : 3);

describe('batch lifecycle', { skip: 'skip' in redis ? redis.skip : false }, () => {
  if ('skip' in redis) return;
  after(() => redis.stop());

  test('cancel mid-job: in-flight lines cancelled, earlier results kept, the rest cancelled, the chunk lets go', async () => {
    const queue = testQueue('cancel');
    const br = await startBatchRig(redis.url, queue, { maxInFlight: 5, maxUnstarted: 5 });
    try {
      const sub = await submitBatch({ redisUrl: redis.url, queue, text: batchLines(40, { maxTokens: LONG }).join('\n'), inputFile: 'c.jsonl', validate: validateContext() });
      const ended = (): number => br.ends.filter((e) => e.outcome === 'result').length;
      await until(() => ended() >= 20 && br.drainer.stats().inFlight >= 1, 'the first 20 results and a long line in flight');
      const before = await rawResults(redis.url, queue, sub.id);
      const meta = await cancelBatch({ redisUrl: redis.url, queue }, sub.id);
      assert.equal(statusOf(meta), 'cancelled');
      assert.equal(meta.completed + meta.failed + meta.cancelled, 40);
      assert.ok(meta.cancelled >= 15, `cancelled ${meta.cancelled}`);
      await until(() => br.drainer.stats().chunksActive === 0 && br.drainer.stats().inFlight === 0, 'the drainer to let the cancelled batch go');
      assert.ok(br.drainer.stats().linesDropped >= 1, 'a line in flight was cancelled');
      const dropped = br.ends.filter((e) => e.outcome === 'dropped');
      assert.ok(dropped.every((e) => e.finished?.finishReason === 'cancelled' && e.finished.cancelReason === 'the batch was cancelled'));
      const after = await rawResults(redis.url, queue, sub.id);
      for (const [id, v] of Object.entries(before)) assert.equal(after[id], v, `result of ${id} changed`);
      const out = await outputs(redis.url, queue, sub.id);
      assert.equal(out.length, 40);
      for (const o of out) {
        if (before[o.custom_id] !== undefined || o.response !== null) continue;
        assert.equal(o.error?.code, 'batch_cancelled');
      }
      for (const e of dropped) assert.equal(out[e.index]?.error?.code, 'batch_cancelled');
    } finally {
      await br.close();
    }
  });

  // graceful: drainer.stop() then the gateway; gateway-first: the gateway closes under a running drainer, which
  // stops by itself; crash: the drainer dies (stop({ abandon: true })).
  for (const mode of ['graceful', 'gateway-first', 'crash'] as const) {
    test(`gateway restart mid-job (${mode}): the job completes, one result per line, earlier results unchanged`, async () => {
      const queue = testQueue(`restart-${mode}`);
      let first: BatchRig | undefined;
      // The first gateway runs one chunk at a time: lines 0..19, then 20..24 (long), then never has room again.
      first = await startBatchRig(redis.url, queue, { maxInFlight: 5, maxUnstarted: 5, chunksAtOnce: 1, idle: () => (first?.drainer.stats().linesStarted ?? 0) < 25 });
      const a = first;
      let sub;
      try {
        sub = await submitBatch({ redisUrl: redis.url, queue, text: batchLines(60, { maxTokens: LONG }).join('\n'), inputFile: 'r.jsonl', validate: validateContext(), chunkLines: 20 });
        await until(() => a.ends.filter((e) => e.outcome === 'result').length >= 20 && a.drainer.stats().inFlight === 5, 'the first 20 results and 5 long lines in flight');
      } finally {
        if (mode === 'graceful') await a.drainer.stop();
        if (mode === 'crash') await a.drainer.stop({ abandon: true });
        await a.rig.close();
        if (mode === 'gateway-first') {
          await until(() => a.drainer.stats().stopped && a.drainer.stats().chunksActive === 0, 'the drainer to stop with its gateway');
          await a.drainer.stop();
        }
      }
      assert.equal(a.ends.filter((e) => e.outcome === 'dropped').length, 5, 'the 5 long lines were cut by the restart');
      const before = await rawResults(redis.url, queue, sub.id);
      const beforeIds = new Set(Object.keys(before));
      assert.equal(beforeIds.size, 20);

      const b = await startBatchRig(redis.url, queue, { maxInFlight: 8 });
      try {
        const meta = await waitForBatch({ redisUrl: redis.url, queue }, sub.id, { timeoutMs: 30_000, pollMs: 50 });
        // Graceful: the chunk came back at once; a crash: through BullMQ's stalled check, once its lock expired.
        assert.equal(b.drainer.stats().chunksRecovered, mode === 'crash' ? 1 : 0);
        assert.deepEqual([statusOf(meta), meta.completed, meta.failed, meta.cancelled], ['completed', 60, 0, 0]);
        const after = await rawResults(redis.url, queue, sub.id);
        assert.equal(Object.keys(after).length, 60);
        for (const [id, v] of Object.entries(before)) assert.equal(after[id], v, `result of ${id} changed`);
        // The new drainer ran exactly the lines without a result — the long ones cut by the restart among them.
        const ranAfter = b.ends.filter((e) => e.batchId === sub.id && e.outcome === 'result').map((e) => e.customId);
        assert.equal(new Set(ranAfter).size, ranAfter.length, 'a line ran twice after the restart');
        assert.deepEqual(new Set(ranAfter), new Set(Array.from({ length: 60 }, (_, i) => `req-${i}`).filter((id) => !beforeIds.has(id))));
        for (let i = 20; i < 25; i++) assert.ok(ranAfter.includes(`req-${i}`), `long line ${i} re-ran`);
        const out = await outputs(redis.url, queue, sub.id);
        assert.deepEqual(out.map((o) => o.custom_id), Array.from({ length: 60 }, (_, i) => `req-${i}`));
        assert.ok(out.every((o) => o.response?.status_code === 200));
      } finally {
        await b.close();
      }
    });
  }
});
