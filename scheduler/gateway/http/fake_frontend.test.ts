// The HTTP API over a fake frontend (no workers): each rejection kind → its status and the official client's error
// class (429 with an integer Retry-After), shutdown → 503, the end kinds (worker error, server cancel) streaming and
// not, an end that arrives before start() returns, and the exact decoded text of known token ids — including a
// character whose bytes arrive in two token batches.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';

import type { Finished, Rejection, StartResult, StreamSink } from '../frontend.js';
import type { ParsedRequest } from '../request.js';
import { defaultTokenizer } from '../tokenizer.js';
import type { ApiFrontend } from './generate.js';
import { startHttpApi, type RunningHttpApi } from './server.js';

type Behaviour = (parsed: ParsedRequest, sink: StreamSink) => StartResult;

function finished(parsed: ParsedRequest, outputs: number, over: Partial<Finished> = {}): Finished {
  return {
    requestId: parsed.req.requestId,
    finishReason: outputs >= parsed.maxTokens ? 'length' : 'stop',
    usage: { promptTokens: parsed.req.promptTokens, completionTokens: outputs, cachedPromptTokens: 0, costUsd: 0 },
    timings: { queueS: 0, ttftS: 0, tpotS: 0, e2eS: 0 },
    shape: 'chat',
    ...over,
  };
}

const admitted = (parsed: ParsedRequest): StartResult => ({ ok: true, requestId: parsed.req.requestId, shape: 'chat', pool: 'p', instanceId: 'i0', cancel: () => true });
const rejected = (rejection: Rejection): Behaviour => () => ({ ok: false, rejection });
/** Streams `batches` of ids on later turns of the event loop, then ends with `end`. */
const streams = (batches: number[][], end: Partial<Finished> = {}): Behaviour => (parsed, sink) => {
  let outputs = 0;
  const next = (i: number): void => {
    const b = batches[i];
    if (b === undefined) return sink.onEnd(finished(parsed, outputs, end));
    outputs += b.length;
    sink.onTokens(b);
    setImmediate(() => next(i + 1));
  };
  setImmediate(() => next(0));
  return admitted(parsed);
};

describe('HTTP API over a fake frontend', () => {
  let behaviour: Behaviour = streams([[1]]);
  const fe: ApiFrontend & { stopping: boolean } = {
    start: (parsed, sink) => behaviour(parsed, sink),
    newRequestId: (prefix = 'gw') => `${prefix}-fake`,
    now: () => 0,
    stopping: false,
    liveRequests: 0,
  };
  let api: RunningHttpApi;
  let client: OpenAI;
  const chat = { model: 'm', messages: [{ role: 'user' as const, content: 'hi' }], max_tokens: 8 };
  before(async () => {
    api = await startHttpApi({ frontend: fe, limits: { maxContextTokens: 4096, blockTokens: 16 }, models: ['m'] });
    client = new OpenAI({ baseURL: `http://127.0.0.1:${api.port}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 5000 });
  });
  after(() => api.close());

  test('overloaded → 429 RateLimitError with Retry-After in whole seconds (at least 1)', async () => {
    for (const [retryAfterS, header] of [[2.3, '3'], [0.01, '1'], [undefined, '1']] as const) {
      behaviour = rejected({ kind: 'overloaded', code: 'E_QUEUE_FULL', reason: 'the queue is full', ...(retryAfterS !== undefined ? { retryAfterS } : {}) });
      await assert.rejects(client.chat.completions.create(chat), (e) => {
        assert.ok(e instanceof OpenAI.RateLimitError, String(e));
        assert.equal(e.headers?.['retry-after'], header);
        assert.equal(e.code, 'E_QUEUE_FULL');
        assert.equal(e.type, 'rate_limit_error');
        assert.match(e.message, /E_QUEUE_FULL: the queue is full/);
        return true;
      });
    }
  });

  test('other rejection kinds: 409 conflict, 404 not_found, 400 context, 501 unimplemented, 503 unavailable', async () => {
    const cases: Array<[Rejection, (e: unknown) => boolean]> = [
      [{ kind: 'conflict', code: 'E_DUPLICATE_REQUEST', reason: 'request r1 is already running' }, (e) => e instanceof OpenAI.ConflictError],
      [{ kind: 'not_found', code: 'E_NO_POOL', reason: 'no pool' }, (e) => e instanceof OpenAI.NotFoundError && e.param === 'model' && e.code === 'model_not_found'],
      [{ kind: 'invalid', code: 'E_CONTEXT_TOO_LONG', reason: 'too long' }, (e) => e instanceof OpenAI.BadRequestError && e.param === 'messages' && e.code === 'context_length_exceeded'],
      [{ kind: 'unimplemented', code: 'E_EXTERNAL_POOL', reason: 'external' }, (e) => e instanceof OpenAI.APIError && e.status === 501],
      [{ kind: 'unavailable', code: 'E_SHUTTING_DOWN', reason: 'bye' }, (e) => e instanceof OpenAI.InternalServerError && e.status === 503 && e.headers?.['retry-after'] === '1'],
    ];
    for (const [r, ok] of cases) {
      behaviour = rejected(r);
      await assert.rejects(client.chat.completions.create(chat), (e) => ok(e) || assert.fail(`${r.kind}: ${String(e)}`));
    }
  });

  test('a stopping frontend: generation 503 and /health 503 draining; serving again: 200', async () => {
    fe.stopping = true;
    try {
      await assert.rejects(client.completions.create({ model: 'm', prompt: 'x' }), (e) => e instanceof OpenAI.InternalServerError && e.status === 503);
      const h = await fetch(`http://127.0.0.1:${api.port}/health`);
      assert.equal(h.status, 503);
      assert.equal(((await h.json()) as { status: string }).status, 'draining');
    } finally {
      fe.stopping = false;
    }
    const h = await fetch(`http://127.0.0.1:${api.port}/health`);
    assert.equal(h.status, 200);
    assert.deepEqual(await h.json(), { status: 'serving', live_requests: 0 });
  });

  test('the text is the tokenizer decode of the ids; a character split across batches arrives whole', async () => {
    const tk = defaultTokenizer();
    const ids = tk.encode('Hi 🦩 there'); // 🦩 is three byte-level tokens
    const batches = ids.map((id) => [id]);
    behaviour = streams(batches);
    const whole = await client.chat.completions.create({ ...chat, max_tokens: ids.length });
    assert.equal(whole.choices[0]?.message.content, 'Hi 🦩 there');
    behaviour = streams(batches);
    const stream = await client.chat.completions.create({ ...chat, max_tokens: ids.length, stream: true });
    const parts: string[] = [];
    for await (const ch of stream) parts.push(ch.choices[0]?.delta.content ?? '');
    assert.equal(parts.join(''), 'Hi 🦩 there');
    assert.ok(!parts.some((p) => p.includes('\uFFFD')), JSON.stringify(parts));
  });

  test('finish_reason stop below max_tokens; an end before start() returns still answers', async () => {
    behaviour = streams([[5, 6]]);
    const r = await client.completions.create({ model: 'm', prompt: 'x', max_tokens: 10 });
    assert.equal(r.choices[0]?.finish_reason, 'stop');
    assert.equal(r.usage?.completion_tokens, 2);
    behaviour = (parsed, sink) => {
      sink.onEnd(finished(parsed, 0));
      return admitted(parsed);
    };
    const early = await client.completions.create({ model: 'm', prompt: 'x', max_tokens: 10 });
    assert.equal(early.choices[0]?.text, '');
    assert.equal(early.choices[0]?.finish_reason, 'stop');
  });

  test('a worker error: 500 worker_error, or mid-stream an error event the client throws', async () => {
    behaviour = streams([[1, 2]], { finishReason: 'error', error: 'E_OOM: no KV' });
    await assert.rejects(client.chat.completions.create(chat), (e) => e instanceof OpenAI.InternalServerError && e.code === 'worker_error' && /E_OOM: no KV/.test(e.message));
    behaviour = streams([[1, 2], [3]], { finishReason: 'error', error: 'E_OOM: no KV' });
    const stream = await client.chat.completions.create({ ...chat, stream: true });
    let chunks = 0;
    await assert.rejects(
      (async () => {
        for await (const _ of stream) chunks++;
      })(),
      (e) => e instanceof OpenAI.APIError && /the worker failed: E_OOM: no KV/.test(e.message),
    );
    assert.ok(chunks >= 2, 'the chunks before the error arrived');
  });

  test('a server-side cancel is an error (code cancelled), never a silent stop', async () => {
    behaviour = streams([[1]], { finishReason: 'cancelled', cancelReason: 'the gateway is shutting down' });
    await assert.rejects(client.chat.completions.create(chat), (e) => e instanceof OpenAI.InternalServerError && e.status === 503 && e.code === 'cancelled');
    behaviour = streams([[1]], { finishReason: 'cancelled', cancelReason: 'the gateway is shutting down' });
    const stream = await client.completions.create({ model: 'm', prompt: 'x', stream: true });
    await assert.rejects(
      (async () => {
        for await (const _ of stream);
      })(),
      (e) => e instanceof OpenAI.APIError && /cancelled by the server: the gateway is shutting down/.test(e.message),
    );
  });
});
