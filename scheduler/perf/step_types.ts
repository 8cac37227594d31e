// Contracts of the step predictor: the op-time interface it is built on (mirroring the ops and columns of the
// ../shared/data/perf tables) and its input/output shapes. This file imports nothing.

export type GemmDtype = 'bfloat16' | 'fp8' | 'fp8_block' | 'nvfp4';
export type AttnDtype = 'bfloat16' | 'fp8';
export type CollectiveOp = 'all_reduce' | 'all_gather' | 'reduce_scatter' | 'alltoall';

/**
 * Latency of one kernel on one GPU, in milliseconds. Arguments follow the perf tables' columns: heads are per GPU
 * (already divided by tensor parallelism), windowSize 0 means full attention, `gpu` is a GPU kind name
 * (h100, h200, b200, gb200, gb300). Implementations must be pure and cheap: the step predictor calls them at
 * every simulated step. roofline_optimes.ts is the un-calibrated fallback; fitted predictors plug in here too.
 */
export interface OpTimes {
  /** C[m×n] = A[m×k]·B[k×n]; m is the token count, fractional for MoE experts (expected rows per expert hit). */
  gemmMs(gpu: string, dtype: GemmDtype, m: number, n: number, k: number): number;
  /** Prefill: `batch` sequences of `isl` new tokens each, after `cachedTokens` already cached tokens. */
  contextAttentionMs(
    gpu: string,
    batch: number,
    isl: number,
    numHeads: number,
    numKvHeads: number,
    headDim: number,
    windowSize: number,
    attnDtype: AttnDtype,
    kvDtype: AttnDtype,
    cachedTokens: number,
  ): number;
  /** Decode: `batch` sequences of one new token, each with kvLength tokens cached. */
  generationAttentionMs(
    gpu: string,
    batch: number,
    kvLength: number,
    numHeads: number,
    numKvHeads: number,
    headDim: number,
    windowSize: number,
    attnDtype: AttnDtype,
    kvDtype: AttnDtype,
  ): number;
  /** One NCCL collective over numGpus GPUs; messageBytes is the per-GPU buffer (the tables' message_size). */
  collectiveMs(gpu: string, op: CollectiveOp, numGpus: number, messageBytes: number): number;
}

/**
 * One sequence's work in a step. prefill: numNewTokens prompt tokens (a chunk) after numCachedTokens already in
 * the KV cache (prefix hit or earlier chunks). decode: exactly one new token attending to numCachedTokens.
 */
export interface StepSequence {
  phase: 'prefill' | 'decode';
  numNewTokens: number;
  numCachedTokens: number;
}

/**
 * Where the model runs: tensorParallel GPUs of one kind inside one NVLink domain. Attention and dense MLPs are
 * sharded tensor-parallel over all of them; MoE experts are spread over expertParallel ranks, each expert further
 * split tensor-parallel over tensorParallel / expertParallel GPUs (expertParallel divides tensorParallel).
 */
export interface InstanceSpec {
  gpu: string;
  tensorParallel: number;
  expertParallel: number;
  /** Weight/activation format of the GEMMs. Default 'bfloat16'. */
  gemmDtype?: GemmDtype;
  /** Attention math format. Default 'bfloat16'. */
  attnDtype?: AttnDtype;
  /** KV cache format. Default 'bfloat16'. */
  kvDtype?: AttnDtype;
  /** Fixed cost per step (launches, scheduler bubble, sampling). Default DEFAULT_STEP_OVERHEAD_MS. */
  stepOverheadMs?: number;
}

/** Step time and where it goes; the four parts sum to stepS. */
export interface StepBreakdown {
  stepS: number;
  gemmS: number;
  attentionS: number;
  commS: number;
  overheadS: number;
}

export interface StepPredictor {
  /**
   * Predicts one step of `batch`. When `out` is given it is overwritten and returned (no allocation), else a
   * new object is returned. Throws on an empty batch or a malformed sequence, naming the index and field.
   */
  predict(batch: readonly StepSequence[], out?: StepBreakdown): StepBreakdown;
}
