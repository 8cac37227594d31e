// Property-based fuzzing (fast-check) of the HTTP request decoders: OpenAI chat / completions bodies (any JSON
// value; valid bodies with one field mutated to a wrong type, an extreme number, a NaN-like string, a deep nest, a
// long or odd-unicode string) and hint headers → parseChat / parseCompletion. Every call either returns a request
// the scheduler can take (prompt + output within the context, block hashes for the full blocks, bounded hints) or
// throws the module's ApiError — 400 whose message starts with `param`, or 404 for the model — and `param` names a
// field the request really has (or a required one): never another exception. FUZZ_RUNS scales the runs.
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { describe, test } from 'node:test';
import fc from 'fast-check';

import { fuzzParams } from '../../util/fuzz.js';
import { defaultTokenizer } from '../tokenizer.js';
import { ApiError } from './errors.js';
import { parseChat, parseCompletion, type ApiRequest, type ParseContext } from './parse.js';
import { HINT_HEADERS, hintHeaders, jsonText, MODELS, mutated, validChatBody, validCompletionBody } from './test/fuzz_bodies.js';

const LIMITS = { maxContextTokens: 2048, blockTokens: 16 };
let ids = 0;
const CTX: ParseContext = { limits: LIMITS, models: MODELS, tokenizer: defaultTokenizer(), newRequestId: () => `fuzz-${++ids}`, nowS: 100 };
const PARSERS = { chat: parseChat, completion: parseCompletion } as const;
type Kind = keyof typeof PARSERS;

/** The first segment of a param path: `messages[2].content` → `messages`. */
const rootOf = (param: string): string => param.split(/[.[]/)[0] as string;

/** Checks a parsed request against what the scheduler relies on. */
function checkParsed(kind: Kind, body: Record<string, unknown>, r: ApiRequest): void {
  const req = r.parsed.req;
  assert.equal(r.kind, kind);
  assert.ok((MODELS as readonly string[]).includes(r.model), `model ${r.model}`);
  assert.equal(typeof r.stream, 'boolean');
  assert.ok(!r.includeUsage || r.stream, 'include_usage without stream');
  assert.ok(Number.isInteger(req.promptTokens) && req.promptTokens >= 1 && req.promptTokens < LIMITS.maxContextTokens, `promptTokens ${req.promptTokens}`);
  assert.ok(Number.isInteger(r.parsed.maxTokens) && r.parsed.maxTokens >= 1, `maxTokens ${r.parsed.maxTokens}`);
  assert.equal(req.maxOutputTokens, r.parsed.maxTokens);
  assert.ok(req.promptTokens + req.maxOutputTokens <= LIMITS.maxContextTokens, 'prompt + output past the context');
  assert.equal(req.blockHashes.length, Math.floor(req.promptTokens / LIMITS.blockTokens));
  const clientMax = [body['max_completion_tokens'], body['max_tokens']].some((v) => v !== undefined && v !== null);
  assert.equal(req.maxOutputTokensFromClient, clientMax);
  assert.ok(req.requestId.length >= 1 && req.requestId.length <= 256);
  assert.ok(Number.isInteger(req.priority) && Math.abs(req.priority ?? 0) <= 1_000_000, `priority ${req.priority}`);
  assert.ok(req.tenant.length >= 1 && req.tenant.length <= 128);
  assert.equal(req.sessionId === undefined, req.turnIndex === undefined, 'turnIndex without sessionId');
  if (req.turnIndex !== undefined) assert.ok(Number.isInteger(req.turnIndex) && req.turnIndex >= 0);
}

/** One decode: a valid request, or an ApiError naming a field the request has (or must have). */
function decodeOnce(kind: Kind, text: string, headers: IncomingHttpHeaders): void {
  const body: unknown = JSON.parse(text);
  let r: ApiRequest;
  try {
    r = PARSERS[kind](body, headers, CTX);
  } catch (e) {
    if (!(e instanceof ApiError)) throw new Error(`${kind}: threw ${(e as Error)?.constructor?.name ?? typeof e}, not an ApiError: ${(e as Error)?.stack ?? String(e)}`);
    assert.ok(e.status === 400 || e.status === 404, `status ${e.status}: ${e.message}`);
    assert.ok(typeof e.param === 'string' && e.param.length > 0, `no param: ${e.message}`);
    if (e.status === 400) assert.ok(e.message.startsWith(`${e.param}: `), `the message does not start with its param ${e.param}: ${e.message}`);
    else assert.equal(e.param, 'model');
    assert.ok(e.message.length <= 1000, `a ${e.message.length}-character message echoes the input`);
    const root = rootOf(e.param);
    const own = body !== null && typeof body === 'object' && !Array.isArray(body) && Object.hasOwn(body, root);
    const required = root === (kind === 'chat' ? 'messages' : 'prompt');
    assert.ok(own || required || root === 'body' || (HINT_HEADERS as readonly string[]).includes(e.param), `param ${e.param} names nothing in the request`);
    JSON.stringify(e.body());
    return;
  }
  checkParsed(kind, body as Record<string, unknown>, r);
}

describe('HTTP decoders under fuzzing', () => {
  test('any JSON value as a body: a request or an ApiError naming a field', () => {
    fc.assert(
      fc.property(fc.constantFrom<Kind>('chat', 'completion'), fc.jsonValue(), (kind, v) => decodeOnce(kind, JSON.stringify(v), {})),
      fuzzParams(1500, 1),
    );
  });

  test('objects with the known fields at random values', () => {
    const field = fc.constantFrom('model', 'messages', 'prompt', 'max_tokens', 'stream', 'stream_options', 'tools', 'tool_choice', 'stop', 'n', 'echo', 'reasoning_effort');
    fc.assert(
      fc.property(fc.constantFrom<Kind>('chat', 'completion'), fc.dictionary(field, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 5 }), (kind, b) => decodeOnce(kind, JSON.stringify(b), {})),
      fuzzParams(1500, 2),
    );
  });

  test('valid chat bodies decode; mutated ones decode or name the field', () => {
    // Valid bodies must decode (the generator makes only valid ones): this keeps the mutations below honest.
    fc.assert(fc.property(validChatBody, (b) => {
      const text = jsonText(b);
      checkParsed('chat', JSON.parse(text) as Record<string, unknown>, parseChat(JSON.parse(text), {}, CTX));
    }), fuzzParams(300, 3));
    fc.assert(fc.property(mutated(validChatBody), hintHeaders, (m, h) => decodeOnce('chat', m.text, h)), fuzzParams(1500, 4));
  });

  test('valid completions bodies decode; mutated ones decode or name the field', () => {
    fc.assert(fc.property(validCompletionBody, (b) => {
      const text = jsonText(b);
      checkParsed('completion', JSON.parse(text) as Record<string, unknown>, parseCompletion(JSON.parse(text), {}, CTX));
    }), fuzzParams(300, 5));
    fc.assert(fc.property(mutated(validCompletionBody), hintHeaders, (m, h) => decodeOnce('completion', m.text, h)), fuzzParams(1500, 6));
  });

  test('hint headers alone: accepted within their bounds or refused naming the header', () => {
    const body = JSON.stringify({ messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 });
    fc.assert(fc.property(hintHeaders, (h) => {
      try {
        const r = parseChat(JSON.parse(body), h, CTX);
        checkParsed('chat', JSON.parse(body) as Record<string, unknown>, r);
      } catch (e) {
        assert.ok(e instanceof ApiError && e.status === 400 && (HINT_HEADERS as readonly string[]).includes(e.param ?? ''), String(e));
      }
    }), fuzzParams(1500, 7));
  });
});
