// Contracts of workloads (trace readers, synthetic mixes) and of simulation runs and their reports. Imports only
// the core's contract types.
import type { RequestEnd, ScheduleRequest, Shape } from '../core/types.js';

/**
 * One request of a workload: what the scheduler sees (`req`, with blockHashes chained at the simulation's KV block
 * size) plus what only the trace knows — how many tokens the model will really produce.
 */
export interface WorkloadRequest {
  req: ScheduleRequest;
  outputTokens: number;
  /** Shape the trace's own features imply (for reports; the scheduler classifies on its own). */
  traceShape?: Shape;
}

/** Open loop: requests arrive at their req.arrivalS whatever the system does (sorted by arrivalS). */
export interface OpenLoopWorkload {
  kind: 'open';
  name: string;
  requests: WorkloadRequest[];
  /** Trace duration, seconds (last arrival − first, or the trace's nominal span). */
  durationS: number;
}

/**
 * A session replayed closed loop: turn k+1 is sent thinkTimeS after turn k ended (completed, rejected or cancelled);
 * arrivalS of each turn's req is filled in by the simulator. A sub-agent is its own session with its own cache
 * context (hash namespace), started when its parent's `spawnsAfterTurn` turn ends.
 */
export interface SessionScript {
  sessionId: string;
  tenant: string;
  turns: Array<{ thinkTimeS: number; request: WorkloadRequest }>;
  /** For a sub-agent: the parent session and the parent turn index after which it starts. */
  parent?: { sessionId: string; afterTurn: number };
}

/** Closed loop: `concurrency` sessions run at once; when one finishes the next script starts (scripts reused with
 *  fresh hash namespaces when more are needed than the trace holds; see architecture.md §6 `--sessions`). */
export interface ClosedLoopWorkload {
  kind: 'closed';
  name: string;
  sessions: SessionScript[];
}

export type Workload = OpenLoopWorkload | ClosedLoopWorkload;

/** A trace line that could not be read: reported, then skipped (or fatal under --strict). */
export interface TraceProblem {
  file: string;
  line: number;
  message: string;
}

/** What one request did in a run: the report is computed from these alone. */
export interface RequestRecord {
  requestId: string;
  /** Who sent it (ScheduleRequest.tenant); the report's by_tenant groups by it. Absent in records made elsewhere. */
  tenant?: string;
  /** Shape the scheduler classified it as. */
  shape: Shape;
  sessionId?: string;
  arrivalS: number;
  /** First output token (absent when it never produced one). */
  firstTokenS?: number;
  endS: number;
  promptTokens: number;
  /** Prompt tokens served from cache, by tier (device = HBM of the instance; host = Grace; neighbour = NVLink). */
  cachedTokens: { device: number; host: number; neighbour: number };
  outputTokens: number;
  preemptions: number;
  end: RequestEnd;
  slo: { ttftS: number; tpotS: number };
  costUsd: number;
  /** Pool and instance (empty for rejected). */
  pool: string;
  instanceId: string;
}

/** Everything a report needs from one run. */
export interface RunResult {
  policy: string;
  cluster: string;
  model: string;
  seed: number;
  simulatedS: number;
  simWallS: number;
  gpus: number;
  records: RequestRecord[];
  /** Per-step counters for throughput and utilisation. */
  steps: number;
  /**
   * Seconds during which load was offered (up to the last arrival or turn): the denominator of goodput, so that a
   * policy is not charged for one straggler finishing after the load ended. Absent: simulatedS.
   */
  loadWindowS?: number;
}
