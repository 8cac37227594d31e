// Published serving throughput that the performance model is compared with (`nvlsched perf calibrate`, table
// "published throughput"). Figures and source keys are those of ../shared/docs/reference/anchors-performance.md
// §2a-§2c (keys resolve in its "Sources" list); per-GPU figures are the anchors' total / GPUs. Plain data: the
// comparison itself is published_compare.ts.
//
// Scenario lengths (mean tokens per request) and where they come from:
// - MLPerf llama2-70b: OpenOrca, 24,576 samples, prompts and outputs capped at 1,024 tokens (mlcommons/inference
//   language/llama2-70b/README.md, processorca.py --seqlen_limit=1024). Mean output 294.45 tokens: the reference
//   "Tokens per sample" of that README, also the golden TOKENS_PER_SAMPLE of MLPerf's accuracy table, whose window
//   is [0.9, 1.1]x (anchors' 265 = 0.9 x 294.45). Mean input: no published mean was found in the corpora searched
//   (the README gives only the cap). ASSUMPTION 400, below 600 because at a 600-token mean the published H200
//   Offline rate (4,374 output tok/s/GPU, FP8) would need ≈ 93 % of the H200's dense FP8 peak for the GEMMs alone
//   (2 × 69e9 FLOP × (1 + 600/294) per output token); at 400 it needs ≈ 72 %. 300 or 600 instead of 400 moves the
//   Llama 2 70B ratios by about +17 % / -22 %.
// - MLPerf deepseek-r1: 4,388 samples of AIME, MATH500, GPQA, MMLU-Pro and LiveCodeBench (mlcommons/inference
//   language/deepseek-r1/README.md). Mean output 3,886 tokens: golden TOKENS_PER_SAMPLE 3,886.2274 (anchors' 3,498 =
//   0.9 x 3,886, the lower accuracy bound; the README's PyTorch reference run averaged 4,043). Mean input: ASSUMPTION
//   800 tokens (exam-style questions, longer for LiveCodeBench); prefill then adds about a fifth to the tokens of a
//   step, and 400 or 1,600 instead of 800 moves the DeepSeek-R1 ratios by about +15 % / -20 %.
// - InferenceMAX "1k/1k" and "8k/1k": nominal 1,024 (8,192) input and 1,024 output tokens. ASSUMPTION: means equal
//   the nominal lengths (the harness draws lengths in a range at or below them, so true means are somewhat lower).
//
// Which tokens are counted: MLPerf counts output tokens. InferenceMAX charts show input + output tokens/s per GPU
// (`tput_per_gpu`; SemiAnalysisAI/InferenceX issues #293 and #129), so those figures are converted to output tokens
// with the scenario's lengths (x osl / (isl + osl), half for 1k/1k) before the ratio is taken. anchors §2c (and its
// calc note comparing 4,431 with an output-token ceiling) reads them as output tokens; the issues say otherwise.
//
// Per-user floors: MLPerf Server / Interactive p99 TPOT limits (anchors §2a, MLCONF) as 1000 / TPOT ms tokens/s;
// the estimator holds the mean step time to it (p99 is stricter). InferenceMAX points are read at the tok/s/user of
// the curve. Offline has no floor. TTFT limits are not modelled.
//
// Instances: the estimator picks the best of `candidates` (as a submitter tunes its configuration). Dtypes are
// ASSUMPTIONS: NVFP4 weights with FP8 KV on Blackwell, FP8 on Hopper (anchors §2d for DeepSeek-R1 on TRT-LLM: FP4
// MoE, FP8 KV; the MLPerf READMEs cited do not state the precision). The step predictor has one GEMM dtype
// per instance, no attention data parallelism, no MTP and no disaggregation: where a published run relies on those,
// the comparison says so in `note`.
import type { GpuName } from './gpus.js';
import type { GemmDtype, InstanceSpec } from './step_types.js';

export interface PublishedPoint {
  /** Unique row label. */
  id: string;
  /** Source key of anchors-performance.md. */
  source: string;
  /** Benchmark and scenario as printed, e.g. 'MLPerf v5.1 Server'. */
  benchmark: string;
  /** Catalog model name (models/catalog.ts). */
  model: string;
  gpu: GpuName;
  /** Mean prompt and output tokens per request (see the header for their sources). */
  islTokens: number;
  oslTokens: number;
  /** Per-user output tokens/s the run had to sustain; absent for Offline (maximum throughput). */
  minPerUserTokensPerS?: number;
  /** Instances the estimator may use; the highest predicted throughput is compared. */
  candidates: InstanceSpec[];
  /** Published tokens/s per GPU, as published (see `counts`). */
  publishedTokensPerSPerGpu: number;
  /** What the published figure counts: output tokens (MLPerf) or input + output tokens (InferenceMAX charts). */
  counts: 'output' | 'input+output';
  /** What the published run did that the estimator does not model, or caveats on the figure. */
  note: string;
}

/** MLPerf mean lengths (see the header). */
const L2_70B_ISL = 400; // ASSUMPTION (see the header)
const L2_70B_OSL = 294; // 294.45, golden TOKENS_PER_SAMPLE
const DS_R1_ISL = 800; // ASSUMPTION
const DS_R1_OSL = 3886; // 3,886.2274, golden TOKENS_PER_SAMPLE

/** 1000 / p99 TPOT limit (anchors §2a). */
const L2_SERVER_TOK_S = 1000 / 200;
const L2_INTERACTIVE_TOK_S = 1000 / 40;
const DS_R1_SERVER_TOK_S = 1000 / 80;

function dense(gpu: GpuName, gemmDtype: GemmDtype, kvDtype: 'fp8' | 'bfloat16', tps: number[]): InstanceSpec[] {
  return tps.map((tp) => ({ gpu, tensorParallel: tp, expertParallel: 1, gemmDtype, kvDtype }));
}

/** MoE instances with expert parallelism equal to tensor parallelism (and, when `alsoEp1`, experts TP-split too). */
function moe(gpu: GpuName, gemmDtype: GemmDtype, kvDtype: 'fp8' | 'bfloat16', tps: number[], alsoEp1 = false): InstanceSpec[] {
  return tps.flatMap((tp) => [
    { gpu, tensorParallel: tp, expertParallel: tp, gemmDtype, kvDtype },
    ...(alsoEp1 && tp > 1 ? [{ gpu, tensorParallel: tp, expertParallel: 1, gemmDtype, kvDtype }] : []),
  ]);
}

const TP_8GPU = [1, 2, 4, 8];
/** DeepSeek-R1 needs 8 GPUs for its FP4 weights (~377 GB); NVL72 racks also allow wider TP/EP. */
const DS_TP_HGX = [8];
const DS_TP_NVL72 = [8, 16, 32];

const BLACKWELL_L2_NOTE = 'NVFP4 weights, FP8 KV (ASSUMPTION: NVIDIA Blackwell MLPerf recipe)';
const DS_MLPERF_NOTE = 'published run: attention data parallelism + EP (TRT-LLM); modelled as TP=EP (MLA latent read on every rank)';

export const PUBLISHED_POINTS: readonly PublishedPoint[] = [
  // MLPerf Inference v5.1, Llama 2 70B (anchors §2b).
  ...(['Server', 'Interactive', 'Offline'] as const).flatMap((scenario) => {
    const floor = scenario === 'Server' ? L2_SERVER_TOK_S : scenario === 'Interactive' ? L2_INTERACTIVE_TOK_S : undefined;
    const b200 = { Server: 12_390, Interactive: 7_443, Offline: 12_691 }[scenario];
    const gb200 = { Server: 12_340, Interactive: 7_436, Offline: 12_934 }[scenario];
    return [
      { id: `mlp51-b200-l2-70b-${scenario.toLowerCase()}`, source: 'MLP51-B200', benchmark: `MLPerf v5.1 ${scenario}`,
        model: 'llama-2-70b', gpu: 'b200' as const, islTokens: L2_70B_ISL, oslTokens: L2_70B_OSL,
        ...(floor ? { minPerUserTokensPerS: floor } : {}),
        candidates: dense('b200', 'nvfp4', 'fp8', TP_8GPU), publishedTokensPerSPerGpu: b200, counts: 'output' as const, note: BLACKWELL_L2_NOTE },
      { id: `mlp51-gb200-l2-70b-${scenario.toLowerCase()}`, source: 'MLP51-GB200x4', benchmark: `MLPerf v5.1 ${scenario}`,
        model: 'llama-2-70b', gpu: 'gb200' as const, islTokens: L2_70B_ISL, oslTokens: L2_70B_OSL,
        ...(floor ? { minPerUserTokensPerS: floor } : {}),
        candidates: dense('gb200', 'nvfp4', 'fp8', [1, 2, 4]), publishedTokensPerSPerGpu: gb200, counts: 'output' as const,
        note: `single 4-GPU tray; ${BLACKWELL_L2_NOTE}` },
    ];
  }),
  // MLPerf Inference v5.0, Llama 2 70B on Hopper (FP8).
  ...(['Server', 'Interactive', 'Offline'] as const).map((scenario) => ({
    id: `mlp50-h200-l2-70b-${scenario.toLowerCase()}`, source: 'MLP50-H200', benchmark: `MLPerf v5.0 ${scenario}`,
    model: 'llama-2-70b', gpu: 'h200' as const, islTokens: L2_70B_ISL, oslTokens: L2_70B_OSL,
    ...(scenario === 'Offline' ? {} : { minPerUserTokensPerS: scenario === 'Server' ? L2_SERVER_TOK_S : L2_INTERACTIVE_TOK_S }),
    candidates: dense('h200', 'fp8', 'fp8', TP_8GPU),
    publishedTokensPerSPerGpu: { Server: 4_134, Interactive: 2_428, Offline: 4_374 }[scenario], counts: 'output' as const,
    note: 'FP8 weights and KV (ASSUMPTION)',
  })),
  ...(['Server', 'Offline'] as const).map((scenario) => ({
    id: `mlp50-h100-l2-70b-${scenario.toLowerCase()}`, source: 'MLP50-H100', benchmark: `MLPerf v5.0 ${scenario}`,
    model: 'llama-2-70b', gpu: 'h100' as const, islTokens: L2_70B_ISL, oslTokens: L2_70B_OSL,
    ...(scenario === 'Server' ? { minPerUserTokensPerS: L2_SERVER_TOK_S } : {}),
    candidates: dense('h100', 'fp8', 'fp8', TP_8GPU),
    publishedTokensPerSPerGpu: { Server: 3_888, Offline: 3_913 }[scenario], counts: 'output' as const,
    note: 'FP8 weights and KV (ASSUMPTION)',
  })),
  // MLPerf Inference v5.1, DeepSeek-R1 (anchors §2b).
  ...([
    ['b200', 'MLP51-B200', DS_TP_HGX, 2_324, 4_172],
    ['gb200', 'MLP51-GB200', DS_TP_NVL72, 2_327, 4_024],
    ['gb300', 'MLP51-GB300', DS_TP_NVL72, 2_907, 5_843],
  ] as const).flatMap(([gpu, source, tps, server, offline]) => (['Server', 'Offline'] as const).map((scenario) => ({
    id: `mlp51-${gpu}-ds-r1-${scenario.toLowerCase()}`, source, benchmark: `MLPerf v5.1 ${scenario}`,
    model: 'deepseek-r1', gpu, islTokens: DS_R1_ISL, oslTokens: DS_R1_OSL,
    ...(scenario === 'Server' ? { minPerUserTokensPerS: DS_R1_SERVER_TOK_S } : {}),
    candidates: moe(gpu, 'nvfp4', 'fp8', [...tps]),
    publishedTokensPerSPerGpu: scenario === 'Server' ? server : offline, counts: 'output' as const,
    note: `${DS_MLPERF_NOTE}; every GEMM in NVFP4 (published: FP4 MoE, FP8 attention)`,
  }))),
  // InferenceMAX, Llama 3.3 70B (the Llama 3.1 70B shape) 1k/1k on B200 (anchors §2c, IX-L70).
  ...([
    ['fp8', 76, 4_431], ['fp8', 108, 2_744], ['fp8', 139, 912],
    ['nvfp4', 76, 5_971], ['nvfp4', 108, 3_099], ['nvfp4', 139, 1_032],
  ] as const).map(([dtype, perUser, published]) => ({
    id: `ix-b200-l33-70b-${dtype}-${perUser}`, source: 'IX-L70', benchmark: `InferenceMAX 1k/1k @${perUser} tok/s/user`,
    model: 'llama-3.1-70b', gpu: 'b200' as const, islTokens: 1024, oslTokens: 1024, minPerUserTokensPerS: perUser,
    candidates: dense('b200', dtype, 'fp8', TP_8GPU), publishedTokensPerSPerGpu: published, counts: 'input+output' as const,
    note: `Llama 3.3 70B = Llama 3.1 70B shape; ${dtype === 'fp8' ? 'FP8' : 'NVFP4'} weights, FP8 KV (ASSUMPTION)`,
  })),
  // InferenceMAX, gpt-oss-120b FP4 1k/1k on B200 (anchors §2c, IX-GPTOSS).
  ...([[72, 25_320], [86, 22_213], [100, 20_939]] as const).map(([perUser, published]) => ({
    id: `ix-b200-gpt-oss-120b-${perUser}`, source: 'IX-GPTOSS', benchmark: `InferenceMAX 1k/1k @${perUser} tok/s/user`,
    model: 'gpt-oss-120b', gpu: 'b200' as const, islTokens: 1024, oslTokens: 1024, minPerUserTokensPerS: perUser,
    candidates: moe('b200', 'nvfp4', 'bfloat16', TP_8GPU, true), publishedTokensPerSPerGpu: published, counts: 'input+output' as const,
    note: 'MXFP4 experts modelled as NVFP4 GEMMs; BF16 KV (ASSUMPTION: vLLM default)',
  })),
  // SemiAnalysis InferenceMAX, DeepSeek-R1 FP4 1k/1k at 125 tok/s/user (anchors §2c, SA-GB200).
  {
    id: 'ix-b200-ds-r1-125', source: 'SA-GB200', benchmark: 'InferenceMAX 1k/1k @125 tok/s/user', model: 'deepseek-r1',
    gpu: 'b200', islTokens: 1024, oslTokens: 1024, minPerUserTokensPerS: 125, candidates: moe('b200', 'nvfp4', 'fp8', DS_TP_HGX),
    publishedTokensPerSPerGpu: 941, counts: 'input+output', note: 'published: Dynamo + TRT-LLM, MTP speculative decoding (not modelled)',
  },
  {
    id: 'ix-gb200-ds-r1-125', source: 'SA-GB200', benchmark: 'InferenceMAX 1k/1k @125 tok/s/user', model: 'deepseek-r1',
    gpu: 'gb200', islTokens: 1024, oslTokens: 1024, minPerUserTokensPerS: 125,
    candidates: moe('gb200', 'nvfp4', 'fp8', DS_TP_NVL72), publishedTokensPerSPerGpu: 4_130, counts: 'input+output',
    note: 'published: disaggregated prefill/decode, decode EP up to 32, MTP (none modelled); per GPU of all GPUs (ASSUMPTION)',
  },
  // NVIDIA's reading of InferenceMAX v1: DeepSeek-R1 8K/1K on GB200 NVL72 at 50 tok/s/user (anchors §2c, NV-IMAX).
  {
    id: 'ix-gb200-ds-r1-8k1k-50', source: 'NV-IMAX', benchmark: 'InferenceMAX 8k/1k @50 tok/s/user', model: 'deepseek-r1',
    gpu: 'gb200', islTokens: 8192, oslTokens: 1024, minPerUserTokensPerS: 50,
    candidates: moe('gb200', 'nvfp4', 'fp8', DS_TP_NVL72), publishedTokensPerSPerGpu: 10_000, counts: 'input+output',
    note: '"~10,000" read off a chart by NVIDIA; published: disaggregated, wide EP, MTP (none modelled)',
  },
];
