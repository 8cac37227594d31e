// The edge over real HTTP on 127.0.0.1, against a real worker and gateway: API keys (401 shapes, /v1/models and
// /health, the key's tenant over x-tenant, rotation without a restart), tenant token-rate quotas with a stepped
// clock (429 + Retry-After, refill), the request limits (each a 4xx naming the limit), the body idle timeout, and the
// per-tenant metrics.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';

import { generateKey } from './keys.js';
import { counter, startEdge, startEdgeBase, type Edge, type EdgeBase } from './testing.js';

let base: EdgeBase;
before(async () => {
  base = await startEdgeBase('none');
});
after(async () => {
  await base.close();
});

const chatBody = (extra: Record<string, unknown> = {}) => JSON.stringify({ messages: [{ role: 'user', content: 'hello there' }], max_tokens: 4, ...extra });

async function post(e: Edge, path: string, body: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${e.baseUrl}${path}`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
  return { status: res.status, headers: res.headers, json: (await res.json()) as Record<string, any> };
}

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

describe('API keys over HTTP', () => {
  let e: Edge;
  before(async () => {
    e = await startEdge(base);
  });
  after(() => e.close());

  test('no key, a wrong key and a non-Bearer scheme: 401 in OpenAI\'s shape with WWW-Authenticate', async () => {
    for (const headers of [{}, bearer('nvl-wrong'), { authorization: `Basic ${e.keys.acme}` }]) {
      const r = await post(e, '/v1/chat/completions', chatBody(), headers);
      assert.equal(r.status, 401);
      assert.equal(r.headers.get('www-authenticate'), 'Bearer');
      assert.deepEqual(Object.keys(r.json.error).sort(), ['code', 'message', 'param', 'type']);
      assert.equal(r.json.error.code, 'invalid_api_key');
      assert.equal(r.json.error.type, 'invalid_request_error');
      assert.equal(r.json.error.param, null);
    }
    assert.ok((await counter(base, 'nvlsched_auth_failures_total', { reason: 'missing' })) >= 2);
    assert.ok((await counter(base, 'nvlsched_auth_failures_total', { reason: 'invalid' })) >= 1);
  });

  test('/v1/models needs a key (as OpenAI\'s); /health does not', async () => {
    assert.equal((await fetch(`${e.baseUrl}/v1/models`)).status, 401);
    assert.equal((await fetch(`${e.baseUrl}/v1/models/${base.gateway.topology.cluster.model.name}`)).status, 401);
    const ok = await fetch(`${e.baseUrl}/v1/models`, { headers: bearer(e.keys.acme as string) });
    assert.equal(ok.status, 200);
    assert.equal(((await ok.json()) as { object: string }).object, 'list');
    assert.equal((await fetch(`${e.baseUrl}/health`)).status, 200);
  });

  test('the key names the tenant: x-tenant cannot override it; x-api-key works too', async () => {
    const before = await counter(base, 'nvlsched_tenant_requests_total', { tenant: 'acme', outcome: 'completed' });
    const r = await post(e, '/v1/chat/completions', chatBody(), { ...bearer(e.keys.acme as string), 'x-tenant': 'beta' });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    const r2 = await post(e, '/v1/completions', JSON.stringify({ prompt: 'hi', max_tokens: 3 }), { 'x-api-key': e.keys.acme as string });
    assert.equal(r2.status, 200, JSON.stringify(r2.json));
    assert.equal(await counter(base, 'nvlsched_tenant_requests_total', { tenant: 'acme', outcome: 'completed' }), before + 2);
    assert.equal(await counter(base, 'nvlsched_tenant_requests_total', { tenant: 'beta', outcome: 'completed' }), 0);
    assert.ok((await counter(base, 'nvlsched_tenant_completion_tokens_total', { tenant: 'acme' })) >= 7);
    assert.ok((await counter(base, 'nvlsched_tenant_prompt_tokens_total', { tenant: 'acme' })) > 0);
    assert.ok((await counter(base, 'nvlsched_tenant_cost_usd_total', { tenant: 'acme' })) > 0);
    // The existing families keep their names and labels.
    assert.ok((await counter(base, 'nvlsched_requests_total', { shape: 'chat', outcome: 'completed' })) >= 1);
  });

  test('rotation without a restart: a new key works at once, the disabled old one is refused', async () => {
    const old = e.keys.acme as string;
    const fresh = generateKey('acme', 'acme-1');
    e.writeKeys([...e.records, fresh.record]);
    assert.equal((await post(e, '/v1/chat/completions', chatBody(), bearer(fresh.key))).status, 200);
    assert.equal((await post(e, '/v1/chat/completions', chatBody(), bearer(old))).status, 200, 'both work while clients move');
    e.writeKeys([...e.records.map((r) => (r.id === 'acme-0' ? { ...r, disabled: true } : r)), fresh.record]);
    const refused = await post(e, '/v1/chat/completions', chatBody(), bearer(old));
    assert.equal(refused.status, 401);
    assert.match(refused.json.error.message, /acme-0 is disabled/);
    assert.equal((await post(e, '/v1/chat/completions', chatBody(), bearer(fresh.key))).status, 200);
  });
});

describe('token-rate quota over HTTP (stepped clock)', () => {
  let e: Edge;
  let nowS = 0;
  before(async () => {
    // 60 tokens/min = 1 token/s, bucket 300.
    e = await startEdge(base, { tenants: { metered: { tokensPerMinute: 60, burstTokens: 300 } }, keys: ['metered'], quotaClock: () => nowS });
  });
  after(() => e.close());

  test('admitted within the bucket, then 429 rate_limit_exceeded with the refill time as Retry-After, then admitted after it', async () => {
    const h = bearer(e.keys.metered as string);
    const first = await post(e, '/v1/chat/completions', chatBody({ max_tokens: 100 }), h);
    assert.equal(first.status, 200);
    const p = first.json.usage.prompt_tokens as number;
    assert.equal(first.json.usage.completion_tokens, 100, 'ran to max_tokens: nothing refunded');
    assert.ok(p <= 50, `prompt ${p}`);
    assert.equal((await post(e, '/v1/chat/completions', chatBody({ max_tokens: 100 }), h)).status, 200);
    const refused = await post(e, '/v1/chat/completions', chatBody({ max_tokens: 100 }), h);
    assert.equal(refused.status, 429);
    assert.equal(refused.json.error.code, 'rate_limit_exceeded');
    assert.equal(refused.json.error.type, 'rate_limit_error');
    assert.match(refused.json.error.message, /tenants\.metered\.tokensPerMinute = 60/);
    // Left: 300 − 2(p + 100) = 100 − 2p; the deficit (p + 100) − (100 − 2p) = 3p tokens refill in 3p s.
    assert.equal(refused.headers.get('retry-after'), String(3 * p));
    nowS += 3 * p - 1;
    assert.equal((await post(e, '/v1/chat/completions', chatBody({ max_tokens: 100 }), h)).status, 429);
    nowS += 1;
    assert.equal((await post(e, '/v1/chat/completions', chatBody({ max_tokens: 100 }), h)).status, 200);
    assert.equal(await counter(base, 'nvlsched_tenant_quota_rejections_total', { tenant: 'metered', reason: 'rate' }), 2);
    assert.equal(await counter(base, 'nvlsched_tenant_requests_total', { tenant: 'metered', outcome: 'rejected' }), 2);
    assert.equal(await counter(base, 'nvlsched_requests_rejected_total', { code: 'E_RATE_LIMITED' }), 2);
  });

  test('a request larger than the bucket is a 400 naming max_tokens (no retry can pass it)', async () => {
    nowS += 1000;
    const r = await post(e, '/v1/chat/completions', chatBody({ max_tokens: 400 }), bearer(e.keys.metered as string));
    assert.equal(r.status, 400);
    assert.equal(r.json.error.param, 'max_tokens');
    assert.equal(r.json.error.code, 'request_exceeds_token_quota');
    assert.match(r.json.error.message, /burstTokens/);
  });
});

describe('request limits over HTTP', () => {
  let e: Edge;
  before(async () => {
    e = await startEdge(base, { keys: null, limits: { maxMessages: 3, maxTools: 1, maxOutputTokens: 50, maxPromptTokens: 200, bodyIdleTimeoutS: 0.2 } });
  });
  after(() => e.close());

  const limited = async (body: Record<string, unknown>, path = '/v1/chat/completions') => {
    const r = await post(e, path, JSON.stringify(body));
    assert.equal(r.status, 400, JSON.stringify(r.json));
    assert.equal(r.json.error.code, 'limit_exceeded');
    return r.json.error as { message: string; param: string };
  };
  const msg = (content: string) => ({ role: 'user', content });
  const tool = (name: string) => ({ type: 'function', function: { name, parameters: { type: 'object' } } });

  test('each violation is a 400 naming the field and the limit', async () => {
    assert.deepEqual(await limited({ messages: [msg('a'), msg('b'), msg('c'), msg('d')] }), { message: 'messages: 4 messages exceed the limit limits.maxMessages = 3', param: 'messages', type: 'invalid_request_error', code: 'limit_exceeded' });
    assert.equal((await limited({ messages: [msg('a')], tools: [tool('a'), tool('b')] })).message, 'tools: 2 tools exceed the limit limits.maxTools = 1');
    const out = await limited({ messages: [msg('a')], max_tokens: 60 });
    assert.deepEqual([out.message, out.param], ['max_tokens: 60 exceeds the limit limits.maxOutputTokens = 50', 'max_tokens']);
    assert.equal((await limited({ messages: [msg('a')], max_completion_tokens: 51 })).param, 'max_completion_tokens');
    const prompt = await limited({ messages: [msg('word '.repeat(400))] });
    assert.equal(prompt.param, 'messages');
    assert.match(prompt.message, /^messages: the prompt's \d+ tokens exceed the limit limits\.maxPromptTokens = 200$/);
    assert.equal((await limited({ prompt: [...Array(201).keys()] }, '/v1/completions')).param, 'prompt');
  });

  test('an absent max_tokens is capped at limits.maxOutputTokens', async () => {
    const r = await post(e, '/v1/chat/completions', JSON.stringify({ messages: [msg('hello')] }));
    assert.equal(r.status, 200);
    assert.equal(r.json.usage.completion_tokens, 50);
    assert.equal(r.json.choices[0].finish_reason, 'length');
  });

  test('a body that stops arriving: 408 naming limits.bodyIdleTimeoutS, connection closed', async () => {
    const text = await new Promise<string>((resolve, reject) => {
      const s = connect(e.http.port, '127.0.0.1', () => {
        s.write('POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"messages":');
      });
      let got = '';
      s.on('data', (d) => (got += d.toString()));
      s.on('close', () => resolve(got));
      s.on('error', reject);
      setTimeout(() => s.destroy(new Error(`no answer in 5 s: ${got}`)), 5000).unref();
    });
    assert.match(text, /^HTTP\/1\.1 408 /);
    assert.match(text, /connection: close/i);
    assert.match(text, /body: no bytes for 0\.2 s while reading it \(limits\.bodyIdleTimeoutS = 0\.2\)/);
  });

  test('without auth, x-tenant names the tenant (as before)', async () => {
    const r = await post(e, '/v1/chat/completions', JSON.stringify({ messages: [msg('hi')], max_tokens: 2 }), { 'x-tenant': 'noauth-t' });
    assert.equal(r.status, 200);
    assert.equal(await counter(base, 'nvlsched_tenant_requests_total', { tenant: 'noauth-t', outcome: 'completed' }), 1);
  });
});
