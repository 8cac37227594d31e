// Every dashboard query against a real Prometheus (Debian's `prometheus` binary) that scrapes a gateway and a worker
// registry over HTTP while a run is recorded between scrapes: each query must return at least one finite value, so
// the panels show data rather than "No data". Skips with a visible reason when the binary is missing.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { DASHBOARD_FILE } from './dashboard.js';
import { ENDS, recordGatewayRun, recordWorkerRun } from './fixtures.js';
import { GatewayMetrics } from './gateway_metrics.js';
import { startMetricsServer } from './server.js';
import { startTestPrometheus } from './testing.js';
import { WorkerMetrics } from './worker_metrics.js';

const SCRAPE_INTERVAL_MS = 500;
/** Bound on the wait for any one scrape (the first comes ~5 s after Prometheus starts). */
const WAIT_MS = 20_000;

interface Panel { title: string; targets?: { expr: string; refId: string }[] }

test('every dashboard query returns data from a real Prometheus scraping a recorded run', { timeout: 60_000 }, async (t) => {
  // maxLabelValues 2 makes the fixture overflow the worker and code labels, so the overflow panel has data too.
  const g = new GatewayMetrics({ maxLabelValues: 2 });
  const w = new WorkerMetrics({ workerId: 'tray3', domain: 'rack0', maxLabelValues: 1 });
  let scrapes = 0;
  const waiters: { n: number; resolve: () => void }[] = [];
  g.onCollect(() => {
    scrapes++;
    for (const x of waiters.filter((x) => scrapes >= x.n)) x.resolve();
    // The ledger grows with every scrape, as a live one does.
    return { costTotals: { usd: 0.5 * scrapes, gpuSeconds: 40 * scrapes, kvByteSeconds: 1e12 * scrapes, idleKvByteSeconds: 1e11 * scrapes } };
  });
  const scrapeNumber = (n: number) => new Promise<void>((resolve, reject) => {
    if (scrapes >= n) return resolve();
    const timer = setTimeout(() => reject(new Error(`Prometheus did not scrape ${n} times in ${WAIT_MS} ms (${scrapes})`)), WAIT_MS);
    waiters.push({ n, resolve: () => { clearTimeout(timer); resolve(); } });
  });

  recordGatewayRun(g);
  recordWorkerRun(w);
  const server = await startMetricsServer({ registries: [g.registry, w.registry] });
  const prom = await startTestPrometheus(`127.0.0.1:${server.port}`, SCRAPE_INTERVAL_MS);
  if (!prom) {
    await server.close();
    t.skip('prometheus binary not on PATH (apt-get install prometheus): live dashboard check skipped');
    return;
  }
  try {
    // rate() needs a stored sample before and after growth: wait (scrape by scrape, bounded) until Prometheus holds
    // the first run, record it again, wait until it holds the second. A scrape that timed out just means one more.
    const storedRequests = async () => Number((await prom.query('sum(nvlsched_requests_total)'))[0]?.value[1] ?? 0);
    const awaitStored = async (want: number) => {
      for (let tries = 0; (await storedRequests()) !== want; tries++) {
        if (tries >= 40) throw new Error(`Prometheus holds ${await storedRequests()} requests, want ${want}, after 40 scrapes`);
        await scrapeNumber(scrapes + 1);
      }
    };
    await awaitStored(ENDS.length);
    recordGatewayRun(g);
    recordWorkerRun(w);
    await awaitStored(2 * ENDS.length);

    const dash = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as { panels: Panel[] };
    const empty: string[] = [];
    let checked = 0;
    for (const p of dash.panels) {
      for (const target of p.targets ?? []) {
        const promql = target.expr.replaceAll('$__rate_interval', '1m').replaceAll('$pool', '.*').replaceAll('$shape', '.*');
        const result = await prom.query(promql);
        checked++;
        if (!result.some((r) => Number.isFinite(Number(r.value[1])))) empty.push(`${p.title} ${target.refId}: ${promql}`);
      }
    }
    assert.deepEqual(empty, [], 'queries without a finite value');
    assert.ok(checked >= 25, `${checked} queries`);

    // Spot values: per-domain KV usage is used over capacity summed across the domain's GPUs.
    const kv = await prom.query('sum by (domain, tier) (nvlsched_kv_cache_used_blocks) / sum by (domain, tier) (nvlsched_kv_cache_capacity_blocks)');
    const rack0 = kv.find((r) => r.metric.domain === 'rack0' && r.metric.tier === 'device');
    assert.equal(Number(rack0?.value[1]), 0.4); // (300 + 500) / 2000
    const goodput = await prom.query('sum by (shape) (increase(nvlsched_requests_slo_met_total[1m]))');
    assert.ok(goodput.some((r) => r.metric.shape === 'chat' && Number(r.value[1]) > 0));
  } finally {
    await prom.stop();
    await server.close();
  }
});
