// The driver's contracts (what the gateway gives it, what it calls) and its per-request / per-instance state, shared
// with the hand-off and migration executor (disagg.ts) and the driver's own parts (DriverCore).
import type { EnginePlan } from '../core/engine/types.js';
import type { EndedRequest, Scheduler } from '../core/scheduler.js';
import type { ScheduleRequest, Shape } from '../core/types.js';
import type { SessionHold } from '../gen/proto/nvlsched/v1/SessionHold.js';
import type { SessionMove } from '../gen/proto/nvlsched/v1/SessionMove.js';
import type { HandoffOutcome } from './handoff.js';
import type { Rejoiner } from './rejoin.js';
import type { StepStreamClient } from './step_stream.js';

/** Seconds, from a monotonic source (the gateway injects performance.now()/1000; tests may inject their own). */
export type Clock = () => number;

/** Where a request's tokens and end go (the gRPC or HTTP stream). */
export interface RequestSink {
  onTokens(tokenIds: readonly number[]): void;
  /** Exactly once. error: a worker failure (the request did not complete). */
  onEnd(end: EndedRequest, detail: EndDetail): void;
}

export interface EndDetail {
  queueS: number;
  error?: string;
}

export interface DriverInstance {
  instanceId: string;
  /** The KV index's worker id of the tray that keeps this instance's KV (its events are tray-local). */
  workerId: string;
  /** The instance's first GPU as that tray numbers it. */
  gpu: number;
  /** Opens a Step stream to the instance's worker (at start, and again when it rejoins). */
  connect: () => StepStreamClient;
  /** Resolves when the worker answers a health check (bounded), rejects otherwise. */
  probe: () => Promise<void>;
  /** Asks the tray for a KV snapshot (after an event gap, and when the worker rejoins). */
  snapshot: () => Promise<Parameters<Scheduler['applyKvSnapshot']>[1]>;
  /** host:port of the instance's worker as OTHER workers dial it (the destination of a hand-off). */
  address?: string;
  /**
   * Moves sequence `seqId` of this instance to another instance's worker (gateway/handoff.ts handOffSequence on this
   * instance's worker). Absent: hand-offs from this instance fail (the scheduler's fallback runs).
   */
  handOff?: (seqId: number, to: HandoffTarget, o: { destinationSeqId: number; reserveTokens: number; timeoutMs: number }) => Promise<HandoffOutcome>;
}

/** The destination of a hand-off as the source worker needs it. */
export interface HandoffTarget {
  instanceId: string;
  address: string;
  gpu: number;
}

/** What the driver needs of an admitted request: the scheduler's request (re-run after a failure) and its cap. */
export interface AdmittedRequest {
  req: ScheduleRequest;
  /** The request's own output cap (the EOS rule). */
  maxTokens: number;
  /** The shape the scheduler assigned (metrics). */
  shape?: Shape;
}

/** What the driver reports to Prometheus (scheduler/metrics GatewayMetrics has these). */
export interface DriverMetrics {
  stepCompleted(e: { instanceId: string; pool: string; numTokens: number; numSeqs: number; durationS: number; preemptions: number }): void;
  workerFailure(workerId: string): void;
  rerun(e: { shape: Shape | 'unknown'; pool: string }): void;
  eviction(e: { workerId: string; tier: 'device' | 'host' | 'disk'; blocks: number }): void;
  tierMove(e: { link: 'nvlink' | 'c2c' | 'pcie' | 'scaleout' | 'disk'; bytes: number }): void;
  schedulingLatency(plugin: string, seconds: number): void;
  /** A prefill → decode KV hand-off ended (disagg.ts); optional so older recorders still fit. */
  handoff?(e: { outcome: 'ok' | 'failed' | 'local'; seconds: number; bytes: number }): void;
  /** A live migration ended: its pause (the sequence ran nowhere: the tail after a pre-copy, or the whole copy), and the pre-copy's time (0: none), seconds. */
  migration?(e: { outcome: 'ok' | 'failed'; pauseS: number; bytes: number; precopyS?: number }): void;
}

export interface LiveReq {
  requestId: string;
  sink: RequestSink;
  /** As first submitted (a re-run submits a continuation of it). */
  req: ScheduleRequest;
  shape: Shape | 'unknown';
  /** This run's cap and prompt: a re-run's prompt includes the tokens streamed before it. */
  maxTokens: number;
  promptTokens: number;
  hashes: readonly bigint[];
  arrivalS: number;
  /** Tokens streamed, cost and first-token time of the runs before this one (worker failures). */
  prior: { outputs: number; costUsd: number; firstTokenS: number | undefined; reruns: number };
  firstPlannedS: number | null;
  /** Per-sequence state, once the instance plans it: the engine's id, and the id its worker knows it by. */
  seqId: number;
  /** Equal to seqId unless the sequence came by hand-off or migration (the worker committed it under an id the
   *  gateway picked before the engine numbered it, see disagg.ts). -1: not bound. */
  wire: number;
  /** Set by a committed hand-off/migration: the destination worker's id for the sequence, taken at first plan. */
  adoptedWire: number | null;
  /** A KV move in flight (its token: a result that finds another one here is stale). */
  move: { kind: 'handoff' | 'migration'; token: number } | null;
  onWorker: boolean;
  hashedBlocks: number;
  outputs: number;
  emitting: boolean;
  instanceId: string;
  /** Swapped to Grace by a preemption: still on the worker, moved back when it resumes. */
  swapped: boolean;
  /** Its session's previous turn is held on this same instance: release it in the plan that first runs this one. */
  releaseOnFirstRun: string | null;
}

export interface InstRun extends DriverInstance {
  stream: StepStreamClient | null;
  /** The plan whose step is in flight (completed empty if the stream breaks under it). */
  outstanding: EnginePlan | null;
  busy: boolean;
  again: boolean;
  failed: string | null;
  seqs: Map<number, LiveReq>;
  /** The same sequences by the id the worker knows (outputs, freed ids). */
  byWire: Map<number, LiveReq>;
  /** Migrations waiting for this instance's next step boundary (request ids). */
  migrationStops: string[];
  toFree: number[];
  /** KV moves for the next plan (see proto StepPlan: applied in this order on the worker). */
  moves: { holds: SessionHold[]; swapOut: number[]; swapIn: number[]; sessionMoves: SessionMove[]; releases: string[] };
  cancels: Array<{ requestId: string; reason: string }>;
  timer: NodeJS.Timeout | null;
  stepId: number;
}

export interface DriverOptions {
  sched: Scheduler;
  clock: Clock;
  instances: readonly DriverInstance[];
  maxContextTokens: number;
  blockTokens: number;
  log?: (line: string) => void;
  /** First wait before a failed instance probes its worker again (doubles up to 5 s). Default 250 ms. */
  rejoinBackoffMs?: number;
  metrics?: DriverMetrics;
  /** The link between a tray's GPUs and its host memory (GB200/GB300: c2c; HGX: pcie), for tier-move metrics. */
  hostLink?: 'c2c' | 'pcie';
  /** Whole-hand-off timeout given to the workers (default 30 s). */
  handoffTimeoutMs?: number;
  /** Run the migration policy every Scheduler.migrationPeriodS on an unref'd timer (default true; tests call migrationTick()). */
  migrationTimer?: boolean;
}


/** The driver's counters (public fields of GatewayDriver), kept by its parts too. */
export interface DriverCounters {
  stepsRun: number;
  preemptions: number;
  reruns: number;
  failures: number;
  rejoins: number;
  swapsOut: number;
  swapFallbacks: number;
}

/** A sink call not made yet: tokens or the end (driver_delivery.ts). */
export interface Delivery {
  sink: RequestSink;
  tokenIds?: readonly number[];
  end?: [EndedRequest, EndDetail];
}

/**
 * What the driver's parts (driver_plan.ts, driver_results.ts, driver_failover.ts) share: its state and the few
 * actions of its loop they call back. Built once by GatewayDriver; not part of its public API.
 */
export interface DriverCore {
  readonly o: DriverOptions;
  readonly insts: ReadonlyMap<string, InstRun>;
  readonly live: Map<string, LiveReq>;
  /** Session id → the instance whose worker holds its previous turn's KV. */
  readonly heldSessions: Map<string, string>;
  readonly counters: DriverCounters;
  readonly rejoiner: Rejoiner;
  /** True once stop() ran (shutdown): failures are no longer handled. */
  stopped(): boolean;
  log(line: string): void;
  /** A metrics call that throws is logged once and never stops the loop. */
  metric(call: () => void): void;
  inst(id: string): InstRun;
  kick(inst: InstRun): void;
  attach(inst: InstRun, stream: StepStreamClient): void;
  deliver(d: Delivery): void;
  /** deliver() of one request's tokens, without a queue entry when none is needed. */
  deliverTokens(sink: RequestSink, tokenIds: readonly number[]): void;
  applyCancels(inst: InstRun): void;
  /** The hand-off/migration executor's step boundary (disagg.ts KvMoves.afterStep). */
  afterStep(inst: InstRun): void;
  rerun(inst: InstRun, live: LiveReq, message: string): void;
}
