// Serving throughput estimator: steady-state output tokens/s per GPU of one instance serving a benchmark scenario
// (mean prompt and output lengths, a number of requests decoding at once), built on the step predictor. It is what
// `perf calibrate` compares with published throughput (published.ts). Model of aggregated serving with chunked
// prefill (prefill and decode share the engine's steps, as in TRT-LLM and vLLM with chunked prefill):
// - `concurrency` requests decode at every step, one token each: per-user speed = 1 / stepS, output per GPU =
//   concurrency / stepS / GPUs of the instance;
// - prefill is amortised: a request brings one prompt of islTokens per oslTokens of output, so a step carries on
//   average concurrency / osl whole prompts (concurrency × isl / osl prompt tokens). Steps carry the two integers
//   around that mean in proportion (k prompts in a share 1 − f of the steps, k + 1 in f), and the mean step time is
//   that mix: continuous and non-decreasing in concurrency. Whole prompts per step is the engine's behaviour when a
//   prompt fits the step's token budget (chunking splits only longer ones); chunking would spread the same tokens
//   and query-key pairs over more steps;
// - decodes attend to the mean KV of a request in flight, isl + osl/2 (exact when decode attention is affine in KV);
// - memory: weights are split over the instance's GPUs; the KV of `concurrency` requests at that mean length must fit
//   in HBM_UTILIZATION of the HBM the weights leave, and concurrency is capped at MAX_CONCURRENCY.
// Not modelled (each makes a published run faster or slower than this estimate): speculative decoding / MTP,
// attention data parallelism and disaggregated prefill, the TTFT limits and p99 (rather than mean) TPOT of MLPerf
// Server, request-length spread, host overheads beyond the step predictor's fixed per-step cost.
import { GPUS, type Gpu } from './gpus.js';
import { KV_BYTES, WEIGHT_BYTES, type ModelConfig, type WeightDtype, kvElementsPerLayer, paramCount } from './models.js';
import { makeStepPredictor } from './step.js';
import type { GemmDtype, InstanceSpec, OpTimes, StepBreakdown, StepSequence } from './step_types.js';

/**
 * Share of the HBM left after weights that holds KV cache. ASSUMPTION: 0.9, the default of vLLM's
 * gpu_memory_utilization (of all memory) and TRT-LLM's free_gpu_memory_fraction (of what weights and buffers leave);
 * activations and workspaces are not modelled beyond that 10 %.
 */
export const HBM_UTILIZATION = 0.9;
/**
 * Upper bound on requests decoding at once on one instance. ASSUMPTION: 2,048, the order of the max_batch_size that
 * throughput-oriented runs configure (engine defaults vary by version, from 8 to 2,048); it binds only where memory
 * would allow more.
 */
export const MAX_CONCURRENCY = 2048;

export interface ServingScenario {
  /** Mean prompt length per request, tokens. */
  islTokens: number;
  /** Mean output length per request, tokens. */
  oslTokens: number;
}

export interface ThroughputEstimate {
  /** Requests decoding at every step (the decode batch) on the instance. */
  concurrency: number;
  /** GPUs of the instance (its tensorParallel). */
  numGpus: number;
  /** Prompt tokens per step on average (concurrency × isl / osl; see the header). */
  prefillTokensPerStep: number;
  /** Mean step time and its parts, seconds. */
  step: StepBreakdown;
  /** Output tokens/s seen by one request: 1 / step.stepS. */
  perUserTokensPerS: number;
  /** Output tokens/s of the instance divided by its GPUs. */
  outputTokensPerSPerGpu: number;
}

export interface ThroughputEstimator {
  /** Most requests that fit (KV at the mean length in HBM_UTILIZATION of the HBM left by weights), ≤ the cap; 0 when
   * the weights alone do not fit. */
  readonly maxConcurrency: number;
  /** The steady state at `concurrency` requests (not checked against memory: see maxConcurrency). */
  at(concurrency: number): ThroughputEstimate;
  /**
   * The highest-throughput state within memory whose per-user speed is at least minPerUserTokensPerS (no floor when
   * omitted): the largest such concurrency, since the step time grows with it. Undefined when nothing fits or even
   * one request is slower than the floor.
   */
  best(minPerUserTokensPerS?: number): ThroughputEstimate | undefined;
}

export interface ThroughputOptions {
  /** Default MAX_CONCURRENCY. */
  maxConcurrency?: number;
  /** Default HBM_UTILIZATION. */
  hbmUtilization?: number;
}

const WEIGHT_DTYPE_OF: Readonly<Record<GemmDtype, WeightDtype>> = {
  bfloat16: 'bf16', fp8: 'fp8', fp8_block: 'fp8', nvfp4: 'fp4',
};

function gpuOf(name: string): Gpu {
  const gpu = (GPUS as Record<string, Gpu | undefined>)[name];
  if (!gpu) throw new RangeError(`instance.gpu must be one of ${Object.keys(GPUS).join(', ')}, got ${JSON.stringify(name)}`);
  return gpu;
}

function checkScenario(model: ModelConfig, s: ServingScenario): void {
  for (const field of ['islTokens', 'oslTokens'] as const) {
    const v = s[field];
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`scenario.${field} must be an integer ≥ 1, got ${String(v)}`);
  }
  if (s.islTokens + s.oslTokens > model.maxContextTokens) {
    throw new RangeError(`scenario.islTokens + scenario.oslTokens must be at most ${model.name}'s context ` +
      `${model.maxContextTokens}, got ${s.islTokens + s.oslTokens}`);
  }
}

/** Weight bytes on each GPU of the instance: every weight in the GEMM dtype, split evenly over tensorParallel. */
export function weightBytesPerGpu(model: ModelConfig, instance: InstanceSpec): number {
  return (paramCount(model) * WEIGHT_BYTES[WEIGHT_DTYPE_OF[instance.gemmDtype ?? 'bfloat16']]) / instance.tensorParallel;
}

/**
 * KV bytes one request of `contextTokens` tokens holds on each GPU, as the step predictor shards attention: GQA KV
 * heads split over tensorParallel (replicated when it exceeds them), the MLA latent replicated on every rank,
 * sliding-window layers holding at most their window.
 */
export function kvBytesPerRequestPerGpu(model: ModelConfig, instance: InstanceSpec, contextTokens: number): number {
  const bytes = KV_BYTES[instance.kvDtype === 'fp8' ? 'fp8' : 'bf16'];
  const perLayer = model.mla
    ? kvElementsPerLayer(model)
    : 2 * Math.ceil(model.numKvHeads / instance.tensorParallel) * model.headDim;
  const window = model.slidingWindow;
  const slidingLayers = window ? window.numSlidingLayers : 0;
  const slidingTokens = window ? Math.min(contextTokens, window.windowTokens) : 0;
  return perLayer * bytes * ((model.numLayers - slidingLayers) * contextTokens + slidingLayers * slidingTokens);
}

/** Requests whose KV (at the scenario's mean length isl + osl/2) fits next to the weights; 0 if the weights do not. */
export function memoryMaxConcurrency(model: ModelConfig, instance: InstanceSpec, scenario: ServingScenario,
  hbmUtilization = HBM_UTILIZATION): number {
  const free = gpuOf(instance.gpu).hbmBytes - weightBytesPerGpu(model, instance);
  if (free <= 0) return 0;
  const meanContext = scenario.islTokens + scenario.oslTokens / 2;
  return Math.floor((hbmUtilization * free) / kvBytesPerRequestPerGpu(model, instance, meanContext));
}

export function makeThroughputEstimator(model: ModelConfig, instance: InstanceSpec, opTimes: OpTimes,
  scenario: ServingScenario, options: ThroughputOptions = {}): ThroughputEstimator {
  checkScenario(model, scenario);
  const cap = options.maxConcurrency ?? MAX_CONCURRENCY;
  if (!Number.isInteger(cap) || cap < 1) throw new RangeError(`options.maxConcurrency must be an integer ≥ 1, got ${String(cap)}`);
  const utilization = options.hbmUtilization ?? HBM_UTILIZATION;
  if (!(utilization > 0 && utilization <= 1)) {
    throw new RangeError(`options.hbmUtilization must be in (0, 1], got ${String(utilization)}`);
  }
  const predictor = makeStepPredictor(model, instance, opTimes);
  const { islTokens: isl, oslTokens: osl } = scenario;
  const decodeKvTokens = Math.round(isl + osl / 2);
  const maxConcurrency = Math.min(cap, memoryMaxConcurrency(model, instance, scenario, utilization));

  const stepWith = (concurrency: number, numPrompts: number): StepBreakdown => {
    const batch: StepSequence[] = [];
    for (let i = 0; i < concurrency; i++) batch.push({ phase: 'decode', numNewTokens: 1, numCachedTokens: decodeKvTokens });
    for (let i = 0; i < numPrompts; i++) batch.push({ phase: 'prefill', numNewTokens: isl, numCachedTokens: 0 });
    return predictor.predict(batch);
  };

  function at(concurrency: number): ThroughputEstimate {
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new RangeError(`concurrency must be an integer ≥ 1, got ${String(concurrency)}`);
    }
    const promptsPerStep = concurrency / osl;
    const low = Math.floor(promptsPerStep);
    const frac = promptsPerStep - low;
    const a = stepWith(concurrency, low);
    const step: StepBreakdown = { ...a };
    if (frac > 0) {
      const b = stepWith(concurrency, low + 1);
      for (const k of ['stepS', 'gemmS', 'attentionS', 'commS', 'overheadS'] as const) step[k] = (1 - frac) * a[k] + frac * b[k];
    }
    return {
      concurrency,
      numGpus: instance.tensorParallel,
      prefillTokensPerStep: promptsPerStep * isl,
      step,
      perUserTokensPerS: 1 / step.stepS,
      outputTokensPerSPerGpu: concurrency / step.stepS / instance.tensorParallel,
    };
  }

  function best(minPerUserTokensPerS = 0): ThroughputEstimate | undefined {
    if (maxConcurrency < 1) return undefined;
    const top = at(maxConcurrency);
    if (top.perUserTokensPerS >= minPerUserTokensPerS) return top;
    let lo = at(1);
    if (lo.perUserTokensPerS < minPerUserTokensPerS) return undefined;
    let hi = maxConcurrency; // invariant: lo meets the floor, hi does not
    while (hi - lo.concurrency > 1) {
      const mid = at((lo.concurrency + hi) >> 1);
      if (mid.perUserTokensPerS >= minPerUserTokensPerS) lo = mid;
      else hi = mid.concurrency;
    }
    return lo;
  }

  return { maxConcurrency, at, best };
}
