// Property-based fuzzing (fast-check) of the gRPC request decoder, alone and over the wire. parseGenerate gets
// GenerateRequest__Output objects as proto-loader makes them (every field present, uint64/fixed64 as decimal
// strings, an unknown enum value as its number) with random, extreme and inconsistent values: a request the
// scheduler can take, or one "field: reason" error naming a proto field. Over the wire, a real gateway (startRig)
// gets batches of concurrent random GenerateRequests (some cancelled mid-stream) and raw undecodable bytes: every
// call ends within a bound with an OK stream (last chunk finished) or a status with details; no worker stream
// breaks, nothing stays live, and a normal request succeeds after the campaign. FUZZ_RUNS scales the runs.
import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';

import type { GenerateRequest, GenerateRequest__Output } from '../gen/proto/nvlsched/v1/GenerateRequest.js';
import type { GenerateResponse__Output } from '../gen/proto/nvlsched/v1/GenerateResponse.js';
import { fuzzParams } from '../util/fuzz.js';
import { parseGenerate } from './request.js';
import { generate, startRig, type Rig } from './testing.js';

const LIMITS = { maxContextTokens: 2048, blockTokens: 16 };
const FIELDS = ['request_id', 'prompt', 'prompt_token_ids', 'max_tokens', 'shape_hint', 'reasoning_effort', 'priority', 'turn_index', 'session_id', 'tenant', 'model', 'block_hashes'];
const SHAPES = ['SHAPE_UNSPECIFIED', 'SHAPE_TOOL_CALL', 'SHAPE_REASONING', 'SHAPE_TERMINAL', 'SHAPE_CHAT'];

const u32 = fc.oneof(fc.nat({ max: 64 }), fc.constantFrom(0, 1, 2047, 2048, 2 ** 31, 2 ** 32 - 1), fc.nat({ max: 2 ** 32 - 1 }));
const i32 = fc.oneof(fc.integer({ min: -1_000_001, max: 1_000_001 }), fc.constantFrom(-(2 ** 31), 2 ** 31 - 1, 1_000_000, -1_000_000));
const str = fc.oneof(
  { weight: 4, arbitrary: fc.constant('') },
  { weight: 3, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
  { weight: 1, arbitrary: fc.constantFrom('x'.repeat(256), 'y'.repeat(257), 'z'.repeat(5000)) },
);
const prompt = fc.oneof(
  { weight: 3, arbitrary: fc.constant('') },
  { weight: 4, arbitrary: fc.oneof(fc.lorem({ maxCount: 30 }), fc.string({ unit: 'binary', maxLength: 60 })) },
  { weight: 1, arbitrary: fc.constantFrom('word '.repeat(2100), 'a'.repeat(50_000), '<|endoftext|>') },
);
const tokenIds = fc.oneof(
  { weight: 3, arbitrary: fc.constant([]) },
  { weight: 3, arbitrary: fc.array(u32, { minLength: 1, maxLength: 80 }) },
  { weight: 1, arbitrary: fc.constantFrom(2047, 2048, 5000).map((n) => new Array<number>(n).fill(3)) },
);
const hashes = fc.oneof(
  { weight: 3, arbitrary: fc.constant([]) },
  { weight: 2, arbitrary: fc.array(fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(String), fc.constantFrom('0', '18446744073709551615')), { maxLength: 6 }) },
);
const shapeHint = fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...SHAPES) }, { weight: 1, arbitrary: fc.integer({ min: -3, max: 99 }) });
const effort = fc.oneof(fc.constantFrom('', 'low', 'medium', 'high'), fc.constantFrom('max', 'LOW', ' low', 'none'), fc.string({ maxLength: 6 }));

/** A decoded GenerateRequest as proto-loader hands it to the service (defaults filled in). */
const decoded: fc.Arbitrary<GenerateRequest__Output> = fc.record({
  requestId: str, model: str, prompt, promptTokenIds: tokenIds, maxTokens: u32, shapeHint, sessionId: str, turnIndex: u32, priority: i32, tenant: str, numTools: u32,
  hasToolResults: fc.boolean(), reasoningEffort: effort, blockHashes: hashes,
}) as fc.Arbitrary<GenerateRequest__Output>;

function checkDecoded(r: GenerateRequest__Output): void {
  const out = parseGenerate(r, LIMITS, 'gw-fuzz', 7);
  if (!out.ok) {
    const m = /^([a-z_]+): ./.exec(out.error);
    assert.ok(m && FIELDS.includes(m[1] as string), `not a "field: reason" error: ${out.error.slice(0, 200)}`);
    assert.ok(out.error.length <= 1000, `a ${out.error.length}-character error echoes the input`);
    return;
  }
  const { req, maxTokens } = out.value;
  assert.ok(req.promptTokens >= 1 && req.promptTokens < LIMITS.maxContextTokens, `promptTokens ${req.promptTokens}`);
  assert.ok(Number.isInteger(maxTokens) && maxTokens >= 1 && req.promptTokens + maxTokens <= LIMITS.maxContextTokens, `maxTokens ${maxTokens}`);
  assert.ok(req.blockHashes.length <= Math.floor(req.promptTokens / LIMITS.blockTokens));
  for (const h of req.blockHashes) assert.ok(h >= 0n && h < 2n ** 64n);
  assert.ok(Math.abs(req.priority ?? 0) <= 1_000_000);
  assert.ok(req.requestId.length >= 1 && req.requestId.length <= 256);
  // Session ids become the workers' session keys (1..256 characters, worker/validate.ts); tenants are bounded as in HTTP.
  if (req.sessionId !== undefined) assert.ok(req.sessionId.length >= 1 && req.sessionId.length <= 256, `session_id of ${req.sessionId.length} characters accepted`);
  assert.ok(req.tenant.length >= 1 && req.tenant.length <= 128, `tenant of ${req.tenant.length} characters accepted`);
  if (req.turnIndex !== undefined) assert.ok(req.sessionId !== undefined);
}

describe('gRPC request decoder under fuzzing', () => {
  test('decoded GenerateRequests: a schedulable request or a "field: reason" error', () => {
    fc.assert(fc.property(decoded, checkDecoded), fuzzParams(3000, 21));
  });

  test('near-valid requests (one prompt form, small values) mostly decode', () => {
    const nearValid = fc.tuple(decoded, fc.boolean()).map(([r, ids]): GenerateRequest__Output => ({
      ...r, prompt: ids ? '' : r.prompt || 'hello', promptTokenIds: ids ? [1, 2, 3] : [], maxTokens: r.maxTokens % 64, blockHashes: [], turnIndex: r.sessionId === '' ? 0 : r.turnIndex,
    }));
    fc.assert(fc.property(nearValid, checkDecoded), fuzzParams(1500, 22));
  });
});

/** A wire request (the client's view: optional fields); token caps keep generations short. */
const wire: fc.Arbitrary<{ req: GenerateRequest; cancelAfter: number | null }> = fc
  .tuple(decoded, fc.nat({ max: 12 }), fc.constantFrom(null, 0, 1, 2), fc.constantFrom('', '', 's-a', 's-b', 'q'.repeat(300)))
  .map(([r, cap, cancelAfter, session]) => {
    const { shapeHint, ...rest } = r;
    const req: GenerateRequest = { ...rest, shapeHint: shapeHint as GenerateRequest['shapeHint'], sessionId: session || r.sessionId, maxTokens: r.maxTokens > 12 && r.maxTokens < 2048 ? cap : r.maxTokens };
    // A long generation (max_tokens 0 = the default 256) is cancelled early so that the campaign stays short.
    const long = req.maxTokens === 0 || (req.maxTokens ?? 0) > 12;
    return { req, cancelAfter: long ? (cancelAfter ?? 1) : cancelAfter };
  });

const CALL_BOUND_MS = 10_000;

interface CallEnd {
  status: grpc.status;
  details: string;
  last?: GenerateResponse__Output;
}

function call(rig: Rig, req: GenerateRequest, cancelAfter: number | null): Promise<CallEnd> {
  return new Promise((resolve) => {
    const c = rig.client.Generate(req, { deadline: Date.now() + CALL_BOUND_MS });
    let chunks = 0;
    let last: GenerateResponse__Output | undefined;
    if (cancelAfter === 0) c.cancel();
    c.on('data', (d: GenerateResponse__Output) => {
      if (d.finished) last = d;
      if (++chunks === cancelAfter) c.cancel();
    });
    c.on('error', (e: grpc.ServiceError) => resolve({ status: e.code, details: e.details, ...(last ? { last } : {}) }));
    c.on('end', () => resolve({ status: grpc.status.OK, details: '', ...(last ? { last } : {}) }));
  });
}

/** Raw bytes as a Generate request: what a broken or hostile client could send. */
function rawGenerate(port: number, bytes: Buffer): Promise<CallEnd> {
  const Raw = grpc.makeGenericClientConstructor({
    Generate: { path: '/nvlsched.v1.Gateway/Generate', requestStream: false, responseStream: true, requestSerialize: (b: Buffer) => b, requestDeserialize: (b: Buffer) => b, responseSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b, originalName: 'Generate' },
  }, 'RawGateway');
  const client = new Raw(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  return new Promise((resolve) => {
    const c = (client as unknown as { Generate: (b: Buffer, o: grpc.CallOptions) => grpc.ClientReadableStream<Buffer> }).Generate(bytes, { deadline: Date.now() + CALL_BOUND_MS });
    c.on('data', () => c.cancel()); // a decodable message may start a generation: not what this call is for
    c.on('error', (e: grpc.ServiceError) => (client.close(), resolve({ status: e.code, details: e.details })));
    c.on('end', () => (client.close(), resolve({ status: grpc.status.OK, details: '' })));
  });
}

describe('gRPC Generate under fuzzing (real gateway)', () => {
  let rig: Rig;
  before(async () => {
    rig = await startRig(1);
  });
  after(async () => {
    await rig?.close();
  });

  // Found by this campaign: a 257-character session_id was accepted, became a hold_sessions key past the worker's
  // limit, and the worker ended the whole Step stream (every request on the instance re-ran).
  test('regression: a session_id past the workers\' session-key limit is refused, the worker stream stays up', async () => {
    const long = await generate(rig.client, { prompt: 'hello', maxTokens: 2, sessionId: 'q'.repeat(257) });
    assert.equal(long.error?.code, grpc.status.INVALID_ARGUMENT);
    assert.match(long.error?.details ?? '', /^session_id: at most 256 characters/);
    const atLimit = await generate(rig.client, { prompt: 'hello', maxTokens: 2, sessionId: 'q'.repeat(256) });
    assert.equal(atLimit.error, undefined);
    assert.equal(atLimit.last?.finishReason, 'length');
    assert.equal(rig.gateway.driver.failures, 0);
  });

  test('every call ends in bound with an OK stream or a status with details; the gateway keeps serving', async () => {
    const one = fc.oneof({ weight: 6, arbitrary: wire.map((w) => ({ ...w, raw: null })) }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 80 }).map((b) => ({ req: {}, cancelAfter: null, raw: Buffer.from(b) })) });
    await fc.assert(
      fc.asyncProperty(fc.array(one, { minLength: 1, maxLength: 3 }), async (batch) => {
        const ends = await Promise.all(batch.map((b) => (b.raw ? rawGenerate(rig.gateway.port, b.raw) : call(rig, b.req, b.cancelAfter))));
        ends.forEach((e, i) => {
          const what = `${JSON.stringify(batch[i]?.req).slice(0, 300)} → ${grpc.status[e.status]} ${e.details}`;
          assert.notEqual(e.status, grpc.status.DEADLINE_EXCEEDED, `a hung call: ${what}`);
          // Undecodable bytes are grpc-js's to refuse (INTERNAL); a decoded request never ends in INTERNAL.
          if (!batch[i]?.raw) assert.notEqual(e.status, grpc.status.INTERNAL, what);
          if (e.status === grpc.status.OK) {
            assert.ok(e.last?.finished, `an OK stream without its finished chunk: ${what}`);
            assert.notEqual(e.last?.finishReason, 'error', what);
          } else if (e.status !== grpc.status.CANCELLED) {
            assert.ok(e.details.length > 0, `a status without details: ${what}`);
          }
          if (e.status === grpc.status.INVALID_ARGUMENT && !batch[i]?.raw) assert.match(e.details, /^[a-z_]+: ./, what);
        });
      }),
      fuzzParams(120, 23),
    );
    assert.equal(rig.gateway.driver.failures, 0, 'a worker stream broke during the campaign');
    const ok = await generate(rig.client, { prompt: 'after the campaign', maxTokens: 4 });
    assert.equal(ok.error, undefined);
    assert.equal(ok.tokens.length, 4);
    const t0 = Date.now();
    while (rig.gateway.sched.stats().live > 0 && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 10));
    assert.equal(rig.gateway.sched.stats().live, 0, 'requests left live in the scheduler');
  });
});
