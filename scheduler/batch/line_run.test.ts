// One batch line's end turned into its outcome, against a fake frontend that ends the request as the gateway's edge
// would: a total timeout fails the line (408: a retry would run as long again), an idle timeout (a long queue wait
// can cause one) is retried like any other cancel the drainer did not ask for, a normal end completes it.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { Finished, StreamSink } from '../gateway/frontend.js';
import { defaultTokenizer } from '../gateway/tokenizer.js';
import type { ParsedRequest } from '../gateway/request.js';
import { startLine, type BatchFrontend } from './line_run.js';

function endingWith(end: Partial<Finished>): BatchFrontend {
  return {
    now: () => 0,
    stopping: false,
    start: (parsed: ParsedRequest, sink: StreamSink) => {
      const f: Finished = {
        requestId: parsed.req.requestId, finishReason: 'cancelled',
        usage: { promptTokens: parsed.req.promptTokens, completionTokens: 0, cachedPromptTokens: 0, costUsd: 0 },
        timings: { queueS: 0, ttftS: 0, tpotS: 0, e2eS: 0 }, shape: 'chat', ...end,
      };
      queueMicrotask(() => sink.onEnd(f));
      return { ok: true, requestId: parsed.req.requestId, shape: 'chat', pool: 'p', instanceId: 'i0', cancel: () => true };
    },
  };
}

const line = { customId: 'c1', lineNo: 1, url: '/v1/chat/completions', body: { model: 'm', messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 } };
const ids = { batchId: 'b1', index: 0, requestId: 'b1-0-a1' };
const ctx = (frontend: BatchFrontend) => ({ frontend, parse: { limits: { maxContextTokens: 8192, blockTokens: 16 }, models: ['m'], tokenizer: defaultTokenizer() }, priority: -100 });

test('a line past limits.totalTimeoutS fails with 408 naming the limit; an idle timeout is retried; a normal end completes', async () => {
  const total = await startLine(line as never, ids, ctx(endingWith({ limit: 'totalTimeoutS', cancelReason: 'limits.totalTimeoutS: the request ran past 3600 s' })), () => {}).done;
  assert.equal(total.kind, 'result');
  assert.ok(total.kind === 'result' && total.field === 'failed');
  const out = JSON.stringify(total.kind === 'result' ? total.output : null);
  assert.match(out, /"status_code":408/);
  assert.match(out, /limits\.totalTimeoutS/);
  const idle = await startLine(line as never, ids, ctx(endingWith({ limit: 'streamIdleTimeoutS', cancelReason: 'limits.streamIdleTimeoutS: no token for 120 s' })), () => {}).done;
  assert.equal(idle.kind, 'retry');
  const done = await startLine(line as never, ids, ctx(endingWith({ finishReason: 'length', usage: { promptTokens: 3, completionTokens: 4, cachedPromptTokens: 0, costUsd: 0 } })), () => {}).done;
  assert.ok(done.kind === 'result' && done.field === 'completed');
});

test('a line runs as its batch owner\'s tenant (default without one); its end reports the field and the end time', async () => {
  const seen: string[] = [];
  const fe = endingWith({ finishReason: 'length' });
  const capturing: BatchFrontend = { ...fe, now: () => 7, start: (parsed, sink) => (seen.push(parsed.req.tenant), fe.start(parsed, sink)) };
  const ends: Array<{ field?: string; endS: number }> = [];
  await startLine(line as never, { ...ids, tenant: 'acme' }, ctx(capturing), () => {}, (e) => ends.push(e)).done;
  await startLine(line as never, ids, ctx(capturing), () => {}).done;
  assert.deepEqual(seen, ['acme', 'default']);
  assert.equal(ends[0]?.field, 'completed');
  assert.equal(ends[0]?.endS, 7);
});
