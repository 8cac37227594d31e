// Markdown tables and the report's plots, from hand-made runs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareTable, runTable, tenantTable } from './markdown.js';
import { buildReport } from './metrics.js';
import { goodputVsLoadSvg, latencyCdfSvg } from './plots.js';
import { cancelled, record, rejected, runResult } from './testing/records.js';

const RECORDS = [
  record({ shape: 'tool_call', firstTokenS: 0.2, endS: 0.5, outputTokens: 11, costUsd: 0.002 }),
  record({ shape: 'tool_call', firstTokenS: 0.9, endS: 1.2, outputTokens: 11, costUsd: 0.002 }),
  record({ shape: 'reasoning', firstTokenS: 1, endS: 41, outputTokens: 1001, costUsd: 0.5 }),
  rejected({ shape: 'reasoning', code: 'context_too_long' }),
  cancelled({ shape: 'terminal' }),
];

function rows(markdown: string): string[][] {
  return markdown.split('\n').filter((l) => l.startsWith('|')).map((l) => l.slice(1, -1).split('|').map((c) => c.trim()));
}

test('run table: a row per shape with requests, then overall; aligned columns; dashes for missing values', () => {
  const md = runTable(buildReport(runResult(RECORDS)));
  assert.match(md, /^\*\*shape-aware\*\* on gb200-nvl72 \(4 GPUs\), llama-3.1-70b, seed 1: 10.0 s simulated in 0.5 s/);
  const table = rows(md);
  assert.deepEqual(table.map((r) => r[0]), ['shape', '---', 'tool_call', 'reasoning', 'terminal', '**overall**']);
  const width = table[0]?.length;
  for (const r of table) assert.equal(r.length, width);
  const header = table[0] as string[];
  const cell = (row: number, column: string) => table[row]?.[header.indexOf(column)];
  assert.equal(cell(2, 'requests'), '2');
  assert.equal(cell(2, 'SLO met'), '50.0 %'); // ttft 0.2 meets 0.5 s, 0.9 does not
  assert.equal(cell(2, 'TTFT p50/p90/p99 ms'), '550 / 830 / 893');
  assert.equal(cell(3, 'rejected'), '1 (context_too_long 1)');
  assert.equal(cell(4, 'TTFT p50/p90/p99 ms'), '– / – / –'); // only a cancelled request
  assert.equal(cell(4, '$/req'), '–');
  assert.equal(cell(5, 'requests'), '5');
  assert.doesNotMatch(md, /null|NaN|undefined/);
});

test('compare table: a column per policy, capacity row with ratios to the first, per-shape rows only for shapes seen', () => {
  const a = buildReport(runResult(RECORDS));
  const b = buildReport(runResult(RECORDS.slice(0, 2), { policy: 'round-robin' }));
  const md = compareTable([a, b], [{ capacity: 2, unit: 'x rate' }, { capacity: 1.5, unit: 'x rate' }]);
  const table = rows(md);
  assert.deepEqual(table[0], ['metric', 'shape-aware', 'round-robin']);
  assert.deepEqual(table[2], ['goodput capacity', '2.000 x rate (1.00x)', '1.500 x rate (0.75x)']);
  const labels = table.map((r) => r[0]);
  assert.ok(labels.includes('requests') && labels.includes('tool_call SLO met') && labels.includes('reasoning TTFT p99 ms'));
  assert.ok(!labels.some((l) => l?.startsWith('chat ')), 'no chat requests in either run');
  assert.deepEqual(table.find((r) => r[0] === 'requests'), ['requests', '5', '2']);
  assert.deepEqual(table.find((r) => r[0] === 'simulated s (wall s)'), ['simulated s (wall s)', '10.0 (0.5)', '10.0 (0.5)']);
  assert.deepEqual(table.find((r) => r[0] === '$/req'), ['$/req', '0.168', '0.002']); // (0.002·2 + 0.5) / 3 completed
  const none = rows(compareTable([a, b], [{ capacity: null, unit: 'sessions' }, { capacity: 3, unit: 'sessions' }]));
  assert.deepEqual(none[2], ['goodput capacity', '–', '3.000 sessions']);
  assert.ok(!compareTable([a, b]).includes('goodput capacity'));
});

test('latency CDF plot: a line per shape with completed requests, labelled with their count', () => {
  const ttft = latencyCdfSvg(RECORDS, 'ttft', 'test');
  assert.deepEqual([...ttft.matchAll(/data-label="([^"]*)"/g)].map((m) => m[1]), ['tool_call (2)', 'reasoning (1)']);
  assert.match(ttft, />TTFT CDF per shape — test</);
  assert.match(ttft, />TTFT \(log scale\)</);
  const tpot = latencyCdfSvg(RECORDS, 'tpot', 'test');
  assert.match(tpot, />TPOT CDF per shape/);
  assert.doesNotMatch(ttft + tpot, /NaN|Infinity/);
});

test('goodput-vs-load plot: a line per policy through its probes (sorted by load), its capacity circled', () => {
  const probes = (loads: number[], cap: number) => ({
    capacity: cap, firstFailing: null, target: 0.9, stop: 'converged',
    probes: loads.map((load) => ({ load, slo_attainment: load <= cap ? 0.95 : 0.5, goodput_rps: load * 2 })),
  });
  const svg = goodputVsLoadSvg([{ policy: 'shape-aware', capacity: probes([1, 2, 4, 3], 3) },
    { policy: 'round-robin', capacity: probes([1, 0.5, 0.75], 0.75) }], 'arrival-rate scale');
  assert.equal((svg.match(/<path class="series"/g) ?? []).length, 2);
  assert.equal((svg.match(/<circle class="marker"/g) ?? []).length, 2);
  assert.match(svg, />shape-aware 3</);
  assert.match(svg, />arrival-rate scale</);
  // x of the path's points increases: the probes were sorted
  const d = /data-label="shape-aware" d="([^"]*)"/.exec(svg)?.[1] ?? '';
  const xs = [...d.matchAll(/[ML]([0-9.]+) /g)].map((m) => Number(m[1]));
  assert.equal(xs.length, 4);
  for (let i = 1; i < xs.length; i++) assert.ok((xs[i] as number) > (xs[i - 1] as number));
});

test('tenantTable: a row per tenant and shape, then the tenant overall; empty without by_tenant', () => {
  const records = [record({ tenant: 'quiet', shape: 'chat', costUsd: 0.5 }), record({ tenant: 'flood', shape: 'tool_call' }), rejected({ tenant: 'flood', shape: 'tool_call', code: 'E_QUEUE_FULL' })];
  const md = tenantTable(buildReport(runResult(records)));
  assert.match(md, /^Per tenant\n/);
  // The default record's TPOT is (1 − 0.1) / 9 = 100 ms: over both SLOs.
  assert.match(md, /\| flood \| tool_call \| 2 \| 1 \(E_QUEUE_FULL 1\) \| 0\.0 % \| 100 \/ 100 \| 100 \| 0 \|/);
  assert.match(md, /\| \*\*quiet\*\* \| all \| 1 \| 0 \| 0\.0 % \| 100 \/ 100 \| 100 \| 0\.5 \|/);
  assert.equal(tenantTable(buildReport(runResult([record()]))), '');
});
