// Contracts of the scheduler core: the types every plugin and the engine meet through. This file imports nothing.
//
// The core runs unchanged live (gateway, real clock) and in the simulator (virtual clock): nothing in it reads the
// wall clock or a socket. Time is always seconds from an injected Clock; sizes are tokens or KV blocks, named so.

export const SHAPES = ['tool_call', 'reasoning', 'terminal', 'chat'] as const;
export type Shape = (typeof SHAPES)[number];

/** The one time source. Live: performance.now()/1000 from process start; simulated: the event loop's virtual now. */
export interface Clock {
  nowS(): number;
}

/** Uniform random numbers in [0, 1); seeded (util/random.ts Rng satisfies it) so decisions replay exactly. */
export interface RandomSource {
  next(): number;
}

export type ReasoningEffort = 'none' | 'low' | 'medium' | 'high';

/** Per-request latency targets (seconds). */
export interface Slo {
  ttftS: number;
  tpotS: number;
}

/**
 * What the scheduler knows of a request at arrival, after ingress validation. Prompt content never reaches the
 * core: only counts and the chained hashes of the prompt's full KV blocks (the pool's block size).
 */
export interface ScheduleRequest {
  requestId: string;
  tenant: string;
  arrivalS: number;
  promptTokens: number;
  /** Upper bound on output tokens (the request's max_tokens, or the pool default). */
  maxOutputTokens: number;
  /**
   * false when maxOutputTokens is a default filled in by ingress or a trace reader rather than the client's own
   * max_tokens: then it says nothing about the request's shape. Absent = set by the client.
   */
  maxOutputTokensFromClient?: boolean;
  /** Chained block hashes of the prompt (leading full blocks only); length ≤ floor(promptTokens / blockTokens). */
  blockHashes: readonly bigint[];
  /** The request offers tools (function schemas). */
  hasTools: boolean;
  /** The prompt ends with tool results (the agent loop's next step). */
  hasToolResults: boolean;
  sessionId?: string;
  /** 0 for a session's first turn. */
  turnIndex?: number;
  reasoningEffort?: ReasoningEffort;
  /** Explicit shape hint (header x-nvlsched-shape); wins over inference when valid. */
  hintShape?: Shape;
  /** Explicit expected output length (Dynamo's `osl` agent hint). */
  hintOutputTokens?: number;
  /** Requested model or pool name; empty = let the router choose. */
  model?: string;
  /** Higher runs first within a shape; negative = sheddable (llm-d convention). Default 0. */
  priority?: number;
  /** Overrides the shape's default SLO. */
  slo?: Slo;
}

/** Streaming estimate of a request's output length. */
export interface OutputPrediction {
  /** Point estimate used for KV reservation and ordering (a configured quantile, default p50). */
  expectedTokens: number;
  p50Tokens: number;
  p90Tokens: number;
  /** Samples behind the estimate at the level that answered (session, tenant, shape or prior). */
  samples: number;
  /** Which level answered: 'hint' | 'session' | 'tenant' | 'shape' | 'prior'. */
  source: 'hint' | 'session' | 'tenant' | 'shape' | 'prior';
}

export interface Classification {
  shape: Shape;
  /** Which signal decided, for logs and tests (e.g. "hint", "tool_results", "session_turn"). */
  reason: string;
  output: OutputPrediction;
  slo: Slo;
}

// ---------------------------------------------------------------- classification plugins

export interface ShapeClassifier {
  readonly name: string;
  classify(req: ScheduleRequest): { shape: Shape; reason: string };
}

export interface OutputLengthPredictor {
  readonly name: string;
  predict(req: ScheduleRequest, shape: Shape): OutputPrediction;
  /** A request finished with this many output tokens (cancelled requests are not observed). */
  observe(req: ScheduleRequest, shape: Shape, outputTokens: number): void;
}

/** Predicts the gap (seconds) between a session's turn end and its next request, from its history. */
export interface ThinkTimePredictor {
  readonly name: string;
  /** Median gap (expectedS) and a high quantile; undefined means no history anywhere (first session ever). */
  predict(sessionId: string, tenant: string): { expectedS: number; p90S: number; samples: number } | undefined;
  observe(sessionId: string, tenant: string, gapS: number): void;
}

// ---------------------------------------------------------------- pools and routing

export type PoolKind = 'self_hosted' | 'external';

export interface PoolSpec {
  name: string;
  kind: PoolKind;
  /** Model catalog name (scheduler/perf/models), or the upstream's model id for external pools. */
  model: string;
  /** Task quality per shape in [0,1] (operator's measured or assumed success rate). */
  quality: Record<Shape, number>;
  /** Longest prompt + output the model handles well (not the advertised maximum). */
  reliableContextTokens: number;
  /** Hard limit; beyond it the pool never takes a request. */
  maxContextTokens: number;
  /** Take requests past reliableContextTokens (up to maxContextTokens) when no pool is reliable for them. */
  acceptBeyondReliable: boolean;
  usdPerMInputTokens: number;
  usdPerMCachedInputTokens: number;
  usdPerMOutputTokens: number;
  /** Output tokens this model spends per task relative to the reference model (1 = same; 1.3 = 30% wordier). */
  tokenEfficiency: number;
  /** External pools: OpenAI-compatible upstream and its typical latency. */
  external?: { baseUrl: string; ttftS: number; tpotS: number };
  /** Self-hosted pools: what one GPU-hour costs the operator (for cost accounting). */
  usdPerGpuHour?: number;
}

/** Load of a pool as the router sees it (aggregated from its instances). */
export interface PoolLoad {
  pool: string;
  /** Predicted seconds until a new request of each shape would get its first token (queueing + prefill). */
  predictedTtftS: Record<Shape, number>;
  /** 0..1 utilisation (KV or queue, whichever is higher); 1 = saturated. */
  saturation: number;
  healthy: boolean;
}

export type RouteDecision =
  | { ok: true; pool: string; expectedCostUsd: number; score: number; reason: string }
  | { ok: false; code: 'E_CONTEXT_TOO_LONG' | 'E_NO_POOL' | 'E_POOL_SATURATED'; message: string };

export interface PoolRouter {
  readonly name: string;
  route(req: ScheduleRequest, cls: Classification, pools: readonly PoolSpec[], loads: readonly PoolLoad[]): RouteDecision;
}

// ---------------------------------------------------------------- placement (inside a pool)

/** One model instance as placement sees it: a set of GPUs in one NVLink domain serving one pool's model. */
export interface InstanceView {
  instanceId: string;
  pool: string;
  /** NVLink domain (an NVL72 rack; a node label nvidia.com/gpu.clique on Kubernetes). */
  domainId: string;
  /** Worker (compute tray) ids this instance's GPUs live on; the Grace tier of these trays is its host tier. */
  workerIds: readonly string[];
  numGpus: number;
  healthy: boolean;
  draining: boolean;
  maxContextTokens: number;
  /** Requests waiting in its queues / running in its batch. */
  queuedRequests: number;
  runningRequests: number;
  /** Prompt tokens still to prefill over all queued and running requests (uncached only). */
  pendingPrefillTokens: number;
  /** Sequences decoding now. */
  decodingSequences: number;
  /**
   * Σ 1 / (predicted output tokens · TPOT SLO) over them (per second): a stall of x s costs the running decodes
   * x times this in TPOT budget, in SLO units. Optional: views built without an engine leave it out (read as 0).
   */
  decodeSloWeightPerS?: number;
  kvBlocksTotal: number;
  /** Blocks held by running or queued-with-reservation sequences. */
  kvBlocksUsed: number;
  /** Blocks held for idle sessions between turns (count as load: they cannot be evicted for free). */
  kvBlocksRetained: number;
  /** Token budget of one step (max_num_batched_tokens). */
  stepTokenBudget: number;
  /** Requests the router sent here that have not finished (router-side count, as SGLang keeps it). */
  inFlightRequests: number;
  /** prefill | decode | mixed (config/roles.ts); absent = mixed. */
  role?: 'prefill' | 'decode' | 'mixed';
}

/** Where the request's leading blocks are already cached, relative to one instance. */
export interface PrefixHit {
  /** Leading blocks on this instance's GPUs. */
  deviceBlocks: number;
  /** Further leading blocks in the Grace (host) tier of this instance's trays. */
  hostBlocks: number;
  /** Further leading blocks on another instance's GPUs in the same NVLink domain. */
  neighbourBlocks: number;
  neighbourInstanceId?: string;
}

/** Time estimates from the performance model, injected so placement never imports it. */
export interface PlacementCostModel {
  /** Seconds to prefill numNewTokens after numCachedTokens on this instance (alone in a step). */
  prefillS(instance: InstanceView, numNewTokens: number, numCachedTokens: number): number;
  /** Seconds to fetch numBlocks KV blocks over a link into this instance. */
  fetchS(instance: InstanceView, numBlocks: number, link: 'nvlink' | 'c2c'): number;
  /** Seconds of one decode step at the instance's current batch. */
  decodeStepS(instance: InstanceView): number;
}

/**
 * Times the stages and plugins of a routing decision for the metrics (nvlsched_scheduling_latency_seconds{plugin}).
 * The core has no clock of its own: the gateway injects one, and samples which decisions are timed.
 */
export interface StageProfiler {
  /** Seconds on a monotonic clock. */
  now(): number;
  record(stage: string, seconds: number): void;
}

export interface PlacementContext {
  req: ScheduleRequest;
  cls: Classification;
  nowS: number;
  blockTokens: number;
  /** Prefix hit per candidate, same order as the candidates array given to scorers. */
  prefix(instance: InstanceView): PrefixHit;
  /** Instance that served this session's previous turn, if any and still known. */
  sessionHome?: string;
  cost: PlacementCostModel;
  rng: RandomSource;
  /** Set on a sampled decision: the pipeline times each filter, scorer and the picker. */
  profiler?: StageProfiler;
}

/** Drops candidates that cannot take the request. Must not reorder. */
export interface PlacementFilter {
  readonly name: string;
  filter(ctx: PlacementContext, candidates: readonly InstanceView[]): InstanceView[];
}

/** Writes one score per candidate into out (the framework clamps to [0,1]; NaN counts as 0). */
export interface PlacementScorer {
  readonly name: string;
  score(ctx: PlacementContext, candidates: readonly InstanceView[], out: Float64Array): void;
}

export interface ScoreTable {
  /** Weighted sum per candidate. */
  total: Float64Array;
  /** Each scorer's clamped scores, by scorer name, before weighting. */
  byScorer: ReadonlyMap<string, Float64Array>;
}

/** Chooses one candidate index from the scores (argmax, softmax, threshold switches...). */
export interface PlacementPicker {
  readonly name: string;
  pick(ctx: PlacementContext, candidates: readonly InstanceView[], scores: ScoreTable): number;
}

/** A whole placement pipeline (filters → scorers → picker), as the scheduler uses it. */
export interface PlacementPolicy {
  readonly name: string;
  place(ctx: PlacementContext, candidates: readonly InstanceView[]): PlacementDecision;
  /** The scores behind the last decision (reused by the next call): for logs, explanations and tests. */
  lastScores(): ScoreTable;
}

export type PlacementDecision =
  | { ok: true; instanceId: string; score: number; prefix: PrefixHit }
  | { ok: false; code: 'E_NO_CANDIDATE'; message: string };

// ---------------------------------------------------------------- KV index (from worker KV events)

/** Where a cached block is, as the index sees it. tier 'host' is keyed by worker, 'device' by instance. */
export interface IndexLocation {
  tier: 'device' | 'host';
  /** instanceId for device, workerId for host. */
  key: string;
}

// ---------------------------------------------------------------- engine: one model instance's step loop

export type SeqPhase = 'waiting' | 'running' | 'preempted' | 'finished';

/** A request's sequence inside an instance engine. Mutated only by the engine. */
export interface EngineSequence {
  seqId: number;
  requestId: string;
  shape: Shape;
  priority: number;
  arrivalS: number;
  /** When it entered this instance's queue (arrival + routing). */
  enqueuedS: number;
  promptTokens: number;
  /** Prompt tokens found in cache at admission (prefix hit); never recomputed. */
  cachedPromptTokens: number;
  /** Prompt tokens processed so far (cached ones included). prefill is done when this equals promptTokens. */
  prefilledTokens: number;
  outputTokens: number;
  maxOutputTokens: number;
  predictedOutputTokens: number;
  /** KV blocks held (prompt + output so far + reservation). */
  kvBlocks: number;
  firstTokenS?: number;
  phase: SeqPhase;
  preemptions: number;
  slo: Slo;
}

export interface StepItem {
  seqId: number;
  kind: 'prefill' | 'decode';
  /** Prefill chunk length, or 1 for decode. */
  numNewTokens: number;
  /** Tokens already in KV before this step (cached prefix + earlier chunks + outputs). */
  numCachedTokens: number;
}

export interface Preemption {
  seqId: number;
  mode: 'recompute' | 'swap';
  reason: string;
}

/** What one step of one instance runs. The worker executes it; the simulator prices it with the perf model. */
export interface StepPlan {
  instanceId: string;
  stepId: number;
  plannedAtS: number;
  items: StepItem[];
  preempted: Preemption[];
  /** Sequences admitted from the queue into the running batch this step. */
  admitted: number[];
  budgetTokens: number;
  usedTokens: number;
  /** Preempted with mode 'swap' this step: blocks copied HBM → Grace before the step. */
  swappedOut: KvMove[];
  /** Resumed from Grace this step: blocks copied Grace → HBM before the step. */
  swappedIn: KvMove[];
  /** Idle-session moves requested since the previous plan (demotions to Grace, promotions back to HBM). */
  sessionMoves: SessionMove[];
  /** Retained sessions whose HBM blocks were reclaimed for live work this step (their KV is gone). */
  evictedSessions: string[];
  /**
   * Earliest time a waiting sequence held by its shape's wait window becomes eligible; null when none is held.
   * A simulator with an empty plan sleeps until then (or the next arrival).
   */
  holdUntilS: number | null;
}

/** KV blocks of one sequence crossing NVLink-C2C between HBM and Grace because of a plan (priced by the executor). */
export interface KvMove {
  seqId: number;
  kvBlocks: number;
}

/** An idle session's KV moving between tiers (demote to Grace, promote back to HBM). */
export interface SessionMove {
  sessionKey: string;
  kvBlocks: number;
  to: 'device' | 'host';
}

/** What came back from executing a step. */
export interface StepOutcome {
  stepId: number;
  durationS: number;
  /** Sequences that emitted their last token this step (EOS or max tokens) — the worker decides EOS. */
  finishedSeqIds: readonly number[];
}

/**
 * Batching policy: how the engine orders queues and splits a step's token budget. A plugin. The engine evaluates
 * queueKey once when a sequence (re-)enters the queue: keys must not need re-evaluation as time passes.
 */
export interface BatchPolicy {
  readonly name: string;
  /** Sort key for waiting sequences: lower runs first. */
  queueKey(seq: EngineSequence, nowS: number): number;
  /** Among running sequences, the order in which preemption victims are taken (first = victim first). */
  victimKey(seq: EngineSequence): number;
  /** Largest prefill chunk (tokens) given to one sequence in one step. */
  maxPrefillChunkTokens(seq: EngineSequence): number;
  /** Seconds a waiting sequence of this shape may be held to form a fuller batch (0 = admit at once). */
  waitWindowS(shape: Shape): number;
  /** Running decodes get their token before any prefill chunk (false: running order, as vLLM). */
  readonly decodesFirst: boolean;
  /** KV tokens a running sequence holds at least (prompt + reserved output); 0 = only what is computed (vLLM). */
  kvFloorTokens(seq: EngineSequence): number;
  /** How to preempt this victim, given the engine's configured mode for its shape. */
  preemptionMode(seq: EngineSequence, configured: 'recompute' | 'swap'): 'recompute' | 'swap';
  /** Most prefill tokens one step may carry when it already carries numDecodes decodes (Infinity = budget only). */
  stepPrefillCapTokens(numDecodes: number): number;
}

// ---------------------------------------------------------------- admission, retention, cost

export type AdmissionDecision =
  | { admit: true; predictedTtftS: number }
  | { admit: false; code: 'E_SLO_UNREACHABLE' | 'E_QUEUE_FULL'; reason: string; retryAfterS: number };

export interface AdmissionPolicy {
  readonly name: string;
  decide(req: ScheduleRequest, cls: Classification, instance: InstanceView, predictedTtftS: number): AdmissionDecision;
}

export type RetentionAction = 'keep' | 'demote' | 'drop';

/** What the retention policy weighs at a session's turn end (and again as pressure changes). */
export interface RetentionInput {
  sessionId: string;
  nowS: number;
  kvBlocks: number;
  contextTokens: number;
  /** Predicted seconds to the next turn (undefined: no history). */
  expectedGapS?: number;
  p90GapS?: number;
  /** Fraction of the instance's HBM KV blocks in use, 0..1. */
  devicePressure: number;
  /** Fraction of the Grace tier in use, 0..1. */
  hostPressure: number;
  /** Seconds to recompute the context from scratch on this instance. */
  recomputeS: number;
  /** Seconds to bring the blocks back from Grace (promote). */
  promoteS: number;
  /** The instance's HBM KV blocks (kvBlocks is priced relative to it). */
  deviceKvBlocksTotal?: number;
  /** 0..1 chance the session comes back at all; absent: the policy's configured default. */
  returnProbability?: number;
}

export interface RetentionPolicy {
  readonly name: string;
  decide(input: RetentionInput): { action: RetentionAction; reason: string };
  /** Seconds before the expected next turn at which a demoted session should be promoted back (0 = on arrival). */
  promoteLeadS(input: RetentionInput): number;
}

/** What a request or a session has cost so far. */
export interface CostRecord {
  gpuSeconds: number;
  /** KV bytes × seconds held, idle retention included. */
  kvByteSeconds: number;
  idleKvByteSeconds: number;
  inputTokens: number;
  cachedInputTokens: number;
  outputTokens: number;
  usd: number;
}

/** Why a request ended. Every request ends exactly once with one of these. */
export type RequestEnd =
  | { kind: 'completed'; outputTokens: number }
  | { kind: 'rejected'; code: string; reason: string; retryAfterS?: number }
  | { kind: 'cancelled'; reason: string };
