// The simulator's per-request, per-sequence and per-instance state (plain records; simulation.ts owns the loop,
// kv_mirror.ts the native KV side).
import type { EnginePlan } from '../core/engine/types.js';
import type { ScheduleRequest, StepOutcome } from '../core/types.js';
import type { StepPredictor, StepSequence } from '../perf/step_types.js';
import type { WorkloadRequest } from '../workload/types.js';
import type { WorkerKv } from './worker_kv.js';

/** A submitted request while it lives. */
export interface LiveReq {
  w: WorkloadRequest;
  req: ScheduleRequest;
  /** Hashes for the native manager: the prompt's, extended by the next turn's where they continue it. */
  hashes: BigUint64Array | null;
  continuation: readonly bigint[] | undefined;
  hostTokens: number;
  neighbourTokens: number;
  seq: SeqRun | null;
  /** Closed-loop run index, -1 for open loop. */
  run: number;
  /** The host/neighbour prefix fetch was charged (at its first step anywhere; a moved sequence is not charged again). */
  fetchCharged: boolean;
  /** Time of its last token (any instance); -1 before the first. */
  lastTokenS: number;
  /** Stopped for migration: the last token before the stop, until the first token on the destination; else -1. */
  migratedFromS: number;
}

/** One sequence on its instance, as the simulated worker tracks it. */
export interface SeqRun {
  live: LiveReq;
  seqId: number;
  promptTokens: number;
  targetOutputTokens: number;
  outputs: number;
  /** This step samples a token for it. */
  emitting: boolean;
  /** Native sequence id; 0 = not allocated (never ran, or recomputed); -1 = untracked after a failure. */
  native: number;
  nativeTokens: number;
  /** Tokens in KV once the current step is done (appended to the native manager lazily, a block at a time). */
  tokens: number;
  hashedBlocks: number;
  /** Every full block so far carries a hash, so more may be appended. */
  hashable: boolean;
  swapped: boolean;
}

export interface InstRun {
  idx: number;
  id: string;
  worker: WorkerKv | null;
  gpu: number;
  /** The step predictor of its model, GPU and degree. */
  predictor: StepPredictor;
  busy: boolean;
  dirty: boolean;
  plan: EnginePlan | null;
  outcome: StepOutcome;
  /** Pending wake-up time for a wait window (Infinity: none). */
  wakeS: number;
  seqs: Map<number, SeqRun>;
  /** Per plan item, its SeqRun (valid while the step runs). */
  planSeqs: SeqRun[];
  batch: StepSequence[];
  /** Migrations whose pre-copy ended while this instance's step ran: their stop waits for the step's end. */
  migrationStops: string[];
}
