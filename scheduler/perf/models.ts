// Model catalog and the figures derived from a model's shape: parameter count and bytes, active parameters,
// forward FLOPs per token, KV bytes per token and the KV manager's layout. Shapes live in models/catalog.ts
// (with sources); custom models pass through models/validate.ts. Counting conventions (tested against the
// published totals in models.test.ts):
// - total params include embeddings, LM head (unless tied), norms and router; MTP heads are excluded;
// - active params are the weights one token's forward pass multiplies: every layer's attention, the dense MLPs,
//   the top-k routed + shared experts and router of MoE layers, and the LM head; not the embedding lookup.
import type { KvLayout } from '../kv/types.js';
import { CATALOG } from './models/catalog.js';
import type { ModelConfig, WeightDtype } from './models/types.js';
import { WEIGHT_DTYPES } from './models/types.js';
import { validateModelConfig } from './models/validate.js';

export type { MlaDims, ModelConfig, MoeSpec, SlidingWindowSpec, WeightDtype } from './models/types.js';
export { WEIGHT_DTYPES } from './models/types.js';
export { validateModelConfig } from './models/validate.js';

export const MODEL_NAMES: readonly string[] = CATALOG.map((m) => m.name);

/** The catalog model with this CLI name; the error lists the names allowed. */
export function getModel(name: string): ModelConfig {
  const model = CATALOG.find((m) => m.name === name);
  if (!model) throw new RangeError(`model must be one of ${MODEL_NAMES.join(', ')}, got ${JSON.stringify(name)}`);
  return model;
}

/** A catalog name, or a full config for any other model (validated). */
export function resolveModel(nameOrConfig: unknown, field = 'model'): ModelConfig {
  return typeof nameOrConfig === 'string' ? getModel(nameOrConfig) : validateModelConfig(nameOrConfig, field);
}

/**
 * Bytes per weight. fp4 is NVFP4: 4-bit values plus one fp8 scale per 16 (0.5 + 1/16); fp8 per-tensor scales and
 * the bf16 tensors that quantized checkpoints usually keep (norms, router, sometimes embeddings) are ignored.
 */
export const WEIGHT_BYTES: Readonly<Record<WeightDtype, number>> = { bf16: 2, fp8: 1, fp4: 0.5 + 1 / 16 };

/** Bytes per cached K/V element; matches KvLayout.bytesPerElement (fp4 KV scales are ignored). */
export const KV_BYTES: Readonly<Record<WeightDtype, number>> = { bf16: 2, fp8: 1, fp4: 0.5 };

function checkDtype(dtype: string, field: string): WeightDtype {
  if (!(WEIGHT_DTYPES as readonly string[]).includes(dtype)) {
    throw new RangeError(`${field} must be one of ${WEIGHT_DTYPES.join(', ')}, got ${JSON.stringify(dtype)}`);
  }
  return dtype as WeightDtype;
}

/** Weights of one layer's attention block (projections only). */
export function attentionParamsPerLayer(m: ModelConfig): number {
  const d = m.hiddenSize;
  const h = m.numHeads;
  if (m.mla) {
    const { qLoraRank: q, kvLoraRank: kv, qkRopeHeadDim: rope, qkNopeHeadDim: nope, vHeadDim: v } = m.mla;
    const qProj = q > 0 ? d * q + q + q * h * (nope + rope) : d * h * (nope + rope); // + q_a_layernorm
    const kvProj = d * (kv + rope) + kv + kv * h * (nope + v); // kv_a (latent + rope key), kv_a_layernorm, kv_b
    return qProj + kvProj + h * v * d;
  }
  return d * (h + 2 * m.numKvHeads) * m.headDim + h * m.headDim * d;
}

/** Number of layers with a dense MLP and with MoE experts. */
export function layerCounts(m: ModelConfig): { denseLayers: number; moeLayers: number } {
  const denseLayers = m.moe ? m.moe.firstDenseLayers : m.numLayers;
  return { denseLayers, moeLayers: m.numLayers - denseLayers };
}

const gatedMlp = (d: number, ffn: number): number => 3 * d * ffn; // gate, up, down

/** Total parameter count (see the counting conventions at the top). */
export function paramCount(m: ModelConfig): number {
  const d = m.hiddenSize;
  const { denseLayers, moeLayers } = layerCounts(m);
  let total = m.numLayers * (attentionParamsPerLayer(m) + 2 * d) + denseLayers * gatedMlp(d, m.denseFfnSize);
  if (m.moe) {
    const e = m.moe;
    const perLayer =
      e.numExperts * gatedMlp(d, e.expertFfnSize) + e.numSharedExperts * gatedMlp(d, e.sharedExpertFfnSize) + d * e.numExperts;
    total += moeLayers * perLayer;
  }
  total += m.vocabSize * d * (m.tiedEmbeddings ? 1 : 2) + d; // embeddings, LM head, final norm
  return total + m.extraParams;
}

/** Parameters one token's forward pass multiplies (see the conventions at the top). */
export function activeParamCount(m: ModelConfig): number {
  const d = m.hiddenSize;
  const { denseLayers, moeLayers } = layerCounts(m);
  let active = m.numLayers * attentionParamsPerLayer(m) + denseLayers * gatedMlp(d, m.denseFfnSize);
  if (m.moe) {
    const e = m.moe;
    const perLayer =
      e.numActiveExperts * gatedMlp(d, e.expertFfnSize) +
      e.numSharedExperts * gatedMlp(d, e.sharedExpertFfnSize) +
      d * e.numExperts;
    active += moeLayers * perLayer;
  }
  return active + m.vocabSize * d; // LM head
}

/** Weight bytes of the whole model in one dtype (all weights in that dtype). */
export function paramBytes(m: ModelConfig, dtype: WeightDtype): number {
  return paramCount(m) * WEIGHT_BYTES[checkDtype(dtype, 'dtype')];
}

/**
 * Forward FLOPs for one token that sees `contextTokens` tokens (itself included): 2 × active params for the
 * GEMMs plus, per layer, QKᵀ and PV: 2 × heads × (qk width + v width) × attended tokens; sliding-window layers
 * attend to at most windowTokens. MLA is counted in its non-absorbed (prefill) form: qk 192, v 128.
 */
export function flopsPerToken(m: ModelConfig, contextTokens: number): number {
  const qkDim = m.headDim;
  const vDim = m.mla ? m.mla.vHeadDim : m.headDim;
  const perAttended = 2 * m.numHeads * (qkDim + vDim);
  const sliding = m.slidingWindow;
  const numSliding = sliding ? sliding.numSlidingLayers : 0;
  const slidingCtx = sliding ? Math.min(contextTokens, sliding.windowTokens) : 0;
  const attention = perAttended * ((m.numLayers - numSliding) * contextTokens + numSliding * slidingCtx);
  return 2 * activeParamCount(m) + attention;
}

/** KV elements one token adds to one layer: MLA latent + rope key, or K and V of every KV head. */
export function kvElementsPerLayer(m: ModelConfig): number {
  return m.mla ? m.mla.kvLoraRank + m.mla.qkRopeHeadDim : 2 * m.numKvHeads * m.headDim;
}

/**
 * KV bytes per token over the whole model (all GPUs), counting every layer, sliding ones included: what an
 * allocator that does not free out-of-window blocks pays. See kvBytesPerTokenGrowing for the window-aware view.
 */
export function kvBytesPerToken(m: ModelConfig, kvDtype: WeightDtype): number {
  return m.numLayers * kvElementsPerLayer(m) * KV_BYTES[checkDtype(kvDtype, 'kvDtype')];
}

/** KV bytes per token of the full-attention layers only: the part that grows with context. */
export function kvBytesPerTokenGrowing(m: ModelConfig, kvDtype: WeightDtype): number {
  const full = m.numLayers - (m.slidingWindow ? m.slidingWindow.numSlidingLayers : 0);
  return full * kvElementsPerLayer(m) * KV_BYTES[checkDtype(kvDtype, 'kvDtype')];
}

/** Fixed KV bytes per sequence held by the sliding-window layers once the context exceeds the window. */
export function slidingKvBytesPerSequence(m: ModelConfig, kvDtype: WeightDtype): number {
  const w = m.slidingWindow;
  if (!w) return 0;
  return w.numSlidingLayers * w.windowTokens * kvElementsPerLayer(m) * KV_BYTES[checkDtype(kvDtype, 'kvDtype')];
}

export interface KvLayoutOptions {
  tensorParallel: number;
  kvDtype: WeightDtype;
  /** Count only the full-attention layers (the KV manager then sizes sliding layers separately). Default false. */
  slidingWindowAware?: boolean;
}

/** The KV manager's layout (scheduler/kv/types.ts) for this model on a tensor-parallel group. */
export function kvLayout(m: ModelConfig, options: KvLayoutOptions): KvLayout {
  const tp = options.tensorParallel;
  if (!Number.isInteger(tp) || tp < 1) {
    throw new RangeError(`tensorParallel must be an integer ≥ 1, got ${String(tp)}`);
  }
  const bytesPerElement = KV_BYTES[checkDtype(options.kvDtype, 'kvDtype')];
  const sliding = options.slidingWindowAware && m.slidingWindow ? m.slidingWindow.numSlidingLayers : 0;
  const numLayers = m.numLayers - sliding;
  if (m.mla) {
    const mlaLatentDim = m.mla.kvLoraRank + m.mla.qkRopeHeadDim;
    return { numLayers, numKvHeads: 0, headDim: 0, mlaLatentDim, bytesPerElement, tensorParallel: tp };
  }
  return { numLayers, numKvHeads: m.numKvHeads, headDim: m.headDim, mlaLatentDim: 0, bytesPerElement, tensorParallel: tp };
}
