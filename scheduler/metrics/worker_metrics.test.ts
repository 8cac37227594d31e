// WorkerMetrics: steps, live sequences, KV per GPU and tier, KV events and errors, with the worker's labels on every
// series; scraped over HTTP together with a gateway registry from one server; promtool check metrics.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseExposition, sampleValue, select } from './exposition.js';
import { GatewayMetrics } from './gateway_metrics.js';
import { MetricsInputError } from './labels.js';
import { startMetricsServer } from './server.js';
import { recordWorkerRun as record } from './fixtures.js';
import { findPromtool, httpGet, PROMTOOL_MISSING, runPromtool } from './testing.js';
import { WorkerMetrics } from './worker_metrics.js';

test('worker metrics carry worker and domain labels; values as recorded; pulled KV replaces pushed', async () => {
  const w = new WorkerMetrics({ workerId: 'tray3', domain: 'rack0' });
  record(w);
  const g = new GatewayMetrics();
  g.workerFailure('tray3');
  const server = await startMetricsServer({ registries: [g.registry, w.registry] });
  try {
    const res = await httpGet(`http://127.0.0.1:${server.port}/metrics`);
    assert.equal(res.status, 200);
    const e = parseExposition(res.body);
    const v = (name: string, labels: Record<string, string> = {}) => sampleValue(e, name, { worker: 'tray3', domain: 'rack0', ...labels });
    assert.equal(v('nvlsched_worker_steps_total'), 3);
    assert.equal(v('nvlsched_worker_step_duration_seconds_bucket', { le: '0.015' }), 1);
    assert.equal(v('nvlsched_worker_step_duration_seconds_bucket', { le: '0.02' }), 2);
    assert.equal(v('nvlsched_worker_step_duration_seconds_bucket', { le: '0.25' }), 2);
    assert.equal(v('nvlsched_worker_step_duration_seconds_bucket', { le: '0.5' }), 3);
    assert.equal(v('nvlsched_worker_step_tokens_bucket', { le: '64' }), 2);
    assert.equal(v('nvlsched_worker_step_sequences_bucket', { le: '4' }), 1);
    assert.equal(v('nvlsched_worker_live_sequences'), 64);
    assert.equal(v('nvlsched_worker_kv_cache_used_blocks', { gpu: '3', tier: 'device' }), 400);
    assert.equal(v('nvlsched_worker_kv_cache_capacity_blocks', { gpu: '', tier: 'host' }), 30_000);
    assert.equal(v('nvlsched_worker_kv_events_total', { kind: 'stored' }), 194);
    assert.equal(v('nvlsched_worker_kv_events_total', { kind: 'moved' }), 1);
    assert.equal(v('nvlsched_worker_errors_total', { code: 'E_OUT_OF_BLOCKS' }), 2);
    // The gateway's series from the same server, without the worker's default labels.
    assert.deepEqual(select(e, 'nvlsched_worker_failures_total')[0]?.labels, { worker: 'tray3' });

    w.onCollect(() => ({ liveSequences: 5, kv: [{ gpu: 0, tier: 'device', usedBlocks: 7, totalBlocks: 4000 }] }));
    const after = parseExposition((await httpGet(`http://127.0.0.1:${server.port}/metrics`)).body);
    assert.equal(sampleValue(after, 'nvlsched_worker_live_sequences'), 5);
    assert.equal(select(after, 'nvlsched_worker_kv_cache_used_blocks').length, 1, 'pushed per-GPU series replaced');
    assert.equal(sampleValue(after, 'nvlsched_worker_kv_cache_used_blocks', { gpu: '0' }), 7);
  } finally {
    await server.close();
  }
});

test('worker: bad values throw naming the field', () => {
  const fails = (fn: () => void, field: string) => assert.throws(fn, (err: unknown) => err instanceof MetricsInputError && err.field === field);
  fails(() => new WorkerMetrics({ workerId: '' }), 'WorkerMetrics.workerId');
  fails(() => new WorkerMetrics({ workerId: 't', domain: 'rack 0' }), 'WorkerMetrics.domain');
  const w = new WorkerMetrics({ workerId: 'tray0' });
  fails(() => w.stepCompleted({ numTokens: -1, numSeqs: 1, durationS: 0.01 }), 'stepCompleted.numTokens');
  fails(() => w.stepCompleted({ numTokens: 1, numSeqs: 1, durationS: Infinity }), 'stepCompleted.durationS');
  fails(() => w.error('out of blocks'), 'error');
  fails(() => w.kvEvents({ evicted: 1 } as never), 'kvEvents key');
  fails(() => w.setKv({ gpu: 0, tier: 'device', usedBlocks: 5, totalBlocks: 4 }), 'setKv.usedBlocks');
  fails(() => w.setLiveSequences(-3), 'setLiveSequences');
});

const promtool = findPromtool();
test('promtool check metrics accepts the worker exposition', { skip: promtool ? false : PROMTOOL_MISSING }, async () => {
  const w = new WorkerMetrics({ workerId: 'tray3', domain: 'rack0', processMetrics: true });
  record(w);
  const r = runPromtool(promtool!, ['check', 'metrics'], await w.metrics());
  assert.equal(r.status, 0, r.output);
  assert.equal(r.output, '');
});
