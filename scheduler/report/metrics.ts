// RunResult → the `simulate` JSON report (architecture.md §6): per shape and overall latencies, goodput and SLO
// attainment, throughput, KV hit rate by tier, preemptions, rejections and cost; per tenant too when the records
// name more than one (`by_tenant`, an addition: the §6 fields are unchanged). Field names are snake_case with
// units, as the contract fixes them; every ratio with an empty denominator is null, never NaN.
import { SHAPES, type Shape } from '../core/types.js';
import type { RequestRecord, RunResult } from '../workload/types.js';
import { formatGoodput, NO_OVERRIDES, type SloOverrides } from './goodput.js';
import { e2eS, meetsSlo, tpotS, ttftS } from './latency.js';
import { mean, percentileSorted, ratio, sig, sortedCopy } from './stats.js';

export type Tier = 'device' | 'host' | 'neighbour';
const TIERS: readonly Tier[] = ['device', 'host', 'neighbour'];

/** One row of the report: a shape, or all requests ("overall"). */
export interface Metrics {
  requests: number;
  completed: number;
  rejected: number;
  cancelled: number;
  /** Completed requests that met their SLO. */
  good: number;
  goodput_rps: number | null;
  slo_attainment: number | null;
  ttft_mean_s: number | null;
  ttft_p50_s: number | null;
  ttft_p90_s: number | null;
  ttft_p99_s: number | null;
  tpot_mean_s: number | null;
  tpot_p50_s: number | null;
  tpot_p90_s: number | null;
  tpot_p99_s: number | null;
  /** Per-request mean inter-token latency: equals TPOT here (no per-token timestamps; see README). */
  itl_p50_s: number | null;
  itl_p90_s: number | null;
  itl_p99_s: number | null;
  e2e_p50_s: number | null;
  e2e_p90_s: number | null;
  e2e_p99_s: number | null;
  prompt_tokens: number;
  output_tokens: number;
  /** Output tokens of completed requests per simulated second (vLLM's output_throughput). */
  throughput_tok_s: number | null;
  throughput_tok_s_per_gpu: number | null;
  /** Prompt tokens of admitted requests per simulated second. */
  prompt_tok_s: number | null;
  /** Cached prompt tokens ÷ prompt tokens, over admitted (not rejected) requests. */
  kv_hit_rate: number | null;
  kv_hit_rate_by_tier: Record<Tier, number | null>;
  preemptions: number;
  preempted_requests: number;
  rejections_by_code: Record<string, number>;
  cost_usd: number;
  /** Total cost ÷ completed requests (failed requests' spend is carried by the ones that completed). */
  cost_per_request_usd: number | null;
  /** Sessions (a request without one is its own task) and those whose every request completed. */
  tasks: number;
  tasks_completed: number;
  cost_per_task_usd: number | null;
}

export interface SimulateReport {
  policy: string;
  cluster: string;
  model: string;
  seed: number;
  gpus: number;
  simulated_s: number;
  sim_wall_s: number;
  steps: number;
  /** The --goodput overrides applied, in milliseconds (`{}` when the requests' own SLOs were used). */
  goodput_overrides_ms: Record<string, number>;
  overall: Metrics;
  by_shape: Record<Shape, Metrics>;
  /** Present when the records name more than one tenant: each tenant's metrics, overall and per shape it sent. */
  by_tenant?: Record<string, TenantMetrics>;
}

/** One tenant's rows: the same metrics over its requests (cost_usd is its cost), per shape only where it has some. */
export interface TenantMetrics {
  overall: Metrics;
  by_shape: Partial<Record<Shape, Metrics>>;
}

interface Context {
  simulatedS: number;
  loadWindowS: number;
  gpus: number;
  overrides: SloOverrides;
}

/** [p50, p90, p99] of the values. */
function p509099(values: readonly number[]): [number | null, number | null, number | null] {
  const sorted = sortedCopy(values);
  return [sig(percentileSorted(sorted, 50)), sig(percentileSorted(sorted, 90)), sig(percentileSorted(sorted, 99))];
}

function taskCounts(records: readonly RequestRecord[]): { tasks: number; completed: number } {
  const allDone = new Map<string, boolean>();
  for (const r of records) {
    const key = r.sessionId !== undefined ? `s:${r.sessionId}` : `r:${r.requestId}`;
    allDone.set(key, (allDone.get(key) ?? true) && r.end.kind === 'completed');
  }
  let completed = 0;
  for (const done of allDone.values()) if (done) completed++;
  return { tasks: allDone.size, completed };
}

/** Metrics of one group of records (a shape, or all of them). */
export function groupMetrics(records: readonly RequestRecord[], ctx: Context): Metrics {
  let completed = 0, rejected = 0, cancelled = 0, good = 0, preemptions = 0, preemptedRequests = 0;
  let promptTokens = 0, outputTokens = 0, admittedPrompt = 0, completedOutput = 0, costUsd = 0;
  const cached: Record<Tier, number> = { device: 0, host: 0, neighbour: 0 };
  const rejections: Record<string, number> = {};
  const ttfts: number[] = [];
  const tpots: number[] = [];
  const e2es: number[] = [];
  for (const r of records) {
    promptTokens += r.promptTokens;
    outputTokens += r.outputTokens;
    costUsd += r.costUsd;
    preemptions += r.preemptions;
    if (r.preemptions > 0) preemptedRequests++;
    if (meetsSlo(r, ctx.overrides)) good++;
    if (r.end.kind === 'rejected') {
      rejected++;
      rejections[r.end.code] = (rejections[r.end.code] ?? 0) + 1;
      continue;
    }
    admittedPrompt += r.promptTokens;
    for (const tier of TIERS) cached[tier] += r.cachedTokens[tier];
    if (r.end.kind === 'cancelled') {
      cancelled++;
      continue;
    }
    // Latency distributions are over completed requests only, as load testers report successful ones.
    completed++;
    completedOutput += r.outputTokens;
    const ttft = ttftS(r);
    if (ttft !== undefined) ttfts.push(ttft);
    const tpot = tpotS(r);
    if (tpot !== undefined) tpots.push(tpot);
    e2es.push(e2eS(r));
  }
  const tasks = taskCounts(records);
  const cachedAll = cached.device + cached.host + cached.neighbour;
  const perSecond = (n: number) => sig(ratio(n, ctx.simulatedS));
  // Goodput counts good completions per second of offered load (the arrival window), not of the drain after it.
  const goodPerSecond = (n: number) => sig(ratio(n, ctx.loadWindowS));
  const tokS = ratio(completedOutput, ctx.simulatedS);
  const [ttft50, ttft90, ttft99] = p509099(ttfts);
  const [tpot50, tpot90, tpot99] = p509099(tpots);
  const [e2e50, e2e90, e2e99] = p509099(e2es);
  return {
    requests: records.length, completed, rejected, cancelled, good,
    goodput_rps: goodPerSecond(good),
    slo_attainment: sig(ratio(good, records.length)),
    ttft_mean_s: sig(mean(ttfts)), ttft_p50_s: ttft50, ttft_p90_s: ttft90, ttft_p99_s: ttft99,
    tpot_mean_s: sig(mean(tpots)), tpot_p50_s: tpot50, tpot_p90_s: tpot90, tpot_p99_s: tpot99,
    itl_p50_s: tpot50, itl_p90_s: tpot90, itl_p99_s: tpot99,
    e2e_p50_s: e2e50, e2e_p90_s: e2e90, e2e_p99_s: e2e99,
    prompt_tokens: promptTokens,
    output_tokens: outputTokens,
    throughput_tok_s: sig(tokS),
    throughput_tok_s_per_gpu: sig(tokS === null ? null : ratio(tokS, ctx.gpus)),
    prompt_tok_s: perSecond(admittedPrompt),
    kv_hit_rate: sig(ratio(cachedAll, admittedPrompt)),
    kv_hit_rate_by_tier: {
      device: sig(ratio(cached.device, admittedPrompt)),
      host: sig(ratio(cached.host, admittedPrompt)),
      neighbour: sig(ratio(cached.neighbour, admittedPrompt)),
    },
    preemptions, preempted_requests: preemptedRequests,
    rejections_by_code: rejections,
    cost_usd: sig(costUsd) as number,
    cost_per_request_usd: sig(ratio(costUsd, completed)),
    tasks: tasks.tasks,
    tasks_completed: tasks.completed,
    cost_per_task_usd: sig(ratio(costUsd, tasks.completed)),
  };
}

/** The §6 report of one run; `overrides` are the --goodput bounds applied when judging SLOs. */
export function buildReport(run: RunResult, overrides: SloOverrides = NO_OVERRIDES): SimulateReport {
  const byShapeRecords = Object.fromEntries(SHAPES.map((s) => [s, [] as RequestRecord[]])) as Record<Shape, RequestRecord[]>;
  for (const r of run.records) {
    const group = byShapeRecords[r.shape] as RequestRecord[] | undefined;
    if (!group) throw new RangeError(`request ${r.requestId}: unknown shape ${JSON.stringify(r.shape)}; shapes: ${SHAPES.join(', ')}`);
    group.push(r);
  }
  const ctx: Context = { simulatedS: run.simulatedS, loadWindowS: run.loadWindowS ?? run.simulatedS, gpus: run.gpus, overrides };
  const byTenant = tenantMetrics(run.records, ctx);
  return {
    policy: run.policy,
    cluster: run.cluster,
    model: run.model,
    seed: run.seed,
    gpus: run.gpus,
    simulated_s: run.simulatedS,
    sim_wall_s: run.simWallS,
    steps: run.steps,
    goodput_overrides_ms: formatGoodput(overrides),
    overall: groupMetrics(run.records, ctx),
    by_shape: Object.fromEntries(SHAPES.map((s) => [s, groupMetrics(byShapeRecords[s], ctx)])) as Record<Shape, Metrics>,
    ...(byTenant ? { by_tenant: byTenant } : {}),
  };
}

/** Per tenant (sorted by name), or undefined when the records name fewer than two tenants. */
function tenantMetrics(records: readonly RequestRecord[], ctx: Context): Record<string, TenantMetrics> | undefined {
  const groups = new Map<string, RequestRecord[]>();
  for (const r of records) {
    if (r.tenant === undefined) continue;
    let group = groups.get(r.tenant);
    if (!group) groups.set(r.tenant, (group = []));
    group.push(r);
  }
  if (groups.size < 2) return undefined;
  const out: Record<string, TenantMetrics> = {};
  for (const name of [...groups.keys()].sort()) {
    const group = groups.get(name) as RequestRecord[];
    const byShape: Partial<Record<Shape, Metrics>> = {};
    for (const shape of SHAPES) {
      const of = group.filter((r) => r.shape === shape);
      if (of.length > 0) byShape[shape] = groupMetrics(of, ctx);
    }
    out[name] = { overall: groupMetrics(group, ctx), by_shape: byShape };
  }
  return out;
}

/** The headline figures a capacity search or a plan reads from one report (the same five fields everywhere). */
export function headline(report: SimulateReport): {
  slo_attainment: number | null; goodput_rps: number | null; tool_call_ttft_p99_s: number | null; ttft_p99_s: number | null; tpot_p99_s: number | null;
} {
  const o = report.overall;
  return { slo_attainment: o.slo_attainment, goodput_rps: o.goodput_rps, tool_call_ttft_p99_s: report.by_shape.tool_call.ttft_p99_s, ttft_p99_s: o.ttft_p99_s, tpot_p99_s: o.tpot_p99_s };
}
