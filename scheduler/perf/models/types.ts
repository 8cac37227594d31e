// Shape of a transformer as the performance model sees it: only what decides FLOPs, weight bytes and KV bytes.
// Plain data (no classes), so a config can come from YAML/JSON ("any other model") and cross process boundaries.
// Field names follow HF config.json where one exists (in comments). This file imports nothing.

/** Multi-head latent attention (DeepSeek-V2/V3): the KV cache stores one latent of kvLoraRank + qkRopeHeadDim. */
export interface MlaDims {
  /** q_lora_rank; 0 when queries are projected directly from the hidden state. */
  qLoraRank: number;
  /** kv_lora_rank (512 for DeepSeek-V3). */
  kvLoraRank: number;
  /** qk_rope_head_dim (64). */
  qkRopeHeadDim: number;
  /** qk_nope_head_dim (128). */
  qkNopeHeadDim: number;
  /** v_head_dim (128). */
  vHeadDim: number;
}

/** Mixture of experts. Layers [0, firstDenseLayers) use the dense MLP (denseFfnSize); the rest use experts. */
export interface MoeSpec {
  /** n_routed_experts / num_local_experts. */
  numExperts: number;
  /** num_experts_per_tok (top-k). */
  numActiveExperts: number;
  /** n_shared_experts: always-on experts, each of sharedExpertFfnSize. */
  numSharedExperts: number;
  /** moe_intermediate_size: FFN width of one routed expert. */
  expertFfnSize: number;
  /** FFN width of one shared expert (DeepSeek: equals moe_intermediate_size). */
  sharedExpertFfnSize: number;
  /** first_k_dense_replace (DeepSeek: 3); 0 when every layer is MoE. */
  firstDenseLayers: number;
}

/** Some layers attend only to the last windowTokens tokens (gpt-oss: every other layer, window 128). */
export interface SlidingWindowSpec {
  windowTokens: number;
  /** How many of the numLayers layers use the window (gpt-oss-120b: 18 of 36, alternating). */
  numSlidingLayers: number;
}

export interface ModelConfig {
  /** CLI name (llama-3.1-70b) or a user-chosen name for a custom model. */
  name: string;
  /** Where the figures come from (model card / config.json); free text. */
  source: string;
  /** num_hidden_layers. */
  numLayers: number;
  /** hidden_size. */
  hiddenSize: number;
  /** num_attention_heads (query heads). */
  numHeads: number;
  /** num_key_value_heads (GQA); for MLA set equal to numHeads (ignored by the KV formula). */
  numKvHeads: number;
  /** head_dim of Q/K/V for GQA; for MLA the query/key width qkNope + qkRope (192). */
  headDim: number;
  /** Present for MLA models; null for MHA/GQA. */
  mla: MlaDims | null;
  /** intermediate_size of the dense (gated, SwiGLU) MLP; 0 when no layer is dense. */
  denseFfnSize: number;
  moe: MoeSpec | null;
  slidingWindow: SlidingWindowSpec | null;
  /** vocab_size. */
  vocabSize: number;
  /** tie_word_embeddings: true when the LM head reuses the embedding matrix. */
  tiedEmbeddings: boolean;
  /** max_position_embeddings as served: a request beyond it is rejected, never truncated. */
  maxContextTokens: number;
  /** Extra weights not captured by the formulas (MTP heads, biases...) counted in total params; usually 0. */
  extraParams: number;
}

export type WeightDtype = 'bf16' | 'fp8' | 'fp4';
export const WEIGHT_DTYPES: readonly WeightDtype[] = ['bf16', 'fp8', 'fp4'];
