// UN-CALIBRATED FALLBACK. A first-principles OpTimes: each op takes max(FLOPs / peak, bytes / HBM bandwidth) plus
// a fixed kernel latency; collectives take latency + ring traffic / link bandwidth. No efficiency curves and no
// fitting: it assumes every kernel reaches peak, so it is optimistic (real kernels reach roughly 40-80% of peak,
// see issue 3). It exists so the step predictor is usable and testable before the fitted op predictors
// (scheduler/perf/fit.ts) are adapted to the OpTimes interface; prefer those for any number you report.
// The caller passes the peak figures (e.g. from scheduler/perf/gpus.ts); none are hard-coded here.
import type { AttnDtype, CollectiveOp, GemmDtype, OpTimes } from './step_types.js';

export interface RooflineGpuSpec {
  /** Dense tensor-core TFLOP/s (not the 2:4-sparse headline). */
  bf16Tflops: number;
  fp8Tflops: number;
  /** 0 where the GPU has no FP4 tensor cores (Hopper): nvfp4 GEMMs are then refused. */
  fp4Tflops: number;
  /** HBM bandwidth, TB/s. */
  hbmTBps: number;
  /** NVLink bandwidth per GPU and direction, GB/s. */
  linkGBps: number;
  /** Fixed cost of one collective, microseconds. */
  linkLatencyUs: number;
  /** Fixed cost of one kernel (launch + tail), microseconds. */
  kernelLatencyUs: number;
}

/** Bytes per GEMM operand element: nvfp4 carries one fp8 scale per 16 values. */
const GEMM_BYTES: Record<GemmDtype, number> = { bfloat16: 2, fp8: 1, fp8_block: 1, nvfp4: 0.5 + 1 / 16 };
const OUT_BYTES = 2;

interface Resolved {
  peakFlops: Record<GemmDtype, number>;
  bytesPerS: number;
  linkBytesPerS: number;
  linkLatencyMs: number;
  kernelLatencyMs: number;
  name: string;
}

function resolve(name: string, g: RooflineGpuSpec): Resolved {
  for (const key of Object.keys(g) as (keyof RooflineGpuSpec)[]) {
    const v = g[key];
    const allowZero = key === 'fp4Tflops' || key === 'linkLatencyUs' || key === 'kernelLatencyUs';
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (v === 0 && !allowZero)) {
      throw new RangeError(`gpus.${name}.${key} must be a finite number > 0, got ${String(v)}`);
    }
  }
  const fp8 = g.fp8Tflops * 1e12;
  return {
    peakFlops: { bfloat16: g.bf16Tflops * 1e12, fp8, fp8_block: fp8, nvfp4: g.fp4Tflops * 1e12 },
    bytesPerS: g.hbmTBps * 1e12,
    linkBytesPerS: g.linkGBps * 1e9,
    linkLatencyMs: g.linkLatencyUs * 1e-3,
    kernelLatencyMs: g.kernelLatencyUs * 1e-3,
    name,
  };
}

/** Σ over query positions cached+1 … cached+isl of the keys each attends to: min(position, window). */
export function attendedPairs(isl: number, cachedTokens: number, windowSize: number): number {
  const first = cachedTokens + 1;
  const last = cachedTokens + isl;
  if (windowSize <= 0 || last <= windowSize) return ((first + last) * isl) / 2;
  if (first >= windowSize) return windowSize * isl;
  return ((first + windowSize) * (windowSize - first + 1)) / 2 + (last - windowSize) * windowSize;
}

/** Traffic factor of a collective on a ring/switch: what each GPU sends, as a multiple of messageBytes. */
function trafficFactor(op: CollectiveOp, n: number): number {
  return op === 'all_reduce' ? (2 * (n - 1)) / n : (n - 1) / n;
}

export function makeRooflineOpTimes(gpus: Readonly<Record<string, RooflineGpuSpec>>): OpTimes {
  const table = new Map<string, Resolved>();
  for (const [name, spec] of Object.entries(gpus)) table.set(name, resolve(name, spec));
  const names = [...table.keys()].join(', ');
  const get = (gpu: string): Resolved => {
    const r = table.get(gpu);
    if (!r) throw new RangeError(`gpu must be one of ${names}, got ${JSON.stringify(gpu)}`);
    return r;
  };
  const attnPeak = (r: Resolved, dtype: AttnDtype): number => (dtype === 'fp8' ? r.peakFlops.fp8 : r.peakFlops.bfloat16);
  const kvBytes = (dtype: AttnDtype): number => (dtype === 'fp8' ? 1 : 2);

  return {
    gemmMs(gpu, dtype, m, n, k) {
      const r = get(gpu);
      const peak = r.peakFlops[dtype];
      if (!(peak > 0)) throw new RangeError(`gemm dtype ${dtype} is not supported on ${gpu}`);
      const b = GEMM_BYTES[dtype];
      const bytes = (m * k + k * n) * b + m * n * OUT_BYTES;
      const s = Math.max((2 * m * n * k) / peak, bytes / r.bytesPerS);
      return s * 1e3 + r.kernelLatencyMs;
    },
    contextAttentionMs(gpu, batch, isl, numHeads, numKvHeads, headDim, windowSize, attnDtype, kvDtype, cachedTokens) {
      const r = get(gpu);
      const flops = 4 * batch * numHeads * headDim * attendedPairs(isl, cachedTokens, windowSize);
      const keys = windowSize > 0 ? Math.min(cachedTokens + isl, windowSize + isl) : cachedTokens + isl;
      const kvRead = keys * 2 * numKvHeads * headDim * kvBytes(kvDtype);
      const qo = isl * numHeads * headDim * 2 * OUT_BYTES;
      const s = Math.max(flops / attnPeak(r, attnDtype), (batch * (kvRead + qo)) / r.bytesPerS);
      return s * 1e3 + r.kernelLatencyMs;
    },
    generationAttentionMs(gpu, batch, kvLength, numHeads, numKvHeads, headDim, windowSize, attnDtype, kvDtype) {
      const r = get(gpu);
      const keys = (windowSize > 0 ? Math.min(kvLength, windowSize) : kvLength) + 1;
      const flops = 4 * batch * numHeads * headDim * keys;
      const bytes = batch * (keys * 2 * numKvHeads * headDim * kvBytes(kvDtype) + numHeads * headDim * 2 * OUT_BYTES);
      const s = Math.max(flops / attnPeak(r, attnDtype), bytes / r.bytesPerS);
      return s * 1e3 + r.kernelLatencyMs;
    },
    collectiveMs(gpu, op, numGpus, messageBytes) {
      const r = get(gpu);
      if (numGpus <= 1) return 0;
      return r.linkLatencyMs + ((trafficFactor(op, numGpus) * messageBytes) / r.linkBytesPerS) * 1e3;
    },
  };
}
