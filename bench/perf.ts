// `nvlsched bench perf [--json]`: speed of the performance model in process — fitted op predictions and step
// predictions per second on one core (the simulator calls the step predictor at every step). Figures, not tests.
import { performance } from 'node:perf_hooks';

import { parseFlags } from '../scheduler/cli/args.js';
import { GPUS } from '../scheduler/perf/gpus.js';
import { getModel } from '../scheduler/perf/models.js';
import { predictPrepared, prepareOp } from '../scheduler/perf/ops/index.js';
import { gemmInBytes, gemmMs, gemmPeak } from '../scheduler/perf/ops/gemm.js';
import { loadFitted, resolveParams } from '../scheduler/perf/ops/params.js';
import { makeFittedOpTimes } from '../scheduler/perf/fitted_optimes.js';
import { makeStepPredictor } from '../scheduler/perf/step.js';
import type { StepSequence } from '../scheduler/perf/step_types.js';

function rate(count: number, fn: (i: number) => number): { perS: number; sink: number } {
  let sink = 0;
  const started = performance.now();
  for (let i = 0; i < count; i++) sink += fn(i);
  return { perS: count / ((performance.now() - started) / 1000), sink };
}

export async function run(argv: string[]): Promise<number> {
  const { flags } = parseFlags(argv, { json: { type: 'boolean', help: 'only the JSON line' } });
  const params = loadFitted().params;
  const gpu = GPUS.gb200;
  const p = resolveParams(params, gpu, 'gemm', 'fp8');
  const peak = gemmPeak(gpu, 'fp8');
  const inBytes = gemmInBytes('fp8');
  const gemm = rate(2_000_000, (i) => gemmMs(gpu, peak, inBytes, p, 1 + (i & 4095), 4096, 8192));
  const op = prepareOp({ op_name: 'generation_attention', batch_size: 64, step: 4000, num_heads: 64, num_key_value_heads: 8,
    head_dim: 128, attn_dtype: 'bfloat16', kv_cache_dtype: 'fp8' });
  const pa = resolveParams(params, gpu, op.family, op.variant);
  const attention = rate(2_000_000, () => predictPrepared(gpu, op.family, pa, op.args));

  const opTimes = makeFittedOpTimes(params);
  const step = makeStepPredictor(getModel('llama-3.1-70b'), { gpu: 'gb200', tensorParallel: 4, expertParallel: 1 }, opTimes);
  const batch: StepSequence[] = Array.from({ length: 64 }, (_, i) => ({ phase: 'decode', numNewTokens: 1, numCachedTokens: 500 + 97 * i }));
  batch.push({ phase: 'prefill', numNewTokens: 512, numCachedTokens: 0 });
  const steps = rate(200_000, (i) => {
    (batch[64] as StepSequence).numNewTokens = 256 + (i & 255);
    return step.predict(batch).stepS;
  });
  const result = {
    bench: 'perf',
    gemm_predictions_per_s: Math.round(gemm.perS),
    generation_attention_predictions_per_s: Math.round(attention.perS),
    step_predictions_per_s: Math.round(steps.perS),
    step_batch: '64 decodes + 1 prefill chunk, llama-3.1-70b TP4 on gb200 (fitted op times)',
  };
  if (!flags.json) {
    process.stdout.write(`| what | per second |\n| --- | ---: |\n| fitted GEMM predictions | ${result.gemm_predictions_per_s.toLocaleString('en-US')} |\n` +
      `| fitted generation-attention predictions | ${result.generation_attention_predictions_per_s.toLocaleString('en-US')} |\n` +
      `| step predictions (${result.step_batch}) | ${result.step_predictions_per_s.toLocaleString('en-US')} |\n`);
  }
  process.stdout.write(JSON.stringify(result) + '\n');
  return Number.isFinite(gemm.sink + attention.sink + steps.sink) ? 0 : 1;
}
