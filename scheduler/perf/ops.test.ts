import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GPUS, GPU_NAMES } from './gpus.js';
import { parseCsvLine } from './data.js';
import { OpInputError, predictPrepared, prepareOp } from './ops/index.js';
import { loadFitted, resolveParams } from './ops/params.js';

const params = loadFitted().params;

function predict(gpu: keyof typeof GPUS, row: Record<string, unknown>): number {
  const op = prepareOp(row);
  return predictPrepared(GPUS[gpu], op.family, resolveParams(params, GPUS[gpu], op.family, op.variant), op.args);
}

function assertNonDecreasing(label: string, values: number[]): void {
  for (let i = 1; i < values.length; i++) {
    assert.ok((values[i] as number) >= (values[i - 1] as number) * (1 - 1e-12), `${label}: step ${i} got faster: ${values.join(', ')}`);
  }
}

const SIZES = [1, 2, 7, 16, 100, 513, 2048, 4097, 16384, 65536, 131072];

test('more tokens or longer KV is never predicted faster (every GPU and variant)', () => {
  for (const gpu of GPU_NAMES) {
    const blackwell = GPUS[gpu].generation === 'blackwell';
    for (const dtype of blackwell ? ['bfloat16', 'fp8', 'fp8_block', 'nvfp4'] : ['bfloat16', 'fp8', 'fp8_block']) {
      assertNonDecreasing(`${gpu} gemm ${dtype} m`, SIZES.map((m) => predict(gpu, { op_name: 'gemm', gemm_dtype: dtype, m, n: 4096, k: 8192 })));
    }
    const sources = blackwell ? ['torch_flow', 'torch_flow_flashinfer'] : ['torch_flow'];
    for (const kernel_source of sources) {
      for (const [attn, kv] of [['bfloat16', 'bfloat16'], ['bfloat16', 'fp8']]) {
        const base = { kernel_source, attn_dtype: attn, kv_cache_dtype: kv, num_heads: 32, num_key_value_heads: 8, head_dim: 128 };
        for (const window_size of [0, 128]) {
          assertNonDecreasing(`${gpu} ctx isl`, SIZES.map((isl) => predict(gpu, { ...base, op_name: 'context_attention', batch_size: 2, isl, window_size })));
          assertNonDecreasing(`${gpu} ctx batch`, SIZES.slice(0, 7).map((b) => predict(gpu, { ...base, op_name: 'context_attention', batch_size: b, isl: 1024, window_size })));
          assertNonDecreasing(`${gpu} gen step`, SIZES.map((step) => predict(gpu, { ...base, op_name: 'generation_attention', batch_size: 8, isl: 1, step, window_size })));
          assertNonDecreasing(`${gpu} gen batch`, SIZES.slice(0, 9).map((b) => predict(gpu, { ...base, op_name: 'generation_attention', batch_size: b, isl: 1, step: 4096, window_size })));
        }
      }
    }
    for (const op_name of ['all_reduce', 'all_gather', 'reduce_scatter', 'alltoall']) {
      assertNonDecreasing(`${gpu} ${op_name} bytes`, SIZES.map((s) => predict(gpu, { op_name, nccl_dtype: 'half', num_gpus: 4, message_size: s * 1024 })));
    }
  }
});

test('gb300 nvfp4 GEMM is faster than gb200 at large sizes (1.5x fp4 peak), same efficiencies', () => {
  const row = { op_name: 'gemm', gemm_dtype: 'nvfp4', m: 8192, n: 8192, k: 8192 };
  assert.ok(predict('gb300', row) < predict('gb200', row) * 0.8);
});

test('bad input names the field and the allowed values', () => {
  const err = (row: Record<string, unknown>) => {
    try { prepareOp(row); } catch (e) { assert.ok(e instanceof OpInputError); return e; }
    assert.fail('expected an error');
  };
  assert.equal(err({ op_name: 'conv2d' }).field, 'op_name');
  assert.match(err({ op_name: 'gemm', gemm_dtype: 'int4', m: 1, n: 1, k: 1 }).message, /gemm_dtype: unknown 'int4'; allowed: bfloat16/);
  assert.equal(err({ op_name: 'gemm', gemm_dtype: 'fp8', m: 'x', n: 1, k: 1 }).field, 'm');
  assert.equal(err({ op_name: 'gemm', gemm_dtype: 'fp8', kernel_source: 'cutlass9', m: 1, n: 1, k: 1 }).field, 'kernel_source');
  const op = prepareOp({ op_name: 'context_attention', kernel_source: 'torch_flow_flashinfer', batch_size: 1, isl: 8, num_heads: 8, head_dim: 256 });
  assert.throws(() => resolveParams(params, GPUS.h100, op.family, op.variant), /no context_attention model for 'torch_flow_flashinfer/);
  const fp4 = prepareOp({ op_name: 'gemm', gemm_dtype: 'nvfp4', m: 1, n: 1, k: 1 });
  assert.throws(() => resolveParams(params, GPUS.h200, fp4.family, fp4.variant), /no gemm model for 'nvfp4' on h200/);
});

test('CSV lines: typed rows, bad lines explained', () => {
  const header = ['op_name', 'kernel_source', 'gemm_dtype', 'm', 'n', 'k', 'latency_ms'];
  const row = parseCsvLine(header, 'gemm,torch_flow,fp8,16,4096,4096,0.0123');
  assert.ok(typeof row !== 'string' && row.m === 16 && row.latency_ms === 0.0123);
  assert.match(parseCsvLine(header, 'gemm,torch_flow,fp8,16,4096') as string, /expected 7 columns, found 5/);
  assert.match(parseCsvLine(header, 'gemm,torch_flow,fp8,abc,4096,4096,1') as string, /column m: not a number/);
});

