// The gateway over real loopback gRPC: in-process workers (the worker package's server) and gateway, ports picked
// at run time. Generate streams to max_tokens for several shapes, cancel frees the sequence on the worker, bad
// requests get INVALID_ARGUMENT naming the field, Health answers.
import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import type { GenerateRequest } from '../gen/proto/nvlsched/v1/GenerateRequest.js';
import { generate, startRig, unary, type Rig } from './testing.js';

const ids = (n: number, base = 1): number[] => Array.from({ length: n }, (_, i) => base + i);

describe('gateway with two in-process workers', () => {
  let rig: Rig;
  before(async () => {
    rig = await startRig(2);
  });
  after(async () => rig.close());

  const SHAPES: Array<{ name: string; req: GenerateRequest; maxTokens: number }> = [
    { name: 'short chat by token ids', req: { promptTokenIds: ids(40), maxTokens: 5 }, maxTokens: 5 },
    { name: 'text prompt, one token', req: { prompt: 'hello world, '.repeat(30), maxTokens: 1 }, maxTokens: 1 },
    { name: 'tool call with tool results', req: { promptTokenIds: ids(300, 7), maxTokens: 12, numTools: 3, hasToolResults: true }, maxTokens: 12 },
    { name: 'reasoning, long prompt chunked', req: { promptTokenIds: ids(3000, 11), maxTokens: 40, reasoningEffort: 'high' }, maxTokens: 40 },
    { name: 'terminal session turn', req: { promptTokenIds: ids(500, 3), maxTokens: 8, sessionId: 's1', turnIndex: 2 }, maxTokens: 8 },
    { name: 'default max_tokens', req: { promptTokenIds: ids(20) }, maxTokens: 256 },
  ];
  for (const c of SHAPES) {
    test(`Generate streams to max_tokens: ${c.name}`, async () => {
      const out = await generate(rig.client, c.req);
      assert.equal(out.error, undefined, out.error?.details);
      assert.equal(out.tokens.length, c.maxTokens);
      assert.ok(out.last, 'a final message');
      assert.equal(out.last.finishReason, 'length');
      assert.equal(out.last.usage?.completionTokens, c.maxTokens);
      assert.ok((out.last.timings?.e2eS ?? 0) > 0);
      assert.ok((out.last.timings?.ttftS ?? -1) >= 0);
      assert.notEqual(out.last.shape, 'SHAPE_UNSPECIFIED');
    });
  }

  test('concurrent requests all complete and the scheduler counts them', async () => {
    const before = rig.gateway.sched.stats();
    const outs = await Promise.all(Array.from({ length: 12 }, (_, i) => generate(rig.client, { promptTokenIds: ids(64 + i * 10, i * 100), maxTokens: 3 + i })));
    outs.forEach((o, i) => assert.equal(o.tokens.length, 3 + i));
    const after = rig.gateway.sched.stats();
    assert.equal(after.completed - before.completed, 12);
    assert.equal(after.live, 0);
  });

  // The driver's default (tokensAfterNextPlan: a step's tokens written after the next plan went out) runs in every
  // other test here; this one runs the other order on the shared rig and puts the default back for the tests after.
  test('tokens written before the next plan is sent (the other order, tokensAfterNextPlan false): every stream whole, its end last', async () => {
    assert.equal(rig.gateway.driver.tokensAfterNextPlan, true, 'the default order');
    rig.gateway.driver.tokensAfterNextPlan = false;
    try {
      const outs = await Promise.all(Array.from({ length: 12 }, (_, i) => generate(rig.client, { promptTokenIds: ids(64 + i * 10, 9000 + i * 100), maxTokens: 3 + i })));
      // generate() collects until the finished message: a token after it, or an end before the last token, fails here.
      outs.forEach((o, i) => {
        assert.equal(o.error, undefined, o.error?.details);
        assert.equal(o.tokens.length, 3 + i);
        assert.equal(o.last?.usage?.completionTokens, 3 + i);
        assert.equal(o.chunks.at(-1)?.finished, true);
      });
      assert.equal(rig.gateway.sched.stats().live, 0);
    } finally {
      rig.gateway.driver.tokensAfterNextPlan = true;
    }
  });

  test('one routing decision in sixteen is timed per stage and plugin in nvlsched_scheduling_latency_seconds', async () => {
    await Promise.all(Array.from({ length: 16 }, (_, i) => generate(rig.client, { promptTokenIds: ids(32, 20_000 + i * 50), maxTokens: 1 })));
    const text = await rig.gateway.metrics.registry.metrics();
    for (const plugin of ['classify', 'route', 'kv_lookup', 'filter:healthy', 'scorer:predicted-ttft', 'picker:max-score', 'admission', 'enqueue']) {
      assert.match(text, new RegExp(`^nvlsched_scheduling_latency_seconds_count\\{[^}]*plugin="${plugin}"[^}]*\\} [1-9]`, 'm'), plugin);
    }
  });

  test('a repeated prompt hits the prefix cache (KV events reach the index)', async () => {
    const prompt = ids(320, 5000);
    await generate(rig.client, { promptTokenIds: prompt, maxTokens: 2 });
    const second = await generate(rig.client, { promptTokenIds: prompt, maxTokens: 2 });
    assert.ok((second.last?.usage?.cachedPromptTokens ?? 0) >= 16, `cached ${second.last?.usage?.cachedPromptTokens}`);
  });

  test('a client cancel mid-stream ends the request and frees its sequence on the worker', async () => {
    const out = await generate(rig.client, { promptTokenIds: ids(100), maxTokens: 2000 }, (c, call) => {
      if (c.tokenIds.length > 0) call.cancel();
    });
    assert.equal(out.error?.code, grpc.status.CANCELLED);
    await rig.gateway.driver.idle();
    assert.equal(rig.gateway.sched.stats().live, 0);
    // The free goes out in the instance's next plan; wait for it bounded.
    for (let i = 0; i < 100 && rig.workers.some((w) => w.backend.liveSequences > 0); i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(rig.workers.map((w) => w.backend.liveSequences), [0, 0]);
  });

  test('Cancel by request id ends the stream with finish_reason cancelled', async () => {
    let cancelled: Promise<{ found: boolean }> | undefined;
    const out = await generate(rig.client, { requestId: 'to-cancel', promptTokenIds: ids(50), maxTokens: 2000 }, (c) => {
      if (!cancelled && c.tokenIds.length > 0) cancelled = unary(rig.client.Cancel.bind(rig.client), { requestId: 'to-cancel' });
    });
    assert.deepEqual(await cancelled, { found: true });
    assert.equal(out.last?.finishReason, 'cancelled');
    assert.ok(out.tokens.length < 2000);
    assert.deepEqual(await unary(rig.client.Cancel.bind(rig.client), { requestId: 'to-cancel' }), { found: false });
  });

  const BAD: Array<{ req: GenerateRequest; field: string }> = [
    { req: { maxTokens: 4 }, field: 'prompt' },
    { req: { prompt: 'x', promptTokenIds: [1], maxTokens: 4 }, field: 'prompt' },
    { req: { promptTokenIds: ids(10), maxTokens: 10_000_000 }, field: 'max_tokens' },
    { req: { promptTokenIds: ids(10), maxTokens: 2, reasoningEffort: 'extreme' }, field: 'reasoning_effort' },
    { req: { promptTokenIds: ids(10), maxTokens: 2, turnIndex: 3 }, field: 'turn_index' },
    { req: { promptTokenIds: ids(40), maxTokens: 2, blockHashes: ['1', '2', '3'] }, field: 'block_hashes' },
    { req: { requestId: 'r'.repeat(300), promptTokenIds: ids(4), maxTokens: 2 }, field: 'request_id' },
  ];
  for (const c of BAD) {
    test(`INVALID_ARGUMENT names ${c.field}`, async () => {
      const out = await generate(rig.client, c.req);
      assert.equal(out.error?.code, grpc.status.INVALID_ARGUMENT);
      assert.match(out.error?.details ?? '', new RegExp(`^${c.field}: `));
    });
  }

  test('unknown model → NOT_FOUND; the gateway keeps serving', async () => {
    const out = await generate(rig.client, { model: 'no-such-model', promptTokenIds: ids(10), maxTokens: 2 });
    assert.equal(out.error?.code, grpc.status.NOT_FOUND);
    const ok = await generate(rig.client, { promptTokenIds: ids(10), maxTokens: 2 });
    assert.equal(ok.tokens.length, 2);
  });

  test('Health reports serving', async () => {
    const h = await unary<object, { status: string; detail: string }>(rig.client.Health.bind(rig.client), {});
    assert.equal(h.status, 'STATUS_SERVING');
    assert.match(h.detail, /8 instances/);
  });
});

describe('admission', () => {
  test('a request whose KV can never fit → INVALID_ARGUMENT (retrying cannot help) with the reject code in metadata', async () => {
    const rig = await startRig(1);
    try {
      const out = await generate(rig.client, { promptTokenIds: ids(100), maxTokens: 100_000 });
      assert.equal(out.error?.code, grpc.status.INVALID_ARGUMENT);
      const code = out.error?.metadata.get('x-nvlsched-reject-code')[0];
      assert.equal(String(code), 'E_KV_CAPACITY');
      assert.match(out.error?.details ?? '', new RegExp(`^${String(code)}: `));
      assert.equal(rig.gateway.sched.stats().live, 0);
    } finally {
      await rig.close();
    }
  });
});
