// The /metrics server: routes and methods, content type, refusing two registries with one metric name, bad
// options named, and a bounded close with a keep-alive connection still open.
import assert from 'node:assert/strict';
import http from 'node:http';
import { test } from 'node:test';
import { Counter, Registry } from 'prom-client';
import { GatewayMetrics } from './gateway_metrics.js';
import { MetricsInputError } from './labels.js';
import { startMetricsServer } from './server.js';
import { httpGet } from './testing.js';

test('GET and HEAD /metrics; 404 elsewhere; 405 for other methods; a query string is ignored', async () => {
  const m = new GatewayMetrics();
  m.workerFailure('tray1');
  const server = await startMetricsServer({ registries: [m.registry], port: 0 });
  try {
    assert.ok(server.port > 0);
    const base = `http://127.0.0.1:${server.port}`;
    const ok = await httpGet(`${base}/metrics?x=1`);
    assert.equal(ok.status, 200);
    assert.equal(ok.contentType, m.registry.contentType);
    assert.match(ok.body, /^nvlsched_worker_failures_total\{worker="tray1"\} 1$/m);
    const head = await httpGet(`${base}/metrics`, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
    assert.equal((await httpGet(`${base}/`)).status, 404);
    assert.equal((await httpGet(`${base}/metrics/x`)).status, 404);
    const post = await httpGet(`${base}/metrics`, 'POST');
    assert.equal(post.status, 405);
    assert.match(post.body, /GET \/metrics/);
  } finally {
    await server.close();
  }
});

test('refuses registries that share a metric name, and bad options, naming the field', async () => {
  const a = new Registry();
  const b = new Registry();
  new Counter({ name: 'x_total', help: 'x', registers: [a] });
  new Counter({ name: 'x_total', help: 'x', registers: [b] });
  await assert.rejects(startMetricsServer({ registries: [a, b] }), (e: unknown) => e instanceof MetricsInputError && e.field === 'registries[1]' && /x_total is also in registries\[0\]/.test(e.message));
  await assert.rejects(startMetricsServer({ registries: [] }), (e: unknown) => e instanceof MetricsInputError && e.field === 'registries');
  await assert.rejects(startMetricsServer({ registries: [{} as Registry] }), (e: unknown) => e instanceof MetricsInputError && e.field === 'registries[0]');
  await assert.rejects(startMetricsServer({ registries: [a], port: 70000 }), (e: unknown) => e instanceof MetricsInputError && e.field === 'port');
  await assert.rejects(startMetricsServer({ registries: [a], port: 1.5 }), (e: unknown) => e instanceof MetricsInputError && e.field === 'port');
});

test('a port in use is an error, not a hang', async () => {
  const m = new GatewayMetrics();
  const first = await startMetricsServer({ registries: [m.registry] });
  try {
    await assert.rejects(startMetricsServer({ registries: [new GatewayMetrics().registry], port: first.port }), /EADDRINUSE/);
  } finally {
    await first.close();
  }
});

test('close() ends promptly with a keep-alive connection open, and twice is fine', async () => {
  const m = new GatewayMetrics();
  const server = await startMetricsServer({ registries: [m.registry], closeTimeoutMs: 500 });
  const agent = new http.Agent({ keepAlive: true });
  try {
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port: server.port, path: '/metrics', agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.setTimeout(5000, () => req.destroy(new Error('scrape timed out')));
    });
    assert.equal(status, 200);
    const started = performance.now();
    await Promise.all([server.close(), server.close()]);
    assert.ok(performance.now() - started < 2000, 'close is bounded by closeTimeoutMs, not the keep-alive timeout');
    await assert.rejects(httpGet(`http://127.0.0.1:${server.port}/metrics`));
  } finally {
    agent.destroy();
  }
});
