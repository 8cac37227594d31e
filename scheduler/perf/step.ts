// Step predictor: the time of one engine step (a batch of prefill chunks and decode tokens) for a model on an
// instance, as the sum of per-op latencies from an injected OpTimes (step_types.ts). Everything that depends only
// on (model, instance) — per-GPU GEMM shapes, heads per GPU, layer counts — is computed once in the factory; a call
// allocates nothing when given `out`. Layers of one kind share one shape, so each op is asked once per step and
// multiplied by its layer count. Modelling choices (un-calibrated, see the report in issue 3):
// - GEMM m is the step's token count; the LM head runs on one row per sequence;
// - MoE: tokens × top-k routings spread uniformly over EP ranks; the weights read are those of the experts hit,
//   expected localExperts × (1 − (1 − k/E)^tokens), each fed routings / experts-hit rows (m may be fractional),
//   run as one grouped GEMM per projection (n = experts hit × width);
// - MLA: prefill attention as MHA with qk width 192, decode as MQA over the 576-wide latent (absorbed form);
// - communication: 2 all-reduces per layer over TP; MoE layers with EP > 1 instead do 1 all-reduce after
//   attention plus an all-to-all dispatch and combine of each rank's share of the routed tokens;
// - decodes are grouped by KV length in power-of-two buckets; the decode kernel's time is the count-weighted mean
//   of its time at each bucket's mean length (one launch; exact when time is affine in KV length).
import { layerCounts, type ModelConfig } from './models.js';
import type {
  AttnDtype,
  GemmDtype,
  InstanceSpec,
  OpTimes,
  StepBreakdown,
  StepPredictor,
  StepSequence,
} from './step_types.js';

/** Fixed per-step cost when the instance does not say (CUDA-graph launch + sampling); not calibrated. */
export const DEFAULT_STEP_OVERHEAD_MS = 0.3;
/** Activations travel in bf16. */
const ACT_BYTES = 2;
const NUM_BUCKETS = 33; // bucket b holds KV lengths in [2^(b-1), 2^b); bucket 0 holds 0
const CACHE_SIZE = 4096; // direct-mapped memo of the token-count-only part (GEMMs + collectives)

function checkDivides(part: number, whole: number, what: string): void {
  if (!Number.isInteger(part) || part < 1 || whole % part !== 0) {
    throw new RangeError(`${what} must be a positive integer dividing ${whole}, got ${String(part)}`);
  }
}

/** Per-GPU [n, k] pairs of one layer's attention projections. */
function attentionGemms(m: ModelConfig, tp: number): number[] {
  const d = m.hiddenSize;
  const heads = m.numHeads / tp;
  if (m.mla) {
    const { qLoraRank: q, kvLoraRank: kv, qkRopeHeadDim: rope, qkNopeHeadDim: nope, vHeadDim: v } = m.mla;
    const qProj = q > 0 ? [q, d, heads * (nope + rope), q] : [heads * (nope + rope), d];
    return [...qProj, kv + rope, d, heads * (nope + v), kv, d, heads * v];
  }
  const kvHeads = Math.ceil(m.numKvHeads / tp); // replicated when tp > numKvHeads
  return [(heads + 2 * kvHeads) * m.headDim, d, d, heads * m.headDim];
}

export function makeStepPredictor(model: ModelConfig, instance: InstanceSpec, opTimes: OpTimes): StepPredictor {
  const gpu = instance.gpu;
  const tp = instance.tensorParallel;
  const ep = instance.expertParallel;
  checkDivides(tp, model.numHeads, `instance.tensorParallel (model ${model.name} has ${model.numHeads} heads)`);
  checkDivides(ep, tp, 'instance.expertParallel (must divide tensorParallel)');
  const moe = model.moe;
  if (moe) checkDivides(ep, moe.numExperts, `instance.expertParallel (model ${model.name} has ${moe.numExperts} experts)`);
  else if (ep !== 1) throw new RangeError(`instance.expertParallel must be 1 for dense model ${model.name}, got ${ep}`);
  const gemmDtype: GemmDtype = instance.gemmDtype ?? 'bfloat16';
  const attnDtype: AttnDtype = instance.attnDtype ?? 'bfloat16';
  const kvDtype: AttnDtype = instance.kvDtype ?? 'bfloat16';
  const overheadMs = instance.stepOverheadMs ?? DEFAULT_STEP_OVERHEAD_MS;
  const d = model.hiddenSize;
  const { denseLayers, moeLayers } = layerCounts(model);
  const window = model.slidingWindow ? model.slidingWindow.windowTokens : 0;
  const slidingLayers = model.slidingWindow ? model.slidingWindow.numSlidingLayers : 0;
  const fullLayers = model.numLayers - slidingLayers;

  // Attention geometry per GPU.
  const heads = model.numHeads / tp;
  const mla = model.mla;
  const ctxKvHeads = mla ? heads : Math.ceil(model.numKvHeads / tp);
  const genKvHeads = mla ? 1 : ctxKvHeads;
  const ctxHeadDim = model.headDim;
  const genHeadDim = mla ? mla.kvLoraRank + mla.qkRopeHeadDim : model.headDim;

  // GEMM shapes as flat [n, k, n, k, ...] per layer kind.
  const attn = attentionGemms(model, tp);
  const ffn = Math.ceil(model.denseFfnSize / tp);
  const dense = denseLayers > 0 ? [2 * ffn, d, d, ffn] : [];
  const moeTp = tp / ep;
  const sharedFfn = moe ? Math.ceil((moe.numSharedExperts * moe.sharedExpertFfnSize) / tp) : 0;
  const moeFixed = moe ? [moe.numExperts, d, ...(sharedFfn > 0 ? [2 * sharedFfn, d, d, sharedFfn] : [])] : [];
  const expertFfn = moe ? Math.ceil(moe.expertFfnSize / moeTp) : 0;
  const localExperts = moe ? moe.numExperts / ep : 0;
  const missPerToken = moe ? 1 - moe.numActiveExperts / moe.numExperts : 1;
  const vocabPerGpu = Math.ceil(model.vocabSize / tp);

  const sumGemms = (shapes: number[], m: number): number => {
    let ms = 0;
    for (let i = 0; i < shapes.length; i += 2) ms += opTimes.gemmMs(gpu, gemmDtype, m, shapes[i]!, shapes[i + 1]!);
    return ms;
  };
  const expertsMs = (m: number): number => {
    if (!moe) return 0;
    const hit = localExperts * (1 - Math.pow(missPerToken, m));
    const rows = (m * moe.numActiveExperts) / ep / hit;
    // One grouped GEMM per projection over the experts hit, as fused-MoE kernels run them: `rows` per expert and
    // hit × width columns, so the kernel's fixed latency is paid once per layer, not once per expert.
    return opTimes.gemmMs(gpu, gemmDtype, rows, hit * 2 * expertFfn, d) + opTimes.gemmMs(gpu, gemmDtype, rows, hit * d, expertFfn);
  };
  const allReduceMs = (m: number): number => (tp > 1 ? opTimes.collectiveMs(gpu, 'all_reduce', tp, m * d * ACT_BYTES) : 0);
  const commMsFor = (m: number): number => {
    const perDenseLayer = 2 * allReduceMs(m);
    let perMoeLayer = perDenseLayer;
    if (moe && ep > 1) {
      const dispatchBytes = (m / ep) * moe.numActiveExperts * d * ACT_BYTES;
      perMoeLayer = allReduceMs(m) + 2 * opTimes.collectiveMs(gpu, 'alltoall', ep, dispatchBytes);
    }
    return denseLayers * perDenseLayer + moeLayers * perMoeLayer;
  };

  // Memo of the parts that depend only on the token count.
  const cacheKey = new Float64Array(CACHE_SIZE).fill(-1);
  const cacheGemm = new Float64Array(CACHE_SIZE);
  const cacheComm = new Float64Array(CACHE_SIZE);
  const tokenPart = (m: number): number => {
    const slot = m & (CACHE_SIZE - 1);
    if (cacheKey[slot] !== m) {
      cacheKey[slot] = m;
      cacheGemm[slot] =
        model.numLayers * sumGemms(attn, m) +
        denseLayers * sumGemms(dense, m) +
        moeLayers * (sumGemms(moeFixed, m) + expertsMs(m));
      cacheComm[slot] = commMsFor(m);
    }
    return slot;
  };

  const bucketCount = new Float64Array(NUM_BUCKETS);
  const bucketKvSum = new Float64Array(NUM_BUCKETS);
  const touched = new Int32Array(NUM_BUCKETS);
  let numTouched = 0; // non-zero on entry only when the previous call threw half-way
  const clearBuckets = (): void => {
    for (let t = 0; t < numTouched; t++) {
      bucketCount[touched[t]!] = 0;
      bucketKvSum[touched[t]!] = 0;
    }
    numTouched = 0;
  };

  const bad = (i: number, field: string, rule: string, value: unknown): never => {
    throw new RangeError(`batch[${i}].${field} must be ${rule}, got ${String(value)}`);
  };

  function predict(batch: readonly StepSequence[], out?: StepBreakdown): StepBreakdown {
    if (batch.length === 0) throw new RangeError('batch must hold at least one sequence');
    let tokens = 0;
    let decodes = 0;
    let attentionMs = 0;
    if (numTouched > 0) clearBuckets();
    for (let i = 0; i < batch.length; i++) {
      const seq = batch[i]!;
      const n = seq.numNewTokens;
      const cached = seq.numCachedTokens;
      if (!Number.isInteger(cached) || cached < 0) bad(i, 'numCachedTokens', 'an integer ≥ 0', cached);
      if (!Number.isInteger(n) || n < 1) bad(i, 'numNewTokens', 'an integer ≥ 1', n);
      if (cached + n > model.maxContextTokens) {
        bad(i, 'numCachedTokens + numNewTokens', `at most ${model.name}'s context ${model.maxContextTokens}`, cached + n);
      }
      tokens += n;
      if (seq.phase === 'decode') {
        if (n !== 1) bad(i, 'numNewTokens', '1 for a decode', n);
        const b = cached === 0 ? 0 : 32 - Math.clz32(cached);
        if (bucketCount[b] === 0) touched[numTouched++] = b;
        decodes++;
        bucketCount[b]! += 1;
        bucketKvSum[b]! += cached;
      } else if (seq.phase === 'prefill') {
        if (fullLayers > 0) {
          attentionMs +=
            fullLayers *
            opTimes.contextAttentionMs(gpu, 1, n, heads, ctxKvHeads, ctxHeadDim, 0, attnDtype, kvDtype, cached);
        }
        if (slidingLayers > 0) {
          attentionMs +=
            slidingLayers *
            opTimes.contextAttentionMs(gpu, 1, n, heads, ctxKvHeads, ctxHeadDim, window, attnDtype, kvDtype, cached);
        }
      } else {
        bad(i, 'phase', '"prefill" or "decode"', JSON.stringify(seq.phase));
      }
    }
    // All decodes run as one kernel of batch `decodes`; its time is the count-weighted mean of that kernel's time
    // at each bucket's mean KV length, so the launch cost is paid once however many buckets there are.
    for (let t = 0; t < numTouched; t++) {
      const b = touched[t]!;
      const share = bucketCount[b]! / decodes;
      const meanKv = bucketKvSum[b]! / bucketCount[b]!;
      if (fullLayers > 0) {
        attentionMs +=
          share *
          fullLayers *
          opTimes.generationAttentionMs(gpu, decodes, meanKv, heads, genKvHeads, genHeadDim, 0, attnDtype, kvDtype);
      }
      if (slidingLayers > 0) {
        const kv = meanKv < window ? meanKv : window;
        attentionMs +=
          share *
          slidingLayers *
          opTimes.generationAttentionMs(gpu, decodes, kv, heads, genKvHeads, genHeadDim, window, attnDtype, kvDtype);
      }
    }
    clearBuckets();
    const slot = tokenPart(tokens);
    const gemmMs = cacheGemm[slot]! + opTimes.gemmMs(gpu, gemmDtype, batch.length, vocabPerGpu, d);
    const result = out ?? { stepS: 0, gemmS: 0, attentionS: 0, commS: 0, overheadS: 0 };
    result.gemmS = gemmMs * 1e-3;
    result.attentionS = attentionMs * 1e-3;
    result.commS = cacheComm[slot]! * 1e-3;
    result.overheadS = overheadMs * 1e-3;
    result.stepS = result.gemmS + result.attentionS + result.commS + result.overheadS;
    return result;
  }

  return { predict };
}
