// Attention predictors (FlashAttention-style kernels), per kernel source and dtype and GPU generation.
//
// Context (prefill, causal): a sequence of s tokens attends to `pairs` (query, key) pairs: s(s+1)/2, or with a
// sliding window w < s, w s - w(w-1)/2. Work: 4 d pairs FLOPs per head (QK^T and PV), one exp per pair on the
// special-function unit (the B300/GB300 doubling shows up here), and Q/K/V/O traffic through HBM.
//   pairs' = b h (pairs + sPad s) (1 + hPad/(b h))   -- diagonal-tile waste and under-filled SMs
//   core = smoothMax(4 d pairs' / (peak eC), pairs' / (expPerS eX), bytes / HBM)
//   time = latency + b h (1 + s/128) perCtaNs + core
//   parameters [eC, eX, sPad, hPad, latencyUs, windowPad, perCtaNs]
// Generation (decode): one query per sequence over L = step + 1 cached tokens (L <= w with a window). Memory
// bound: the K and V caches are read once per KV head.
//   core = smoothMax(kvBytes / (HBM eM), flops / (peak eC), exps / (expPerS eC))
//   time = latency + b kvh (1 + L/kvChunk) perCtaNs + core
//   parameters [eM, eC, kvChunk, latencyUs, perCtaNs, perHeadMemEff, kvPad, occupancyPad]  (KV bytes use
//   L + kvPad; memory time x (1 + occupancyPad / CTAs), CTAs = b kvh (1 + L/kvChunk))
//   (query groups above MAX_SHARED_KV_GROUP re-read the KV per query head, at efficiency perHeadMemEff)
// Both are non-decreasing in batch, sequence/KV length and heads, so more work is never predicted faster.
import { type Gpu } from '../gpus.js';
import { OVERLAP_Q, smoothMax3 } from './common.js';

export const CONTEXT_PARAMS = ['computeEff', 'expEff', 'seqPad', 'headPad', 'latencyUs', 'windowPad', 'perCtaNs'] as const;
export const CONTEXT_INIT: readonly number[] = [0.5, 0.5, 256, 64, 10, 128, 1];
export const GENERATION_PARAMS = ['memEff', 'computeEff', 'kvChunk', 'latencyUs', 'perCtaNs', 'perHeadMemEff', 'kvPad', 'occupancyPad'] as const;
export const GENERATION_INIT: readonly number[] = [0.6, 0.3, 512, 8, 1, 0.3, 64, 100];

/** Causal (query, key) pairs for a prefill of s tokens with sliding window w (0 = full). */
function causalPairs(s: number, w: number): number {
  return w > 0 && w < s ? w * s - (w * (w - 1)) / 2 : (s * (s + 1)) / 2;
}

/** Prefill latency in ms. attnPeak: FLOP/s for attn_dtype; kvBytes: bytes/element of the KV cache. */
export function contextAttentionMs(
  gpu: Gpu, attnPeak: number, kvBytes: number, p: ArrayLike<number>,
  batch: number, isl: number, heads: number, kvHeads: number, headDim: number, window: number,
): number {
  // Sliding-window kernels work in whole tiles: the effective window is w + windowPad. Causal masking is applied
  // per tile, so about seqPad x s extra pairs are computed on the diagonal; small batch x heads fill few SMs.
  const w = window > 0 ? window + (p[5] as number) : 0;
  const pairs = batch * heads * (causalPairs(isl, w) + (p[2] as number) * isl) * (1 + (p[3] as number) / (batch * heads));
  const computeS = (4 * headDim * pairs) / (attnPeak * (p[0] as number));
  const expS = pairs / (gpu.expPerS * (p[1] as number));
  const bytes = batch * isl * headDim * (4 * heads + 2 * kvHeads * kvBytes);
  const memoryS = bytes / gpu.hbmBytesPerS;
  const core = smoothMax3(computeS, expS, memoryS, OVERLAP_Q);
  // Fixed cost per CTA (one per 128-query tile per head per sequence): dominates very short prefills of many heads.
  const ctaMs = batch * heads * (1 + isl / 128) * (p[6] as number) * 1e-6;
  return (p[4] as number) * 1e-3 + ctaMs + core * 1e3;
}

/** Largest query-head group (heads / kvHeads) the grouped decode kernel (TRT-LLM XQA) serves by reading each KV
 * head once. Above it the generic kernel walks the KV cache once per query head. ASSUMPTION read off the data:
 * measured decode with groups of 48-128 is 4-10x slower than one KV read predicts, groups <= 32 are not. */
export const MAX_SHARED_KV_GROUP = 32;

/** Decode latency in ms for `batch` sequences each with `step` cached tokens. */
export function generationAttentionMs(
  gpu: Gpu, attnPeak: number, kvBytes: number, p: ArrayLike<number>,
  batch: number, step: number, heads: number, kvHeads: number, headDim: number, window: number,
): number {
  let kvLen = step + 1;
  if (window > 0 && window < kvLen) kvLen = window;
  const kvReads = heads > MAX_SHARED_KV_GROUP * kvHeads ? heads : kvHeads;
  // Per-query-head KV walks run at their own fitted efficiency (p[5]); grouped reads at p[0].
  const memEff = kvReads === kvHeads ? (p[0] as number) : (p[5] as number);
  // KV is read in whole pages/tiles: about kvPad extra tokens per sequence (dominates short contexts, big batches).
  const bytes = batch * ((kvLen + (p[6] as number)) * kvReads * headDim * 2 * kvBytes + heads * headDim * 4);
  // Split-KV CTAs (batch x KV walks x chunks of kvChunk tokens) must fill the SMs to reach full HBM bandwidth.
  const ctas = batch * kvReads * (1 + kvLen / (p[2] as number));
  const memoryS = (bytes / (gpu.hbmBytesPerS * memEff)) * (1 + (p[7] as number) / ctas);
  const pairs = batch * heads * kvLen;
  const computeS = (4 * headDim * pairs) / (attnPeak * (p[1] as number));
  const expS = pairs / (gpu.expPerS * (p[1] as number));
  const core = smoothMax3(memoryS, computeS, expS, OVERLAP_Q);
  // Fixed cost per CTA: split-KV kernels launch one CTA per (sequence, KV walk, chunk of kvChunk tokens).
  const ctaMs = ctas * (p[4] as number) * 1e-6;
  return (p[3] as number) * 1e-3 + ctaMs + core * 1e3;
}
