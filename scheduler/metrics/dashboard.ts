// The Grafana dashboard over the gateway's and workers' metrics, built in code so that layout, datasource and
// filters stay uniform; deploy/grafana/nvlsched-dashboard.json is its output, and dashboard.test.ts checks that the
// committed file matches, that every expression names metrics and labels the registries define, and (with
// promtool) that every expression parses as PromQL. Regenerate: node --import tsx scheduler/metrics/dashboard.ts
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const DASHBOARD_FILE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../deploy/grafana/nvlsched-dashboard.json');

const DS = { type: 'prometheus', uid: '${datasource}' };
const R = '[$__rate_interval]';
const SP = 'pool=~"$pool",shape=~"$shape"';
const P = 'pool=~"$pool"';

interface Target { expr: string; legend: string }
interface PanelSpec { title: string; description: string; unit: string; targets: Target[]; stack?: boolean }

const quantiles = (metric: string, filter: string, by: string, label: string): Target[] =>
  [0.5, 0.99].map((q) => ({
    expr: `histogram_quantile(${q}, sum by (${by}, le) (rate(${metric}_bucket{${filter}}${R})))`,
    legend: `{{${label}}} p${q * 100}`,
  }));

/** Rows of panels, two per line. */
const ROWS: { title: string; panels: PanelSpec[] }[] = [
  {
    title: 'Latency per shape',
    panels: [
      { title: 'TTFT p50 / p99 per shape', unit: 's', description: 'Time to first token of completed requests (nvlsched_time_to_first_token_seconds).', targets: quantiles('nvlsched_time_to_first_token_seconds', SP, 'shape', 'shape') },
      { title: 'TPOT p50 / p99 per shape', unit: 's', description: 'Mean time per output token per completed request (nvlsched_time_per_output_token_seconds).', targets: quantiles('nvlsched_time_per_output_token_seconds', SP, 'shape', 'shape') },
      { title: 'Inter-token latency p50 / p99 per shape', unit: 's', description: 'Gaps between token emissions, stalls included (nvlsched_inter_token_latency_seconds).', targets: quantiles('nvlsched_inter_token_latency_seconds', SP, 'shape', 'shape') },
      { title: 'End-to-end latency p50 / p99 per shape', unit: 's', description: 'Arrival to last token of completed requests.', targets: quantiles('nvlsched_e2e_request_latency_seconds', SP, 'shape', 'shape') },
    ],
  },
  {
    title: 'Goodput and outcomes',
    panels: [
      { title: 'Goodput per shape (requests/s within SLO)', unit: 'reqps', description: 'Completed requests per second that met both their TTFT and TPOT targets (architecture.md §3).', targets: [{ expr: `sum by (shape) (rate(nvlsched_requests_slo_met_total{${SP}}${R}))`, legend: '{{shape}}' }] },
      { title: 'SLO attainment per shape', unit: 'percentunit', description: 'Requests within SLO as a share of all requests that ended (rejections included).', targets: [{ expr: `sum by (shape) (rate(nvlsched_requests_slo_met_total{${SP}}${R})) / sum by (shape) (rate(nvlsched_requests_total{${SP}}${R}))`, legend: '{{shape}}' }] },
      { title: 'Requests by outcome', unit: 'reqps', stack: true, description: 'Ended requests per second: completed, rejected, cancelled, error.', targets: [{ expr: `sum by (outcome) (rate(nvlsched_requests_total{${SP}}${R}))`, legend: '{{outcome}}' }] },
      { title: 'Rejections by code', unit: 'reqps', stack: true, description: 'Rejected requests per second by scheduler code (E_QUEUE_FULL, E_SLO_UNREACHABLE, ...).', targets: [{ expr: `sum by (code) (rate(nvlsched_requests_rejected_total{${SP}}${R}))`, legend: '{{code}}' }] },
    ],
  },
  {
    title: 'Queues, batches, throughput',
    panels: [
      { title: 'Queue depth per shape', unit: 'short', stack: true, description: 'Requests waiting in instance queues.', targets: [{ expr: `sum by (shape) (nvlsched_num_requests_waiting{${SP}})`, legend: '{{shape}}' }] },
      { title: 'Running requests per instance', unit: 'short', description: 'Requests in each model instance running batch.', targets: [{ expr: `sum by (model_instance) (nvlsched_num_requests_running{${P}})`, legend: '{{model_instance}}' }] },
      { title: 'Tokens per step p50 / p99', unit: 'short', description: 'Tokens in one engine step (nvlsched_iteration_tokens), per pool.', targets: quantiles('nvlsched_iteration_tokens', P, 'pool', 'pool') },
      { title: 'Token throughput', unit: 'short', description: 'Prompt tokens (and those served from the prefix cache) and generated tokens per second.', targets: [
        { expr: `sum(rate(nvlsched_prompt_tokens_total{${SP}}${R}))`, legend: 'prompt' },
        { expr: `sum(rate(nvlsched_prompt_tokens_cached_total{${SP}}${R}))`, legend: 'prompt, cached' },
        { expr: `sum(rate(nvlsched_generation_tokens_total{${SP}}${R}))`, legend: 'generated' },
      ] },
      { title: 'Step duration p99', unit: 's', description: 'One engine step as the gateway saw it (per pool) and as each worker ran it.', targets: [
        { expr: `histogram_quantile(0.99, sum by (pool, le) (rate(nvlsched_step_duration_seconds_bucket{${P}}${R})))`, legend: 'gateway {{pool}}' },
        { expr: `histogram_quantile(0.99, sum by (worker, le) (rate(nvlsched_worker_step_duration_seconds_bucket${R})))`, legend: 'worker {{worker}}' },
      ] },
      { title: 'Preemptions per instance', unit: 'short', description: 'Sequences preempted per second (recompute or swap).', targets: [{ expr: `sum by (model_instance) (rate(nvlsched_num_preemptions_total{${P}}${R}))`, legend: '{{model_instance}}' }] },
    ],
  },
  {
    title: 'KV cache per NVLink domain',
    panels: [
      { title: 'KV usage per NVLink domain and tier', unit: 'percentunit', description: 'Blocks in use over blocks in all, summed over the GPUs (device) or Grace memory (host) of each NVLink domain.', targets: [{ expr: 'sum by (domain, tier) (nvlsched_kv_cache_used_blocks) / sum by (domain, tier) (nvlsched_kv_cache_capacity_blocks)', legend: '{{domain}} {{tier}}' }] },
      { title: 'KV usage per GPU (HBM)', unit: 'percentunit', description: 'Each GPU KV usage, labelled domain/worker/gpu.', targets: [{ expr: 'max by (domain, worker, gpu) (nvlsched_kv_cache_usage_ratio{tier="device"})', legend: '{{domain}}/{{worker}}/gpu{{gpu}}' }] },
      { title: 'Prefix cache hit rate by tier', unit: 'percentunit', stack: true, description: 'Prompt tokens found cached, by where (device, host = Grace, neighbour = another instance in the domain), over prompt tokens looked up.', targets: [{ expr: `sum by (tier) (rate(nvlsched_prefix_cache_hits_total{${P}}${R})) / scalar(sum(rate(nvlsched_prefix_cache_queries_total{${P}}${R})))`, legend: '{{tier}}' }] },
      { title: 'Evictions by tier', unit: 'short', description: 'KV blocks evicted per second.', targets: [{ expr: `sum by (tier) (rate(nvlsched_kv_cache_evicted_blocks_total${R}))`, legend: '{{tier}}' }] },
      { title: 'KV moves by link', unit: 'Bps', stack: true, description: 'Bytes of KV moved per second over NVLink, NVLink-C2C (HBM to Grace), PCIe, ...', targets: [{ expr: `sum by (link) (rate(nvlsched_kv_transfer_bytes_total${R}))`, legend: '{{link}}' }] },
      { title: 'KV moves per second by link', unit: 'short', description: 'Number of KV moves per second.', targets: [{ expr: `sum by (link) (rate(nvlsched_kv_transfers_total${R}))`, legend: '{{link}}' }] },
    ],
  },
  {
    title: 'Cost',
    panels: [
      { title: 'Cost per hour', unit: 'currencyUSD', description: 'US dollars per hour: the scheduler cost ledger in all (GPU time, tokens, idle KV), and per shape from ended requests.', targets: [
        { expr: `sum(rate(nvlsched_cost_usd_total${R})) * 3600`, legend: 'ledger total' },
        { expr: `sum by (shape) (rate(nvlsched_request_cost_usd_total{${SP}}${R})) * 3600`, legend: '{{shape}}' },
      ] },
      { title: 'Cost per completed request', unit: 'currencyUSD', description: 'Dollars of ended requests over completed requests, per shape.', targets: [{ expr: `sum by (shape) (rate(nvlsched_request_cost_usd_total{${SP}}${R})) / sum by (shape) (rate(nvlsched_requests_total{${SP},outcome="completed"}${R}))`, legend: '{{shape}}' }] },
      { title: 'GPUs busy', unit: 'short', description: 'GPU-seconds of engine steps per second: GPUs kept busy on average.', targets: [{ expr: `sum(rate(nvlsched_gpu_seconds_total${R}))`, legend: 'GPUs busy' }] },
      { title: 'Idle KV held for sessions', unit: 'decbytes', description: 'Average bytes of KV held for idle sessions between turns (byte-seconds per second).', targets: [{ expr: `sum(rate(nvlsched_kv_cache_idle_byte_seconds_total${R}))`, legend: 'idle KV' }] },
    ],
  },
  {
    title: 'Reliability and scheduler',
    panels: [
      { title: 'Reruns and worker failures', unit: 'short', description: 'Requests continued elsewhere after a worker failure, and worker Step streams that broke, per interval.', targets: [
        { expr: `sum(increase(nvlsched_request_reruns_total{${SP}}${R}))`, legend: 'reruns' },
        { expr: `sum by (worker) (increase(nvlsched_worker_failures_total${R}))`, legend: 'failure {{worker}}' },
      ] },
      { title: 'Scheduling latency p99 per plugin', unit: 's', description: 'Wall time of one call of each scheduling plugin.', targets: [{ expr: `histogram_quantile(0.99, sum by (plugin, le) (rate(nvlsched_scheduling_latency_seconds_bucket${R})))`, legend: '{{plugin}}' }] },
      { title: 'Worker errors by code', unit: 'short', description: 'Sequences or plans a worker refused, per second.', targets: [{ expr: `sum by (code) (rate(nvlsched_worker_errors_total${R}))`, legend: '{{code}}' }] },
      { title: 'Metric labels folded into "other"', unit: 'short', description: 'A label reached its distinct-value limit: some ids are recorded as "other" (look for request ids passed as labels).', targets: [
        { expr: `sum by (label) (increase(nvlsched_metrics_label_overflow_total${R}))`, legend: 'gateway {{label}}' },
        { expr: `sum by (label) (increase(nvlsched_worker_metrics_label_overflow_total${R}))`, legend: 'worker {{label}}' },
      ] },
    ],
  },
];

function panel(spec: PanelSpec, id: number, x: number, y: number) {
  return {
    id,
    type: 'timeseries',
    title: spec.title,
    description: spec.description,
    datasource: DS,
    gridPos: { h: 8, w: 12, x, y },
    fieldConfig: {
      defaults: {
        unit: spec.unit,
        min: 0,
        custom: { drawStyle: 'line', lineWidth: 1, fillOpacity: spec.stack ? 30 : 0, showPoints: 'never', stacking: { mode: spec.stack ? 'normal' : 'none', group: 'A' } },
      },
      overrides: [],
    },
    options: {
      legend: { showLegend: true, displayMode: 'table', placement: 'bottom', calcs: ['lastNotNull', 'max'] },
      tooltip: { mode: 'multi', sort: 'desc' },
    },
    targets: spec.targets.map((t, i) => ({ datasource: DS, expr: t.expr, legendFormat: t.legend, range: true, refId: String.fromCharCode(65 + i) })),
  };
}

const labelVariable = (name: string, label: string) => ({
  type: 'query',
  name,
  label,
  datasource: DS,
  definition: `label_values(nvlsched_requests_total, ${name})`,
  query: { qryType: 1, query: `label_values(nvlsched_requests_total, ${name})`, refId: 'PrometheusVariableQueryEditor-VariableQuery' },
  includeAll: true,
  multi: true,
  allValue: '.*',
  current: { selected: true, text: ['All'], value: ['$__all'] },
  refresh: 2,
  sort: 1,
  hide: 0,
});

export function buildDashboard() {
  const panels: unknown[] = [];
  let id = 1;
  let y = 0;
  for (const row of ROWS) {
    panels.push({ id: id++, type: 'row', title: row.title, collapsed: false, gridPos: { h: 1, w: 24, x: 0, y }, panels: [] });
    y += 1;
    row.panels.forEach((spec, i) => {
      panels.push(panel(spec, id++, (i % 2) * 12, y + Math.floor(i / 2) * 8));
    });
    y += Math.ceil(row.panels.length / 2) * 8;
  }
  return {
    title: 'nvlsched: shape-aware LLM serving',
    uid: 'nvlsched-overview',
    description: 'Latency and goodput per shape, KV cache per NVLink domain, cost. Metrics: scheduler/metrics/README.md.',
    tags: ['nvlsched', 'llm-serving', 'nvl72'],
    editable: true,
    graphTooltip: 1,
    refresh: '30s',
    schemaVersion: 39,
    version: 1,
    time: { from: 'now-1h', to: 'now' },
    timepicker: {},
    timezone: 'browser',
    annotations: { list: [] },
    links: [],
    templating: {
      list: [
        { type: 'datasource', name: 'datasource', label: 'Prometheus', query: 'prometheus', current: {}, hide: 0, refresh: 1, regex: '' },
        labelVariable('pool', 'Pool'),
        labelVariable('shape', 'Shape'),
      ],
    },
    panels,
  };
}

export function dashboardJson(): string {
  return `${JSON.stringify(buildDashboard(), null, 2)}\n`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  writeFileSync(DASHBOARD_FILE, dashboardJson());
  console.log(`wrote ${path.relative(process.cwd(), DASHBOARD_FILE)}`);
}
