// The Scheduler's public types (scheduler.ts re-exports them): its options, what submit returns, the record of an
// ended request, and the counts that check every submitted request ends exactly once.
import type { InstanceSetup, KvFetch } from './scheduler_state.js';
import type {
  Classification,
  CostRecord,
  PlacementCostModel,
  PoolSpec,
  RandomSource,
  RequestEnd,
  Shape,
  StageProfiler,
} from './types.js';
import type { TenantsConfig } from './config/tenants.js';

export interface SchedulerOptions {
  /** A policy name (shape-aware, round-robin, ...) or a mapping (see policy.ts). */
  policy?: unknown;
  /** Classification section (classifier, predictor, SLO table). */
  classification?: unknown;
  pools: readonly (PoolSpec & { kvBytesPerBlock?: number })[];
  instances: readonly InstanceSetup[];
  /** Time estimates (the performance model, scheduler/perf/placement_cost.ts). */
  cost: PlacementCostModel;
  rng: RandomSource;
  /**
   * The `tenants` section (config/tenants.ts parseTenants): weighted fair share and priority bands between tenants
   * in every instance's queue, and admission judged on the queue as each tenant meets it. Absent: no fair share
   * (one queue order for all, as before); cost per tenant is kept either way.
   */
  tenants?: TenantsConfig;
  /**
   * Times the stages of sampled routing decisions (classify, route, kv_lookup, each placement plugin, disaggregation,
   * admission, enqueue) for the metrics; `sample()` is asked once per submit. Absent: nothing is timed.
   */
  profiler?: StageProfiler & { sample(): boolean };
}

export type SubmitResult =
  | { ok: true; external?: false; requestId: string; pool: string; instanceId: string; cls: Classification; cachedPromptTokens: number; fetch: KvFetch }
  /** Routed to an external (OpenAI-compatible upstream) pool: the caller forwards it; the scheduler is done with it. */
  | { ok: true; external: true; requestId: string; pool: string; cls: Classification }
  | { ok: false; requestId: string; end: Extract<RequestEnd, { kind: 'rejected' }>; cls?: Classification };

export interface EndedRequest {
  requestId: string;
  pool: string;
  instanceId: string;
  sessionId?: string;
  shape: Shape;
  slo: Classification['slo'];
  end: RequestEnd;
  arrivalS: number;
  firstTokenS?: number;
  endS: number;
  promptTokens: number;
  cachedPromptTokens: number;
  outputTokens: number;
  preemptions: number;
  cost: CostRecord;
}

export interface SchedulerStats {
  submitted: number;
  /** Handed to an external pool's upstream (they end there). */
  forwarded: number;
  rejected: number;
  completed: number;
  cancelled: number;
  live: number;
}
