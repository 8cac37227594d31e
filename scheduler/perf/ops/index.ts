// Turns a perf-table row (CSV or JSON line, perf-table column names) into a prepared op and predicts it.
// Prepared args are GPU-independent (dtype codes, shapes), so the same sample can be predicted on any GPU
// (leave-one-GPU-out, GB300 extrapolation). Errors name the field and the allowed values.
import { type Gpu } from '../gpus.js';
import { DTYPE_BYTES } from './common.js';
import { contextAttentionMs, generationAttentionMs } from './attention.js';
import { GEMM_DTYPES, type GemmDtype, gemmInBytes, gemmMs, gemmPeak } from './gemm.js';
import { NCCL_OPS, ncclMs } from './nccl.js';

export const FAMILIES = ['gemm', 'context_attention', 'generation_attention', 'nccl'] as const;
export type Family = (typeof FAMILIES)[number];
export const OP_NAMES = ['gemm', 'context_attention', 'generation_attention', ...NCCL_OPS] as const;

export interface PreparedOp {
  family: Family;
  /** Parameter-set key inside the family: gemm_dtype; kernel_source|attn_dtype|kv_cache_dtype; op|nccl_dtype. */
  variant: string;
  /** gemm [dtypeIndex, m, n, k]; attention [attnFp8, kvBytes, batch, isl|step, heads, kvHeads, headDim, window];
   * nccl [isAllReduce, numGpus, bytes]. */
  args: number[];
}

export class OpInputError extends Error {
  constructor(readonly field: string, message: string) {
    super(message);
  }
}

const KERNEL_SOURCES: Readonly<Record<Family, readonly string[]>> = {
  gemm: ['torch_flow', 'deepgemm'],
  context_attention: ['torch_flow', 'torch_flow_flashinfer'],
  generation_attention: ['torch_flow', 'torch_flow_flashinfer'],
  nccl: ['NCCL'],
};
const ATTN_DTYPES = ['bfloat16', 'fp8'];
const NCCL_DTYPES = ['half', 'int8', 'bfloat16', 'float16', 'float32', 'float'];

type Row = Record<string, unknown>;

function str(row: Row, field: string, allowed: readonly string[], fallback?: string): string {
  const value = row[field] ?? fallback;
  if (typeof value !== 'string' || !allowed.includes(value)) {
    throw new OpInputError(field, `${field}: ${value === undefined ? 'missing' : `unknown '${String(value)}'`}; ` +
      `allowed: ${allowed.join(', ')}`);
  }
  return value;
}

function num(row: Row, field: string, min: number, fallback?: number): number {
  const raw = row[field] ?? fallback;
  const value = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw new OpInputError(field, `${field}: expected a number >= ${min}, got ${raw === undefined ? 'nothing' : JSON.stringify(raw)}`);
  }
  return value;
}

export function prepareOp(row: Row): PreparedOp {
  const opName = str(row, 'op_name', OP_NAMES);
  if (opName === 'gemm') {
    str(row, 'kernel_source', KERNEL_SOURCES.gemm, 'torch_flow');
    const dtype = str(row, 'gemm_dtype', GEMM_DTYPES) as GemmDtype;
    const args = [GEMM_DTYPES.indexOf(dtype), num(row, 'm', 1), num(row, 'n', 1), num(row, 'k', 1)];
    return { family: 'gemm', variant: dtype, args };
  }
  if (opName === 'context_attention' || opName === 'generation_attention') {
    const source = str(row, 'kernel_source', KERNEL_SOURCES[opName], 'torch_flow');
    const attn = str(row, 'attn_dtype', ATTN_DTYPES, 'bfloat16');
    const kv = str(row, 'kv_cache_dtype', ATTN_DTYPES, attn);
    const length = opName === 'context_attention' ? num(row, 'isl', 1) : num(row, 'step', 0);
    const heads = num(row, 'num_heads', 1);
    const kvHeads = num(row, 'num_key_value_heads', 1, heads);
    if (kvHeads > heads) throw new OpInputError('num_key_value_heads', `num_key_value_heads (${kvHeads}) exceeds num_heads (${heads})`);
    const args = [attn === 'fp8' ? 1 : 0, DTYPE_BYTES[kv] as number, num(row, 'batch_size', 1), length, heads, kvHeads,
      num(row, 'head_dim', 1), num(row, 'window_size', 0, 0)];
    return { family: opName, variant: `${source}|${attn}|${kv}`, args };
  }
  str(row, 'kernel_source', KERNEL_SOURCES.nccl, 'NCCL');
  const dtype = str(row, 'nccl_dtype', NCCL_DTYPES, 'half');
  const numGpus = num(row, 'num_gpus', 2);
  const bytes = num(row, 'message_size', 0) * (DTYPE_BYTES[dtype] as number);
  // Only half and int8 were measured: 2- and 4-byte dtypes use the half parameters (bytes still scale by size).
  return { family: 'nccl', variant: `${opName}|${dtype === 'int8' ? 'int8' : 'half'}`, args: [opName === 'all_reduce' ? 1 : 0, numGpus, bytes] };
}

/** Latency in ms of a prepared op on `gpu` with the parameter vector of its family/variant. */
export function predictPrepared(gpu: Gpu, family: Family, p: ArrayLike<number>, a: ArrayLike<number>): number {
  switch (family) {
    case 'gemm': {
      const dtype = GEMM_DTYPES[a[0] as number] as GemmDtype;
      return gemmMs(gpu, gemmPeak(gpu, dtype), gemmInBytes(dtype), p, a[1] as number, a[2] as number, a[3] as number);
    }
    case 'context_attention':
    case 'generation_attention': {
      const peak = a[0] === 1 ? gpu.flopsPerS.fp8 : gpu.flopsPerS.bf16;
      const f = family === 'context_attention' ? contextAttentionMs : generationAttentionMs;
      return f(gpu, peak, a[1] as number, p, a[2] as number, a[3] as number, a[4] as number, a[5] as number,
        a[6] as number, a[7] as number);
    }
    case 'nccl':
      return ncclMs(gpu, a[0] as number, p, a[1] as number, a[2] as number);
  }
}
