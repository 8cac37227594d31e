// Round trips of `nvlsched perf predict` and `perf calibrate` through a real child process.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { packageRoot, sharedDir } from '../util/paths.js';

function runPerf(args: string[], input: string) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'scheduler/cli/main.ts', 'perf', ...args],
    { cwd: packageRoot(), input, encoding: 'utf8' });
}

test('perf predict --gpu h100: same order, predicted_ms added, latency_ms ignored', () => {
  const lines = [
    { op_name: 'gemm', kernel_source: 'torch_flow', gemm_dtype: 'fp8', m: 128, n: 8192, k: 8192, latency_ms: 0.05 },
    { op_name: 'context_attention', kernel_source: 'torch_flow', batch_size: 2, isl: 4096, num_heads: 64, num_key_value_heads: 8, head_dim: 128, window_size: 0, attn_dtype: 'bfloat16', kv_cache_dtype: 'bfloat16', step: 0 },
    { op_name: 'generation_attention', kernel_source: 'torch_flow', batch_size: 64, isl: 1, num_heads: 64, num_key_value_heads: 8, head_dim: 128, window_size: 0, attn_dtype: 'bfloat16', kv_cache_dtype: 'fp8', step: 8191 },
    { op_name: 'all_reduce', kernel_source: 'NCCL', nccl_dtype: 'half', num_gpus: 8, message_size: 1048576 },
  ];
  const res = runPerf(['predict', '--gpu', 'h100'], lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  assert.equal(res.status, 0, res.stderr);
  const out = res.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(out.length, lines.length);
  out.forEach((o, i) => {
    assert.equal(o.op_name, lines[i]?.op_name);
    assert.ok(typeof o.predicted_ms === 'number' && o.predicted_ms > 0, JSON.stringify(o));
  });
  assert.equal(out[0]?.latency_ms, 0.05, 'input fields are echoed unchanged');
});

test('perf predict: bad lines are echoed with an error, named on stderr, exit 1 at the end', () => {
  const input = [
    JSON.stringify({ op_name: 'gemm', gemm_dtype: 'nvfp4', m: 16, n: 4096, k: 4096 }),
    'not json',
    JSON.stringify({ op_name: 'gemm', gemm_dtype: 'fp8', m: 16, n: 4096, k: 4096 }),
    JSON.stringify({ op_name: 'all_reduce', nccl_dtype: 'half', num_gpus: 'eight', message_size: 1024 }),
    JSON.stringify({ op_name: 'softmax' }),
  ].join('\n');
  const res = runPerf(['predict', '--gpu', 'h200'], input);
  assert.equal(res.status, 1);
  const out = res.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(out.length, 5);
  assert.match(String(out[0]?.error), /nvfp4/);
  assert.ok(out[1]?.error);
  assert.ok(typeof out[2]?.predicted_ms === 'number' && out[2]?.error === undefined);
  assert.match(res.stderr, /line 1: field gemm_dtype/);
  assert.match(res.stderr, /line 2: not a JSON object/);
  assert.match(res.stderr, /line 4: field num_gpus/);
  assert.match(res.stderr, /line 5: field op_name: op_name: unknown 'softmax'/);
});

test('perf predict: unknown --gpu exits 2 with a one-line reason; gb300 is accepted', () => {
  const bad = runPerf(['predict', '--gpu', 'a100'], '');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--gpu: unknown 'a100'; allowed: h100, h200, b200, gb200, gb300/);
  assert.equal(bad.stderr.trim().split('\n').length, 1);
  const ok = runPerf(['predict', '--gpu', 'gb300'], JSON.stringify({ op_name: 'gemm', gemm_dtype: 'nvfp4', m: 1024, n: 8192, k: 8192 }) + '\n');
  assert.equal(ok.status, 0, ok.stderr);
  assert.ok((JSON.parse(ok.stdout) as { predicted_ms: number }).predicted_ms > 0);
});

test('perf calibrate --published-only: the published-throughput table with ratios and their median', () => {
  const res = runPerf(['calibrate', '--published-only'], '');
  assert.equal(res.status, 0, res.stderr);
  assert.match(res.stdout, /^published throughput \(output tok\/s per GPU; ratio = predicted \/ published/m);
  assert.match(res.stdout, /MLP51-B200 +MLPerf v5\.1 Offline +llama-2-70b +b200 .* \d+\.\d\d$/m);
  assert.match(res.stdout, /IX-GPTOSS +InferenceMAX 1k\/1k @72 tok\/s\/user/);
  assert.match(res.stdout, /^median ratio predicted\/published \d+\.\d\d over \d+ points/m);
  assert.doesNotMatch(res.stdout, /held-in/, 'no op error table');
});

test('perf calibrate --published-only --json: rows with predicted, published and ratio, plus the median', () => {
  const res = runPerf(['calibrate', '--published-only', '--json'], '');
  assert.equal(res.status, 0, res.stderr);
  const out = JSON.parse(res.stdout) as { published: Array<Record<string, unknown>>; publishedMedianRatio: number; rows?: unknown };
  assert.equal(out.rows, undefined);
  assert.ok(out.published.length >= 20);
  assert.ok(out.publishedMedianRatio > 0);
  const offline = out.published.find((r) => r.id === 'mlp51-gb200-l2-70b-offline');
  assert.ok(offline && typeof offline.ratio === 'number' && typeof offline.predictedTokensPerSPerGpu === 'number');
  assert.equal(offline.publishedTokensPerSPerGpu, 12_934);
  assert.equal(runPerf(['calibrate', '--published-only', '--refit'], '').status, 2);
});

test('perf calibrate --no-loo: op error table first, then the published-throughput table', {
  skip: sharedDir() ? false : 'skipped: ../shared/data/perf is absent',
}, () => {
  const res = runPerf(['calibrate', '--no-loo'], '');
  assert.equal(res.status, 0, res.stderr);
  const errors = res.stdout.indexOf('held-in');
  const published = res.stdout.indexOf('published throughput');
  assert.ok(errors >= 0 && published > errors, res.stdout.slice(0, 400));
  assert.match(res.stdout, /^median ratio predicted\/published/m);
});
