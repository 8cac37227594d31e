import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ScheduleRequest } from '../types.js';
import { makeClassification } from './classification.js';
import { OUTPUT_PREDICTORS, SHAPE_CLASSIFIERS, THINK_TIME_PREDICTORS } from './registry.js';
import { DEFAULT_SLOS } from './slo.js';

function req(over: Partial<ScheduleRequest> = {}): ScheduleRequest {
  return {
    requestId: 'r', tenant: 'acme', arrivalS: 0, promptTokens: 100, maxOutputTokens: 32000, blockHashes: [],
    hasTools: false, hasToolResults: false, ...over,
  };
}

test('default SLO table is architecture §3', () => {
  assert.deepEqual(DEFAULT_SLOS, {
    tool_call: { ttftS: 0.5, tpotS: 0.03 },
    reasoning: { ttftS: 2, tpotS: 0.05 },
    terminal: { ttftS: 1, tpotS: 0.04 },
    chat: { ttftS: 1, tpotS: 0.05 },
  });
});

test('classify: shape, reason, prediction and the shape SLO; observeFinished feeds the predictor', () => {
  const stage = makeClassification({ predictor: { params: { minShapeSamples: 1 } } });
  const r = req({ hasToolResults: true });
  assert.deepEqual(stage.classify(r), {
    shape: 'tool_call', reason: 'tool_results', slo: { ttftS: 0.5, tpotS: 0.03 },
    output: { expectedTokens: 128, p50Tokens: 128, p90Tokens: 256, samples: 0, source: 'prior' },
  });
  stage.observeFinished(r, 'tool_call', 40);
  const after = stage.classify(r).output;
  assert.equal(after.source, 'shape');
  assert.ok(Math.abs(after.p50Tokens / 40 - 1) < 0.05);
});

test('SLOs: per-shape overrides in config, and a request SLO beats the table', () => {
  const stage = makeClassification({ slo: { tool_call: { ttftS: 0.3 } } });
  assert.deepEqual(stage.slos.tool_call, { ttftS: 0.3, tpotS: 0.03 });
  assert.deepEqual(stage.slos.chat, DEFAULT_SLOS.chat);
  assert.deepEqual(stage.classify(req({ hintShape: 'tool_call' })).slo, { ttftS: 0.3, tpotS: 0.03 });
  assert.deepEqual(stage.classify(req({ slo: { ttftS: 9, tpotS: 0.1 } })).slo, { ttftS: 9, tpotS: 0.1 });
});

test('plugins are found by name; bad config names the field', () => {
  assert.deepEqual(Object.keys(SHAPE_CLASSIFIERS), ['shape-rules']);
  assert.deepEqual(Object.keys(OUTPUT_PREDICTORS), ['streaming-quantiles']);
  assert.deepEqual(Object.keys(THINK_TIME_PREDICTORS), ['session-gaps']);
  const cases: Array<[unknown, RegExp]> = [
    [{ classifier: { name: 'ml' } }, /classification\.classifier\.name: unknown plugin "ml"; known: shape-rules/],
    [{ classifier: { name: 'toString' } }, /classification\.classifier\.name: unknown plugin "toString"/],
    [{ predictor: { name: 'streaming-quantiles', params: { expectedQuantile: 2 } } }, /classification\.predictor\.params\.expectedQuantile/],
    [{ classifier: { params: { reasoningMinEffort: 'x' } } }, /classification\.classifier\.params\.reasoningMinEffort/],
    [{ slo: { tool_call: { ttftS: 0 } } }, /classification\.slo\.tool_call\.ttftS: expected a number > 0, got 0/],
    [{ slo: { batch: {} } }, /classification\.slo\.batch: unknown field/],
    [{ slo: { chat: { ttft: 1 } } }, /classification\.slo\.chat\.ttft: unknown field; allowed: ttftS, tpotS/],
    [{ predictors: {} }, /classification\.predictors: unknown field/],
    [{ classifier: 'shape-rules' }, /classification\.classifier: expected a mapping/],
  ];
  for (const [params, pattern] of cases) assert.throws(() => makeClassification(params), pattern, JSON.stringify(params));
});
