import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../config/params.js';
import { context, instance } from '../testing.js';
import { makePredictedTpotScorer, predictTpotS } from './predicted_tpot.js';

test('predicted TPOT: the decode step alone without a backlog; a backlog adds its chunk for the steps it shares', () => {
  const ctx = context({ shape: 'chat', cls: { output: { expectedTokens: 100, p50Tokens: 100, p90Tokens: 200, samples: 0, source: 'prior' } } });
  const idle = instance('idle');
  const decodeS = ctx.cost.decodeStepS(idle);
  assert.equal(predictTpotS(ctx, idle), decodeS);
  const small = instance('small', { pendingPrefillTokens: 4096, stepTokenBudget: 8192 });
  const chunk = ctx.cost.prefillS(small, 4096, 0);
  // One step of backlog over a 100-token output: 1/100 of the chunk per token.
  assert.ok(Math.abs(predictTpotS(ctx, small) - (ctx.cost.decodeStepS(small) + chunk / 100)) < 1e-12);
  const deep = instance('deep', { pendingPrefillTokens: 8192 * 500, stepTokenBudget: 8192 });
  // Backlog longer than the output: every token waits for a full chunk.
  assert.ok(Math.abs(predictTpotS(ctx, deep) - (ctx.cost.decodeStepS(deep) + ctx.cost.prefillS(deep, 8192, 0))) < 1e-12);
});

test('predicted-tpot scores fall with the backlog, stay in [0,1], and the scorer takes no parameters', () => {
  const scorer = makePredictedTpotScorer({}, 's');
  const pool = [instance('a'), instance('b', { pendingPrefillTokens: 20_000 }), instance('c', { pendingPrefillTokens: 2_000_000 })];
  const out = new Float64Array(3);
  scorer.score(context({ shape: 'reasoning' }), pool, out);
  assert.ok((out[0] as number) >= (out[1] as number) && (out[1] as number) > (out[2] as number), `${[...out]}`);
  for (const v of out) assert.ok(v >= 0 && v <= 1);
  assert.throws(() => makePredictedTpotScorer({ weight: 1 }, 'placement.scorers[1].params'), (e: unknown) => e instanceof ConfigError && e.field === 'placement.scorers[1].params.weight');
});
