// Malformed input over raw HTTP against a real gateway (in-process workers): bad JSON, wrong types, huge numbers,
// unknown models and routes, wrong methods, oversized bodies (declared and chunked), garbage on the socket, a body
// cut off mid-upload, a stream whose socket is destroyed — each answered with an OpenAI error naming the field (or
// the connection simply ends), never a crash or a hang; a streaming request running alongside completes intact,
// and destroyed sockets cancel their requests (nothing stays live).
import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as net from 'node:net';
import { after, before, describe, test } from 'node:test';

import { startRig, type Rig } from '../testing.js';
import type { RunningHttpApi } from './server.js';
import { httpApiOn } from './test/rig.js';

const MAX_BODY_BYTES = 512 * 1024;

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

/** One raw request; resolves with the reply, or rejects when the connection fails. */
function request(port: number, method: string, path: string, body?: string | Buffer, headers: http.OutgoingHttpHeaders = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

function errorOf(r: Reply): { message: string; type: string; param: string | null; code: string | null } {
  const j = JSON.parse(r.text) as { error: { message: string; type: string; param: string | null; code: string | null } };
  assert.equal(typeof j.error.message, 'string');
  return j.error;
}

async function until(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const user = [{ role: 'user', content: 'hello' }];
const nested = (depth: number): string => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);

/** [name, path, raw body, headers, status, param]. */
const BAD: Array<[string, string, string, Record<string, string>, number, string | null]> = [
  ['not JSON', '/v1/chat/completions', '{"messages": [', {}, 400, 'body'],
  ['empty body', '/v1/chat/completions', '', {}, 400, 'body'],
  ['a JSON array', '/v1/chat/completions', '[]', {}, 400, 'body'],
  ['JSON null', '/v1/completions', 'null', {}, 400, 'body'],
  ['messages a string', '/v1/chat/completions', JSON.stringify({ messages: 'hi' }), {}, 400, 'messages'],
  ['messages missing', '/v1/chat/completions', JSON.stringify({ model: 'llama-3.1-70b' }), {}, 400, 'messages'],
  ['content a number', '/v1/chat/completions', JSON.stringify({ messages: [{ role: 'user', content: 5 }] }), {}, 400, 'messages[0].content'],
  ['content missing', '/v1/chat/completions', JSON.stringify({ messages: [{ role: 'user' }] }), {}, 400, 'messages[0].content'],
  ['legacy role function', '/v1/chat/completions', JSON.stringify({ messages: [{ role: 'function', name: 'f', content: 'x' }] }), {}, 400, 'messages[0].role'],
  ['max_tokens a string', '/v1/chat/completions', JSON.stringify({ messages: user, max_tokens: '5' }), {}, 400, 'max_tokens'],
  ['max_tokens fractional', '/v1/chat/completions', JSON.stringify({ messages: user, max_tokens: 1.5 }), {}, 400, 'max_tokens'],
  ['max_tokens 1e308', '/v1/chat/completions', JSON.stringify({ messages: user, max_tokens: 1e308 }), {}, 400, 'max_tokens'],
  ['max_completion_tokens negative', '/v1/chat/completions', JSON.stringify({ messages: user, max_completion_tokens: -1 }), {}, 400, 'max_completion_tokens'],
  ['stream a string', '/v1/chat/completions', JSON.stringify({ messages: user, stream: 'yes' }), {}, 400, 'stream'],
  ['stream_options without stream', '/v1/chat/completions', JSON.stringify({ messages: user, stream_options: { include_usage: true } }), {}, 400, 'stream_options'],
  ['temperature 1e9', '/v1/chat/completions', JSON.stringify({ messages: user, temperature: 1e9 }), {}, 400, 'temperature'],
  ['n 3', '/v1/chat/completions', JSON.stringify({ messages: user, n: 3 }), {}, 400, 'n'],
  ['logprobs', '/v1/chat/completions', JSON.stringify({ messages: user, logprobs: true }), {}, 400, 'logprobs'],
  ['reasoning_effort max', '/v1/chat/completions', JSON.stringify({ messages: user, reasoning_effort: 'max' }), {}, 400, 'reasoning_effort'],
  ['legacy functions', '/v1/chat/completions', JSON.stringify({ messages: user, functions: [{ name: 'f' }] }), {}, 400, 'functions'],
  ['tool without function', '/v1/chat/completions', JSON.stringify({ messages: user, tools: [{ type: 'function' }] }), {}, 400, 'tools[0].function'],
  ['tool call without name', '/v1/chat/completions', JSON.stringify({ messages: [{ role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { arguments: '{}' } }] }] }), {}, 400, 'messages[0].tool_calls[0].function.name'],
  ['tool schema nested 60,000 deep', '/v1/chat/completions', `{"messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f","parameters":${nested(60_000)}}}]}`, {}, 400, 'tools[0].function'],
  ['model a number', '/v1/chat/completions', JSON.stringify({ model: 5, messages: user }), {}, 400, 'model'],
  ['unknown model', '/v1/chat/completions', JSON.stringify({ model: 'gpt-9', messages: user }), {}, 404, 'model'],
  ['x-priority not a number', '/v1/chat/completions', JSON.stringify({ messages: user }), { 'x-priority': 'high' }, 400, 'x-priority'],
  ['x-priority huge', '/v1/chat/completions', JSON.stringify({ messages: user }), { 'x-priority': '99999999999' }, 400, 'x-priority'],
  ['x-nvlsched-shape unknown', '/v1/chat/completions', JSON.stringify({ messages: user }), { 'x-nvlsched-shape': 'fast' }, 400, 'x-nvlsched-shape'],
  ['x-turn-index without session', '/v1/chat/completions', JSON.stringify({ messages: user }), { 'x-turn-index': '2' }, 400, 'x-turn-index'],
  ['prompt missing', '/v1/completions', JSON.stringify({ max_tokens: 3 }), {}, 400, 'prompt'],
  ['prompt empty', '/v1/completions', JSON.stringify({ prompt: '' }), {}, 400, 'prompt'],
  ['prompt a batch of two', '/v1/completions', JSON.stringify({ prompt: ['a', 'b'] }), {}, 400, 'prompt[0]'],
  ['prompt id negative', '/v1/completions', JSON.stringify({ prompt: [1, -2] }), {}, 400, 'prompt[1]'],
  ['prompt id huge', '/v1/completions', JSON.stringify({ prompt: [1e12] }), {}, 400, 'prompt[0]'],
  ['prompt an object', '/v1/completions', JSON.stringify({ prompt: { text: 'x' } }), {}, 400, 'prompt'],
  ['prompt ids fill the context', '/v1/completions', JSON.stringify({ prompt: new Array(131_072).fill(7) }), {}, 400, 'prompt'],
  ['echo', '/v1/completions', JSON.stringify({ prompt: 'x', echo: true }), {}, 400, 'echo'],
];

describe('malformed input over raw HTTP', () => {
  let rig: Rig;
  let api: RunningHttpApi;
  let port: number;
  before(async () => {
    rig = await startRig(1);
    api = await httpApiOn(rig, { limitsHttp: { maxBodyBytes: MAX_BODY_BYTES } });
    port = api.port;
  });
  after(async () => {
    await api.close();
    await rig.close();
  });

  test('every malformed request gets its error while a concurrent stream completes intact', async () => {
    const good = fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: user, max_tokens: 300, stream: true, stream_options: { include_usage: true } }),
    }).then((r) => r.text());
    for (const [name, path, body, headers, status, param] of BAD) {
      const r = await request(port, 'POST', path, body, headers);
      assert.equal(r.status, status, `${name}: ${r.text.slice(0, 300)}`);
      const e = errorOf(r);
      assert.equal(e.param, param, `${name}: ${e.message}`);
      assert.ok(param === null || e.message.startsWith(param) || status === 404, `${name}: the message names the field: ${e.message}`);
    }
    const events = (await good).split('\n\n').filter((e) => e.startsWith('data: '));
    assert.equal(events.at(-1), 'data: [DONE]');
    const usage = JSON.parse((events.at(-2) as string).slice(6)) as { usage: { completion_tokens: number } };
    assert.equal(usage.usage.completion_tokens, 300);
  });

  test('routes: unknown → 404, wrong method → 405 with Allow, malformed target → 400', async () => {
    const unknown = await request(port, 'GET', '/v2/engines');
    assert.equal(unknown.status, 404);
    assert.equal(errorOf(unknown).code, 'unknown_url');
    const get = await request(port, 'GET', '/v1/chat/completions');
    assert.equal(get.status, 405);
    assert.equal(get.headers.allow, 'POST');
    const post = await request(port, 'POST', '/v1/models', '{}');
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, 'GET');
    const badModelPath = await request(port, 'GET', '/v1/models/%E0%A4%A');
    assert.equal(badModelPath.status, 400);
    assert.equal(errorOf(badModelPath).param, 'model');
  });

  test('oversized bodies: 413 from Content-Length before reading, and from a chunked body while reading', async () => {
    // Declared too large: refused at once; the client need not send the body.
    const declared = await new Promise<Reply>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/chat/completions', headers: { 'content-length': MAX_BODY_BYTES + 1 } }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      });
      req.on('error', reject);
      req.flushHeaders();
    });
    assert.equal(declared.status, 413);
    assert.equal(errorOf(declared).code, 'request_too_large');
    // Chunked: the client writes 64 KiB chunks until the answer comes (bounded), then stops.
    const chunked = await new Promise<Reply>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/completions', headers: { 'transfer-encoding': 'chunked' } }, (res) => {
        answered = true;
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      });
      let answered = false;
      req.on('error', reject);
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const write = (n: number): void => {
        if (answered || n >= 64) return void req.end();
        if (req.write(chunk)) setImmediate(() => write(n + 1));
        else req.once('drain', () => write(n + 1));
      };
      write(0);
    });
    assert.equal(chunked.status, 413);
    assert.equal(chunked.headers.connection, 'close');
  });

  test('garbage on the socket gets 400; a body cut off mid-upload leaves nothing behind', async () => {
    const garbage = await new Promise<string>((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => s.write('\x16\x03\x01 not http at all\r\n\r\n'));
      let text = '';
      s.on('data', (d) => (text += d.toString()));
      s.on('close', () => resolve(text));
      s.on('error', reject);
    });
    assert.match(garbage, /^HTTP\/1\.1 400 /);
    const submitted = rig.gateway.sched.stats().submitted;
    await new Promise<void>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.write('POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"messages": [');
        setImmediate(() => s.destroy());
      });
      s.on('close', () => resolve());
      s.on('error', () => resolve());
    });
    const health = await request(port, 'GET', '/health');
    assert.equal(health.status, 200);
    assert.equal(rig.gateway.sched.stats().submitted, submitted);
  });

  test('a socket destroyed mid-stream, or before a non-streaming answer, cancels its request', async () => {
    const before = rig.gateway.sched.stats();
    const body = (stream: boolean): string => JSON.stringify({ messages: user, max_tokens: 3000, stream });
    // Streaming: destroyed after the first content event.
    await new Promise<void>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json' } }, (res) => {
        let seen = '';
        res.on('data', (d: Buffer) => {
          seen += d.toString();
          if (seen.includes('"content":"') && seen.split('data: ').length > 3) {
            req.destroy();
            resolve();
          }
        });
      });
      req.on('error', () => undefined);
      req.end(body(true));
      setTimeout(() => reject(new Error('no content event')), 5000).unref();
    });
    // Not streaming: destroyed once the scheduler has it.
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/completions', headers: { 'content-type': 'application/json' } });
    req.on('error', () => undefined);
    req.end(JSON.stringify({ prompt: 'Tell me everything.', max_tokens: 3000 }));
    await until(() => rig.gateway.sched.stats().submitted >= before.submitted + 2, 'the second submit');
    req.destroy();
    await until(() => rig.gateway.sched.stats().cancelled >= before.cancelled + 2, 'both cancels');
    await until(() => rig.gateway.sched.stats().live === 0, 'nothing live');
    assert.equal(rig.gateway.sched.stats().completed, before.completed, 'neither ran to its end');
  });

  test('close() is bounded: idle keep-alive connections close at once, a lingering stream is cut after the grace and cancelled', async () => {
    const second = await httpApiOn(rig, { limitsHttp: { closeGraceMs: 300 } });
    const agent = new http.Agent({ keepAlive: true });
    const idle = await new Promise<number>((resolve) => http.get({ host: '127.0.0.1', port: second.port, path: '/health', agent }, (res) => res.resume().on('end', () => resolve(res.statusCode ?? 0))));
    assert.equal(idle, 200);
    const before = rig.gateway.sched.stats();
    const streamEnded = new Promise<void>((resolve) => {
      const req = http.request({ host: '127.0.0.1', port: second.port, method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json' } }, (res) => {
        res.on('data', () => undefined);
        res.on('close', () => resolve());
      });
      req.on('error', () => resolve());
      req.end(JSON.stringify({ messages: user, max_tokens: 3000, stream: true }));
    });
    await until(() => rig.gateway.sched.stats().submitted > before.submitted, 'the stream admitted');
    const t0 = Date.now();
    await second.close();
    const closeMs = Date.now() - t0;
    await streamEnded;
    agent.destroy();
    assert.ok(closeMs >= 250 && closeMs < 2000, `close took ${closeMs} ms`);
    await until(() => rig.gateway.sched.stats().cancelled > before.cancelled, 'the cut stream cancelled');
    await until(() => rig.gateway.sched.stats().live === 0, 'nothing live');
  });
});
