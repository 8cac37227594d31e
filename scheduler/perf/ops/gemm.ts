// GEMM predictor: C[m,n] = A[m,k] x B[k,n], m = tokens. Roofline from first principles with five efficiency
// parameters per dtype and GPU generation:
//   compute  = 2 (m + mPad) (n + nPad) (k + kPad) / (peak x computeEff) -- pads: tiles/under-filled waves/prologue,
//                                                                  a saturating efficiency m / (m + mPad)
//   memory   = (m k + k n) inBytes + m n 2 (bf16 out) / (HBM x memEff)
//   time     = latency + smoothMax(compute, memory)
// Monotone in m, n and k because every term is non-decreasing in each.
import { type Gpu } from '../gpus.js';
import { OVERLAP_Q, smoothMax2 } from './common.js';

export const GEMM_DTYPES = ['bfloat16', 'fp8', 'fp8_block', 'nvfp4'] as const;
export type GemmDtype = (typeof GEMM_DTYPES)[number];
export const GEMM_PARAMS = ['computeEff', 'mPad', 'nPad', 'memEff', 'latencyUs', 'kPad'] as const;
export const GEMM_INIT: readonly number[] = [0.7, 64, 256, 0.7, 6, 64];

/** Peak FLOP/s and input bytes/element for a GEMM dtype on a GPU; NaN peak where the GPU lacks the path. */
export function gemmPeak(gpu: Gpu, dtype: GemmDtype): number {
  if (dtype === 'bfloat16') return gpu.flopsPerS.bf16;
  if (dtype === 'nvfp4') return gpu.flopsPerS.fp4 ?? Number.NaN;
  return gpu.flopsPerS.fp8;
}

export function gemmInBytes(dtype: GemmDtype): number {
  // nvfp4 carries one fp8 scale per 16 values (0.5 + 1/16 bytes); fp8_block one fp32 scale per 128x128 block.
  return dtype === 'bfloat16' ? 2 : dtype === 'nvfp4' ? 0.5625 : 1;
}

/** Latency in ms. `peak` from gemmPeak (precompute per GPU/dtype when calling in a loop). */
export function gemmMs(
  gpu: Gpu, peak: number, inBytes: number, p: ArrayLike<number>, m: number, n: number, k: number,
): number {
  const computeS = (2 * (m + (p[1] as number)) * (n + (p[2] as number)) * (k + (p[5] as number))) / (peak * (p[0] as number));
  const bytes = (m * k + k * n) * inBytes + m * n * 2;
  const memoryS = bytes / (gpu.hbmBytesPerS * (p[3] as number));
  return (p[4] as number) * 1e-3 + smoothMax2(computeS, memoryS, OVERLAP_Q) * 1e3;
}
