// How a model is cut into instances on a GPU kind, and how much KV one instance holds. The rule (README "How
// instances are sized"): the smallest tensor-parallel degree, a power of two inside one NVLink domain that divides
// the model's heads (and, for MoE, its experts, with expert parallelism = TP), at which the weights take at most
// WEIGHT_SHARE_TARGET of a GPU's HBM — so at least a third of HBM is left for KV after the activation reserve.
// When no degree meets the target, the smallest one whose weights fit at all (≤ 90% of HBM, the pools.ts limit).
import { ConfigError } from '../core/config/params.js';
import { bytesPerToken } from '../kv/sizing.js';
import type { KvLayout } from '../kv/types.js';
import { GPUS, type GpuName } from '../perf/gpus.js';
import { kvLayout, paramBytes, type ModelConfig, type WeightDtype } from '../perf/models.js';

/** Weights may take this share of HBM at the chosen TP (so ≥ 30% of HBM is KV after the 10% reserve). */
export const WEIGHT_SHARE_TARGET = 0.6;
/** Largest share of HBM the weights may take at all (as scheduler/core/config/pools.ts checks). */
export const WEIGHT_SHARE_LIMIT = 0.9;
/** HBM kept for activations and workspace (vLLM gpu_memory_utilization 0.9; the KV manager's default). */
export const DEFAULT_DEVICE_RESERVE_FRACTION = 0.1;
/** Share of a tray's host (Grace) memory given to KV (the KV manager's hostFraction default). */
export const DEFAULT_HOST_KV_FRACTION = 0.5;

export interface Parallelism {
  tensorParallel: number;
  expertParallel: number;
}

function weightsPerGpu(model: ModelConfig, dtype: WeightDtype, tp: number): number {
  return paramBytes(model, dtype) / tp;
}

/** Degrees the performance model accepts for this model inside a domain of `domainGpus` GPUs. */
export function validDegrees(model: ModelConfig, domainGpus: number): number[] {
  const out: number[] = [];
  for (let tp = 1; tp <= domainGpus; tp *= 2) {
    if (model.numHeads % tp !== 0) continue;
    if (model.moe && model.moe.numExperts % tp !== 0) continue;
    out.push(tp);
  }
  return out;
}

/** The sizing rule above; `field` names the config field an error should point at. */
export function chooseParallelism(model: ModelConfig, gpu: GpuName, dtype: WeightDtype, domainGpus: number, field: string): Parallelism {
  const hbm = GPUS[gpu].hbmBytes;
  const degrees = validDegrees(model, domainGpus);
  const pick = (share: number): number | undefined => degrees.find((tp) => weightsPerGpu(model, dtype, tp) <= share * hbm);
  const tp = pick(WEIGHT_SHARE_TARGET) ?? pick(WEIGHT_SHARE_LIMIT);
  if (tp === undefined) {
    const gb = (paramBytes(model, dtype) / 1e9).toFixed(0);
    throw new ConfigError(field, `${model.name} ${dtype} weights (${gb} GB) do not fit in one NVLink domain of ${domainGpus} ${gpu} GPUs ` +
      `(tried tensorParallel ${degrees.join(', ')}); instances across domains are not modelled — use a smaller weightDtype or a larger GPU`);
  }
  return { tensorParallel: tp, expertParallel: model.moe ? tp : 1 };
}

export interface KvSizing {
  layout: KvLayout;
  /** KV bytes one token takes on one GPU of the instance (the native manager's bytesPerToken). */
  bytesPerTokenPerGpu: number;
  /** Bytes of one block over the whole instance (all TP shards; MLA latents once). */
  instanceBlockBytes: number;
  /** HBM KV blocks of one instance (every GPU of it holds its shard of each block). */
  kvBlocksTotal: number;
  weightsBytesPerGpu: number;
}

export interface KvSizingInput {
  model: ModelConfig;
  gpu: GpuName;
  weightDtype: WeightDtype;
  kvDtype: WeightDtype;
  tensorParallel: number;
  blockTokens: number;
  deviceReserveFraction: number;
}

/** KV blocks of one instance: (HBM × (1 − reserve) − weights per GPU) / (bytes per token per GPU × block size). */
export function sizeKv(input: KvSizingInput, field: string): KvSizing {
  const { model, gpu, tensorParallel: tp, blockTokens } = input;
  const layout = kvLayout(model, { tensorParallel: tp, kvDtype: input.kvDtype });
  const perGpu = bytesPerToken(layout);
  const weights = weightsPerGpu(model, input.weightDtype, tp);
  const freeBytes = GPUS[gpu].hbmBytes * (1 - input.deviceReserveFraction) - weights;
  const kvBlocksTotal = Math.floor(freeBytes / (perGpu * blockTokens));
  if (!(kvBlocksTotal >= 1)) {
    throw new ConfigError(field, `${model.name} at tensorParallel ${tp} leaves no HBM for KV on ${gpu} ` +
      `(weights ${(weights / 1e9).toFixed(1)} GB per GPU); raise tensorParallel or use a smaller weightDtype`);
  }
  const instanceBlockBytes = perGpu * blockTokens * (layout.mlaLatentDim > 0 ? 1 : tp);
  return { layout, bytesPerTokenPerGpu: perGpu, instanceBlockBytes, kvBlocksTotal, weightsBytesPerGpu: weights };
}
