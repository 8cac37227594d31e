// Property-based fuzzing (fast-check) of the HTTP API as a server: a real gateway (in-process workers, startRig)
// and startHttpApi on a free loopback port get a few hundred random requests over raw sockets — random methods,
// paths, hint and other headers, bodies (valid, mutated, random JSON, random bytes), content-length or chunked
// framing — and raw garbage. Every answer is a well-formed HTTP/1.1 response, within a bound: an OpenAI error JSON
// for 4xx (only unparseable HTTP may get Node's bare 400), a JSON or SSE success for 2xx, never a 5xx; a stream runs
// alongside the whole campaign and completes intact; afterwards the server serves the official client and nothing
// is left live in the scheduler. FUZZ_RUNS scales the runs.
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import OpenAI from 'openai';

import { fuzzParams } from '../../util/fuzz.js';
import { startRig, SMALL, type Rig } from '../testing.js';
import type { RunningHttpApi } from './server.js';
import { httpApiOn } from './test/rig.js';
import { hintHeaders, mutated, validChatBody, validCompletionBody } from './test/fuzz_bodies.js';

const MAX_BODY_BYTES = 256 * 1024;
/** Longest a single exchange may take before it counts as a hang (a generation is at most a few thousand steps). */
const EXCHANGE_BOUND_MS = 15_000;

interface Outgoing {
  bytes: Buffer;
  /** Well-formed HTTP (Node's parser accepts it): the answer must be an OpenAI error or a success. */
  wellFormed: boolean;
  method: string;
}

interface Response {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Its end is known from its framing (content-length, chunked, no body), not from the connection closing. */
  framed: boolean;
}

/**
 * Writes one request and collects the answer, within the bound: until the server closes, or (`oneAnswer`) until one
 * complete framed response has arrived — a streamed answer keeps its connection alive even when asked to close (a
 * known issue, see the todo test below), so waiting for the close would only wait out the keep-alive timeout.
 * Garbage also ends our side at once, as the server may wait for more bytes; Node takes a client's FIN as the client
 * going away, so a well-formed request keeps its side open.
 */
function exchange(port: number, bytes: Buffer, garbage: boolean, method: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = net.connect(port, '127.0.0.1', () => (garbage ? s.end(bytes) : s.write(bytes)));
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no end within ${EXCHANGE_BOUND_MS} ms; got ${Buffer.concat(chunks).toString('latin1').slice(0, 300)}`));
    }, EXCHANGE_BOUND_MS);
    s.on('data', (d: Buffer) => {
      chunks.push(d);
      if (garbage) return;
      try {
        if (parseResponses(Buffer.concat(chunks), method).at(-1)?.framed) s.destroy();
      } catch {
        // not complete yet
      }
    });
    s.on('error', () => undefined); // a reset after the answer is fine: what was read is judged
    s.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
  });
}

/** Splits raw bytes into HTTP/1.1 responses (1xx interim ones dropped); throws on anything malformed. */
function parseResponses(raw: Buffer, method: string): Response[] {
  const out: Response[] = [];
  let at = 0;
  while (at < raw.length) {
    const end = raw.indexOf('\r\n\r\n', at);
    if (end < 0) throw new Error(`a response head without its end: ${raw.subarray(at, at + 200).toString('latin1')}`);
    const lines = raw.subarray(at, end).toString('latin1').split('\r\n');
    const m = /^HTTP\/1\.1 (\d{3}) [^\r\n]*$/.exec(lines[0] ?? '');
    if (!m) throw new Error(`bad status line ${JSON.stringify(lines[0])}`);
    const headers: Record<string, string> = {};
    for (const l of lines.slice(1)) {
      const c = l.indexOf(':');
      if (c <= 0) throw new Error(`bad header line ${JSON.stringify(l)}`);
      headers[l.slice(0, c).toLowerCase()] = l.slice(c + 1).trim();
    }
    const status = Number(m[1]);
    at = end + 4;
    if (status < 200) continue;
    let body: Buffer = Buffer.alloc(0);
    let framed = true;
    if (method === 'HEAD' || status === 204 || status === 304) {
      // no body
    } else if (headers['transfer-encoding'] === 'chunked') {
      const parts: Buffer[] = [];
      for (;;) {
        const eol = raw.indexOf('\r\n', at);
        const size = parseInt(raw.subarray(at, eol).toString('latin1'), 16);
        if (eol < 0 || !Number.isInteger(size) || eol + 2 + size + 2 > raw.length) throw new Error('bad or incomplete chunked framing');
        parts.push(raw.subarray(eol + 2, eol + 2 + size));
        at = eol + 2 + size + 2;
        if (size === 0) break;
      }
      body = Buffer.concat(parts);
    } else if (headers['content-length'] !== undefined) {
      const n = Number(headers['content-length']);
      if (!Number.isInteger(n) || at + n > raw.length) throw new Error(`content-length ${n} but ${raw.length - at} bytes follow`);
      body = raw.subarray(at, at + n);
      at += n;
    } else {
      body = raw.subarray(at);
      at = raw.length;
      framed = false;
    }
    out.push({ status, headers, body: body.toString('utf8'), framed });
  }
  return out;
}

/** Judges one response to one request. */
function judge(r: Response, o: Outgoing): void {
  const where = `${r.status} to ${o.bytes.subarray(0, 120).toString('latin1')}: ${r.body.slice(0, 300)}`;
  assert.ok(r.status >= 200 && r.status < 500, `status ${where}`);
  if (o.method === 'HEAD') return;
  if (r.status >= 400) {
    if (r.body === '' && r.status === 400 && !o.wellFormed) return assert.equal(r.headers['connection'], 'close', where); // Node's parser gave up
    const e = (JSON.parse(r.body) as { error: Record<string, unknown> }).error;
    assert.ok(typeof e.message === 'string' && typeof e.type === 'string', where);
    assert.ok(e.param === null || typeof e.param === 'string', where);
    assert.ok(e.code === null || typeof e.code === 'string', where);
    return;
  }
  if ((r.headers['content-type'] ?? '').startsWith('text/event-stream')) {
    const events = r.body.split('\n\n').filter((x) => x !== '');
    for (const ev of events) {
      assert.ok(ev.startsWith('data: '), where);
      if (ev !== 'data: [DONE]') JSON.parse(ev.slice(6));
    }
    const last = events.at(-1) ?? '';
    assert.ok(last === 'data: [DONE]' || last.includes('"error"'), `a stream ended without [DONE] or an error: ${where}`);
    return;
  }
  assert.match(r.headers['content-type'] ?? '', /^application\/json/, where);
  JSON.parse(r.body);
}

const PATHS = ['/v1/chat/completions', '/v1/completions', '/v1/models', `/v1/models/${SMALL.model}`, '/v1/models/%E0%A4%A', '/v1/models/nope', '/health', '/', '/v1/chat/completions?x=1', '/v1/chat/completions/', '//v1/models', '*', 'http://h/v1/models'];
const token = fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/);
const fieldValue = fc.stringMatching(/^[\x21-\x7e]([\x20-\x7e]{0,40}[\x21-\x7e])?$/);

/**
 * Generations of a few tokens (each token is a gateway step, and an absent max_tokens means 256 of them): a campaign
 * of hundreds stays short. The parse fuzz covers absent values.
 */
const short = <T extends Record<string, unknown>>(b: T): T => ({
  ...b,
  // The served name the scheduler has a pool for ('fuzz-model' is served too, but has no pool: a 404).
  ...(b['model'] === 'fuzz-second' ? { model: SMALL.model } : {}),
  max_tokens: typeof b['max_tokens'] === 'number' ? 1 + (b['max_tokens'] % 4) : 2,
  ...(typeof b['max_completion_tokens'] === 'number' ? { max_completion_tokens: 1 + (b['max_completion_tokens'] % 4) } : {}),
});
const chat = validChatBody.map(short);
const completion = validCompletionBody.map(short);

/** A body as bytes: valid-ish JSON mostly, sometimes random bytes. */
const body = fc.oneof(
  { weight: 3, arbitrary: mutated(chat).map((m) => Buffer.from(m.text)) },
  { weight: 2, arbitrary: mutated(completion).map((m) => Buffer.from(m.text)) },
  { weight: 2, arbitrary: fc.oneof(chat, completion).map((b) => Buffer.from(JSON.stringify(b))) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => Buffer.from(JSON.stringify(v))) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)) },
  { weight: 1, arbitrary: fc.constantFrom(Buffer.alloc(0), Buffer.alloc(MAX_BODY_BYTES + 10, 0x20)) },
);

/** Printable hint headers (Node refuses other bytes in a header before any handler sees them). */
const hints = hintHeaders.map((h) => Object.entries(h).filter(([, v]) => typeof v === 'string' && /^[\x20-\x7e]*$/.test(v)) as Array<[string, string]>);

function request(method: string, path: string, headers: Array<[string, string]>, type: string | undefined, chunked: boolean, b: Buffer): Outgoing {
  const head = [`${method} ${path} HTTP/1.1`, 'host: 127.0.0.1', 'connection: close'];
  if (type) head.push(`content-type: ${type}`);
  for (const [k, v] of headers) if (k !== 'content-length' && k !== 'transfer-encoding' && k !== 'connection' && k !== 'host' && k !== 'expect') head.push(`${k}: ${v}`);
  const payload = chunked && b.length > 0 ? Buffer.concat([Buffer.from(`${b.length.toString(16)}\r\n`), b, Buffer.from('\r\n0\r\n\r\n')]) : b;
  head.push(chunked && b.length > 0 ? 'transfer-encoding: chunked' : `content-length: ${b.length}`);
  return { bytes: Buffer.concat([Buffer.from(`${head.join('\r\n')}\r\n\r\n`), payload]), wellFormed: true, method };
}

/** An API call: POST to a generation route with its kind of body (valid or mutated), hints half of the time. */
const apiCall: fc.Arbitrary<Outgoing> = fc
  .tuple(
    fc.constantFrom(['/v1/chat/completions', chat] as const, ['/v1/completions', completion] as const).chain(([path, valid]) =>
      fc.tuple(fc.constant(path), fc.oneof({ weight: 3, arbitrary: valid.map((b) => JSON.stringify(b)) }, { weight: 2, arbitrary: mutated(valid).map((m) => m.text) })),
    ),
    fc.option(hints, { nil: [] }),
    fc.boolean(),
  )
  .map(([[path, text], h, chunked]) => request('POST', path, h, 'application/json', chunked, Buffer.from(text)));

/** Anything well formed: any method, route or path, headers and body. */
const anyRequest: fc.Arbitrary<Outgoing> = fc
  .tuple(
    fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'),
    fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...PATHS) }, { weight: 1, arbitrary: fc.webPath({ size: 'small' }).map((p) => (p.startsWith('/') ? p : `/${p}`)) }),
    hints,
    fc.array(fc.tuple(token, fieldValue), { maxLength: 3 }),
    fc.constantFrom('application/json', 'text/plain', undefined),
    fc.boolean(),
    body,
  )
  .map(([method, path, h, extra, type, chunked, b]) => request(method, path, [...h, ...extra], type, chunked, b));

const wellFormed = fc.oneof(apiCall, anyRequest);

const garbage: fc.Arbitrary<Outgoing> = fc.oneof(
  fc.uint8Array({ minLength: 1, maxLength: 200 }).map((b) => Buffer.from(b)),
  fc.tuple(fc.string({ unit: 'binary', maxLength: 20 }), fc.string({ unit: 'binary', maxLength: 40 })).map(([m, p]) => Buffer.from(`${m} ${p} HTTP/1.1\r\nhost: x\r\n\r\n`)),
  fc.tuple(fc.string({ unit: 'binary', maxLength: 20 }), fc.string({ unit: 'binary', maxLength: 40 })).map(([k, v]) => Buffer.from(`GET /health HTTP/1.1\r\n${k}: ${v}\r\nconnection: close\r\n\r\n`)),
  fc.tuple(fc.integer({ min: 1, max: 5000 }), fc.string({ maxLength: 50 })).map(([n, b]) => Buffer.from(`POST /v1/completions HTTP/1.1\r\nhost: x\r\ncontent-length: ${n}\r\n\r\n${b}`)),
  fc.constantFrom(Buffer.from(`GET /health HTTP/1.1\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`), Buffer.from('POST /v1/completions HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n'), Buffer.from('GET /health HTTP/1.1\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\n')),
).map((bytes) => ({ bytes, wellFormed: false, method: '' }));

describe('HTTP API under fuzzing (raw sockets, real gateway)', () => {
  let rig: Rig;
  let api: RunningHttpApi;
  before(async () => {
    rig = await startRig(1);
    api = await httpApiOn(rig, { extraModels: ['fuzz-model', 'fuzz-second'], limitsHttp: { maxBodyBytes: MAX_BODY_BYTES } });
  });
  after(async () => {
    await api?.close();
    await rig?.close();
  });

  test('every request gets a well-formed answer; a concurrent stream, the official client and the scheduler stay sound', async () => {
    const stream = fetch(`http://127.0.0.1:${api.port}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'alongside' }], max_tokens: 150, stream: true }),
    }).then((r) => r.text());
    await fc.assert(
      fc.asyncProperty(fc.oneof({ weight: 4, arbitrary: wellFormed }, { weight: 1, arbitrary: garbage }), async (o) => {
        const raw = await exchange(api.port, o.bytes, !o.wellFormed, o.method);
        const responses = parseResponses(raw, o.method);
        if (o.wellFormed) assert.equal(responses.length, 1, `one answer to ${o.bytes.subarray(0, 120).toString('latin1')}: ${raw.toString('latin1').slice(0, 300)}`);
        for (const r of responses) judge(r, o);
      }),
      fuzzParams(300, 11),
    );
    const events = (await stream).split('\n\n').filter((e) => e !== '');
    assert.equal(events.at(-1), 'data: [DONE]');
    const model = rig.gateway.topology.cluster.model.name;
    const client = new OpenAI({ baseURL: `http://127.0.0.1:${api.port}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 10_000 });
    const done = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'still there?' }], max_tokens: 5 });
    assert.equal(done.usage?.completion_tokens, 5);
    const t0 = Date.now();
    while (rig.gateway.sched.stats().live > 0 && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 10));
    assert.equal(rig.gateway.sched.stats().live, 0, 'requests left live in the scheduler');
  });

  // Fuzzing found these (now fixed): well-formed requests that Node's http server answered itself, before any handler
  // of server.ts ran — the campaign above does not generate them — and streams that kept their connection alive when
  // the client asked to close it.
  const answeredByNode: Array<[string, string, string]> = [
    ['an unknown Expect gets an OpenAI error, not a bare 417', 'POST /v1/completions HTTP/1.1\r\nhost: x\r\nconnection: close\r\nexpect: foo\r\ncontent-length: 2\r\n\r\n{}', 'server.ts: no checkExpectation listener'],
    ['HTTP/1.1 without Host gets an OpenAI error, not a bare 400', 'GET /health HTTP/1.1\r\nconnection: close\r\n\r\n', 'server.ts: requireHostHeader refusals bypass the handlers'],
    ['CONNECT gets an answer (405), not a dropped connection', 'CONNECT 127.0.0.1:1 HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n', 'server.ts: no connect listener'],
  ];
  for (const [name, c, why] of answeredByNode) {
    test(`${name} (was: ${why})`, async () => {
      const responses = parseResponses(await exchange(api.port, Buffer.from(c), false, 'X'), 'X');
      assert.equal(responses.length, 1, `one answer to ${JSON.stringify(c)}`);
      judge(responses[0] as Response, { bytes: Buffer.from(c), wellFormed: true, method: 'X' });
    });
  }

  test('a streamed answer to a request that says Connection: close closes its connection', async () => {
    const body = JSON.stringify({ messages: [{ role: 'user', content: 'hi' }], max_tokens: 2, stream: true });
    const c = `POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`;
    const [r] = parseResponses(await exchange(api.port, Buffer.from(c), false, 'POST'), 'POST');
    assert.equal(r?.headers['connection'], 'close');
  });
});
