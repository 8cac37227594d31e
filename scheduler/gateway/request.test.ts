// GenerateRequest → ScheduleRequest for prompts: text goes through the tokenizer (its count is the prompt size, its
// ids the block hashes), prompt_token_ids pass as given, and a prompt that fills the context is refused naming the
// field — a huge text without encoding all of it.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { GenerateRequest__Output } from '../gen/proto/nvlsched/v1/GenerateRequest.js';
import { promptBlockHashes } from './hashing.js';
import { parseGenerate } from './request.js';
import { defaultTokenizer } from './tokenizer.js';

const LIMITS = { maxContextTokens: 4096, blockTokens: 16 };

function request(fields: Partial<GenerateRequest__Output>): GenerateRequest__Output {
  return {
    requestId: '', model: '', prompt: '', promptTokenIds: [], maxTokens: 0, shapeHint: 'SHAPE_UNSPECIFIED', sessionId: '', turnIndex: 0,
    priority: 0, tenant: '', numTools: 0, hasToolResults: false, reasoningEffort: '', blockHashes: [], ...fields,
  };
}

test('a text prompt is tokenized: prompt size and block hashes come from the tokenizer ids', () => {
  const text = 'Summarise the following meeting notes in three bullet points. '.repeat(12);
  const ids = defaultTokenizer().encode(text);
  const r = parseGenerate(request({ prompt: text, maxTokens: 8 }), LIMITS, 'gw-1', 5);
  assert.ok(r.ok, r.ok ? '' : r.error);
  assert.equal(r.value.req.promptTokens, ids.length);
  assert.ok(ids.length < Buffer.byteLength(text) / 3, `${ids.length} BPE tokens for ${Buffer.byteLength(text)} bytes (4-byte pseudo tokens gave a quarter)`);
  assert.deepEqual(r.value.req.blockHashes, promptBlockHashes(ids, 16));
  assert.equal(r.value.req.requestId, 'gw-1');
});

test('prompt_token_ids are used as given', () => {
  const ids = Array.from({ length: 40 }, (_, i) => 100 + i);
  const r = parseGenerate(request({ promptTokenIds: ids, maxTokens: 4 }), LIMITS, 'gw-2', 0);
  assert.ok(r.ok);
  assert.equal(r.value.req.promptTokens, 40);
  assert.deepEqual(r.value.req.blockHashes, promptBlockHashes(ids, 16));
});

test('a prompt filling the context is refused naming the field; a huge text is not encoded whole', () => {
  const huge = 'lorem ipsum dolor sit amet '.repeat(200_000); // ~1M tokens
  const tk = defaultTokenizer();
  const calls: Array<{ maxTokens: number | undefined; got: number }> = [];
  const counting = { ...tk, encode: (text: string, maxTokens?: number) => {
    const ids = tk.encode(text, maxTokens);
    calls.push({ maxTokens, got: ids.length });
    return ids;
  } };
  const r = parseGenerate(request({ prompt: huge }), LIMITS, 'gw-3', 0, counting);
  assert.ok(!r.ok);
  assert.match(r.error, /^prompt: more than 4096 tokens leave no room in the model's context of 4096$/);
  assert.equal(calls.length, 1);
  assert.equal(calls[0]?.maxTokens, 4096);
  assert.ok((calls[0]?.got ?? 0) < 10_000, `encoded ${calls[0]?.got} tokens of ~1M`);
  const ids = parseGenerate(request({ promptTokenIds: new Array<number>(4096).fill(1) }), LIMITS, 'gw-4', 0);
  assert.ok(!ids.ok);
  assert.match(ids.error, /^prompt_token_ids: 4096 tokens/);
});
