// Contracts of policy tuning: what a trial is (a point of the search space evaluated on a workload for a simulated
// duration), what it measures, and how trials are run (in process, or on BullMQ workers). Plain data only: a
// TrialSpec travels to other machines as a BullMQ job and a TrialResult comes back as its return value.
import type { Shape } from '../core/types.js';
import type { SloOverrides } from '../report/goodput.js';

/** A point of the search space: parameter name (`batch.deadlineWeight`) → value. */
export type TuneParams = Record<string, number>;

/** How a worker rebuilds the workload (the embedded default mix, a mix file or a trace, at the given load). */
export interface WorkloadSpec {
  trace?: string;
  traceFormat?: 'mooncake' | 'azure' | 'claude-code' | 'servegen';
  mix?: string;
  cluster?: string;
  model?: string;
  rateScale?: number;
  sessions?: number;
  seed: number;
  strict: boolean;
}

export interface TrialSpec {
  /** `r<rung>-s<sample>`, e.g. `r1-s07`: unique within a tuning run. */
  id: string;
  rung: number;
  /** Index of the sampled configuration (0 = the default shape-aware configuration). */
  sample: number;
  /** Simulated seconds of load (the rung's budget). */
  durationS: number;
  params: TuneParams;
  /** The scheduler config's `policy` section this point stands for (what the worker runs, what --out writes). */
  policy: Record<string, unknown>;
  workload: WorkloadSpec;
  /** --goodput overrides the trial is judged by (the requests' own SLOs where absent). */
  goodput: SloOverrides;
}

export interface ShapeMetrics {
  requests: number;
  good: number;
  goodput_rps: number | null;
  slo_attainment: number | null;
}

/** A trial's outcome, from the §6 report of its run. */
export interface TrialMetrics {
  /** The objective: good (SLO-meeting) completions per GPU-hour = goodput_rps · 3600 / gpus. */
  goodput_per_gpu_hour: number;
  goodput_rps: number;
  slo_attainment: number | null;
  /** Total cost ÷ completed requests (the report's `cost_per_request_usd`); null when nothing completed. */
  cost_per_request_usd: number | null;
  cost_usd: number;
  requests: number;
  good: number;
  completed: number;
  rejected: number;
  ttft_p99_s: number | null;
  tpot_p99_s: number | null;
  gpus: number;
  simulated_s: number;
  sim_wall_s: number;
  by_shape: Record<Shape, ShapeMetrics>;
}

export interface TrialResult {
  id: string;
  rung: number;
  sample: number;
  duration_s: number;
  params: TuneParams;
  metrics: TrialMetrics;
  /** Who ran it: `local`, or the tune-worker's name (host:pid). */
  worker: string;
}

/** Runs the trials of one rung, in any order or in parallel; resolves with one result per spec. */
export interface TrialRunner {
  runRung(specs: readonly TrialSpec[], onResult: (result: TrialResult) => void): Promise<TrialResult[]>;
  close(): Promise<void>;
}
