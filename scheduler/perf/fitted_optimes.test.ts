// The step predictor on the fitted op predictors: finite, positive, and never faster with more work, for every
// catalog model on every GPU kind (GB300 included: Blackwell efficiencies on its own hardware figures).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { makeFittedOpTimes } from './fitted_optimes.js';
import { getModel, MODEL_NAMES } from './models.js';
import { makeStepPredictor } from './step.js';
import type { StepSequence } from './step_types.js';

const opTimes = makeFittedOpTimes();

function decodes(count: number, kvLength: number): StepSequence[] {
  return Array.from({ length: count }, () => ({ phase: 'decode' as const, numNewTokens: 1, numCachedTokens: kvLength }));
}

for (const gpu of ['h100', 'b200', 'gb200', 'gb300']) {
  test(`fitted step times on ${gpu}: positive, breakdown sums, monotone in batch, KV length and chunk size`, () => {
    for (const name of MODEL_NAMES) {
      const model = getModel(name);
      if (model.maxContextTokens < 131_072) continue; // KV lengths below reach 100K (Llama 2 70B: throughput.test.ts)
      const tp = 8;
      const ep = model.moe ? 8 : 1;
      const step = makeStepPredictor(model, { gpu, tensorParallel: tp, expertParallel: ep, gemmDtype: 'fp8', kvDtype: 'fp8' }, opTimes);
      let last = 0;
      for (const count of [1, 8, 64, 256]) {
        const b = step.predict(decodes(count, 2000));
        assert.ok(Number.isFinite(b.stepS) && b.stepS > 0, `${name} on ${gpu}: ${b.stepS}`);
        assert.ok(Math.abs(b.gemmS + b.attentionS + b.commS + b.overheadS - b.stepS) < 1e-12 * Math.max(1, b.stepS));
        assert.ok(b.stepS >= last, `${name} on ${gpu}: ${count} decodes faster than fewer`);
        last = b.stepS;
      }
      last = 0;
      for (const kv of [100, 1000, 10000, 100000]) {
        const s = step.predict(decodes(32, kv)).stepS;
        assert.ok(s >= last, `${name} on ${gpu}: KV ${kv} faster than shorter`);
        last = s;
      }
      last = 0;
      for (const chunk of [64, 512, 4096]) {
        const s = step.predict([{ phase: 'prefill', numNewTokens: chunk, numCachedTokens: 4000 }]).stepS;
        assert.ok(s >= last, `${name} on ${gpu}: chunk ${chunk} faster than smaller`);
        last = s;
      }
    }
  });
}

test('a prefill chunk after a cached prefix costs at least a fresh chunk and grows with the prefix', () => {
  const args = [8, 512, 8, 1, 128, 0, 'bfloat16', 'bfloat16'] as const;
  const fresh = opTimes.contextAttentionMs('b200', ...args, 0);
  const after4k = opTimes.contextAttentionMs('b200', ...args, 4096);
  const after32k = opTimes.contextAttentionMs('b200', ...args, 32768);
  assert.ok(fresh > 0 && after4k >= fresh && after32k > after4k);
});
