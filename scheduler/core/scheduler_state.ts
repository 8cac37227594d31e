// The Scheduler's internal records (scheduler.ts), shared with the disaggregation coordinator (disagg/coordinator.ts)
// that moves requests between instances: what an instance, a pool and a live request are to the scheduler.
import type { InstanceRole } from './config/roles.js';
import type { EngineConfig } from './engine/config.js';
import type { InstanceEngine } from './engine/engine.js';
import type { KvIndexMember } from './kvindex/kv_index.js';
import type { PrefixColumns } from './kvindex/prefix_walk.js';
import type { SessionRetention } from './retention/tracker.js';
import type { Classification, EngineSequence, InstanceView, PoolSpec, PrefixHit, ScheduleRequest } from './types.js';

/** One model instance: its pool, NVLink domain, GPUs per worker (as the workers' KV events number them). */
export interface InstanceSetup {
  instanceId: string;
  pool: string;
  domainId: string;
  members: readonly KvIndexMember[];
  engine: EngineConfig;
  /** prefill | decode | mixed (config/roles.ts). Default mixed. */
  role?: InstanceRole;
}

/** KV blocks of a request's cached prefix to bring onto its instance before its first step (see cachedTokens). */
export interface KvFetch {
  /** Promoted from the tray's Grace tier over NVLink-C2C. */
  hostBlocks: number;
  /** Pulled from a neighbour instance in the NVLink domain. */
  neighbourBlocks: number;
}

export interface Instance {
  setup: InstanceSetup;
  engine: InstanceEngine;
  retention: SessionRetention;
  view: InstanceView;
  /** This instance's column in its pool's prefix-hit arrays. */
  poolColumn: number;
  /** seqId → requestId. */
  requests: Map<number, string>;
  numGpus: number;
  stepInstance: { pool: string; numGpus: number };
  /**
   * Marginal prefill seconds per uncached token on this instance (the cost model at 2,048 tokens), for queue-wait
   * estimates: per instance, as instances of one pool may differ in tensor parallelism (a TP4 prefill instance).
   */
  prefillSPerToken: number;
}

export interface Pool {
  spec: PoolSpec;
  instances: Instance[];
  hits: PrefixHit[];
  columns: PrefixColumns;
  instanceIds: string[];
  /** KV-index slots of instanceIds, valid while the index's topologyVersion equals slotsVersion. */
  slots: Int32Array;
  slotsVersion: number;
  views: InstanceView[];
  /** Roles in use (some prefill instance, and the disaggregation policy does not ignore roles). */
  disaggregated: boolean;
  /** Views of the decode and mixed instances (where requests are placed to decode) and of the prefill ones. */
  decodeViews: InstanceView[];
  prefillViews: InstanceView[];
}

/** A disaggregated request's way: prefill on one instance, KV hand-off, decode on another (disagg/coordinator.ts). */
export interface PdState {
  phase: 'prefill' | 'transfer' | 'decode';
  prefillInstanceId: string;
  decodeInstanceId: string;
  /** Prompt tokens the decode candidate held in HBM at submit (not transferred). */
  decodeDeviceTokens: number;
  /** Holds on the prefill instance (its KV until sent) and the decode instance (room for it), while transferring. */
  prefillHoldId?: number;
  decodeHoldId?: number;
  /** The prefill sequence as it ended (first token, preemptions, cached tokens): carried into the decode sequence. */
  prefillSeq?: EngineSequence;
}

/** A running decode being moved to another instance of its domain (pre-copy, then stop-and-copy). */
export interface MigrationState {
  phase: 'precopy' | 'stopped';
  fromInstanceId: string;
  toInstanceId: string;
  holdId: number;
  /** Tokens whose KV has been copied so far. */
  copiedTokens: number;
  startedS: number;
  stoppedS?: number;
  rounds: number;
  /** The sequence as it left its instance (while stopped). */
  seq?: EngineSequence;
}

export interface LiveRequest {
  req: ScheduleRequest;
  cls: Classification;
  inst: Instance;
  seqId: number;
  fetch: KvFetch;
  pd?: PdState;
  mig?: MigrationState;
}
