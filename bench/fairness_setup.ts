// The tenant-fairness experiment (`nvlsched bench fairness`, and its test at a smaller size): a quiet tenant sends a
// normal mixed load that the cluster serves within its SLOs; a flooding tenant sends tool calls far past capacity.
// The same seeded workload runs in virtual time with and without the tenants section (weighted fair share and
// per-tenant admission in every instance's queue), under our policy and the baselines, and reports each tenant's
// p99 TTFT per shape against its SLO.
import { parseTenants, type TenantsConfig } from '../scheduler/core/config/tenants.js';
import { SHAPES, type Shape } from '../scheduler/core/types.js';
import { buildReport, type Metrics } from '../scheduler/report/metrics.js';
import { buildCluster, readClusterConfig, type Cluster } from '../scheduler/sim/cluster.js';
import { runSimulation } from '../scheduler/sim/run.js';
import { readMix } from '../scheduler/workload/mix.js';
import type { OpenLoopWorkload } from '../scheduler/workload/types.js';

export const QUIET = 'quiet';
export const FLOOD = 'flood';

export interface FairnessOptions {
  /** Simulated seconds of arrivals. */
  durationS: number;
  seed: number;
  /** Cluster preset (one HGX node by default: small enough for seconds of wall time per run). */
  cluster: string;
  /** Catalog model (the cluster's default when absent). */
  model?: string;
  /** GPUs per instance (the sizing's choice when absent). */
  tensorParallel?: number;
  /** The quiet tenant's arrival rates are multiplied by this (1: ~4.4 requests/s plus agent sessions). */
  quietScale: number;
  /** The flooding tenant's tool calls per second. */
  floodRatePerS: number;
  policies: readonly string[];
}

/**
 * One HGX B200 node serving gpt-oss-120b (4 instances of 2 GPUs): a step of the full 8,192-token budget takes tens
 * of milliseconds, so a TTFT SLO of 0.5 s is a queueing question. With Llama 3.1 70B on one B200 per instance a
 * full-budget prefill step alone takes ~0.5 s, and the quiet tenant's tool calls miss 0.5 s at p99 behind the
 * flood's chunks even when fair share admits them first (README: what fair share cannot do).
 * The flood, 1,000 tool calls/s, is about three times what the node completes.
 */
export const FAIRNESS_DEFAULTS: Readonly<FairnessOptions> = {
  durationS: 60,
  seed: 1,
  cluster: 'hgx-b200x8',
  model: 'gpt-oss-120b',
  quietScale: 1,
  floodRatePerS: 1000,
  policies: ['shape-aware', 'dynamo-kv', 'round-robin'],
};

/**
 * Agent tool calls: a shared system + tools prefix per app, short answers. The quiet tenant's prompts are kept to a
 * size whose prefill fits the 0.5 s TTFT SLO even when its prefix is not cached (the flood evicts it: prefix-cache
 * fairness is not part of this experiment); the flood's are the default mix's (8K prefix + ~1K).
 */
function toolCalls(ratePerS: number, prefixTokens: number, uniqueMedianTokens: number) {
  return {
    arrival: { process: 'poisson', ratePerS },
    prefix: { sharedTokens: prefixTokens, variants: 1 },
    uniqueTokens: { dist: 'lognormal', median: uniqueMedianTokens, sigma: 0.8, max: 4 * uniqueMedianTokens },
    outputTokens: { dist: 'lognormal', median: 80, sigma: 0.7, max: 1024 },
    maxOutputTokens: 1024,
    hasTools: true,
    toolResultsShare: 0.8,
  };
}

/** The experiment's mix: the quiet tenant's four shapes (the default mix's, scaled down) and the flood. */
export function fairnessMix(o: Pick<FairnessOptions, 'quietScale' | 'floodRatePerS'>) {
  const q = o.quietScale;
  return {
    name: 'fairness',
    tenants: {
      [QUIET]: {
        shapes: {
          tool_call: toolCalls(2 * q, 2000, 500),
          reasoning: {
            arrival: { process: 'poisson', ratePerS: 0.2 * q },
            uniqueTokens: { dist: 'lognormal', median: 1200, sigma: 0.8, max: 12000 },
            outputTokens: { dist: 'lognormal', median: 800, sigma: 1.0, max: 8192 },
            maxOutputTokens: 8192,
            reasoningEffort: 'high',
          },
          chat: {
            arrival: { process: 'poisson', ratePerS: 2 * q },
            prefix: { sharedTokens: 1000, variants: 1 },
            uniqueTokens: { dist: 'lognormal', median: 600, sigma: 0.8, max: 6000 },
            outputTokens: { dist: 'lognormal', median: 250, sigma: 0.8, max: 4096 },
            maxOutputTokens: 4096,
          },
          terminal: {
            arrival: { process: 'poisson', ratePerS: 0.2 * q },
            prefix: { sharedTokens: 3000, variants: 1 },
            uniqueTokens: { dist: 'lognormal', median: 1000, sigma: 0.8, max: 4000 },
            outputTokens: { dist: 'lognormal', median: 200, sigma: 1.0, max: 4000 },
            maxOutputTokens: 8000,
            hasTools: true,
            session: {
              turns: { dist: 'uniform', min: 3, max: 10 },
              thinkTimeS: { dist: 'lognormal', median: 5, sigma: 0.8, max: 60 },
              toolTurnShare: 0.75,
              toolThinkTimeS: { dist: 'lognormal', median: 1, sigma: 0.6, max: 20 },
              turnTokens: { dist: 'lognormal', median: 500, sigma: 0.8, max: 4000 },
              maxContextTokens: 30000,
              assumedTpotS: 0.03,
            },
          },
        },
      },
      [FLOOD]: { shapes: { tool_call: toolCalls(o.floodRatePerS, 8000, 1000) } },
    },
  };
}

/** Equal weights, both in the normal band: the quiet tenant is protected by fair share alone, not by priority. */
export const FAIRNESS_TENANTS: TenantsConfig = parseTenants({ default: { weight: 1 }, [QUIET]: { weight: 1 }, [FLOOD]: { weight: 1 } }, 'fairness.tenants');

export function fairnessWorkload(o: FairnessOptions, withFlood = true): OpenLoopWorkload {
  return readMix(fairnessMix({ quietScale: o.quietScale, floodRatePerS: withFlood ? o.floodRatePerS : 0 }), 'fairness', { seed: o.seed, durationS: o.durationS });
}

/** One tenant's outcome on one shape (or 'all'). */
export interface TenantShapeRow {
  requests: number;
  completed: number;
  rejected: number;
  slo_ttft_s: number | null;
  ttft_p50_s: number | null;
  ttft_p99_s: number | null;
  /** ttft_p99_s ≤ the shape's TTFT SLO (null: nothing completed). */
  p99_meets_slo: boolean | null;
  slo_attainment: number | null;
  cost_usd: number;
}

export interface FairnessRun {
  /** `<policy>`, `<policy> + fair share`, or `<policy>, quiet alone`. */
  variant: string;
  policy: string;
  fairShare: boolean;
  flood: boolean;
  sim_wall_s: number;
  requests: number;
  tenants: Record<string, Partial<Record<Shape | 'all', TenantShapeRow>>>;
}

const TTFT_SLO_S: Readonly<Record<Shape, number>> = { tool_call: 0.5, reasoning: 2, terminal: 1, chat: 1 };

function row(m: Metrics, sloS: number | null): TenantShapeRow {
  return {
    requests: m.requests,
    completed: m.completed,
    rejected: m.rejected,
    slo_ttft_s: sloS,
    ttft_p50_s: m.ttft_p50_s,
    ttft_p99_s: m.ttft_p99_s,
    p99_meets_slo: m.ttft_p99_s === null || sloS === null ? null : m.ttft_p99_s <= sloS,
    slo_attainment: m.slo_attainment,
    cost_usd: m.cost_usd,
  };
}

/** Runs one variant in virtual time and keeps each tenant's rows. */
export function runVariant(o: FairnessOptions, cluster: Cluster, workload: OpenLoopWorkload, policy: string, fairShare: boolean, flood: boolean): FairnessRun {
  const run = runSimulation({ workload, cluster, policy, seed: o.seed, ...(fairShare ? { tenants: FAIRNESS_TENANTS } : {}) });
  const tenants: FairnessRun['tenants'] = {};
  // Per tenant from its records (the report's by_tenant needs two tenants; the quiet-alone run has one).
  for (const name of [QUIET, FLOOD]) {
    const records = run.records.filter((r) => r.tenant === name);
    if (records.length === 0) continue;
    const report = buildReport({ ...run, records });
    const rows: Partial<Record<Shape | 'all', TenantShapeRow>> = {};
    for (const shape of SHAPES) if (report.by_shape[shape].requests > 0) rows[shape] = row(report.by_shape[shape], TTFT_SLO_S[shape]);
    rows.all = row(report.overall, null);
    tenants[name] = rows;
  }
  const variant = !flood ? `${policy}, quiet alone` : fairShare ? `${policy} + fair share` : policy;
  return { variant, policy, fairShare, flood, sim_wall_s: run.simWallS, requests: run.records.length, tenants };
}

export function fairnessCluster(o: Pick<FairnessOptions, 'cluster' | 'model' | 'tensorParallel'>): Cluster {
  const spec = { preset: o.cluster, ...(o.model !== undefined && { model: o.model }), ...(o.tensorParallel !== undefined && { tensorParallel: o.tensorParallel }) };
  return buildCluster(readClusterConfig(spec, 'cluster'));
}

/**
 * Every variant: the quiet tenant alone (the reference, first policy), then per policy the flood without and with
 * fair share. `onRun` sees each as it finishes (progress).
 */
export function runFairness(o: FairnessOptions, onRun: (r: FairnessRun) => void = () => {}): FairnessRun[] {
  const cluster = fairnessCluster(o);
  const flooded = fairnessWorkload(o, true);
  const alone = fairnessWorkload(o, false);
  const runs: FairnessRun[] = [];
  const add = (r: FairnessRun) => {
    runs.push(r);
    onRun(r);
  };
  add(runVariant(o, cluster, alone, o.policies[0] ?? 'shape-aware', false, false));
  for (const policy of o.policies) {
    add(runVariant(o, cluster, flooded, policy, false, true));
    add(runVariant(o, cluster, flooded, policy, true, true));
  }
  return runs;
}
