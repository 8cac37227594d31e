import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ScheduleRequest, Shape } from '../types.js';
import { makeShapeRules } from './rules.js';

function req(over: Partial<ScheduleRequest>): ScheduleRequest {
  return {
    requestId: 'r', tenant: 't', arrivalS: 0, promptTokens: 1000, maxOutputTokens: 4096, blockHashes: [],
    hasTools: false, hasToolResults: false, ...over,
  };
}

const rules = makeShapeRules(undefined, 'classification.classifier.params');

const CASES: Array<[string, Partial<ScheduleRequest>, Shape, string]> = [
  ['plain request', {}, 'chat', 'default'],
  ['valid hint beats a session turn', { hintShape: 'tool_call', sessionId: 's', turnIndex: 3 }, 'tool_call', 'hint'],
  ['hint chat beats reasoning effort', { hintShape: 'chat', reasoningEffort: 'high' }, 'chat', 'hint'],
  ['invalid hint is ignored', { hintShape: 'batch' as Shape, sessionId: 's', turnIndex: 1 }, 'terminal', 'session_turn'],
  ['prototype-key hint is ignored', { hintShape: 'constructor' as Shape }, 'chat', 'default'],
  ['session turn ≥ 1', { sessionId: 's', turnIndex: 1 }, 'terminal', 'session_turn'],
  ['session turn beats tools + small max', { sessionId: 's', turnIndex: 2, hasTools: true, maxOutputTokens: 100 }, 'terminal', 'session_turn'],
  ['tool results inside a session, turn 0', { sessionId: 's', turnIndex: 0, hasToolResults: true }, 'tool_call', 'session_tool_results'],
  ['tool results inside a session, later turn: an agent step', { sessionId: 's', turnIndex: 7, hasToolResults: true }, 'tool_call', 'session_tool_results'],
  ['session first turn, long prompt', { sessionId: 's', promptTokens: 32768 }, 'terminal', 'session_long_prompt'],
  ['session first turn, prompt just short', { sessionId: 's', promptTokens: 32767 }, 'chat', 'default'],
  ['empty session id is no session', { sessionId: '', turnIndex: 5 }, 'chat', 'default'],
  ['empty session id with tool results', { sessionId: '', hasToolResults: true }, 'tool_call', 'tool_results'],
  ['tool results without a session', { hasToolResults: true, maxOutputTokens: 32000 }, 'tool_call', 'tool_results'],
  ['tools with max_tokens at the threshold', { hasTools: true, maxOutputTokens: 1024 }, 'tool_call', 'tools_small_max_tokens'],
  ['tools with max_tokens above the threshold', { hasTools: true, maxOutputTokens: 1025 }, 'chat', 'default'],
  ['tools with zero max_tokens (unknown)', { hasTools: true, maxOutputTokens: 0 }, 'chat', 'default'],
  ['tools with NaN max_tokens (unknown)', { hasTools: true, maxOutputTokens: NaN }, 'chat', 'default'],
  ['effort medium', { reasoningEffort: 'medium' }, 'reasoning', 'reasoning_effort'],
  ['effort high with tools and a large max', { reasoningEffort: 'high', hasTools: true, maxOutputTokens: 20000 }, 'reasoning', 'reasoning_effort'],
  ['effort low', { reasoningEffort: 'low' }, 'chat', 'default'],
  ['large max_tokens at the threshold', { maxOutputTokens: 16384 }, 'reasoning', 'large_max_tokens'],
  ['large max_tokens filled in for the client says nothing', { maxOutputTokens: 32000, maxOutputTokensFromClient: false }, 'chat', 'default'],
  ['small default max_tokens with tools is not a tool-call signal', { hasTools: true, maxOutputTokens: 256, maxOutputTokensFromClient: false }, 'chat', 'default'],
  ['large max_tokens just under', { maxOutputTokens: 16383 }, 'chat', 'default'],
  ['explicit low effort vetoes large max_tokens', { reasoningEffort: 'low', maxOutputTokens: 32000 }, 'chat', 'default'],
  ['explicit none effort vetoes large max_tokens', { reasoningEffort: 'none', maxOutputTokens: 32000 }, 'chat', 'default'],
  ['unknown effort counts as absent', { reasoningEffort: 'max' as 'high', maxOutputTokens: 32000 }, 'reasoning', 'large_max_tokens'],
  ['zero prompt, zero max', { promptTokens: 0, maxOutputTokens: 0 }, 'chat', 'default'],
];

for (const [name, over, shape, reason] of CASES) {
  test(`shape-rules: ${name} → ${shape} (${reason})`, () => {
    assert.deepEqual(rules.classify(req(over)), { shape, reason });
  });
}

test('shape-rules thresholds are parameters', () => {
  const custom = makeShapeRules(
    { toolCallMaxOutputTokens: 256, reasoningMinEffort: 'high', reasoningMinOutputTokens: 8000, terminalMinPromptTokens: 0 },
    'c',
  );
  assert.equal(custom.classify(req({ hasTools: true, maxOutputTokens: 512 })).shape, 'chat');
  assert.equal(custom.classify(req({ hasTools: true, maxOutputTokens: 256 })).shape, 'tool_call');
  assert.equal(custom.classify(req({ reasoningEffort: 'medium', maxOutputTokens: 100 })).shape, 'chat');
  assert.equal(custom.classify(req({ maxOutputTokens: 8000 })).reason, 'large_max_tokens');
  // terminalMinPromptTokens 0 turns the long-prompt rule off.
  assert.equal(custom.classify(req({ sessionId: 's', promptTokens: 1e6, maxOutputTokens: 100 })).shape, 'chat');
  const asTurns = makeShapeRules({ sessionToolResultsShape: 'terminal' }, 'c');
  assert.deepEqual(asTurns.classify(req({ sessionId: 's', turnIndex: 4, hasToolResults: true })), { shape: 'terminal', reason: 'session_tool_results' });
});

test('shape-rules rejects bad parameters naming the field', () => {
  const path = 'classification.classifier.params';
  assert.throws(() => makeShapeRules({ toolCallMaxOutputTokens: -1 }, path), /classification\.classifier\.params\.toolCallMaxOutputTokens: expected an integer ≥ 0/);
  assert.throws(() => makeShapeRules({ reasoningMinEffort: 'none' }, path), /params\.reasoningMinEffort: expected one of low, medium, high, got "none"/);
  assert.throws(() => makeShapeRules({ reasoningMinOutputTokens: 0 }, path), /params\.reasoningMinOutputTokens: expected an integer ≥ 1/);
  assert.throws(() => makeShapeRules({ terminalMinPromptTokens: 1.5 }, path), /params\.terminalMinPromptTokens/);
  assert.throws(() => makeShapeRules({ toolCallMaxTokens: 5 }, path), /params\.toolCallMaxTokens: unknown field/);
  assert.throws(() => makeShapeRules('fast', path), /classification\.classifier\.params: expected a mapping/);
  assert.throws(() => makeShapeRules({ sessionToolResultsShape: 'chat' }, path), /params\.sessionToolResultsShape: expected one of tool_call, terminal/);
});
