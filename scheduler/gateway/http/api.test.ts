// The HTTP API through the official `openai` client over real loopback: in-process workers + gateway (startRig),
// the HTTP server on a free port. Chat and completions, streaming and not, include_usage, tools and tool results
// classified as tool_call (the x-nvlsched-shape response header), hint headers, models.list, the client's error
// classes, prefix caching through the tokenizer, and a client that goes away cancelling its request.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';

import { startRig, type Rig } from '../testing.js';
import { defaultTokenizer } from '../tokenizer.js';
import { chatPrompt } from './chat_prompt.js';
import type { RunningHttpApi } from './server.js';
import { httpApiOn } from './test/rig.js';

const TOOLS: OpenAI.Chat.ChatCompletionTool[] = [
  { type: 'function', function: { name: 'get_weather', description: 'Current weather for a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } },
  { type: 'function', function: { name: 'search_docs', description: 'Full-text search over the docs', parameters: { type: 'object', properties: { query: { type: 'string' } } } } },
];

/** Resolves when `cond` holds, polling on timers with a bound (the scheduler has no event for it). */
async function until(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('OpenAI-compatible HTTP API with the official client', () => {
  let rig: Rig;
  let api: RunningHttpApi;
  let client: OpenAI;
  let model: string;
  before(async () => {
    rig = await startRig(1);
    model = rig.gateway.topology.cluster.model.name;
    api = await httpApiOn(rig, { extraModels: ['second-name'] });
    client = new OpenAI({ baseURL: `http://127.0.0.1:${api.port}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 10_000 });
  });
  after(async () => {
    await api.close();
    await rig.close();
  });

  test('chat, not streaming: a chat.completion with max_tokens tokens, usage from the tokenizer, shape header', async () => {
    const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: [{ type: 'text', text: 'Name three ' }, { type: 'text', text: 'primary colours.' }] },
    ];
    const t0 = Math.floor(Date.now() / 1000);
    const { data, response } = await client.chat.completions.create({ model, messages, max_tokens: 5, temperature: 0.2, seed: 7, user: 'u1' }).withResponse();
    assert.equal(data.object, 'chat.completion');
    assert.match(data.id, /^chatcmpl-/);
    assert.equal(response.headers.get('x-request-id'), data.id);
    assert.equal(data.model, model);
    assert.ok(data.created >= t0 && data.created <= t0 + 5);
    assert.equal(data.choices.length, 1);
    const c = data.choices[0];
    assert.equal(c?.finish_reason, 'length');
    assert.equal(c?.message.role, 'assistant');
    assert.ok((c?.message.content ?? '').length > 0, 'decoded text');
    const promptTokens = defaultTokenizer().encode(chatPrompt({ messages }).text).length;
    assert.deepEqual(data.usage, { prompt_tokens: promptTokens, completion_tokens: 5, total_tokens: promptTokens + 5, prompt_tokens_details: { cached_tokens: 0 } });
    assert.equal(response.headers.get('x-nvlsched-shape'), 'chat');
  });

  test('chat, streaming with include_usage: role chunk, content chunks, finish chunk, usage chunk, [DONE]', async () => {
    const stream = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'Count to ten.' }], max_completion_tokens: 12, stream: true, stream_options: { include_usage: true } });
    const chunks: OpenAI.Chat.ChatCompletionChunk[] = [];
    for await (const ch of stream) chunks.push(ch);
    assert.ok(chunks.length >= 4, `${chunks.length} chunks`);
    assert.ok(chunks.every((ch) => ch.object === 'chat.completion.chunk' && ch.id === chunks[0]?.id && ch.model === model));
    assert.deepEqual(chunks[0]?.choices[0]?.delta, { role: 'assistant', content: '' });
    const last = chunks.at(-1);
    const finish = chunks.at(-2);
    assert.deepEqual(last?.choices, []);
    assert.equal(last?.usage?.completion_tokens, 12);
    assert.equal(finish?.choices[0]?.finish_reason, 'length');
    assert.deepEqual(finish?.choices[0]?.delta, {});
    assert.ok(chunks.slice(0, -1).every((ch) => ch.usage === null), 'usage: null before the usage chunk');
    const text = chunks.map((ch) => ch.choices[0]?.delta.content ?? '').join('');
    assert.ok(text.length > 0);
  });

  test('completions, not streaming and streaming; token id prompts; the default max_tokens is 16', async () => {
    const whole = await client.completions.create({ model, prompt: 'Once upon a time', max_tokens: 7, stop: ['\n'] });
    assert.equal(whole.object, 'text_completion');
    assert.match(whole.id, /^cmpl-/);
    assert.equal(whole.choices[0]?.finish_reason, 'length');
    assert.equal(whole.usage?.prompt_tokens, defaultTokenizer().encode('Once upon a time').length);
    assert.equal(whole.usage?.completion_tokens, 7);

    const ids = Array.from({ length: 50 }, (_, i) => 1000 + i);
    const byIds = await client.completions.create({ model, prompt: ids });
    assert.equal(byIds.usage?.prompt_tokens, 50);
    assert.equal(byIds.usage?.completion_tokens, 16);

    const stream = await client.completions.create({ model, prompt: ['A list of fruits:'], max_tokens: 9, stream: true, stream_options: { include_usage: true } });
    const chunks: OpenAI.Completion[] = [];
    for await (const ch of stream) chunks.push(ch);
    assert.ok(chunks.every((ch) => ch.object === 'text_completion'));
    assert.equal(chunks.at(-2)?.choices[0]?.finish_reason, 'length');
    assert.deepEqual(chunks.at(-1)?.choices, []);
    assert.equal(chunks.at(-1)?.usage?.completion_tokens, 9);
  });

  test('tools and tool results: classified tool_call; tool schemas cost prompt tokens', async () => {
    const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [
      { role: 'user', content: 'Weather in Paris?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: '{"temp_c": 18, "sky": "clear"}' },
    ];
    const withTools = await client.chat.completions.create({ model, messages, tools: TOOLS, tool_choice: 'auto', max_tokens: 3 }).withResponse();
    assert.equal(withTools.response.headers.get('x-nvlsched-shape'), 'tool_call');
    const plain = await client.chat.completions.create({ model, messages, max_tokens: 3 });
    const schemaTokens = (withTools.data.usage?.prompt_tokens ?? 0) - (plain.usage?.prompt_tokens ?? 0);
    assert.ok(schemaTokens > 40, `tool schemas cost ${schemaTokens} prompt tokens`);
    // Tools offered with a small max_tokens, no results yet: also a tool call.
    const offer = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'Search the docs for "retention".' }], tools: TOOLS, max_tokens: 50 }).withResponse();
    assert.equal(offer.response.headers.get('x-nvlsched-shape'), 'tool_call');
  });

  test('hints: reasoning_effort, x-nvlsched-shape, a session turn; a second served name pins nothing unknown', async () => {
    const effort = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'Prove it.' }], reasoning_effort: 'high', max_tokens: 2 }).withResponse();
    assert.equal(effort.response.headers.get('x-nvlsched-shape'), 'reasoning');
    const hinted = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 }, { headers: { 'x-nvlsched-shape': 'terminal', 'x-tenant': 'team-a', 'x-priority': '-3' } }).withResponse();
    assert.equal(hinted.response.headers.get('x-nvlsched-shape'), 'terminal');
    const session: OpenAI.Chat.ChatCompletionMessageParam[] = [
      { role: 'user', content: 'ls' },
      { role: 'assistant', content: 'a.txt b.txt' },
      { role: 'user', content: 'cat a.txt' },
    ];
    const turn = await client.chat.completions.create({ model, messages: session, max_tokens: 2 }, { headers: { 'x-session-id': 'sess-1' } }).withResponse();
    assert.equal(turn.response.headers.get('x-nvlsched-shape'), 'terminal', 'turn 1 of a session (one assistant message so far)');
    // 'second-name' is served but names no pool or model: the scheduler's E_NO_POOL is a 404.
    await assert.rejects(client.chat.completions.create({ model: 'second-name', messages: [{ role: 'user', content: 'x' }], max_tokens: 1 }), (e) => e instanceof OpenAI.NotFoundError && e.param === 'model');
  });

  test('a repeated long prompt hits the prefix cache (cached_tokens)', async () => {
    const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [
      { role: 'system', content: 'You review pull requests. Be specific and cite line numbers. '.repeat(40) },
      { role: 'user', content: 'Review this diff.' },
    ];
    const first = await client.chat.completions.create({ model, messages, max_tokens: 2 });
    const second = await client.chat.completions.create({ model, messages, max_tokens: 2 });
    assert.equal(first.usage?.prompt_tokens, second.usage?.prompt_tokens);
    assert.ok((second.usage?.prompt_tokens_details?.cached_tokens ?? 0) >= 16 * 10, `cached ${second.usage?.prompt_tokens_details?.cached_tokens} of ${second.usage?.prompt_tokens}`);
  });

  test('models.list and models.retrieve', async () => {
    const ids: string[] = [];
    for await (const m of client.models.list()) ids.push(m.id);
    assert.deepEqual(ids, [model, 'second-name']);
    const m = await client.models.retrieve(model);
    assert.equal(m.object, 'model');
    await assert.rejects(client.models.retrieve('nope'), OpenAI.NotFoundError);
  });

  test('errors as the client classes them: BadRequestError naming the param, NotFoundError', async () => {
    const base = { model, messages: [{ role: 'user' as const, content: 'x' }] };
    const bad = async (body: Record<string, unknown>, param: string, message: RegExp): Promise<void> => {
      await assert.rejects(client.chat.completions.create({ ...base, ...body } as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming), (e) => {
        assert.ok(e instanceof OpenAI.BadRequestError, String(e));
        assert.equal(e.param, param);
        assert.match(e.message, message);
        return true;
      });
    };
    await bad({ max_tokens: 1e9 }, 'max_tokens', /past the context left/);
    await bad({ max_tokens: 0 }, 'max_tokens', /expected 1 ≤ value/);
    await bad({ n: 2 }, 'n', /not supported/);
    await bad({ messages: [] }, 'messages', /at least one message/);
    await bad({ messages: [{ role: 'wizard', content: 'x' }] }, 'messages[0].role', /expected one of system, developer, user, assistant, tool/);
    await bad({ temperature: 'hot' }, 'temperature', /expected a number/);
    await bad({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'http://x' } }] }] }, 'messages[0].content[0].type', /only "text" parts/);
    await bad({ messages: [{ role: 'user', content: 'lorem ipsum dolor sit amet '.repeat(40_000) }] }, 'messages', /context of \d+ leaves no room/);
    await assert.rejects(client.chat.completions.create({ ...base, model: 'gpt-9' }), (e) => e instanceof OpenAI.NotFoundError && e.code === 'model_not_found');
  });

  test('a duplicate x-request-id is a 409; a streaming client that aborts cancels its request, nothing stays live', async () => {
    const before = rig.gateway.sched.stats();
    const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Write a long story.' }];
    const headers = { 'x-request-id': 'story-1' };
    const stream = await client.chat.completions.create({ model, messages, max_tokens: 3000, stream: true }, { headers });
    let got = 0;
    for await (const ch of stream) {
      assert.equal(ch.id, 'story-1');
      if ((ch.choices[0]?.delta.content ?? '') === '' || ++got < 2) continue;
      await assert.rejects(client.chat.completions.create({ model, messages, max_tokens: 2 }, { headers }), (e) => e instanceof OpenAI.ConflictError && e.code === 'E_DUPLICATE_REQUEST');
      break; // break aborts the HTTP response
    }
    await until(() => rig.gateway.sched.stats().cancelled > before.cancelled, 'the cancel');
    await until(() => rig.gateway.sched.stats().live === 0, 'no live requests');
    assert.equal(rig.gateway.sched.stats().cancelled - before.cancelled, 1);
  });
});
