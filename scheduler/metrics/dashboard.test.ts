// The Grafana dashboard (deploy/grafana/nvlsched-dashboard.json): the committed file is dashboard.ts's output, it
// parses, has a Prometheus datasource variable used by every panel, a layout without overlaps, and every query
// names metrics and labels that the gateway and worker registries define; with promtool, every query parses as PromQL.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { DASHBOARD_FILE, dashboardJson } from './dashboard.js';
import { GatewayMetrics } from './gateway_metrics.js';
import { findPromtool, PROMTOOL_MISSING, runPromtool } from './testing.js';
import { WorkerMetrics } from './worker_metrics.js';

interface Target { expr: string; refId: string; datasource: { uid: string } }
interface Panel { id: number; type: string; title: string; gridPos: { x: number; y: number; w: number; h: number }; datasource?: { type: string; uid: string }; targets?: Target[] }
interface Dashboard { schemaVersion: number; uid: string; panels: Panel[]; templating: { list: { type: string; name: string; query: unknown }[] } }

const text = readFileSync(DASHBOARD_FILE, 'utf8');
const dash = JSON.parse(text) as Dashboard;
const queryPanels = dash.panels.filter((p) => p.type !== 'row');
const exprs = queryPanels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, refId: t.refId, expr: t.expr })));

/** Family name → label names, over both registries (the worker's default labels included); histograms as families. */
function knownMetrics(): Map<string, { type: string; labels: Set<string> }> {
  const out = new Map<string, { type: string; labels: Set<string> }>();
  const add = (registry: GatewayMetrics['registry'], defaults: string[]) => {
    for (const m of registry.getMetricsAsArray()) {
      const labelNames = (m as unknown as { labelNames?: string[] }).labelNames ?? [];
      out.set(m.name, { type: String(m.type), labels: new Set([...labelNames, ...defaults]) });
    }
  };
  add(new GatewayMetrics().registry, []);
  add(new WorkerMetrics({ workerId: 'w', domain: 'd' }).registry, ['worker', 'domain']);
  return out;
}

test('the committed dashboard is the output of dashboard.ts (regenerate: node --import tsx scheduler/metrics/dashboard.ts)', () => {
  assert.equal(text, dashboardJson());
});

test('dashboard: recent schema, Prometheus datasource variable on every panel, unique ids, no overlapping panels', () => {
  assert.ok(dash.schemaVersion >= 36, `schemaVersion ${dash.schemaVersion}`);
  const dsVar = dash.templating.list.find((v) => v.type === 'datasource');
  assert.deepEqual([dsVar?.name, dsVar?.query], ['datasource', 'prometheus']);
  assert.deepEqual(new Set(dash.templating.list.map((v) => v.name)), new Set(['datasource', 'pool', 'shape']));
  assert.equal(new Set(dash.panels.map((p) => p.id)).size, dash.panels.length);
  assert.ok(queryPanels.length >= 20, `${queryPanels.length} panels`);
  const cells = new Set<string>();
  for (const p of dash.panels) {
    const g = p.gridPos;
    assert.ok(g.x >= 0 && g.w > 0 && g.x + g.w <= 24 && g.h > 0, `${p.title}: gridPos ${JSON.stringify(g)}`);
    for (let x = g.x; x < g.x + g.w; x++) for (let y = g.y; y < g.y + g.h; y++) {
      assert.ok(!cells.has(`${x},${y}`), `${p.title} overlaps another panel at ${x},${y}`);
      cells.add(`${x},${y}`);
    }
    if (p.type === 'row') continue;
    assert.deepEqual(p.datasource, { type: 'prometheus', uid: '${datasource}' }, p.title);
    assert.ok((p.targets ?? []).length > 0, `${p.title} has no query`);
    for (const t of p.targets ?? []) assert.equal(t.datasource.uid, '${datasource}');
  }
  // The panels the issue asks for.
  const titles = queryPanels.map((p) => p.title).join('\n');
  for (const want of [/TTFT p50 \/ p99 per shape/, /TPOT p50 \/ p99 per shape/, /Goodput per shape/, /Requests by outcome/, /Queue depth per shape/, /KV usage per NVLink domain/, /Cost per hour/, /Preemptions/, /Reruns and worker failures/]) {
    assert.match(titles, want);
  }
});

test('every query names metrics and labels the registries define', () => {
  const known = knownMetrics();
  const variables = dash.templating.list.filter((v) => v.type === 'query').map((v) => JSON.stringify(v.query));
  for (const { panel, refId, expr } of [...exprs, ...variables.map((q) => ({ panel: 'variable', refId: '-', expr: q }))]) {
    const where = `${panel} ${refId}: ${expr}`;
    const used: { type: string; labels: Set<string> }[] = [];
    for (const m of expr.matchAll(/\b(nvlsched_[a-z0-9_]+)(\{([^}]*)\})?/g)) {
      const name = m[1]!;
      const suffix = /_(bucket|sum|count)$/.exec(name);
      const family = known.get(name) ?? (suffix ? known.get(name.slice(0, -suffix[0].length)) : undefined);
      assert.ok(family, `${where}: ${name} is not a metric of GatewayMetrics or WorkerMetrics`);
      if (!known.has(name)) assert.equal(family.type, 'histogram', `${where}: ${name} suffix on a non-histogram`);
      used.push(family);
      for (const matcher of (m[3] ?? '').split(',').filter((s) => s.trim() !== '')) {
        const label = /^\s*([a-zA-Z_]+)\s*(=~|!~|!=|=)/.exec(matcher)?.[1];
        assert.ok(label && family.labels.has(label), `${where}: ${name} has no label ${label ?? matcher}`);
      }
    }
    assert.ok(used.length > 0, `${where}: names no nvlsched metric`);
    for (const m of expr.matchAll(/\bby \(([^)]*)\)/g)) {
      for (const label of m[1]!.split(',').map((s) => s.trim())) {
        assert.ok(label === 'le' || used.some((f) => f.labels.has(label)), `${where}: no metric here has label ${label}`);
      }
    }
    for (const m of expr.matchAll(/label_values\((nvlsched_[a-z0-9_]+), ([a-z_]+)\)/g)) {
      assert.ok(known.get(m[1]!)?.labels.has(m[2]!), `${where}: ${m[1]} has no label ${m[2]}`);
    }
  }
});

const promtool = findPromtool();
test('promtool check rules: every panel query parses as PromQL', { skip: promtool ? false : PROMTOOL_MISSING }, () => {
  // Grafana's variables substituted as Grafana would with "All" selected.
  const rules = exprs.map(({ expr }, i) => {
    const promql = expr.replaceAll('$__rate_interval', '5m').replaceAll('$pool', '.*').replaceAll('$shape', '.*');
    return `      - record: nvlsched:dashboard_query_${i}\n        expr: ${JSON.stringify(promql)}\n`;
  });
  const dir = mkdtempSync(path.join(tmpdir(), 'nvlsched-dash-'));
  try {
    const file = path.join(dir, 'rules.yaml');
    writeFileSync(file, `groups:\n  - name: dashboard\n    rules:\n${rules.join('')}`);
    const r = runPromtool(promtool!, ['check', 'rules', file]);
    assert.equal(r.status, 0, r.output);
    assert.match(r.output, new RegExp(`SUCCESS: ${exprs.length} rules found`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
