// The performance model as placement's PlacementCostModel (scheduler/core/types.ts). Placement asks for prefill,
// fetch and decode-step times for every candidate of every request (72+ per decision, p99 budget 50 µs), and a
// step-predictor call costs microseconds, so each pool's step times are condensed at construction into a small
// closed form fitted to the step predictor:
//   prefillS(n new, c cached) ≈ a + b·n + d·n·(c + n/2)   (fixed cost, GEMMs per token, attention over context)
//   decodeStepS(B decodes)    = piecewise-linear in B between powers of two (at a typical KV length; MoE
//                               steps are far from linear in B as more experts are hit)
// The fit is exact at the sampled points up to least-squares residue; `fitReport` says how far off it is.
// A pool may list several instance shapes (one per tensor-parallel degree: prefill instances wider than decode
// ones); an instance's coefficients are then its pool's at its numGpus (= its degree). A pool with one shape serves
// every instance of it whatever its numGpus (callers that describe instances loosely keep working).
import type { InstanceView, PlacementCostModel } from '../core/types.js';
import { GPUS } from './gpus.js';
import { kvBytesPerToken, type ModelConfig, type WeightDtype } from './models.js';
import { makeStepPredictor } from './step.js';
import type { InstanceSpec, OpTimes, StepSequence } from './step_types.js';

export interface PoolPerf {
  pool: string;
  model: ModelConfig;
  instance: InstanceSpec;
  kvDtype: WeightDtype;
  blockTokens: number;
}

interface PoolCoefficients {
  prefill: [number, number, number];
  /** Step seconds at DECODE_BATCHES[i] decodes. */
  decode: number[];
  bytesPerBlock: number;
  nvlinkBytesPerS: number;
  nvlinkLatencyS: number;
  c2cBytesPerS: number;
}

/** KV length assumed for a decode step's sequences (decode time grows slowly with it next to the weight reads). */
const TYPICAL_DECODE_KV_TOKENS = 4096;
/** Fixed cost of starting a transfer besides the link latency (descriptor setup, event sync). ASSUMPTION. */
const TRANSFER_SETUP_S = 20e-6;

/** Solves the normal equations of a small least-squares problem (rows × k, k ≤ 3) by Gaussian elimination. */
function leastSquares(rows: number[][], ys: number[]): number[] {
  const k = rows[0]?.length ?? 0;
  const a = Array.from({ length: k }, () => new Array<number>(k + 1).fill(0));
  rows.forEach((row, r) => {
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < k; j++) (a[i] as number[])[j] = ((a[i] as number[])[j] as number) + (row[i] as number) * (row[j] as number);
      (a[i] as number[])[k] = ((a[i] as number[])[k] as number) + (row[i] as number) * (ys[r] as number);
    }
  });
  for (let col = 0; col < k; col++) {
    const pivot = (a[col] as number[])[col] as number;
    for (let r = 0; r < k; r++) {
      if (r === col || pivot === 0) continue;
      const factor = ((a[r] as number[])[col] as number) / pivot;
      for (let c = col; c <= k; c++) (a[r] as number[])[c] = ((a[r] as number[])[c] as number) - factor * ((a[col] as number[])[c] as number);
    }
  }
  return a.map((row, i) => ((row[k] as number) / (row[i] as number)) || 0);
}

const PREFILL_POINTS: ReadonlyArray<[number, number]> = [
  [64, 0], [512, 0], [2048, 0], [8192, 0], [512, 16384], [2048, 32768], [4096, 65536], [1024, 131072],
];
const DECODE_BATCHES = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

function fitPool(p: PoolPerf, opTimes: OpTimes): PoolCoefficients {
  const predictor = makeStepPredictor(p.model, p.instance, opTimes);
  const maxContext = p.model.maxContextTokens;
  const points = PREFILL_POINTS.filter(([n, c]) => n + c <= maxContext);
  const prefillRows = points.map(([n, c]) => [1, n, n * (c + n / 2)]);
  const prefillYs = points.map(([n, c]) => predictor.predict([{ phase: 'prefill', numNewTokens: n, numCachedTokens: c }]).stepS);
  const kv = Math.min(TYPICAL_DECODE_KV_TOKENS, maxContext - 1);
  const decodeYs = DECODE_BATCHES.map((b) => {
    const batch: StepSequence[] = Array.from({ length: b }, () => ({ phase: 'decode', numNewTokens: 1, numCachedTokens: kv }));
    return predictor.predict(batch).stepS;
  });
  const gpu = GPUS[p.instance.gpu as keyof typeof GPUS];
  if (!gpu) throw new RangeError(`pool ${p.pool}: unknown GPU ${p.instance.gpu}`);
  const [a, b, d] = leastSquares(prefillRows, prefillYs) as [number, number, number];
  return {
    prefill: [Math.max(a, 0), Math.max(b, 0), Math.max(d, 0)],
    decode: decodeYs,
    bytesPerBlock: kvBytesPerToken(p.model, p.kvDtype) * p.blockTokens,
    // A fetch into an instance of N GPUs lands on all N in parallel (each holds its TP shard of the KV).
    nvlinkBytesPerS: gpu.nvlinkBytesPerS * p.instance.tensorParallel,
    nvlinkLatencyS: gpu.nvlinkLatencyS,
    c2cBytesPerS: gpu.hostLinkBytesPerS * p.instance.tensorParallel,
  };
}

export interface PerfCostModel extends PlacementCostModel {
  /**
   * Largest relative error of the closed forms against the step predictor at the fitted points, per pool (per
   * `pool/tpN` for a pool with several degrees).
   */
  fitReport(): Record<string, { prefillMaxRelErr: number; decodeMaxRelErr: number }>;
}

/** The coefficients of one pool: by degree (numGpus), and the only ones when it has a single shape. */
interface PoolEntry {
  byGpus: Map<number, PoolCoefficients>;
  only: PoolCoefficients | undefined;
}

function fitErrors(p: PoolPerf, co: PoolCoefficients, opTimes: OpTimes): { prefillMaxRelErr: number; decodeMaxRelErr: number } {
  const predictor = makeStepPredictor(p.model, p.instance, opTimes);
  const prefillErr = PREFILL_POINTS.filter(([n, c]) => n + c <= p.model.maxContextTokens).map(([n, c]) => {
    const truth = predictor.predict([{ phase: 'prefill', numNewTokens: n, numCachedTokens: c }]).stepS;
    return Math.abs(prefillAt(co, n, c) - truth) / truth;
  });
  const kv = Math.min(TYPICAL_DECODE_KV_TOKENS, p.model.maxContextTokens - 1);
  // Checked between the grid points, where interpolation is least exact.
  const decodeErr = [3, 12, 48, 96, 384, 768].map((b) => {
    const batch: StepSequence[] = Array.from({ length: b }, () => ({ phase: 'decode', numNewTokens: 1, numCachedTokens: kv }));
    const truth = predictor.predict(batch).stepS;
    return Math.abs(decodeAt(co, b) - truth) / truth;
  });
  return { prefillMaxRelErr: Math.max(...prefillErr), decodeMaxRelErr: Math.max(...decodeErr) };
}

export function makePerfCostModel(pools: readonly PoolPerf[], opTimes: OpTimes): PerfCostModel {
  const byPool = new Map<string, PoolEntry>();
  for (const p of pools) {
    const entry = byPool.get(p.pool) ?? { byGpus: new Map(), only: undefined };
    const tp = p.instance.tensorParallel;
    if (entry.byGpus.has(tp)) throw new RangeError(`placement cost model: pool ${p.pool} lists tensorParallel ${tp} twice`);
    entry.byGpus.set(tp, fitPool(p, opTimes));
    entry.only = entry.byGpus.size === 1 ? entry.byGpus.get(tp) : undefined;
    byPool.set(p.pool, entry);
  }
  const report: Record<string, { prefillMaxRelErr: number; decodeMaxRelErr: number }> = {};
  for (const p of pools) {
    const entry = byPool.get(p.pool) as PoolEntry;
    const key = entry.only ? p.pool : `${p.pool}/tp${p.instance.tensorParallel}`;
    report[key] = fitErrors(p, entry.byGpus.get(p.instance.tensorParallel) as PoolCoefficients, opTimes);
  }
  // Placement asks for every candidate, and candidates of one decision share their pool (and mostly their degree):
  // remember the last one. Two compares, no allocation.
  let lastPool: string | undefined;
  let lastGpus = -1;
  let lastCo: PoolCoefficients | undefined;
  const coefficients = (instance: InstanceView): PoolCoefficients => {
    if (instance.pool === lastPool && instance.numGpus === lastGpus) return lastCo as PoolCoefficients;
    const entry = byPool.get(instance.pool);
    if (!entry) throw new RangeError(`placement cost model: no performance figures for pool ${instance.pool}`);
    const co = entry.only ?? entry.byGpus.get(instance.numGpus);
    if (!co) {
      throw new RangeError(`placement cost model: no performance figures for pool ${instance.pool} at ${instance.numGpus} GPUs (has tensorParallel ${[...entry.byGpus.keys()].join(', ')})`);
    }
    lastPool = instance.pool;
    lastGpus = instance.numGpus;
    lastCo = co;
    return co;
  };
  return {
    prefillS: (instance, numNewTokens, numCachedTokens) =>
      numNewTokens <= 0 ? 0 : prefillAt(coefficients(instance), numNewTokens, numCachedTokens),
    fetchS(instance, numBlocks, link) {
      if (numBlocks <= 0) return 0;
      const co = coefficients(instance);
      const bytes = numBlocks * co.bytesPerBlock;
      return link === 'nvlink' ? TRANSFER_SETUP_S + co.nvlinkLatencyS + bytes / co.nvlinkBytesPerS : TRANSFER_SETUP_S + bytes / co.c2cBytesPerS;
    },
    decodeStepS: (instance) => decodeAt(coefficients(instance), instance.decodingSequences),
    fitReport: () => report,
  };
}

function prefillAt(co: PoolCoefficients, n: number, c: number): number {
  const [a, b, d] = co.prefill;
  return a + b * n + d * n * (c + n / 2);
}

function decodeAt(co: PoolCoefficients, numDecodes: number): number {
  const b = numDecodes >= 1 ? numDecodes : 1;
  const ys = co.decode;
  // Grid i holds batch 2^i; beyond the last point extend the last segment's slope. floor(log2 b) by clz32 and
  // 1 << i rather than Math.log2 / 2 ** i: this runs for every candidate of every placement (two scorers each).
  const last = ys.length - 2;
  const i = b >= 2 ** 31 ? last : Math.min(31 - Math.clz32(b), last);
  const lo = 1 << i;
  const y0 = ys[i] as number;
  const y1 = ys[i + 1] as number;
  return y0 + ((y1 - y0) * (b - lo)) / lo;
}
