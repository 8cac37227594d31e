// runSimulation: the one entry point (CLI `simulate`, tuning, tests). Validates options field by field, builds the
// cluster, the performance model and the Simulation, runs it and times it from outside (the only wall-clock read).
import { ConfigError } from '../core/config/params.js';
import type { TenantsConfig } from '../core/config/tenants.js';
import { makeFittedOpTimes } from '../perf/fitted_optimes.js';
import { makePerfCostModel, type PerfCostModel } from '../perf/placement_cost.js';
import { makeStepPredictor } from '../perf/step.js';
import type { OpTimes } from '../perf/step_types.js';
import type { DisaggStats } from '../core/scheduler.js';
import type { RunResult, Workload } from '../workload/types.js';
import { buildCluster, readClusterConfig, type Cluster, type ClusterConfig } from './cluster.js';
import { loadClusterConfig } from './cluster_file.js';
import { Simulation, type KvMode, type SimProgress, type SimStats } from './simulation.js';

/** Simulated seconds the run may take after arrivals stop before what is left is cancelled. */
export const DEFAULT_MAX_DRAIN_S = 600;

export interface SimulationOptions {
  workload: Workload;
  /** A preset name, a cluster file path, a cluster mapping, or a built Cluster. Default gb200-nvl72. */
  cluster?: string | ClusterConfig | Cluster | Record<string, unknown>;
  /** Catalog model name; wins over the cluster file's. Default llama-3.1-70b. */
  model?: string;
  /** Policy name (shape-aware, round-robin, ...) or mapping (scheduler/core/policy.ts). Default shape-aware. */
  policy?: unknown;
  /** Classification section (classifier, predictor, SLO table). */
  classification?: unknown;
  /** Tenants section, parsed (config/tenants.ts parseTenants): fair share between tenants. Absent: none. */
  tenants?: TenantsConfig;
  seed?: number;
  /** Stop arrivals (open) or new turns (closed) after this simulated time; then drain. */
  durationS?: number;
  /** Closed loop: concurrent top-level sessions (default: one per script). */
  sessions?: number;
  /** 'native' (default): the real native KV manager feeds the KV index; 'none': no KV events at all. */
  kv?: KvMode;
  maxDrainS?: number;
  onProgress?: (p: SimProgress) => void;
  /** Fault injection: share of KV hand-off transfers that fail (recomputed on the decode side). Default 0. */
  handoffFailureRate?: number;
  /** Record per-request token times (sim.tokenTimes). Default false. */
  traceTokens?: boolean;
}

export interface SimRunResult extends RunResult {
  stats: SimStats;
  /** Disaggregation decisions, hand-offs and migrations (all 0 without roles and migration). */
  disagg: DisaggStats;
  /** Per completed migration, the token gap the client saw across it (Simulation.migrationGapsS); absent when none. */
  migrationGapsS?: number[];
}

let opTimes: OpTimes | undefined;

function isCluster(value: unknown): value is Cluster {
  return typeof value === 'object' && value !== null && 'instances' in value && 'trayTopology' in value;
}

/** The cluster an option names (a built Cluster passes through; its model must agree with `model`). */
export function resolveCluster(spec: SimulationOptions['cluster'], model: string | undefined): Cluster {
  if (isCluster(spec)) {
    if (model !== undefined && spec.model.name !== model) throw new ConfigError('model', `the cluster was built for ${spec.model.name}, got ${model}`);
    return spec;
  }
  const config = typeof spec === 'string' ? loadClusterConfig(spec) : 'topology' in (spec ?? {}) ? (spec as ClusterConfig) : readClusterConfig(spec ?? 'gb200-nvl72', 'cluster');
  return buildCluster(config, model !== undefined ? { model } : {});
}

function checkOptions(o: SimulationOptions): void {
  const w = o.workload as Workload | undefined;
  if (!w || (w.kind !== 'open' && w.kind !== 'closed')) throw new ConfigError('workload', `expected an open- or closed-loop workload, got ${JSON.stringify((w as { kind?: unknown } | undefined)?.kind)}`);
  if (o.seed !== undefined && !Number.isInteger(o.seed)) throw new ConfigError('seed', `expected an integer, got ${o.seed}`);
  if (o.durationS !== undefined && !(o.durationS > 0 && Number.isFinite(o.durationS))) throw new ConfigError('durationS', `expected a number > 0, got ${o.durationS}`);
  if (o.maxDrainS !== undefined && !(o.maxDrainS >= 0 && Number.isFinite(o.maxDrainS))) throw new ConfigError('maxDrainS', `expected a number ≥ 0, got ${o.maxDrainS}`);
  if (o.kv !== undefined && o.kv !== 'native' && o.kv !== 'none') throw new ConfigError('kv', `expected native or none, got ${JSON.stringify(o.kv)}`);
  if (o.sessions !== undefined) {
    if (w.kind !== 'closed') throw new ConfigError('sessions', 'only for closed-loop (session) workloads; scale an open-loop trace by its rate instead');
    if (!Number.isInteger(o.sessions) || o.sessions < 1) throw new ConfigError('sessions', `expected an integer ≥ 1, got ${o.sessions}`);
  }
  const rate = o.handoffFailureRate;
  if (rate !== undefined && !(rate >= 0 && rate <= 1)) throw new ConfigError('handoffFailureRate', `expected a number in [0, 1], got ${rate}`);
}

/** Builds the cluster, the performance model and the simulation, without running it (tests inspect it after run()). */
export function createSimulation(options: SimulationOptions): { sim: Simulation; cluster: Cluster; seed: number; cost: PerfCostModel } {
  checkOptions(options);
  const cluster = resolveCluster(options.cluster, options.model);
  const ops = (opTimes ??= makeFittedOpTimes());
  const blockTokens = cluster.engine.blockTokens;
  // Per instance shape (one per tensor-parallel degree): the cost model finds an instance's by its pool and GPUs.
  const cost = makePerfCostModel(cluster.shapes.map((s) => ({ pool: cluster.pool.name, model: cluster.model, instance: s.perf, kvDtype: cluster.kvDtype, blockTokens })), ops);
  const predictors = cluster.shapes.map((s) => makeStepPredictor(cluster.model, s.perf, ops));
  const seed = options.seed ?? 1;
  const sim = new Simulation({
    workload: options.workload,
    cluster,
    policy: options.policy,
    classification: options.classification,
    ...(options.tenants ? { tenants: options.tenants } : {}),
    seed,
    ...(options.durationS !== undefined ? { durationS: options.durationS } : {}),
    ...(options.sessions !== undefined ? { sessions: options.sessions } : {}),
    kv: options.kv ?? 'native',
    maxDrainS: options.maxDrainS ?? DEFAULT_MAX_DRAIN_S,
    cost,
    predictors,
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.handoffFailureRate !== undefined ? { handoffFailureRate: options.handoffFailureRate } : {}),
    ...(options.traceTokens ? { traceTokens: true } : {}),
  });
  return { sim, cluster, seed, cost };
}

/** Builds everything and runs; the result's records hold one entry per submitted request. */
export function runSimulation(options: SimulationOptions): SimRunResult {
  const startMs = performance.now();
  const { sim, cluster, seed } = createSimulation(options);
  const records = sim.run();
  return {
    policy: sim.sched.policyName,
    cluster: cluster.name,
    model: cluster.model.name,
    seed,
    // The run lasts until its last request ended; idle wake-ups after that (session promotions) are not load.
    simulatedS: Math.max(sim.lastRecordS, sim.lastArrivalS),
    loadWindowS: Math.max(sim.lastArrivalS, 1e-9),
    simWallS: (performance.now() - startMs) / 1000,
    gpus: cluster.numGpus,
    records,
    steps: sim.stats.steps,
    stats: sim.stats,
    disagg: sim.sched.disaggStats(),
    ...(sim.migrationGapsS.length > 0 ? { migrationGapsS: sim.migrationGapsS } : {}),
  };
}
