// The configurations `nvlsched bench disagg` compares and how one run of each is made: our whole policy
// (shape-aware) underneath, only the disaggregation and migration slots varied, so the comparison isolates the
// decision to split a request (and to move running decodes). Every config runs on the same GPUs: the aggregated
// one ignores the roles (every instance mixed), the others use them.
import path from 'node:path';

import { runSimulation, type SimulationOptions } from '../scheduler/sim/run.js';
import { buildReport, headline } from '../scheduler/report/metrics.js';
import { defaultMix } from '../scheduler/workload/default_mix.js';
import { readTrace } from '../scheduler/workload/read_trace.js';
import { reasoningBurstsMix } from '../scheduler/workload/reasoning_bursts.js';
import type { Workload } from '../scheduler/workload/types.js';

export const DISAGG_CHOICES = ['aggregated', 'always', 'dynamo-conditional', 'shape-aware'] as const;

export interface DisaggConfig {
  name: string;
  disaggregation: (typeof DISAGG_CHOICES)[number];
  migration: boolean;
}

export function disaggConfigs(): DisaggConfig[] {
  const out: DisaggConfig[] = [];
  for (const d of DISAGG_CHOICES) for (const migration of [false, true]) out.push({ name: `${d}${migration ? '+migration' : ''}`, disaggregation: d, migration });
  return out;
}

export interface DisaggScenario {
  name: string;
  /** null: the embedded default mix; 'reasoning-bursts': the KV-bound migration mix (workload/reasoning_bursts.ts). */
  trace: string | null;
  durationS: number;
  startLoad: number;
  /** HBM KV blocks per instance instead of the sized budget (the migration scenario makes KV the bottleneck). */
  kvBlocksTotal?: number;
  /** Only these configs (by name); all when absent. */
  configs?: readonly string[];
  /** Instead of the run's cluster (--cluster) and split (--prefill/--decode): this scenario's own. */
  cluster?: string;
  split?: Split;
}

/** How each domain is cut: role counts (instances) and their degrees (a number: every role). */
export interface Split {
  roles: { prefill: number; decode: number };
  tensorParallel?: number | { prefill?: number; decode?: number; mixed?: number };
}

const MOONCAKE = 'synthetic_trace.jsonl';

/**
 * Mooncake's ~15K-token prompts (p90 ~39K) on a GB200 NVL72 rack. A TP1 B200-class GPU prefills 16K tokens in
 * ~1.1 s and 32K in ~2.7 s (the step predictor), past the 1 s chat TTFT on their own; at TP4, 0.43 s and 1.0 s. So
 * the prefill instances run at TP4 (8 of them, 32 GPUs) and the decode ones at TP1 (40), as AIConfigurator and
 * Dynamo deployments split them; the same rack all at TP1 (prefill 32 / decode 40) is the reference.
 */
export function mooncakeRackScenarios(traces: string, durationS: number): DisaggScenario[] {
  const trace = path.join(traces, MOONCAKE);
  return [
    { name: 'mooncake synthetic, NVL72, prefill TP4', trace, durationS, startLoad: 4, cluster: 'gb200-nvl72', split: { roles: { prefill: 8, decode: 40 }, tensorParallel: { prefill: 4, decode: 1 } } },
    {
      name: 'mooncake synthetic, NVL72, all TP1', trace, durationS, startLoad: 4, cluster: 'gb200-nvl72', split: { roles: { prefill: 32, decode: 40 } },
      configs: DISAGG_CHOICES,
    },
  ];
}

export const REASONING_BURSTS = 'reasoning-bursts';
/**
 * 1,000 blocks × 64 tokens = 64K tokens of KV per B200 instance (of the ~558K it has for Llama 70B fp8): the
 * budget of a GPU whose HBM mostly holds something else (a bigger model's weights, a long-context prefix cache),
 * where a few 10K-token reasoning decodes fill an instance. B200 with its full budget never gets there (EVALUATION.md).
 */
export const MIGRATION_KV_BLOCKS = 1000;

/** The migration scenario alone: the whole policy with migration off and on, aggregated and shape-aware. */
export function migrationScenario(): DisaggScenario {
  return {
    name: 'reasoning bursts, 64K-token KV per GPU',
    trace: REASONING_BURSTS,
    durationS: 60,
    startLoad: 2,
    kvBlocksTotal: MIGRATION_KV_BLOCKS,
    configs: ['aggregated', 'aggregated+migration', 'shape-aware', 'shape-aware+migration'],
  };
}

export const SCENARIO_CHOICES = ['all', 'migration', 'traces', 'mooncake'] as const;

/**
 * `scenario`: 'all' (default: every scenario), 'migration' (that one alone), 'traces' (without it), 'mooncake'
 * (the Mooncake trace on the run's cluster and on the NVL72 rack, TP4 prefill and all TP1).
 */
export function disaggScenarios(traces: string | null, quick: boolean, scenario: (typeof SCENARIO_CHOICES)[number] = 'all'): DisaggScenario[] {
  const d = quick ? 60 : 120;
  if (scenario === 'migration') return [migrationScenario()];
  const mooncake = (t: string): DisaggScenario => ({ name: 'mooncake synthetic', trace: path.join(t, MOONCAKE), durationS: d, startLoad: 0.1 });
  if (scenario === 'mooncake') return traces ? [mooncake(traces), ...mooncakeRackScenarios(traces, d)] : [];
  const out: DisaggScenario[] = [{ name: 'default mix', trace: null, durationS: d, startLoad: 0.5 }];
  // --quick: the default mix alone (a smoke run of every config).
  if (traces && !quick) {
    out.push({ name: 'azure code', trace: path.join(traces, 'AzureLLMInferenceTrace_code.csv'), durationS: d, startLoad: 0.5 });
    out.push(mooncake(traces), ...mooncakeRackScenarios(traces, d));
  }
  if (scenario === 'all' && !quick) out.push(migrationScenario());
  return out;
}

export interface RunSetup extends Split {
  cluster: string;
  model: string;
  seed: number;
}

/** The split a scenario runs on: its own, else the run's. */
export function splitOf(s: DisaggScenario, setup: RunSetup): Split {
  return s.split ?? { roles: setup.roles, ...(setup.tensorParallel !== undefined && { tensorParallel: setup.tensorParallel }) };
}

export interface DisaggPoint {
  slo_attainment: number | null;
  goodput_rps: number | null;
  tool_call_ttft_p99_s: number | null;
  ttft_p99_s: number | null;
  tpot_p99_s: number | null;
  /** p99 per shape (null when the shape is absent or has no sample). */
  by_shape: Record<string, { ttft_p99_s: number | null; tpot_p99_s: number | null }>;
  preemptions: number;
  disaggregated: number;
  handoffs: number;
  migrations: number;
  migration_bytes: number;
  migration_pause_p50_s: number | null;
  migration_pause_p99_s: number | null;
  /** The token gap the client saw across a migration (source's last token → destination's first). */
  migration_gap_p50_s: number | null;
  migration_gap_p99_s: number | null;
}

export function workloadOf(s: DisaggScenario, load: number, seed: number): Workload {
  if (s.trace === null) return defaultMix({ seed, rateScale: load, durationS: s.durationS });
  if (s.trace === REASONING_BURSTS) return reasoningBurstsMix({ seed, rateScale: load, durationS: s.durationS });
  return readTrace(s.trace, { seed, rateScale: load, durationS: s.durationS }).workload;
}

/** The simulation one (scenario, config, load) runs: the bench and its test (disagg.test.ts) build it here alike. */
export function simOptions(s: DisaggScenario, c: DisaggConfig, load: number, setup: RunSetup): SimulationOptions {
  return {
    workload: workloadOf(s, load, setup.seed),
    cluster: { preset: s.cluster ?? setup.cluster, ...splitOf(s, setup), ...(s.kvBlocksTotal !== undefined ? { engine: { kvBlocksTotal: s.kvBlocksTotal } } : {}) },
    model: setup.model,
    policy: { disaggregation: c.disaggregation, ...(c.migration ? { migration: 'load-balance' } : {}) },
    seed: setup.seed,
    durationS: s.durationS,
  };
}

export function runConfig(s: DisaggScenario, c: DisaggConfig, load: number, setup: RunSetup): DisaggPoint {
  const run = runSimulation(simOptions(s, c, load, setup));
  const report = buildReport(run);
  const sorted = (xs: readonly number[]) => [...xs].sort((a, b) => a - b);
  const pct = (xs: readonly number[], x: number): number | null => (xs.length ? (xs[Math.min(xs.length - 1, Math.floor(xs.length * x))] as number) : null);
  const pauses = sorted(run.disagg.migrationPausesS);
  const gaps = sorted(run.migrationGapsS ?? []);
  const q = (x: number) => pct(pauses, x);
  const byShape: DisaggPoint['by_shape'] = {};
  for (const [shape, m] of Object.entries(report.by_shape)) if (m.requests > 0) byShape[shape] = { ttft_p99_s: m.ttft_p99_s, tpot_p99_s: m.tpot_p99_s };
  return {
    ...headline(report),
    by_shape: byShape,
    preemptions: report.overall.preemptions,
    disaggregated: run.disagg.disaggregated,
    handoffs: run.disagg.handoffs,
    migrations: run.disagg.migrationsDone,
    migration_bytes: run.disagg.migrationBytes,
    migration_pause_p50_s: q(0.5),
    migration_pause_p99_s: q(0.99),
    migration_gap_p50_s: pct(gaps, 0.5),
    migration_gap_p99_s: pct(gaps, 0.99),
  };
}
