// Batch input validation, line by line, without Redis: every problem names its line and field; bodies are checked
// by the HTTP API's own parser (the same messages as a 400 from POST /v1/chat/completions); duplicates point at
// the first use; blank lines and CRLF are fine; the stored form reads back.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { readStoredLine, storedLine, validateBatchText, validateLine, type BatchLine } from './format.js';
import { batchLines, validateContext } from './testing/rig.js';

const ctx = validateContext();
const chat = (body: object, extra: object = {}): string => JSON.stringify({ custom_id: 'x', method: 'POST', url: '/v1/chat/completions', body, ...extra });

test('valid lines: blank lines and CRLF skipped, line numbers kept, stored form reads back', () => {
  const [a, b] = batchLines(2);
  const { lines, problems } = validateBatchText(`${a}\r\n\n${b}\n\n`, ctx);
  assert.deepEqual(problems, []);
  assert.deepEqual(lines.map((l) => [l.customId, l.lineNo, l.url]), [['req-0', 1, '/v1/chat/completions'], ['req-1', 3, '/v1/chat/completions']]);
  const back = readStoredLine(storedLine(lines[1] as BatchLine), 'here');
  assert.deepEqual(back, lines[1]);
  assert.throws(() => readStoredLine('{"custom_id":1}', 'batch b line index 4'), /batch b line index 4: the stored line is damaged/);
});

test('each kind of bad line is refused naming its line and field', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['{not json', 'line', /^line 1: line: not JSON/],
    ['[1,2]', 'line', /^line 1: line: expected a JSON object, got an array/],
    [JSON.stringify({ method: 'POST', url: '/v1/completions', body: {} }), 'custom_id', /^line 1: custom_id: required: a non-empty string, got undefined/],
    [JSON.stringify({ custom_id: 'x'.repeat(600), method: 'POST', url: '/v1/completions', body: {} }), 'custom_id', /at most 512 characters, got 600/],
    [chat({ messages: [] }, { method: 'GET' }), 'method', /^line 1: method: expected "POST", got "GET"/],
    [chat({ messages: [] }, { url: '/v1/embeddings' }), 'url', /^line 1: url: expected \/v1\/chat\/completions or \/v1\/completions, got "\/v1\/embeddings"/],
    [chat({ messages: [] }, { body: 'hi' }), 'body', /^line 1: body: expected a JSON object, got "hi"/],
    [chat({ messages: [{ role: 'user', content: 'hi' }], stream: true }), 'body.stream', /cannot stream/],
    [chat({ messages: [{ role: 'wizard', content: 'hi' }] }), 'body.messages[0].role', /^line 1: body\.messages\[0\]\.role: /],
    [chat({ messages: [{ role: 'user', content: 'hi' }], max_tokens: 0 }), 'body.max_tokens', /^line 1: body\.max_tokens: /],
    [chat({ messages: [{ role: 'user', content: 'hi' }], n: 3 }), 'body.n', /^line 1: body\.n: /],
    [chat({ messages: [{ role: 'user', content: 'hi' }], max_tokens: 10_000_000 }), 'body.max_tokens', /past the context/],
    [JSON.stringify({ custom_id: 'x', method: 'POST', url: '/v1/completions', body: { prompt: '' } }), 'body.prompt', /^line 1: body\.prompt: must not be empty/],
  ];
  for (const [text, field, message] of cases) {
    const r = validateLine(text, 1, ctx);
    assert.ok('message' in r, `accepted: ${text.slice(0, 80)}`);
    assert.equal(r.field, field, r.message);
    assert.match(r.message, message);
  }
});

test('a file: duplicates point at the first use, every bad line is listed, good ones kept', () => {
  const good = batchLines(3);
  const text = [good[0], '{"custom_id": "req-0", "method": "POST", "url": "/v1/completions", "body": {"prompt": "again"}}', good[1], 'oops', good[2]].join('\n');
  const { lines, problems } = validateBatchText(text, ctx);
  assert.deepEqual(lines.map((l) => l.customId), ['req-0', 'req-1', 'req-2']);
  assert.deepEqual(problems.map((p) => p.message.replace(/ \(.*/, '')), ['line 2: custom_id: "req-0" is already used on line 1', 'line 4: line: not JSON']);
});

test('models: any name passes when the served ones are unknown; a served list refuses others with a 404 message', () => {
  const line = chat({ model: 'some-model', messages: [{ role: 'user', content: 'hi' }] });
  assert.ok(!('message' in validateLine(line, 1, ctx)));
  const r = validateLine(line, 5, { ...ctx, models: ['llama-3.1-70b'] });
  assert.ok('message' in r);
  assert.equal(r.field, 'body.model');
  assert.match(r.message, /^line 5: body\.model: The model "some-model" does not exist; served: llama-3.1-70b/);
});
