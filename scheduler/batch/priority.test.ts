// Batch lines do not delay interactive requests: with a batch queued deep on every instance (long prompts: the KV
// holds a few at a time), an interactive request submitted meanwhile is planned before every batch line of its
// instance that was still waiting when it arrived — the scheduler's priority order, checked on the gateway's own
// plan times (arrival + queue time), not on wall-clock latency. At the same priority (0) it would queue behind them.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';

import type { Finished } from '../gateway/frontend.js';
import { parseBody } from './format.js';
import { startTestRedis, type TestRedis } from '../tune/testing/redis_server.js';
import { submitBatch, waitForBatch } from './client.js';
import { batchLines, startBatchRig, testQueue, until, validateContext } from './testing/rig.js';

const redis: TestRedis = await startTestRedis();

describe('batch priority', { skip: 'skip' in redis ? redis.skip : false }, () => {
  if ('skip' in redis) return;
  after(() => redis.stop());

  test('an interactive request is planned ahead of every batch line waiting on its instance', async () => {
    const queue = testQueue('priority');
    const br = await startBatchRig(redis.url, queue, { maxInFlight: 32, maxUnstarted: 32 });
    try {
      const fe = br.rig.gateway.frontend;
      const queued = (): number => [...br.rig.gateway.driver.queuedByShape().values()].reduce((a, b) => a + b, 0);
      const sub = await submitBatch({ redisUrl: redis.url, queue, text: batchLines(32, { words: 600, maxTokens: 30 }).join('\n'), inputFile: 'p.jsonl', validate: validateContext() });
      await until(() => queued() >= 12, 'batch lines waiting in the scheduler');

      const ctx = validateContext();
      const api = parseBody('/v1/chat/completions', { messages: [{ role: 'user', content: 'interactive: ' + 'word '.repeat(600) }], max_tokens: 4 }, { ...ctx, models: ['default'], newRequestId: () => 'interactive-1', nowS: fe.now() });
      const arrivalS = api.parsed.req.arrivalS;
      let instance = '';
      const ended = new Promise<Finished>((resolve) => {
        const r = fe.start(api.parsed, { onTokens: () => {}, onEnd: resolve });
        assert.ok(r.ok, 'the interactive request was admitted');
        instance = r.ok ? r.instanceId : '';
      });
      const f = await ended;
      assert.equal(f.finishReason, 'length');
      const plannedS = arrivalS + f.timings.queueS;

      await waitForBatch({ redisUrl: redis.url, queue }, sub.id, { timeoutMs: 30_000, pollMs: 50 });
      const sameInstance = br.ends.filter((e) => e.instanceId === instance && e.finished !== undefined);
      const waitingThen = sameInstance.filter((e) => e.arrivalS + (e.finished as Finished).timings.queueS > arrivalS);
      assert.ok(waitingThen.length >= 2, `batch lines waiting on ${instance} when the interactive request came: ${waitingThen.length}`);
      for (const e of waitingThen) {
        const lineS = e.arrivalS + (e.finished as Finished).timings.queueS;
        assert.ok(lineS >= plannedS, `batch line ${e.customId} (arrived ${(arrivalS - e.arrivalS).toFixed(3)} s earlier) was planned ${(plannedS - lineS).toFixed(3)} s before the interactive request`);
      }
      assert.ok(waitingThen.some((e) => e.arrivalS + (e.finished as Finished).timings.queueS > plannedS), 'some batch line went after it');
    } finally {
      await br.close();
    }
  });
});
