// One trial: rebuild the workload from its spec (the same readers and options as `simulate`, through its
// realEngines), run the simulator with the trial's policy section, and keep the report figures tuning needs. Used
// in process by the coordinator and in the tune-worker's child process; workloads are cached per (spec, duration)
// because every trial of a rung shares one.
import { SHAPES, type Shape } from '../core/types.js';
import type { SimulateArgs } from '../cli/simulate.js';
import { buildReport, type Metrics } from '../report/metrics.js';
import type { TraceProblem, Workload } from '../workload/types.js';
import type { ShapeMetrics, TrialMetrics, TrialSpec, WorkloadSpec } from './types.js';

const CACHE_LIMIT = 4;
const cache = new Map<string, Promise<{ workload: Workload; problems: TraceProblem[] }>>();

/** simulate's argument record for a workload spec (only the workload fields matter to loadWorkload). */
export function simulateArgsFor(spec: WorkloadSpec, durationS: number): SimulateArgs {
  return {
    ...(spec.trace !== undefined && { trace: spec.trace }),
    ...(spec.traceFormat !== undefined && { traceFormat: spec.traceFormat }),
    ...(spec.mix !== undefined && { mix: spec.mix }),
    ...(spec.cluster !== undefined && { cluster: spec.cluster }),
    ...(spec.model !== undefined && { model: spec.model }),
    ...(spec.rateScale !== undefined && { rateScale: spec.rateScale }),
    ...(spec.sessions !== undefined && { sessions: spec.sessions }),
    durationS,
    seed: spec.seed,
    strict: spec.strict,
    policies: [],
    compare: false,
    goodput: { all: {}, byShape: {} },
    capacity: false,
    jsonPath: '',
  };
}

/** The workload of a spec cut to `durationS` (cached; the promise is shared by concurrent callers). */
export async function loadTrialWorkload(spec: WorkloadSpec, durationS: number): Promise<{ workload: Workload; problems: TraceProblem[] }> {
  const key = JSON.stringify([spec, durationS]);
  let entry = cache.get(key);
  if (!entry) {
    const { realEngines } = await import('../cli/simulate.js');
    const engines = await realEngines();
    entry = engines.loadWorkload(simulateArgsFor(spec, durationS), spec.rateScale);
    entry.catch(() => cache.delete(key));
    cache.set(key, entry);
    while (cache.size > CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
  }
  return entry;
}

function shapeMetrics(m: Metrics): ShapeMetrics {
  return { requests: m.requests, good: m.good, goodput_rps: m.goodput_rps, slo_attainment: m.slo_attainment };
}

/**
 * Runs one trial to its metrics. Throws (with the field named) on a bad policy or workload. `onProgress` is called
 * every few thousand simulator steps, from inside the synchronous run.
 */
export async function runTrial(spec: TrialSpec, onProgress?: () => void): Promise<TrialMetrics> {
  const { workload } = await loadTrialWorkload(spec.workload, spec.durationS);
  const { runSimulation } = await import('../sim/run.js');
  const run = runSimulation({
    workload,
    policy: spec.policy,
    seed: spec.workload.seed,
    durationS: spec.durationS,
    ...(spec.workload.cluster !== undefined && { cluster: spec.workload.cluster }),
    ...(spec.workload.model !== undefined && { model: spec.workload.model }),
    ...(spec.workload.sessions !== undefined && { sessions: spec.workload.sessions }),
    ...(onProgress && { onProgress }),
  });
  const report = buildReport(run, spec.goodput);
  const o = report.overall;
  const goodputRps = o.goodput_rps ?? 0;
  return {
    goodput_per_gpu_hour: Number(((goodputRps * 3600) / report.gpus).toPrecision(9)),
    goodput_rps: goodputRps,
    slo_attainment: o.slo_attainment,
    cost_per_request_usd: o.cost_per_request_usd,
    cost_usd: o.cost_usd,
    requests: o.requests,
    good: o.good,
    completed: o.completed,
    rejected: o.rejected,
    ttft_p99_s: o.ttft_p99_s,
    tpot_p99_s: o.tpot_p99_s,
    gpus: report.gpus,
    simulated_s: report.simulated_s,
    sim_wall_s: report.sim_wall_s,
    by_shape: Object.fromEntries(SHAPES.map((s) => [s, shapeMetrics(report.by_shape[s])])) as Record<Shape, ShapeMetrics>,
  };
}
