// Contracts of the disaggregation slot (per request: aggregated on a decode/mixed instance, or prefill on a prefill
// instance and KV handed over NVLink to a decode instance) and the migration slot (move running decodes between
// instances of a domain). Both are plugins of the policy (policy.ts), built by registry.ts.
import type { Classification, InstanceView, PlacementCostModel, ScheduleRequest } from '../types.js';

/** What a disaggregation policy sees of one request, after placement chose the best candidate of each role. */
export interface DisaggContext {
  req: ScheduleRequest;
  cls: Classification;
  /** Raw prompt length (Dynamo's raw ISL). */
  promptTokens: number;
  /** The best decode-capable (decode or mixed) candidate, and what of the prompt it has cached (device, host, neighbour). */
  decode: InstanceView;
  decodeCachedTokens: number;
  /** The best prefill candidate in the decode candidate's domain, and what of the prompt it has cached. */
  prefill: InstanceView;
  prefillCachedTokens: number;
  /** KV blocks the hand-off would move (the prompt's, less what the decode candidate already holds in HBM). */
  transferBlocks: number;
  /** min(maxOutputTokens, the predictor's expected output). */
  predictedOutputTokens: number;
  /** Marginal prefill seconds per queued uncached token on each candidate (queue-wait estimates, as the scheduler's own). */
  waitSPerToken: { decode: number; prefill: number };
  cost: PlacementCostModel;
}

export interface DisaggregationPolicy {
  readonly name: string;
  /**
   * A decode-role instance prefills an uncached suffix itself only up to this many tokens (a tool result appended
   * to a cached context); longer ones go to a prefill instance whatever decide() says, when one can take them.
   */
  readonly localPrefillMaxTokens: number;
  /** Roles are ignored (every instance serves as mixed): the aggregated baseline on the same GPUs. */
  readonly ignoresRoles: boolean;
  /** Allow a prefill instance of another NVLink domain (the KV then crosses the scale-out network). Default false. */
  readonly crossDomain: boolean;
  /** True: prefill on ctx.prefill and hand the KV to ctx.decode. */
  decide(ctx: DisaggContext): boolean;
}

/** One running decode as a migration policy sees it. */
export interface MigrationCandidate {
  requestId: string;
  instanceId: string;
  /** Tokens in KV now (prompt + outputs − 1). */
  contextTokens: number;
  outputTokens: number;
  /** Predicted output tokens still to come (≥ 0). */
  remainingTokens: number;
  kvBlocks: number;
}

export interface MigrationPlan {
  requestId: string;
  fromInstanceId: string;
  toInstanceId: string;
}

export interface MigrationContext {
  nowS: number;
  /** Decode-capable instances of one NVLink domain (healthy, not draining). */
  instances: readonly InstanceView[];
  /** Running decodes of an instance, not already migrating. */
  decodes(instanceId: string): readonly MigrationCandidate[];
  /** Requests being migrated now (a policy bounds them). */
  inFlight: number;
  blockTokens: number;
  cost: PlacementCostModel;
}

export interface MigrationPolicy {
  readonly name: string;
  /** Seconds between two looks (the executor calls plan() at this period while decodes run). */
  readonly periodS: number;
  /** Largest stop-and-copy the policy accepts: more tail than this is copied in another pre-copy round first. */
  readonly maxPauseS: number;
  plan(ctx: MigrationContext): MigrationPlan[];
}
