// GatewayMetrics: a realistic run's events recorded, scraped over real HTTP on 127.0.0.1, parsed, and the values
// checked (counts per shape, histogram buckets, pulled gauges); promtool check metrics on the same exposition.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseExposition, sampleValue, select, sumValues, type Exposition } from './exposition.js';
import { GatewayMetrics, type GatewaySnapshot, type RequestEndedEvent } from './gateway_metrics.js';
import { MetricsInputError } from './labels.js';
import { startMetricsServer } from './server.js';
import { ENDS, POOL, recordGatewayRun as record } from './fixtures.js';
import { findPromtool, httpGet, PROMTOOL_MISSING, runPromtool } from './testing.js';

async function scrape(port: number): Promise<Exposition> {
  const res = await httpGet(`http://127.0.0.1:${port}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.contentType ?? '', /^text\/plain; version=0\.0\.4/);
  return parseExposition(res.body);
}

test('a recorded run, scraped over HTTP: counts per shape, histogram buckets, KV, moves, cost', async () => {
  const m = new GatewayMetrics();
  record(m);
  const server = await startMetricsServer({ registries: [m.registry] });
  try {
    const e = await scrape(server.port);
    const v = (name: string, labels: Record<string, string> = {}) => sampleValue(e, name, labels);
    assert.equal(e.families.get('nvlsched_time_to_first_token_seconds')?.type, 'histogram');
    assert.equal(e.families.get('nvlsched_requests_total')?.type, 'counter');

    // Requests by shape, pool and outcome; rejections by code; goodput.
    assert.equal(v('nvlsched_requests_total', { shape: 'chat', pool: POOL, outcome: 'completed' }), 3);
    assert.equal(v('nvlsched_requests_total', { shape: 'tool_call', outcome: 'rejected' }), 1);
    assert.equal(v('nvlsched_requests_total', { shape: 'unknown', pool: 'none', outcome: 'rejected' }), 1);
    assert.equal(v('nvlsched_requests_total', { shape: 'reasoning', outcome: 'cancelled' }), 1);
    assert.equal(sumValues(e, 'nvlsched_requests_total'), ENDS.length);
    assert.equal(v('nvlsched_requests_rejected_total', { shape: 'unknown', code: 'E_CONTEXT_TOO_LONG' }), 1);
    assert.equal(v('nvlsched_requests_slo_met_total', { shape: 'chat' }), 2);
    assert.equal(v('nvlsched_requests_slo_met_total', { shape: 'tool_call' }), 2);
    assert.equal(v('nvlsched_request_reruns_total', { shape: 'chat' }), 1);

    // TTFT of completed chat requests 0.12, 0.4, 0.9: cumulative buckets at the SLO edges.
    const ttft = (le: string) => v('nvlsched_time_to_first_token_seconds_bucket', { shape: 'chat', le });
    assert.deepEqual(['0.1', '0.15', '0.3', '0.5', '0.75', '1', '+Inf'].map(ttft), [0, 1, 1, 2, 2, 3, 3]);
    assert.equal(v('nvlsched_time_to_first_token_seconds_count', { shape: 'chat' }), 3);
    assert.ok(Math.abs(v('nvlsched_time_to_first_token_seconds_sum', { shape: 'chat' }) - 1.42) < 1e-9);
    // Cancelled and failed requests are not in the latency histograms.
    assert.equal(select(e, 'nvlsched_time_to_first_token_seconds_count', { shape: 'terminal' }).length, 0);
    assert.equal(v('nvlsched_time_to_first_token_seconds_count', { shape: 'reasoning' }), 1);
    // TPOT: chat 0.02, 0.035, 0.06 against the 30 / 50 ms edges; a 1-token tool call has none.
    const tpot = (le: string) => v('nvlsched_time_per_output_token_seconds_bucket', { shape: 'chat', le });
    assert.deepEqual(['0.02', '0.03', '0.04', '0.05', '0.075'].map(tpot), [1, 1, 2, 2, 3]);
    assert.equal(v('nvlsched_time_per_output_token_seconds_count', { shape: 'tool_call' }), 1);
    assert.equal(v('nvlsched_e2e_request_latency_seconds_bucket', { shape: 'reasoning', le: '60' }), 0);
    assert.equal(v('nvlsched_e2e_request_latency_seconds_bucket', { shape: 'reasoning', le: '120' }), 1);
    assert.equal(v('nvlsched_request_queue_time_seconds_bucket', { shape: 'chat', le: '0.005' }), 1);
    // ITL: three chat gaps ≤ 50 ms, the reasoning stall in the 2.5 s bucket only.
    assert.equal(v('nvlsched_inter_token_latency_seconds_bucket', { shape: 'chat', le: '0.05' }), 3);
    assert.equal(v('nvlsched_inter_token_latency_seconds_bucket', { shape: 'reasoning', le: '1' }), 0);
    assert.equal(v('nvlsched_inter_token_latency_seconds_bucket', { shape: 'reasoning', le: '2.5' }), 1);

    // Tokens: prompt tokens of the 8 that ran (not the 2 rejections); generation from emissions; cost.
    assert.equal(sumValues(e, 'nvlsched_prompt_tokens_total'), 8000);
    assert.equal(sumValues(e, 'nvlsched_prompt_tokens_cached_total'), 512 + 960);
    assert.equal(v('nvlsched_generation_tokens_total', { shape: 'chat' }), 4);
    assert.equal(v('nvlsched_generation_tokens_total', { shape: 'reasoning' }), 4);
    assert.ok(Math.abs(v('nvlsched_request_cost_usd_total', { shape: 'reasoning' }) - 0.051) < 1e-12);

    // Steps: tokens per step and batch-size buckets; preemptions per instance.
    assert.equal(v('nvlsched_steps_total', { model_instance: 'rack0/i0' }), 2);
    assert.equal(v('nvlsched_iteration_tokens_bucket', { le: '1' }), 1);
    assert.equal(v('nvlsched_iteration_tokens_bucket', { le: '64' }), 2);
    assert.equal(v('nvlsched_iteration_tokens_bucket', { le: '2048' }), 3);
    assert.equal(v('nvlsched_iteration_sequences_bucket', { le: '4' }), 2);
    assert.equal(v('nvlsched_step_duration_seconds_bucket', { le: '0.02' }), 2);
    assert.equal(v('nvlsched_num_preemptions_total', { model_instance: 'rack0/i0' }), 2);
    assert.equal(v('nvlsched_num_requests_running', { model_instance: 'rack0/i0' }), 61);

    // KV per GPU and tier with the domain; host tier has no gpu label value.
    assert.equal(v('nvlsched_kv_cache_usage_ratio', { domain: 'rack0', gpu: '1', tier: 'device' }), 0.5);
    assert.equal(v('nvlsched_kv_cache_used_blocks', { worker: 'tray0', gpu: '', tier: 'host' }), 10);
    assert.equal(sumValues(e, 'nvlsched_kv_cache_used_blocks', { domain: 'rack0', tier: 'device' }), 800);
    assert.equal(sumValues(e, 'nvlsched_kv_cache_capacity_blocks', { domain: 'rack1' }), 1000);
    assert.equal(v('nvlsched_prefix_cache_queries_total', { model_instance: 'rack0/i0' }), 2000);
    assert.equal(v('nvlsched_prefix_cache_hits_total', { tier: 'device' }), 512);
    assert.equal(v('nvlsched_prefix_cache_hits_total', { tier: 'neighbour' }), 256);
    assert.equal(v('nvlsched_kv_cache_evicted_blocks_total', { worker: 'tray0', tier: 'device' }), 40);
    assert.equal(v('nvlsched_kv_transfers_total', { link: 'c2c' }), 2);
    assert.equal(v('nvlsched_kv_transfer_bytes_total', { link: 'c2c' }), 5 * 2 ** 20);
    assert.equal(v('nvlsched_kv_transfer_bytes_total', { link: 'nvlink' }), 8 * 2 ** 20);

    // Scheduler plugins (µs buckets) and failures.
    assert.equal(v('nvlsched_scheduling_latency_seconds_count', { plugin: 'prefix-affinity' }), 2);
    assert.equal(v('nvlsched_scheduling_latency_seconds_bucket', { plugin: 'prefix-affinity', le: '0.000025' }), 1);
    assert.equal(v('nvlsched_scheduling_latency_seconds_bucket', { plugin: 'shape-classifier', le: '0.0000025' }), 1);
    assert.equal(v('nvlsched_worker_failures_total', { worker: 'tray3' }), 1);
    // No request id ever becomes a label: every label name is one of the bounded set.
    const allowed = new Set(['shape', 'pool', 'outcome', 'code', 'model_instance', 'domain', 'worker', 'gpu', 'tier', 'link', 'plugin', 'label', 'le']);
    for (const s of e.samples) for (const k of Object.keys(s.labels)) assert.ok(allowed.has(k), `${s.name} has label ${k}`);
  } finally {
    await server.close();
  }
});

test('onCollect: pulled once per scrape, replaces the families it gives, drops stale series; cost counters', async () => {
  const m = new GatewayMetrics();
  m.setQueueDepth('chat', POOL, 99); // pushed, then replaced by the snapshot
  let calls = 0;
  let snap: GatewaySnapshot = {
    queueDepth: [{ shape: 'chat', pool: POOL, requests: 4 }, { shape: 'reasoning', pool: POOL, requests: 7 }],
    running: [{ instanceId: 'rack0/i0', pool: POOL, requests: 12 }],
    kv: [{ domain: 'rack0', workerId: 'tray0', gpu: 0, tier: 'device', usedBlocks: 250, totalBlocks: 1000 }],
    costTotals: { usd: 1.25, gpuSeconds: 3600, kvByteSeconds: 5e12, idleKvByteSeconds: 1e12 },
  };
  m.onCollect(() => {
    calls++;
    return snap;
  });
  const server = await startMetricsServer({ registries: [m.registry] });
  try {
    let e = await scrape(server.port);
    assert.equal(calls, 1, 'one snapshot for the whole scrape');
    assert.equal(sampleValue(e, 'nvlsched_num_requests_waiting', { shape: 'chat' }), 4);
    assert.equal(sampleValue(e, 'nvlsched_num_requests_waiting', { shape: 'reasoning' }), 7);
    assert.equal(sampleValue(e, 'nvlsched_num_requests_running', { model_instance: 'rack0/i0' }), 12);
    assert.equal(sampleValue(e, 'nvlsched_kv_cache_usage_ratio', { gpu: '0' }), 0.25);
    assert.equal(sampleValue(e, 'nvlsched_cost_usd_total'), 1.25);
    assert.equal(sampleValue(e, 'nvlsched_gpu_seconds_total'), 3600);
    assert.equal(sampleValue(e, 'nvlsched_kv_cache_idle_byte_seconds_total'), 1e12);

    snap = {
      queueDepth: [{ shape: 'chat', pool: POOL, requests: 1 }],
      kv: [{ domain: 'rack0', workerId: 'tray1', gpu: 2, tier: 'device', usedBlocks: 10, totalBlocks: 100 }],
      costTotals: { usd: 2.5, gpuSeconds: 7200, kvByteSeconds: 6e12, idleKvByteSeconds: 1e12 },
    };
    e = await scrape(server.port);
    assert.equal(calls, 2);
    assert.equal(select(e, 'nvlsched_num_requests_waiting', { shape: 'reasoning' }).length, 0, 'stale queue series dropped');
    assert.equal(sampleValue(e, 'nvlsched_num_requests_waiting', { shape: 'chat' }), 1);
    // running was not in this snapshot: the last values stay.
    assert.equal(sampleValue(e, 'nvlsched_num_requests_running', { model_instance: 'rack0/i0' }), 12);
    assert.equal(select(e, 'nvlsched_kv_cache_used_blocks', { worker: 'tray0' }).length, 0);
    assert.equal(sampleValue(e, 'nvlsched_kv_cache_capacity_blocks', { worker: 'tray1', gpu: '2' }), 100);
    assert.equal(sampleValue(e, 'nvlsched_cost_usd_total'), 2.5);
  } finally {
    await server.close();
  }
});

test('bad values throw MetricsInputError naming the field; nothing is recorded for them', async () => {
  const m = new GatewayMetrics();
  const fails = (fn: () => void, field: string, what: RegExp) =>
    assert.throws(fn, (err: unknown) => err instanceof MetricsInputError && err.field === field && what.test(err.message));
  const ok: RequestEndedEvent = { shape: 'chat', pool: POOL, outcome: 'completed', promptTokens: 10, outputTokens: 2, cachedPromptTokens: 0, costUsd: 0 };
  fails(() => m.requestEnded({ ...ok, shape: 'poem' as 'chat' }), 'requestEnded.shape', /"poem" is not one of tool_call, reasoning, terminal, chat, unknown/);
  fails(() => m.requestEnded({ ...ok, outcome: 'done' as 'completed' }), 'requestEnded.outcome', /completed, rejected, cancelled, error/);
  fails(() => m.requestEnded({ ...ok, outcome: 'rejected' }), 'requestEnded.rejectCode', /E_QUEUE_FULL/);
  fails(() => m.requestEnded({ ...ok, ttftS: Number.NaN }), 'requestEnded.ttftS', /finite number >= 0, got NaN/);
  fails(() => m.requestEnded({ ...ok, cachedPromptTokens: 11 }), 'requestEnded.cachedPromptTokens', /exceeds promptTokens 10/);
  fails(() => m.requestEnded({ ...ok, pool: 'req-4f1c 9a' }), 'requestEnded.pool', /letters, digits/);
  fails(() => m.tokensEmitted({ shape: 'chat', pool: POOL, numTokens: 1.5 }), 'tokensEmitted.numTokens', /integer >= 0/);
  fails(() => m.setKv({ domain: 'r', workerId: 't', gpu: 0, tier: 'hbm' as 'device', usedBlocks: 1, totalBlocks: 2 }), 'setKv.tier', /device, host, disk/);
  fails(() => m.setKv({ domain: 'r', workerId: 't', gpu: 0, tier: 'device', usedBlocks: 3, totalBlocks: 2 }), 'setKv.usedBlocks', /exceeds totalBlocks 2/);
  fails(() => m.tierMove({ link: 'infiniband' as 'nvlink', bytes: 1 }), 'tierMove.link', /nvlink, c2c, pcie/);
  fails(() => m.prefixLookup({ instanceId: 'i', pool: POOL, queriedTokens: 10, hitTokens: { device: 8, host: 4 } }), 'prefixLookup.hitTokens', /12 hit tokens exceed queriedTokens 10/);
  fails(() => m.prefixLookup({ instanceId: 'i', pool: POOL, queriedTokens: 10, hitTokens: { disk: 1 } as never }), 'prefixLookup.hitTokens key', /device, host, neighbour/);
  fails(() => m.onCollect(42 as never), 'onCollect', /function/);
  fails(() => new GatewayMetrics({ maxLabelValues: 0 }), 'maxLabelValues', /integer >= 1/);
  const e = parseExposition(await m.metrics());
  assert.equal(select(e, 'nvlsched_requests_total').length, 0);
  assert.equal(select(e, 'nvlsched_kv_cache_used_blocks').length, 0);
});

test('a bad onCollect snapshot fails the scrape with 500 naming the field; the next good one serves', async () => {
  const m = new GatewayMetrics();
  let bad = true;
  m.onCollect(() => ({ queueDepth: [{ shape: 'chat', pool: POOL, requests: bad ? -1 : 2 }] }));
  const server = await startMetricsServer({ registries: [m.registry] });
  try {
    const res = await httpGet(`http://127.0.0.1:${server.port}/metrics`);
    assert.equal(res.status, 500);
    assert.match(res.body, /onCollect\.queueDepth\[0\]\.requests: must be an integer >= 0, got -1/);
    bad = false;
    assert.equal(sampleValue(await scrape(server.port), 'nvlsched_num_requests_waiting', { shape: 'chat' }), 2);
  } finally {
    await server.close();
  }
});

test('identifier labels are bounded: past the limit values fold into "other", counted', async () => {
  const m = new GatewayMetrics({ maxLabelValues: 2 });
  for (const pool of ['a', 'b', 'c', 'd']) m.rerun({ shape: 'chat', pool });
  const e = parseExposition(await m.metrics());
  assert.equal(sampleValue(e, 'nvlsched_request_reruns_total', { pool: 'a' }), 1);
  assert.equal(sampleValue(e, 'nvlsched_request_reruns_total', { pool: 'other' }), 2);
  assert.equal(sampleValue(e, 'nvlsched_metrics_label_overflow_total', { label: 'pool' }), 2);
});

test('per tenant: requests by outcome, tokens, cost, quota rejections, auth failures; tenant labels bounded', async () => {
  const m = new GatewayMetrics({ maxLabelValues: 3 });
  const ended = (tenant: string, outcome: RequestEndedEvent['outcome'], extra: Partial<RequestEndedEvent> = {}) =>
    m.requestEnded({ shape: 'chat', pool: POOL, outcome, tenant, promptTokens: 10, outputTokens: 5, cachedPromptTokens: 0, costUsd: 0.5, ...extra });
  ended('acme', 'completed');
  ended('acme', 'completed');
  ended('acme', 'cancelled', { outputTokens: 2, costUsd: 0.1 });
  ended('beta', 'rejected', { shape: 'unknown', pool: undefined, rejectCode: 'E_RATE_LIMITED', outputTokens: 0, costUsd: 0 });
  m.quotaRejected({ tenant: 'beta', reason: 'rate' });
  m.authFailed('invalid');
  m.authFailed('invalid');
  // Without auth the name is the client's: one no label may hold folds into "other" instead of failing the call.
  ended('has space', 'completed');
  ended('t3', 'completed');
  ended('t4', 'completed');
  const e = parseExposition(await m.metrics());
  const v = (name: string, labels: Record<string, string>) => sampleValue(e, name, labels);
  assert.equal(v('nvlsched_tenant_requests_total', { tenant: 'acme', outcome: 'completed' }), 2);
  assert.equal(v('nvlsched_tenant_requests_total', { tenant: 'acme', outcome: 'cancelled' }), 1);
  assert.equal(v('nvlsched_tenant_requests_total', { tenant: 'beta', outcome: 'rejected' }), 1);
  assert.equal(v('nvlsched_tenant_prompt_tokens_total', { tenant: 'acme' }), 30);
  assert.equal(v('nvlsched_tenant_completion_tokens_total', { tenant: 'acme' }), 12);
  assert.equal(select(e, 'nvlsched_tenant_prompt_tokens_total').some((s) => s.labels.tenant === 'beta'), false, 'a rejection ran nothing');
  assert.ok(Math.abs((v('nvlsched_tenant_cost_usd_total', { tenant: 'acme' }) ?? 0) - 1.1) < 1e-9);
  assert.equal(v('nvlsched_tenant_quota_rejections_total', { tenant: 'beta', reason: 'rate' }), 1);
  assert.equal(v('nvlsched_auth_failures_total', { reason: 'invalid' }), 2);
  // acme, beta, t3 fill the 3 values; "has space" and t4 fold.
  assert.equal(v('nvlsched_tenant_requests_total', { tenant: 'other', outcome: 'completed' }), 2);
  assert.equal(v('nvlsched_metrics_label_overflow_total', { label: 'tenant' }), 2);
  // The shape/pool families count the same requests as before.
  assert.equal(v('nvlsched_requests_total', { shape: 'chat', pool: POOL, outcome: 'completed' }), 5);
  assert.throws(() => m.quotaRejected({ tenant: 'acme', reason: 'weather' as 'rate' }), (err: unknown) => err instanceof MetricsInputError && err.field === 'quotaRejected.reason');
  assert.throws(() => m.authFailed('nope' as 'missing'), (err: unknown) => err instanceof MetricsInputError && err.field === 'authFailed.reason');
});

test('two gateways in one process keep separate registries', async () => {
  const a = new GatewayMetrics();
  const b = new GatewayMetrics();
  a.workerFailure('tray0');
  assert.equal(sampleValue(parseExposition(await a.metrics()), 'nvlsched_worker_failures_total', { worker: 'tray0' }), 1);
  assert.equal(select(parseExposition(await b.metrics()), 'nvlsched_worker_failures_total').length, 0);
});

const promtool = findPromtool();
test('promtool check metrics accepts the exposition (with process metrics)', { skip: promtool ? false : PROMTOOL_MISSING }, async () => {
  const m = new GatewayMetrics({ processMetrics: true });
  record(m);
  m.onCollect(() => ({ costTotals: { usd: 1, gpuSeconds: 2, kvByteSeconds: 3, idleKvByteSeconds: 1 } }));
  const text = await m.metrics();
  assert.match(text, /process_cpu_seconds_total/);
  const r = runPromtool(promtool!, ['check', 'metrics'], text);
  assert.equal(r.status, 0, r.output);
  assert.equal(r.output, '');
});
