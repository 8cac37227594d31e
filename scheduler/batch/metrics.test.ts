// Batch metrics, read back by parsing the exposition: line ends by outcome and their latency histogram, the
// Redis-wide gauges (jobs by status, lines pending) with their refresh cache and a failed read keeping the last
// values; then on a real Redis and gateway: a batch submitted with no drainer is pending, and once a drainer has run
// it the counters, the histogram and the gauges agree with the batch. promtool checks the exposition when present.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';

import { parseExposition, sampleValue, type Exposition } from '../metrics/exposition.js';
import { findPromtool, PROMTOOL_MISSING, runPromtool } from '../metrics/testing.js';
import { startTestRedis } from '../tune/testing/redis_server.js';
import { submitBatch, waitForBatch } from './client.js';
import type { LineEnd } from './line_run.js';
import { BatchMetrics, type BatchCounts } from './metrics.js';
import { batchLines, startBatchRig, testQueue, validateContext } from './testing/rig.js';
import { startTcpProxy } from '../util/tcp_proxy.js';

async function scrape(registry: Registry): Promise<Exposition> {
  return parseExposition(await registry.metrics());
}

const end = (outcome: LineEnd['outcome'], field: 'completed' | 'failed' | undefined, latencyS: number): LineEnd => ({
  batchId: 'b', index: 0, customId: 'c', requestId: 'r', arrivalS: 0, endS: latencyS, outcome, ...(field ? { field } : {}),
});

test('line ends by outcome, latency histogram, jobs and pending lines read at most every refreshMs', async () => {
  const registry = new Registry();
  let nowMs = 0;
  let reads = 0;
  let fail = false;
  const counts: BatchCounts = { jobs: { validating: 0, in_progress: 2, completed: 5, cancelled: 1, failed: 1 }, pendingLines: 37 };
  const m = new BatchMetrics({
    registry, refreshMs: 1000, nowMs: () => nowMs, inFlight: () => 3,
    counts: async () => {
      reads++;
      if (fail) throw new Error('Redis away');
      return structuredClone(counts);
    },
  });
  m.lineEnded(end('result', 'completed', 0.3));
  m.lineEnded(end('result', 'completed', 4));
  m.lineEnded(end('result', 'failed', 0.05));
  m.lineEnded(end('retry', undefined, 1));
  m.lineEnded(end('dropped', undefined, 1));
  let e = await scrape(registry);
  const v = (name: string, labels: Record<string, string> = {}) => sampleValue(e, name, labels);
  assert.equal(e.families.get('nvlsched_batch_lines_total')?.type, 'counter');
  assert.deepEqual(['completed', 'failed', 'retried', 'dropped'].map((o) => v('nvlsched_batch_lines_total', { outcome: o })), [2, 1, 1, 1]);
  assert.equal(e.families.get('nvlsched_batch_line_latency_seconds')?.type, 'histogram');
  assert.equal(v('nvlsched_batch_line_latency_seconds_count', { outcome: 'completed' }), 2);
  assert.equal(v('nvlsched_batch_line_latency_seconds_sum', { outcome: 'completed' }), 4.3);
  assert.equal(v('nvlsched_batch_line_latency_seconds_bucket', { outcome: 'completed', le: '0.5' }), 1);
  assert.equal(v('nvlsched_batch_line_latency_seconds_bucket', { outcome: 'completed', le: '5' }), 2);
  assert.equal(v('nvlsched_batch_line_latency_seconds_count', { outcome: 'failed' }), 1);
  assert.deepEqual(['validating', 'in_progress', 'completed', 'cancelled', 'failed'].map((s) => v('nvlsched_batch_jobs', { status: s })), [0, 2, 5, 1, 1]);
  assert.equal(v('nvlsched_batch_lines_pending'), 37);
  assert.equal(v('nvlsched_batch_lines_in_flight'), 3);
  assert.equal(reads, 1, 'both gauges share one read');
  // Within refreshMs: no new read, the old values.
  counts.pendingLines = 10;
  nowMs = 999;
  e = await scrape(registry);
  assert.equal(reads, 1);
  assert.equal(v('nvlsched_batch_lines_pending'), 37);
  nowMs = 1000;
  e = await scrape(registry);
  assert.equal(reads, 2);
  assert.equal(v('nvlsched_batch_lines_pending'), 10);
  // A failed read is counted and the gauges keep their last values.
  fail = true;
  nowMs = 2500;
  e = await scrape(registry);
  assert.equal(v('nvlsched_batch_stats_errors_total'), 1);
  assert.equal(v('nvlsched_batch_lines_pending'), 10);
  assert.equal(v('nvlsched_batch_jobs', { status: 'completed' }), 5);
  const promtool = findPromtool();
  if (promtool) {
    const r = runPromtool(promtool, ['check', 'metrics'], await registry.metrics());
    assert.equal(r.status, 0, r.output);
  } else {
    console.log(PROMTOOL_MISSING);
  }
});

const redis = await startTestRedis();

test('on Redis and a gateway: pending before a drainer runs the batch; after, the counts agree with it', { skip: 'skip' in redis ? redis.skip : false }, async () => {
  if ('skip' in redis) return;
  const queue = testQueue('metrics');
  const registry = new Registry();
  // The metrics read Redis through a proxy the test cuts (REDIS_URL may be a server it must not stop).
  const target = new URL(redis.url);
  const proxy = await startTcpProxy(Number(target.port || 6379), target.hostname);
  const metrics = new BatchMetrics({ registry, redisUrl: `redis://127.0.0.1:${proxy.port}`, queue, refreshMs: 0 });
  try {
    const sub = await submitBatch({ redisUrl: redis.url, queue, text: batchLines(12, { maxTokens: 3 }).join('\n'), inputFile: 'm.jsonl', validate: validateContext(), chunkLines: 5 });
    let e = await scrape(registry);
    assert.equal(sampleValue(e, 'nvlsched_batch_jobs', { status: 'in_progress' }), 1);
    assert.equal(sampleValue(e, 'nvlsched_batch_lines_pending'), 12);
    const br = await startBatchRig(redis.url, queue, { onLineEnd: (x) => metrics.lineEnded(x) });
    try {
      await waitForBatch({ redisUrl: redis.url, queue }, sub.id, { timeoutMs: 20_000, pollMs: 50 });
      e = await scrape(registry);
      assert.equal(sampleValue(e, 'nvlsched_batch_jobs', { status: 'completed' }), 1);
      assert.equal(sampleValue(e, 'nvlsched_batch_jobs', { status: 'in_progress' }), 0);
      assert.equal(sampleValue(e, 'nvlsched_batch_lines_pending'), 0);
      const results = br.ends.filter((x) => x.outcome === 'result').length;
      assert.equal(results, 12);
      assert.equal(sampleValue(e, 'nvlsched_batch_lines_total', { outcome: 'completed' }), 12);
      // Every outcome's series exists from the start (0 until it happens), so rate() and alerts see it.
      assert.equal(sampleValue(e, 'nvlsched_batch_lines_total', { outcome: 'dropped' }), 0);
      assert.equal(sampleValue(e, 'nvlsched_batch_line_latency_seconds_count', { outcome: 'completed' }), 12);
      assert.equal(sampleValue(e, 'nvlsched_batch_stats_errors_total'), 0);
    } finally {
      await br.close();
    }
    // Redis gone: the scrape answers at once with the last values and counts the failure; back: read again.
    await proxy.cut();
    const t0 = Date.now();
    e = await scrape(registry);
    assert.ok(Date.now() - t0 < 3000, 'the scrape does not wait out the outage');
    assert.equal(sampleValue(e, 'nvlsched_batch_stats_errors_total'), 1);
    assert.equal(sampleValue(e, 'nvlsched_batch_jobs', { status: 'completed' }), 1);
    await proxy.resume();
    e = await scrape(registry);
    assert.equal(sampleValue(e, 'nvlsched_batch_stats_errors_total'), 1, 'the read after the outage reconnects and succeeds');
    assert.equal(sampleValue(e, 'nvlsched_batch_jobs', { status: 'completed' }), 1);
  } finally {
    metrics.close();
    await proxy.close();
    await redis.stop();
  }
});
