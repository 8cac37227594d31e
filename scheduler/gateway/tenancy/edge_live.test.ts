// The edge on requests that stay live (workers pace every step in real time), over real gRPC and HTTP on
// 127.0.0.1: API keys in gRPC metadata (UNAUTHENTICATED, Bearer and x-api-key, the key's tenant over the tenant
// field, Cancel only of one's own requests), the concurrency quota (RESOURCE_EXHAUSTED + retry-after-s; HTTP 429
// concurrency_limit_exceeded) with the slot released by a disconnect, the streams-per-connection setting, and the
// total timeout (stepped clock) ending a stream with the limit named and freeing the request in the engine.
import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { connect as h2connect } from 'node:http2';
import { after, before, describe, test } from 'node:test';

import type { GenerateResponse__Output } from '../../gen/proto/nvlsched/v1/GenerateResponse.js';
import { unary } from '../testing.js';
import { counter, generateWith, startEdge, startEdgeBase, until, type Edge, type EdgeBase } from './testing.js';

let base: EdgeBase;
before(async () => {
  base = await startEdgeBase('real');
});
after(async () => {
  await base.close();
});

const md = (entries: Record<string, string>): grpc.Metadata => {
  const m = new grpc.Metadata();
  for (const [k, v] of Object.entries(entries)) m.set(k, v);
  return m;
};

/** A Generate that stays live: resolves with the call once its first token chunk arrived. */
function liveGenerate(e: Edge, meta: grpc.Metadata, requestId: string): Promise<{ call: grpc.ClientReadableStream<GenerateResponse__Output>; ended: Promise<GenerateResponse__Output | grpc.ServiceError> }> {
  return new Promise((resolve, reject) => {
    const call = e.client.Generate({ requestId, prompt: 'a long story please', maxTokens: 3000 }, meta);
    let last: GenerateResponse__Output | undefined;
    const ended = new Promise<GenerateResponse__Output | grpc.ServiceError>((res) => {
      call.on('error', (err: grpc.ServiceError) => res(err));
      call.on('end', () => res(last as GenerateResponse__Output));
    });
    let first = true;
    call.on('data', (c: GenerateResponse__Output) => {
      if (c.finished) last = c;
      if (first && c.tokenIds.length > 0) {
        first = false;
        resolve({ call, ended });
      }
    });
    void ended.then((r) => (first ? reject(new Error(`ended before a token: ${JSON.stringify(r)}`)) : undefined));
  });
}

describe('gRPC with API keys and a concurrency quota', () => {
  let e: Edge;
  before(async () => {
    e = await startEdge(base, { tenants: { acme: { maxConcurrentRequests: 1 } }, limits: { maxConcurrentStreamsPerConnection: 7, maxOutputTokens: 3000 } });
  });
  after(() => e.close());

  test('missing or wrong key: UNAUTHENTICATED; Health stays open', async () => {
    for (const meta of [md({}), md({ authorization: 'Bearer nvl-nope' }), md({ 'x-api-key': 'nvl-nope' })]) {
      const r = await generateWith(e.client, { prompt: 'hi', maxTokens: 2 }, meta);
      assert.equal(r.error?.code, grpc.status.UNAUTHENTICATED);
      assert.match(r.error?.details ?? '', /^invalid_api_key: /);
    }
    const h = await unary<object, { status: string }>((req, cb) => e.client.Health(req, cb), {});
    assert.equal(h.status, 'STATUS_SERVING');
  });

  test('Bearer and x-api-key work; the tenant field cannot override the key\'s tenant', async () => {
    const before = await counter(base, 'nvlsched_tenant_requests_total', { tenant: 'beta', outcome: 'completed' });
    const a = await generateWith(e.client, { prompt: 'hi', maxTokens: 2, tenant: 'acme' }, md({ authorization: `Bearer ${e.keys.beta}` }));
    assert.equal(a.last?.finishReason, 'length', a.error?.details);
    const b = await generateWith(e.client, { prompt: 'hi', maxTokens: 2 }, md({ 'x-api-key': e.keys.beta as string }));
    assert.equal(b.last?.finishReason, 'length', b.error?.details);
    assert.equal(await counter(base, 'nvlsched_tenant_requests_total', { tenant: 'beta', outcome: 'completed' }), before + 2);
    assert.equal(await counter(base, 'nvlsched_tenant_requests_total', { tenant: 'acme', outcome: 'completed' }), 0);
  });

  test('a second live request of a 1-slot tenant: RESOURCE_EXHAUSTED with retry-after-s (HTTP: 429); a disconnect frees the slot', async () => {
    const acme = md({ authorization: `Bearer ${e.keys.acme}` });
    const live = await liveGenerate(e, acme, 'acme-live-1');
    const refused = await generateWith(e.client, { prompt: 'hi', maxTokens: 2 }, acme);
    assert.equal(refused.error?.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.match(refused.error?.details ?? '', /^E_CONCURRENCY_LIMITED: tenant acme has 1 requests in flight, the limit tenants\.acme\.maxConcurrentRequests = 1/);
    assert.equal(refused.error?.metadata.get('retry-after-s')[0], '1.000');
    assert.equal(refused.error?.metadata.get('x-nvlsched-reject-code')[0], 'E_CONCURRENCY_LIMITED');
    const http = await fetch(`${e.baseUrl}/v1/completions`, { method: 'POST', headers: { authorization: `Bearer ${e.keys.acme}` }, body: JSON.stringify({ prompt: 'hi', max_tokens: 2 }) });
    assert.equal(http.status, 429);
    assert.equal(http.headers.get('retry-after'), '1');
    assert.equal(((await http.json()) as { error: { code: string } }).error.code, 'concurrency_limit_exceeded');
    // Another tenant is not affected.
    const beta = await generateWith(e.client, { prompt: 'hi', maxTokens: 2 }, md({ authorization: `Bearer ${e.keys.beta}` }));
    assert.equal(beta.last?.finishReason, 'length');
    live.call.cancel();
    await until(() => e.quotas.usage('acme').inFlight === 0, 'the cancelled request to release its slot');
    const after = await generateWith(e.client, { prompt: 'hi', maxTokens: 2 }, acme);
    assert.equal(after.last?.finishReason, 'length', after.error?.details);
    assert.equal(await counter(base, 'nvlsched_tenant_quota_rejections_total', { tenant: 'acme', reason: 'concurrency' }), 2);
  });

  test('Cancel needs a key and reaches only the caller\'s own requests', async () => {
    const live = await liveGenerate(e, md({ authorization: `Bearer ${e.keys.acme}` }), 'acme-live-2');
    const cancel = (meta: grpc.Metadata) =>
      new Promise<{ found?: boolean; code?: number }>((resolve) => e.client.Cancel({ requestId: 'acme-live-2' }, meta, (err, res) => resolve(err ? { code: err.code } : { found: res?.found ?? false })));
    assert.deepEqual(await cancel(md({})), { code: grpc.status.UNAUTHENTICATED });
    assert.deepEqual(await cancel(md({ authorization: `Bearer ${e.keys.beta}` })), { found: false });
    assert.deepEqual(await cancel(md({ authorization: `Bearer ${e.keys.acme}` })), { found: true });
    const end = (await live.ended) as GenerateResponse__Output;
    assert.equal(end.finishReason, 'cancelled');
    await until(() => e.quotas.usage('acme').inFlight === 0, 'the slot back');
  });

  test('streams per connection: the server announces limits.maxConcurrentStreamsPerConnection in its HTTP/2 SETTINGS', async () => {
    const session = h2connect(`http://127.0.0.1:${e.grpcPort}`);
    try {
      const settings = await new Promise<{ maxConcurrentStreams?: number }>((resolve, reject) => {
        session.once('remoteSettings', resolve);
        session.once('error', reject);
      });
      assert.equal(settings.maxConcurrentStreams, 7);
    } finally {
      session.destroy();
    }
  });
});

describe('total timeout (stepped clock)', () => {
  let e: Edge;
  let nowS = 0;
  before(async () => {
    e = await startEdge(base, { keys: null, limits: { totalTimeoutS: 30, streamIdleTimeoutS: null, maxOutputTokens: 3000 }, guardClock: () => nowS });
  });
  after(() => e.close());

  test('gRPC: the stream ends cancelled with the limit named, the engine frees the request', async () => {
    const live = await liveGenerate(e, md({}), 'timeout-grpc');
    nowS += 31;
    assert.equal(e.guard.sweep(), 1);
    const end = (await live.ended) as GenerateResponse__Output;
    assert.equal(end.finishReason, 'cancelled');
    assert.equal(end.text, 'limits.totalTimeoutS: the request ran past 30 s');
    await until(() => base.gateway.driver.liveRequests === 0, 'the driver to drop the request');
    assert.equal(e.guard.tracked, 0);
  });

  test('HTTP streaming: an SSE error event naming the limit and no [DONE]; not streaming: 408', async () => {
    const res = await fetch(`${e.baseUrl}/v1/completions`, { method: 'POST', body: JSON.stringify({ prompt: 'a long story', max_tokens: 3000, stream: true }) });
    assert.equal(res.status, 200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let text = '';
    const dec = new TextDecoder();
    while (!text.includes('"text"')) text += dec.decode((await reader.read()).value);
    nowS += 31;
    assert.equal(e.guard.sweep(), 1);
    for (let r = await reader.read(); !r.done; r = await reader.read()) text += dec.decode(r.value);
    assert.match(text, /data: \{"error":\{"message":"limits\.totalTimeoutS: the request ran past 30 s","type":"invalid_request_error","param":null,"code":"request_timeout"\}\}/);
    assert.ok(!text.includes('[DONE]'));

    const whole = fetch(`${e.baseUrl}/v1/completions`, { method: 'POST', body: JSON.stringify({ prompt: 'a long story', max_tokens: 3000 }) });
    await until(() => e.guard.tracked === 1, 'the request to be live');
    nowS += 31;
    assert.equal(e.guard.sweep(), 1);
    const r = await whole;
    assert.equal(r.status, 408);
    assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'request_timeout');
    await until(() => base.gateway.driver.liveRequests === 0, 'the driver to drop the requests');
  });
});
