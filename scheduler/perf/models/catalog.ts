// The built-in models, by the names the CLI takes (architecture.md §5). Figures are HF config.json values; source
// keys are those of docs/reference/anchors-performance.md §6 where the figure appears there. Values marked
// "(memory)" were not checked against a document in this repository: they are recalled from the public config.json
// and cross-checked only by reproducing the published total/active parameter counts in models.test.ts.
import type { ModelConfig } from './types.js';

/** Llama 3.1 70B: LLAMA-CFG (80 L, d 8192, 64/8 heads, head_dim 128, FFN 28,672, vocab 128,256) ≈ 70.6e9 params. */
const LLAMA_31_70B: ModelConfig = {
  name: 'llama-3.1-70b',
  source: 'HF meta-llama/Llama-3.1-70B config.json (anchors LLAMA-CFG)',
  numLayers: 80,
  hiddenSize: 8192,
  numHeads: 64,
  numKvHeads: 8,
  headDim: 128,
  mla: null,
  denseFfnSize: 28672,
  moe: null,
  slidingWindow: null,
  vocabSize: 128256,
  tiedEmbeddings: false,
  maxContextTokens: 131072, // 128K, rope_scaling llama3 (model card)
  extraParams: 0,
};

/** Llama 3.1 405B: LLAMA405-CFG (126 L, d 16,384, 128/8 heads, FFN 53,248) ≈ 405.9e9 params (model card 405B). */
const LLAMA_31_405B: ModelConfig = {
  name: 'llama-3.1-405b',
  source: 'HF meta-llama/Llama-3.1-405B config.json (anchors LLAMA405-CFG); MP16 original checkpoint has 16 KV heads',
  numLayers: 126,
  hiddenSize: 16384,
  numHeads: 128,
  numKvHeads: 8,
  headDim: 128,
  mla: null,
  denseFfnSize: 53248,
  moe: null,
  slidingWindow: null,
  vocabSize: 128256,
  tiedEmbeddings: false,
  maxContextTokens: 131072,
  extraParams: 0,
};

/**
 * DeepSeek-R1 = DeepSeek-V3 shape: DSV3-CFG, TRT-B1, TRT-B3. 61 L (3 dense + 58 MoE), d 7168, 128 heads, MLA with
 * q_lora 1536, kv_lora 512, rope 64, nope 128, v 128; 256 routed experts (8 active) + 1 shared, expert FFN 2048,
 * dense FFN 18,432; vocab 129,280 (memory). 671e9 total / 37e9 active (DeepSeek-V3 report, arXiv 2412.19437);
 * the 14e9 multi-token-prediction module is excluded, as in the 671B figure.
 */
const DEEPSEEK_R1: ModelConfig = {
  name: 'deepseek-r1',
  source: 'HF deepseek-ai/DeepSeek-V3 config.json + arXiv 2412.19437 (anchors DSV3-CFG, TRT-B1, TRT-B3)',
  numLayers: 61,
  hiddenSize: 7168,
  numHeads: 128,
  numKvHeads: 128,
  headDim: 192, // qk_nope 128 + qk_rope 64
  mla: { qLoraRank: 1536, kvLoraRank: 512, qkRopeHeadDim: 64, qkNopeHeadDim: 128, vHeadDim: 128 },
  denseFfnSize: 18432,
  moe: {
    numExperts: 256,
    numActiveExperts: 8,
    numSharedExperts: 1,
    expertFfnSize: 2048,
    sharedExpertFfnSize: 2048,
    firstDenseLayers: 3,
  },
  slidingWindow: null,
  vocabSize: 129280,
  tiedEmbeddings: false,
  maxContextTokens: 163840, // config.json max_position_embeddings (YaRN); the model card advertises 128K
  extraParams: 0,
};

/**
 * gpt-oss-120b: GPTOSS-CFG. 36 L, d 2880, 64 Q / 8 KV heads, head_dim 64, 128 experts (4 active), expert FFN 2880
 * (memory), alternating sliding-window (128 tokens) / full layers, vocab 201,088 (memory), 131,072 context (memory).
 * Model card: 116.8e9 total / 5.1e9 active. Attention/expert biases and attention sinks (~0.04e9) are ignored.
 */
const GPT_OSS_120B: ModelConfig = {
  name: 'gpt-oss-120b',
  source: 'HF openai/gpt-oss-120b config.json via vLLM GptOssConfig (anchors GPTOSS-CFG); OpenAI model card',
  numLayers: 36,
  hiddenSize: 2880,
  numHeads: 64,
  numKvHeads: 8,
  headDim: 64,
  mla: null,
  denseFfnSize: 0,
  moe: {
    numExperts: 128,
    numActiveExperts: 4,
    numSharedExperts: 0,
    expertFfnSize: 2880,
    sharedExpertFfnSize: 0,
    firstDenseLayers: 0,
  },
  slidingWindow: { windowTokens: 128, numSlidingLayers: 18 },
  vocabSize: 201088,
  tiedEmbeddings: false,
  maxContextTokens: 131072,
  extraParams: 0,
};

/**
 * Qwen3-Coder-480B-A35B-Instruct (memory: HF Qwen/Qwen3-Coder-480B-A35B-Instruct config.json): 62 L, d 6144,
 * 96 Q / 8 KV heads, head_dim 128, 160 experts (8 active, no shared), expert FFN 2560, every layer MoE,
 * vocab 151,936, 262,144 native context. Model card: 480e9 total / 35e9 active.
 */
const QWEN3_CODER_480B: ModelConfig = {
  name: 'qwen3-coder-480b',
  source: 'HF Qwen/Qwen3-Coder-480B-A35B-Instruct config.json and model card (memory; not in anchors)',
  numLayers: 62,
  hiddenSize: 6144,
  numHeads: 96,
  numKvHeads: 8,
  headDim: 128,
  mla: null,
  denseFfnSize: 0,
  moe: {
    numExperts: 160,
    numActiveExperts: 8,
    numSharedExperts: 0,
    expertFfnSize: 2560,
    sharedExpertFfnSize: 0,
    firstDenseLayers: 0,
  },
  slidingWindow: null,
  vocabSize: 151936,
  tiedEmbeddings: false,
  maxContextTokens: 262144,
  extraParams: 0,
};

/**
 * Llama 2 70B (the MLPerf Inference llama2-70b model, Llama-2-70b-chat-hf): HF meta-llama/Llama-2-70b-hf config.json
 * as mirrored in public repos (e.g. TheBloke/Llama-2-70B-fp16, "_name_or_path": "meta-llama/Llama-2-70b-hf"): 80 L,
 * d 8192, 64 Q / 8 KV heads (head_dim 128), FFN 28,672, vocab 32,000, max_position_embeddings 4,096, untied. The
 * Llama 3.1 70B shape except the vocabulary (32,000 vs 128,256) and the context; ≈ 68.98e9 params.
 */
const LLAMA_2_70B: ModelConfig = {
  name: 'llama-2-70b',
  source: 'HF meta-llama/Llama-2-70b-hf config.json (mirrored by TheBloke/Llama-2-70B-fp16); MLPerf llama2-70b',
  numLayers: 80,
  hiddenSize: 8192,
  numHeads: 64,
  numKvHeads: 8,
  headDim: 128,
  mla: null,
  denseFfnSize: 28672,
  moe: null,
  slidingWindow: null,
  vocabSize: 32000,
  tiedEmbeddings: false,
  maxContextTokens: 4096,
  extraParams: 0,
};

export const CATALOG: readonly ModelConfig[] = [LLAMA_31_70B, LLAMA_31_405B, DEEPSEEK_R1, GPT_OSS_120B, QWEN3_CODER_480B,
  LLAMA_2_70B];
