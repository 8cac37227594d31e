// Markdown tables of simulate reports: one table per run (a row per shape plus overall), and a side-by-side table
// for --compare (a column per policy). Missing values print as "–" so a row never reads "null".
import { SHAPES } from '../core/types.js';
import type { Metrics, SimulateReport } from './metrics.js';

const DASH = '–';

function num(value: number | null, digits: number): string {
  return value === null ? DASH : value.toFixed(digits);
}
function ms(valueS: number | null): string {
  return valueS === null ? DASH : (valueS * 1000).toFixed(valueS < 0.01 ? 2 : 0);
}
function pct(value: number | null): string {
  return value === null ? DASH : `${(value * 100).toFixed(1)} %`;
}
function usd(value: number | null): string {
  return value === null ? DASH : value < 1 ? String(Number(value.toPrecision(3))) : value.toFixed(2);
}
function rejections(m: Metrics): string {
  const codes = Object.entries(m.rejections_by_code).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return codes.length === 0 ? String(m.rejected) : `${m.rejected} (${codes.map(([c, n]) => `${c} ${n}`).join(', ')})`;
}

interface Column {
  header: string;
  cell: (m: Metrics) => string;
}

const RUN_COLUMNS: Column[] = [
  { header: 'requests', cell: (m) => String(m.requests) },
  { header: 'done', cell: (m) => String(m.completed) },
  { header: 'rejected', cell: rejections },
  { header: 'cancelled', cell: (m) => String(m.cancelled) },
  { header: 'goodput req/s', cell: (m) => num(m.goodput_rps, 3) },
  { header: 'SLO met', cell: (m) => pct(m.slo_attainment) },
  { header: 'TTFT p50/p90/p99 ms', cell: (m) => `${ms(m.ttft_p50_s)} / ${ms(m.ttft_p90_s)} / ${ms(m.ttft_p99_s)}` },
  { header: 'TPOT p50/p90/p99 ms', cell: (m) => `${ms(m.tpot_p50_s)} / ${ms(m.tpot_p90_s)} / ${ms(m.tpot_p99_s)}` },
  { header: 'E2E p50/p99 s', cell: (m) => `${num(m.e2e_p50_s, 2)} / ${num(m.e2e_p99_s, 2)}` },
  { header: 'tok/s/GPU', cell: (m) => num(m.throughput_tok_s_per_gpu, 1) },
  { header: 'KV hit dev/host/nbr', cell: (m) => `${pct(m.kv_hit_rate)} (${pct(m.kv_hit_rate_by_tier.device)} / ${pct(m.kv_hit_rate_by_tier.host)} / ${pct(m.kv_hit_rate_by_tier.neighbour)})` },
  { header: 'preempt', cell: (m) => String(m.preemptions) },
  { header: '$/req', cell: (m) => usd(m.cost_per_request_usd) },
  { header: '$/task', cell: (m) => usd(m.cost_per_task_usd) },
];

function table(headers: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  const align = headers.map((_, i) => (i === 0 ? '---' : '---:'));
  return [line(headers), line(align), ...rows.map(line)].join('\n');
}

/** A heading line and one table: a row per shape with requests, then overall. */
export function runTable(report: SimulateReport): string {
  const heading = `**${report.policy}** on ${report.cluster} (${report.gpus} GPUs), ${report.model}, seed ${report.seed}: ` +
    `${report.simulated_s.toFixed(1)} s simulated in ${report.sim_wall_s.toFixed(1)} s`;
  const shapes = SHAPES.filter((s) => report.by_shape[s].requests > 0);
  const rows = [...shapes.map((s) => [s, ...RUN_COLUMNS.map((c) => c.cell(report.by_shape[s]))]),
    ['**overall**', ...RUN_COLUMNS.map((c) => c.cell(report.overall))]];
  return `${heading}\n\n${table(['shape', ...RUN_COLUMNS.map((c) => c.header)], rows)}\n`;
}

const TENANT_COLUMNS: Column[] = [
  { header: 'requests', cell: (m) => String(m.requests) },
  { header: 'rejected', cell: rejections },
  { header: 'SLO met', cell: (m) => pct(m.slo_attainment) },
  { header: 'TTFT p50/p99 ms', cell: (m) => `${ms(m.ttft_p50_s)} / ${ms(m.ttft_p99_s)}` },
  { header: 'TPOT p99 ms', cell: (m) => ms(m.tpot_p99_s) },
  { header: 'cost $', cell: (m) => usd(m.cost_usd) },
];

/** Tenants shown in the per-tenant table (a report may name thousands; the JSON has them all). */
export const MAX_TENANT_ROWS = 16;

/**
 * A row per tenant and shape it sent (then the tenant overall), or '' when the report has no by_tenant. Past
 * MAX_TENANT_ROWS tenants, the most costly ones.
 */
export function tenantTable(report: SimulateReport): string {
  const byTenant = report.by_tenant;
  if (!byTenant) return '';
  let names = Object.keys(byTenant);
  const cut = names.length > MAX_TENANT_ROWS;
  if (cut) names = names.sort((a, b) => (byTenant[b]?.overall.cost_usd ?? 0) - (byTenant[a]?.overall.cost_usd ?? 0)).slice(0, MAX_TENANT_ROWS).sort();
  const rows: string[][] = [];
  for (const name of names) {
    const t = byTenant[name];
    if (!t) continue;
    for (const shape of SHAPES) {
      const m = t.by_shape[shape];
      if (m) rows.push([name, shape, ...TENANT_COLUMNS.map((c) => c.cell(m))]);
    }
    rows.push([`**${name}**`, 'all', ...TENANT_COLUMNS.map((c) => c.cell(t.overall))]);
  }
  const heading = cut ? `Per tenant (the ${MAX_TENANT_ROWS} most costly of ${Object.keys(byTenant).length}; all in the JSON)` : 'Per tenant';
  return `${heading}

${table(['tenant', 'shape', ...TENANT_COLUMNS.map((c) => c.header)], rows)}
`;
}

const COMPARE_OVERALL: Column[] = [
  { header: 'requests', cell: (m) => String(m.requests) },
  { header: 'goodput req/s', cell: (m) => num(m.goodput_rps, 3) },
  { header: 'SLO met', cell: (m) => pct(m.slo_attainment) },
  { header: 'TTFT p99 ms', cell: (m) => ms(m.ttft_p99_s) },
  { header: 'TPOT p99 ms', cell: (m) => ms(m.tpot_p99_s) },
  { header: 'E2E p99 s', cell: (m) => num(m.e2e_p99_s, 2) },
  { header: 'tok/s/GPU', cell: (m) => num(m.throughput_tok_s_per_gpu, 1) },
  { header: 'KV hit', cell: (m) => pct(m.kv_hit_rate) },
  { header: 'preemptions', cell: (m) => String(m.preemptions) },
  { header: 'rejected', cell: (m) => String(m.rejected) },
  { header: '$/req', cell: (m) => usd(m.cost_per_request_usd) },
  { header: '$/task', cell: (m) => usd(m.cost_per_task_usd) },
];
const COMPARE_SHAPE: Column[] = [
  { header: 'SLO met', cell: (m) => pct(m.slo_attainment) },
  { header: 'goodput req/s', cell: (m) => num(m.goodput_rps, 3) },
  { header: 'TTFT p99 ms', cell: (m) => ms(m.ttft_p99_s) },
  { header: 'TPOT p99 ms', cell: (m) => ms(m.tpot_p99_s) },
];

/** Goodput capacity per policy (architecture §3), shown as a row with each policy's ratio to the first. */
export interface CapacityCell {
  capacity: number | null;
  unit: string;
}

/**
 * Policies side by side (same workload and seed): a column per policy, rows for the overall metrics, then a few
 * per shape. With capacities, a first row gives each one and its ratio to the first policy's.
 */
export function compareTable(reports: readonly SimulateReport[], capacities?: readonly CapacityCell[]): string {
  const rows: string[][] = [];
  if (capacities) {
    const base = capacities[0]?.capacity ?? null;
    rows.push(['goodput capacity', ...capacities.map((c) => c.capacity === null ? DASH
      : `${num(c.capacity, 3)} ${c.unit}${base ? ` (${(c.capacity / base).toFixed(2)}x)` : ''}`)]);
  }
  // Runs end when their last request does, so simulated time differs by policy.
  rows.push(['simulated s (wall s)', ...reports.map((r) => `${r.simulated_s.toFixed(1)} (${r.sim_wall_s.toFixed(1)})`)]);
  for (const c of COMPARE_OVERALL) rows.push([c.header, ...reports.map((r) => c.cell(r.overall))]);
  for (const shape of SHAPES) {
    if (reports.every((r) => r.by_shape[shape].requests === 0)) continue;
    for (const c of COMPARE_SHAPE) rows.push([`${shape} ${c.header}`, ...reports.map((r) => c.cell(r.by_shape[shape]))]);
  }
  const first = reports[0];
  const heading = first ? `Policies on ${first.cluster} (${first.gpus} GPUs), ${first.model}, seed ${first.seed}, same workload` : 'No runs';
  return `${heading}\n\n${table(['metric', ...reports.map((r) => r.policy)], rows)}\n`;
}
