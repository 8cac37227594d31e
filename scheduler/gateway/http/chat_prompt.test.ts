// The chat template's features and its prefix property: tool results count only after the last user message, the
// assistant turns are counted, tools sit after the leading system messages, and a conversation's next turn extends
// the previous prompt's text (minus the generation cue) so prefix caching sees the earlier turns.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { chatPrompt } from './chat_prompt.js';

const TOOL = { type: 'function', function: { name: 'run', parameters: { type: 'object' } } };
const CALL = { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'run', arguments: '{"cmd":"ls"}' } }] };
const RESULT = { role: 'tool', tool_call_id: 'c1', content: 'a.txt' };

test('features: tool results after the last user message, assistant turns, tool count', () => {
  const cases: Array<{ name: string; messages: unknown[]; tools?: unknown[]; toolResults: boolean; turns: number; numTools: number }> = [
    { name: 'plain', messages: [{ role: 'user', content: 'hi' }], toolResults: false, turns: 0, numTools: 0 },
    { name: 'agent step', messages: [{ role: 'user', content: 'list' }, CALL, RESULT], tools: [TOOL], toolResults: true, turns: 1, numTools: 1 },
    { name: 'results answered, new user turn', messages: [{ role: 'user', content: 'list' }, CALL, RESULT, { role: 'assistant', content: 'a.txt' }, { role: 'user', content: 'thanks' }], tools: [TOOL, TOOL], toolResults: false, turns: 2, numTools: 2 },
  ];
  for (const c of cases) {
    const p = chatPrompt({ messages: c.messages, ...(c.tools ? { tools: c.tools } : {}) });
    assert.equal(p.hasToolResults, c.toolResults, c.name);
    assert.equal(p.assistantTurns, c.turns, c.name);
    assert.equal(p.numTools, c.numTools, c.name);
    assert.ok(p.text.endsWith('<|im_start|>assistant\n'), c.name);
  }
});

test('layout: system first, then tools, then the conversation; content parts joined; tool calls rendered', () => {
  const p = chatPrompt({
    messages: [{ role: 'system', content: 'S' }, { role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] }, CALL, RESULT],
    tools: [TOOL],
  });
  const at = (s: string): number => p.text.indexOf(s);
  assert.ok(at('<|im_start|>system\nS') === 0);
  assert.ok(at('# Tools') > 0 && at('# Tools') < at('<|im_start|>user'));
  assert.ok(p.text.includes('<|im_start|>user\na\nb<|im_end|>'));
  assert.ok(p.text.includes('"name":"run","arguments":"{\\"cmd\\":\\"ls\\"}"'));
  assert.ok(p.text.includes('<tool_response id="c1">\na.txt\n</tool_response>'));
  // Tools only, no messages before them besides the conversation: the block still comes first.
  const q = chatPrompt({ messages: [{ role: 'user', content: 'x' }], tools: [TOOL] });
  assert.ok(q.text.startsWith('<|im_start|>system\n# Tools'));
});

test('a conversation turn extends the previous turn: same text prefix', () => {
  const turn1 = [{ role: 'system', content: 'S' }, { role: 'user', content: 'one' }];
  const turn2 = [...turn1, { role: 'assistant', content: 'reply' }, { role: 'user', content: 'two' }];
  const a = chatPrompt({ messages: turn1, tools: [TOOL] }).text;
  const b = chatPrompt({ messages: turn2, tools: [TOOL] }).text;
  assert.ok(b.startsWith(a), 'the generation cue of turn 1 is where the assistant reply starts in turn 2');
});
