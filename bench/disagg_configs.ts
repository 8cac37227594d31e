// The configurations `nvlsched bench disagg` compares and how one run of each is made: our whole policy
// (shape-aware) underneath, only the disaggregation and migration slots varied, so the comparison isolates the
// decision to split a request (and to move running decodes). Every config runs on the same GPUs: the aggregated
// one ignores the roles (every instance mixed), the others use them.
import path from 'node:path';

import { runSimulation } from '../scheduler/sim/run.js';
import { buildReport } from '../scheduler/report/metrics.js';
import { defaultMix } from '../scheduler/workload/default_mix.js';
import { readTrace } from '../scheduler/workload/read_trace.js';
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
  /** null: the embedded default mix. */
  trace: string | null;
  durationS: number;
  startLoad: number;
}

export function disaggScenarios(traces: string | null, quick: boolean): DisaggScenario[] {
  const d = quick ? 60 : 120;
  const out: DisaggScenario[] = [{ name: 'default mix', trace: null, durationS: d, startLoad: 0.5 }];
  // --quick: the default mix alone (a smoke run of every config).
  if (traces && !quick) {
    out.push({ name: 'azure code', trace: path.join(traces, 'AzureLLMInferenceTrace_code.csv'), durationS: d, startLoad: 0.5 });
    out.push({ name: 'mooncake synthetic', trace: path.join(traces, 'synthetic_trace.jsonl'), durationS: d, startLoad: 0.1 });
  }
  return out;
}

export interface RunSetup {
  cluster: string;
  model: string;
  roles: { prefill: number; decode: number };
  seed: number;
}

export interface DisaggPoint {
  slo_attainment: number | null;
  goodput_rps: number | null;
  tool_call_ttft_p99_s: number | null;
  ttft_p99_s: number | null;
  tpot_p99_s: number | null;
  disaggregated: number;
  handoffs: number;
  migrations: number;
  migration_pause_p99_s: number | null;
}

export function workloadOf(s: DisaggScenario, load: number, seed: number): Workload {
  if (s.trace === null) return defaultMix({ seed, rateScale: load, durationS: s.durationS });
  return readTrace(s.trace, { seed, rateScale: load, durationS: s.durationS }).workload;
}

export function runConfig(s: DisaggScenario, c: DisaggConfig, load: number, setup: RunSetup): DisaggPoint {
  const run = runSimulation({
    workload: workloadOf(s, load, setup.seed),
    cluster: { preset: setup.cluster, roles: setup.roles },
    model: setup.model,
    policy: { disaggregation: c.disaggregation, ...(c.migration ? { migration: 'load-balance' } : {}) },
    seed: setup.seed,
    durationS: s.durationS,
  });
  const report = buildReport(run);
  const pauses = [...run.disagg.migrationPausesS].sort((a, b) => a - b);
  return {
    slo_attainment: report.overall.slo_attainment,
    goodput_rps: report.overall.goodput_rps,
    tool_call_ttft_p99_s: report.by_shape.tool_call.ttft_p99_s,
    ttft_p99_s: report.overall.ttft_p99_s,
    tpot_p99_s: report.overall.tpot_p99_s,
    disaggregated: run.disagg.disaggregated,
    handoffs: run.disagg.handoffs,
    migrations: run.disagg.migrationsDone,
    migration_pause_p99_s: pauses.length ? (pauses[Math.min(pauses.length - 1, Math.floor(pauses.length * 0.99))] as number) : null,
  };
}
