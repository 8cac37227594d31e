// The real PlanEvaluate: a candidate at a load for a horizon is one simulator run (scheduler/sim runSimulation) of
// the workload as `simulate` reads it (tune's loadTrialWorkload: the same readers, seed and block size), on the
// cluster config with the candidate's degree and roles, under the policy with the chosen disaggregation and
// migration slots; the report is judged with the --goodput overrides (scheduler/report buildReport).
import type { ClusterConfig } from '../sim/cluster.js';
import type { SloOverrides } from '../report/goodput.js';
import type { WorkloadSpec } from '../tune/types.js';
import { clusterFor, type SplitCandidate } from './candidates.js';
import type { PlanEvaluate, PlanPoint } from './search.js';

export const DISAGGREGATION_NAMES = ['shape-aware', 'dynamo-conditional', 'llm-d-threshold', 'always', 'aggregated'] as const;
export const MIGRATION_NAMES = ['none', 'load-balance'] as const;

export interface PlanPolicy {
  /** Policy profile underneath (default shape-aware). */
  base: string;
  disaggregation: (typeof DISAGGREGATION_NAMES)[number];
  migration: (typeof MIGRATION_NAMES)[number];
}

/** The scheduler config's `policy` section a plan runs (and --out writes). */
export function policySection(p: PlanPolicy): Record<string, unknown> {
  return {
    ...(p.base !== 'shape-aware' && { base: p.base }),
    disaggregation: p.disaggregation,
    ...(p.migration !== 'none' && { migration: p.migration }),
  };
}

export interface RealEvaluateOptions {
  /** The workload without its load: rateScale / sessions are the probe's. */
  workload: WorkloadSpec;
  closed: boolean;
  cluster: ClusterConfig;
  model: string;
  policy: PlanPolicy;
  goodput: SloOverrides;
}

export function makeSimEvaluate(o: RealEvaluateOptions): PlanEvaluate {
  const policy = policySection(o.policy);
  return async (c: SplitCandidate, load: number, durationS: number): Promise<PlanPoint> => {
    const { loadTrialWorkload } = await import('../tune/trial.js');
    const { runSimulation } = await import('../sim/run.js');
    const { buildReport, headline } = await import('../report/metrics.js');
    const { rateScale: _r, sessions: _s, ...rest } = o.workload;
    const spec: WorkloadSpec = o.closed ? rest : { ...rest, rateScale: load };
    const { workload } = await loadTrialWorkload(spec, durationS);
    const run = runSimulation({
      workload, cluster: clusterFor(o.cluster, c), model: o.model, policy, seed: o.workload.seed, durationS,
      ...(o.closed && { sessions: load }),
    });
    const report = buildReport(run, o.goodput);
    return {
      ...headline(report),
      requests: report.overall.requests,
      disaggregated: run.disagg.disaggregated,
    };
  };
}
