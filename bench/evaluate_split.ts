// The second half of issue 5's capacity comparison: the same GB200 NVL72 rack split into prefill and decode
// instances — for the default mix the split `nvlsched tune --search-roles` chose (or `--roles P/D`), for the
// Mooncake trace TP4 prefill instances beside TP1 decode ones — so that our shape-aware disaggregation decision is
// compared with Dynamo's conditional rule under each router (the deployment Dynamo itself recommends), and, where
// the all-mixed rack gives no baseline a capacity, with aggregated baselines on the same GPUs.
import path from 'node:path';

import type { PolicyConfig } from '../scheduler/core/policy.js';
import { findCapacity } from '../scheduler/report/capacity.js';
import { buildReport } from '../scheduler/report/metrics.js';
import { runSimulation, type SimulationOptions } from '../scheduler/sim/run.js';
import { defaultMix } from '../scheduler/workload/default_mix.js';
import { readTrace } from '../scheduler/workload/read_trace.js';
import type { Workload } from '../scheduler/workload/types.js';

export interface Roles {
  prefill: number;
  decode: number;
}

/**
 * The split `npx nvlsched tune --search-roles --cluster gb200-nvl72 --model llama-3.1-70b --tp 1 --rate-scale 16`
 * ranked first for the default mix: 24 prefill instances, the other 48 mixed (capacity 22.15 against 13.75 all
 * mixed, 120 simulated s; bench/EVALUATION.md has the run). Our decision treats decode and mixed instances alike,
 * so 24/0, 24/12 and 24/24 tied; the planner keeps the first.
 */
export const PLANNED_ROLES: Readonly<Roles> = { prefill: 24, decode: 0 };

export interface CapacityConfig {
  label: string;
  policy: string | (Partial<PolicyConfig> & { base?: string });
  /** The rack: a preset, or a mapping with roles (and per-role degrees). Default gb200-nvl72 as it comes. */
  cluster?: SimulationOptions['cluster'];
}

/** A workload and the split rack it is compared on. */
export interface SplitScenario {
  name: string;
  /** How the split was chosen, for the report. */
  source: string;
  /** The rack's instances in words, for the report. */
  layout: string;
  roles: Roles;
  cluster: SimulationOptions['cluster'];
  workload: (seed: number, rateScale: number) => Workload;
  startLoad: number;
  durationS?: number;
  /** Aggregated baselines run on the same GPUs too (where the uniform rack gives them no capacity to compare with). */
  aggregatedBaselines: readonly string[];
}

export const MOONCAKE_ROLES: Readonly<Roles> = { prefill: 8, decode: 40 };

/** The splits of the evaluation: the default mix on the planned split; Mooncake with TP4 prefill instances. */
export function splitScenarios(roles: Roles, traces: string | null): SplitScenario[] {
  const out: SplitScenario[] = [{
    name: 'default mix', source: rolesSource(roles), roles,
    layout: `${roles.prefill} prefill, ${roles.decode} decode and ${72 - roles.prefill - roles.decode} mixed instances, one GPU each (TP1)`, cluster: { preset: 'gb200-nvl72', roles }, startLoad: 4,
    workload: (seed, rateScale) => defaultMix({ seed, rateScale }), aggregatedBaselines: [],
  }];
  if (traces) {
    const trace = path.join(traces, 'synthetic_trace.jsonl');
    out.push({
      name: 'mooncake synthetic',
      source: 'chosen by hand, not planned: 15K-token prompts need TP4 to prefill within the 1 s TTFT; on the all-TP1 rack no policy holds 90 % at any load',
      roles: MOONCAKE_ROLES,
      layout: `${MOONCAKE_ROLES.prefill} prefill instances at TP4 and ${MOONCAKE_ROLES.decode} decode instances at TP1 (72 GPUs)`,
      cluster: { preset: 'gb200-nvl72', roles: MOONCAKE_ROLES, tensorParallel: { prefill: 4, decode: 1, mixed: 1 } },
      startLoad: 4,
      durationS: 120,
      workload: (seed, rateScale) => readTrace(trace, { seed, rateScale, durationS: 120 }).workload,
      aggregatedBaselines: ['round-robin', 'least-loaded', 'dynamo-kv'],
    });
  }
  return out;
}

export interface CapacityRow {
  policy: string;
  /** Highest rate scale of the default mix at which SLO attainment stays ≥ 90 % (null: not even the lowest). */
  capacity: number | null;
  probes: number;
}

const DEFAULT_MIX = { name: 'default mix', startLoad: 4, workload: (seed: number, rateScale: number) => defaultMix({ seed, rateScale }) };

/** Our decision and Dynamo's rule under each router, all on the same split; then aggregated baselines on its GPUs. */
export function splitConfigs(s: Pick<SplitScenario, 'cluster' | 'aggregatedBaselines'>): CapacityConfig[] {
  const on = (label: string, base: string, disaggregation: string): CapacityConfig => ({ label, policy: { base, disaggregation }, cluster: s.cluster });
  return [
    on('shape-aware + P/D (ours)', 'shape-aware', 'shape-aware'),
    on('shape-aware + P/D (Dynamo rule)', 'shape-aware', 'dynamo-conditional'),
    on('dynamo-kv + P/D (Dynamo rule)', 'dynamo-kv', 'dynamo-conditional'),
    on('round-robin + P/D (Dynamo rule)', 'round-robin', 'dynamo-conditional'),
    ...s.aggregatedBaselines.map((policy): CapacityConfig => ({ label: `${policy} (aggregated, same GPUs)`, policy, cluster: s.cluster })),
  ];
}

/** Goodput capacity (architecture §3, DistServe) of each config on the embedded default mix, by bisection. */
export async function capacities(configs: readonly CapacityConfig[], seed: number, quick: boolean, log: (line: string) => void, on: Pick<SplitScenario, 'name' | 'workload' | 'startLoad' | 'durationS'> = DEFAULT_MIX): Promise<CapacityRow[]> {
  const rows: CapacityRow[] = [];
  for (const c of configs) {
    const result = await findCapacity({
      startLoad: on.startLoad,
      maxProbes: quick ? 6 : 10,
      relTolerance: 0.05,
      evaluate: async (rateScale) => {
        const run = runSimulation({ workload: on.workload(seed, rateScale), cluster: c.cluster ?? 'gb200-nvl72', model: 'llama-3.1-70b', policy: c.policy, seed, ...(on.durationS !== undefined ? { durationS: on.durationS } : {}) });
        const o = buildReport(run).overall;
        return { slo_attainment: o.slo_attainment, goodput_rps: o.goodput_rps };
      },
      onProbe: (p) => log(`evaluate: ${on.name} capacity ${c.label}: rate scale ${p.load} → SLO met ${((p.slo_attainment ?? 0) * 100).toFixed(1)} %`),
    });
    rows.push({ policy: c.label, capacity: result.capacity, probes: result.probes.length });
  }
  return rows;
}

export interface ToolCallTail {
  load: number;
  /** Tool-call TTFT p99 (s) of ours on the split and of the best aggregated baseline, at that baseline's capacity. */
  ours_s: number | null;
  baseline: string;
  baseline_s: number | null;
}

/** The issue's third condition: ours' tool-call p99 TTFT no worse than the best baseline's, at its capacity. */
export function toolCallTail(roles: Roles, baseline: CapacityRow, seed: number): ToolCallTail | null {
  const load = baseline.capacity;
  if (load === null) return null;
  const p99 = (c: CapacityConfig) => {
    const run = runSimulation({ workload: defaultMix({ seed, rateScale: load }), cluster: c.cluster ?? 'gb200-nvl72', model: 'llama-3.1-70b', policy: c.policy, seed });
    return buildReport(run).by_shape.tool_call.ttft_p99_s;
  };
  const ours = splitConfigs({ cluster: { preset: 'gb200-nvl72', roles }, aggregatedBaselines: [] })[0] as CapacityConfig;
  return { load, ours_s: p99(ours), baseline: baseline.policy, baseline_s: p99({ label: baseline.policy, policy: baseline.policy }) };
}

/** `--roles 20/52` → {prefill: 20, decode: 52}; 'none' → null (no split section). */
export function readRolesFlag(value: unknown): Roles | null {
  if (value === undefined) return { ...PLANNED_ROLES };
  if (value === 'none') return null;
  const m = /^(\d+)\/(\d+)$/.exec(String(value));
  const roles = m ? { prefill: Number(m[1]), decode: Number(m[2]) } : null;
  if (!roles || roles.prefill < 1 || roles.prefill > 71 || roles.prefill + roles.decode > 72) {
    throw new RangeError(`--roles: expected <prefill>/<decode> instances of the 72 (prefill ≥ 1, the rest mixed) or none, got ${JSON.stringify(value)}`);
  }
  return roles;
}

const ratio = (a: number | null, b: number | null | undefined) => (a !== null && b ? (a / b).toFixed(2) + 'x' : '—');

/** The best aggregated baseline (shape-aware excluded) by capacity. */
export function bestBaseline(aggregated: readonly CapacityRow[]): CapacityRow | undefined {
  return aggregated.filter((r) => r.policy !== 'shape-aware').reduce<CapacityRow | undefined>((a, b) => ((b.capacity ?? -1) > (a?.capacity ?? -1) ? b : a), undefined);
}

/**
 * One split scenario's section. `aggregated`: the baselines' capacities the verdict divides by (the uniform rack's
 * table for the default mix; for a scenario with aggregatedBaselines, those rows of its own table).
 */
export function splitMarkdown(s: Pick<SplitScenario, 'name' | 'layout' | 'source'>, rows: readonly CapacityRow[], aggregated: readonly CapacityRow[], tail: ToolCallTail | null = null): string {
  const ours = rows[0]?.capacity ?? null;
  const best = bestBaseline(aggregated);
  const rr = aggregated.find((r) => r.policy.startsWith('round-robin'))?.capacity ?? null;
  const bestSplit = rows.slice(1).reduce<CapacityRow | undefined>((a, b) => ((b.capacity ?? -1) > (a?.capacity ?? -1) ? b : a), undefined);
  const noBaseline = aggregated.length > 0 && aggregated.every((r) => r.capacity === null);
  return [`## Goodput capacity with a prefill/decode split (${s.name})`, '',
    `The rack laid out as ${s.layout} (${s.source}). Every row runs on these GPUs; only the router and the`,
    'disaggregation decision differ (the aggregated rows ignore the roles).', '',
    `| config | ${rows.map((r) => r.policy).join(' | ')} |`, `| --- | ${rows.map(() => '---:').join(' | ')} |`,
    `| capacity (rate scale) | ${rows.map((r) => (r.capacity === null ? '—' : r.capacity.toFixed(2))).join(' | ')} |`,
    `| probes | ${rows.map((r) => r.probes).join(' | ')} |`, '',
    noBaseline
      ? `No aggregated baseline holds 90 % SLO attainment at any probed load (— above), so the ratios are unbounded; ours holds it up to ${ours === null ? '—' : ours.toFixed(2)}; ` +
        `/ the best other config on the same split (${bestSplit?.policy ?? '—'}) = **${ratio(ours, bestSplit?.capacity)}**.`
      : `shape-aware + P/D / best aggregated baseline (${best?.policy ?? '—'}) = **${ratio(ours, best?.capacity)}** (target ≥ 1.3); ` +
      `/ round-robin = **${ratio(ours, rr)}** (target ≥ 2); / the best other config on the same split (${bestSplit?.policy ?? '—'}) = **${ratio(ours, bestSplit?.capacity)}**.`, '',
    ...(tail ? [`Tool-call TTFT p99 at ${tail.baseline}'s capacity (rate scale ${tail.load}): ours on the split ${sec(tail.ours_s)}, ${tail.baseline} ${sec(tail.baseline_s)} — ` +
      `no worse: **${tail.ours_s !== null && tail.baseline_s !== null && tail.ours_s <= tail.baseline_s ? 'yes' : 'no'}**.`, ''] : [])].join('\n');
}

const sec = (x: number | null) => (x === null ? '—' : `${x.toFixed(3)} s`);

export function rolesSource(roles: Roles): string {
  return roles.prefill === PLANNED_ROLES.prefill && roles.decode === PLANNED_ROLES.decode ? 'the split `tune --search-roles` ranked first for this mix' : 'given by `--roles`';
}
