// OpTimes on the fitted op predictors (ops/ + fitted.json): what the step predictor uses by default. Parameter
// vectors are resolved once per (gpu, family, variant) and kept in nested plain objects: no string building on
// the per-call path, which runs many times per simulated step.
import { GPUS, type Gpu } from './gpus.js';
import { contextAttentionMs, generationAttentionMs } from './ops/attention.js';
import { DTYPE_BYTES } from './ops/common.js';
import { gemmInBytes, gemmMs, gemmPeak } from './ops/gemm.js';
import type { Family } from './ops/index.js';
import { ncclMs } from './ops/nccl.js';
import { loadFitted, resolveParams, type ParamTable } from './ops/params.js';
import type { AttnDtype, CollectiveOp, GemmDtype, OpTimes } from './step_types.js';

function gpuNamed(name: string): Gpu {
  const gpu = (GPUS as Record<string, Gpu>)[name];
  if (!gpu) throw new RangeError(`gpu must be one of ${Object.keys(GPUS).join(', ')}, got ${JSON.stringify(name)}`);
  return gpu;
}

export function makeFittedOpTimes(table: ParamTable = loadFitted().params): OpTimes {
  // cache[gpu][family][a][b]: a/b are the dtype (or op) parts of the variant.
  const cache: Record<string, Record<string, Record<string, Record<string, number[]>>>> = {};
  const params = (gpu: Gpu, family: Family, a: string, b: string, variant: () => string): number[] => {
    const byFamily = (cache[gpu.name] ??= {});
    const byA = ((byFamily[family] ??= {})[a] ??= {});
    return (byA[b] ??= resolveParams(table, gpu, family, variant()));
  };
  const attnPeak = (gpu: Gpu, dtype: AttnDtype): number => (dtype === 'fp8' ? gpu.flopsPerS.fp8 : gpu.flopsPerS.bf16);

  return {
    gemmMs(name: string, dtype: GemmDtype, m: number, n: number, k: number): number {
      const gpu = gpuNamed(name);
      return gemmMs(gpu, gemmPeak(gpu, dtype), gemmInBytes(dtype), params(gpu, 'gemm', dtype, '', () => dtype), m, n, k);
    },
    contextAttentionMs(name, batch, isl, heads, kvHeads, headDim, window, attnDtype, kvDtype, cachedTokens): number {
      const gpu = gpuNamed(name);
      const p = params(gpu, 'context_attention', attnDtype, kvDtype, () => `torch_flow|${attnDtype}|${kvDtype}`);
      const peak = attnPeak(gpu, attnDtype);
      const kvBytes = DTYPE_BYTES[kvDtype] as number;
      const full = contextAttentionMs(gpu, peak, kvBytes, p, batch, cachedTokens + isl, heads, kvHeads, headDim, window);
      if (cachedTokens === 0) return full;
      // A chunk after a cached prefix: the measured tables only hold fresh prefills, so take the difference of two
      // fresh prefills (for causal attention that is exactly the new tokens' pairs), never below a fresh chunk of
      // the same length.
      const prefix = contextAttentionMs(gpu, peak, kvBytes, p, batch, cachedTokens, heads, kvHeads, headDim, window);
      const chunk = contextAttentionMs(gpu, peak, kvBytes, p, batch, isl, heads, kvHeads, headDim, window);
      return Math.max(chunk, full - prefix);
    },
    generationAttentionMs(name, batch, kvLength, heads, kvHeads, headDim, window, attnDtype, kvDtype): number {
      const gpu = gpuNamed(name);
      const p = params(gpu, 'generation_attention', attnDtype, kvDtype, () => `torch_flow|${attnDtype}|${kvDtype}`);
      return generationAttentionMs(gpu, attnPeak(gpu, attnDtype), DTYPE_BYTES[kvDtype] as number, p, batch, kvLength, heads,
        kvHeads, headDim, window);
    },
    collectiveMs(name: string, op: CollectiveOp, numGpus: number, messageBytes: number): number {
      const gpu = gpuNamed(name);
      if (numGpus <= 1) return 0;
      return ncclMs(gpu, op === 'all_reduce' ? 1 : 0, params(gpu, 'nccl', op, '', () => `${op}|half`), numGpus, messageBytes);
    },
  };
}
