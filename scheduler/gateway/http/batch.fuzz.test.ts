// The Files and Batch routes under fuzzing (fast-check, deterministic seed; FUZZ_RUNS / FUZZ_SEED as elsewhere):
// multipart uploads mutated byte by byte, truncated, with random boundaries and field names, and batch-create bodies
// with any JSON, all against a real server on Redis. Every answer is a 200 with the object the route promises or a
// 4xx OpenAI error JSON naming a param or null — never a 5xx, a hang or a crash — and a clean upload still works
// after the campaign. The multipart parser alone also gets random bytes (a 400 ApiError or parts, nothing else).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';

import { batchLines, testQueue } from '../../batch/testing/rig.js';
import { startTestRedis, type TestRedis } from '../../tune/testing/redis_server.js';
import { fuzzParams } from '../../util/fuzz.js';
import { startRig, SMALL, type Rig } from '../testing.js';
import { ApiError } from './errors.js';
import { parseMultipart } from './multipart.js';
import { startHttpApi, type RunningHttpApi } from './server.js';

const BOUNDARY = 'fuzzBoundary0123';

function upload(o: { boundary: string; purpose: string; name: string; filename: string; content: string }): Buffer {
  return Buffer.from(
    `--${o.boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\n${o.purpose}\r\n` +
    `--${o.boundary}\r\nContent-Disposition: form-data; name="${o.name}"; filename="${o.filename}"\r\nContent-Type: application/jsonl\r\n\r\n${o.content}\r\n` +
    `--${o.boundary}--\r\n`,
  );
}

const validUpload = upload({ boundary: BOUNDARY, purpose: 'batch', name: 'file', filename: 'f.jsonl', content: batchLines(2).join('\n') });

/** A valid upload with byte edits, a cut, or random fields. */
const mutatedUpload = fc.oneof(
  fc.array(fc.tuple(fc.nat({ max: validUpload.length - 1 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }).map((edits) => {
    const b = Buffer.from(validUpload);
    for (const [i, v] of edits) b[i] = v;
    return { body: b, boundary: BOUNDARY };
  }),
  fc.nat({ max: validUpload.length }).map((n) => ({ body: validUpload.subarray(0, n), boundary: BOUNDARY })),
  fc.record({
    boundary: fc.stringMatching(/^[0-9A-Za-z'()+_,\-./:=?]{1,70}$/),
    purpose: fc.constantFrom('batch', 'fine-tune', '', 'batch\r\n'),
    name: fc.constantFrom('file', 'files', 'purpose', ''),
    filename: fc.string({ maxLength: 20 }).filter((s) => !/["\r\n]/.test(s)),
    content: fc.oneof(fc.constant(''), fc.string({ maxLength: 200 }), fc.constant(batchLines(3).join('\n'))),
  }).map((r) => ({ body: upload(r), boundary: r.boundary })),
);

const contentType = (boundary: string) => fc.constantFrom(`multipart/form-data; boundary=${boundary}`, `multipart/form-data; boundary="${boundary}"`, 'multipart/form-data', 'application/json', 'multipart/form-data; boundary=other');

const createBody = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  fc.record({ input_file_id: fc.oneof(fc.string({ maxLength: 30 }), fc.integer()), endpoint: fc.constantFrom('/v1/chat/completions', '/v1/completions', '/v1/embeddings', 3), completion_window: fc.constantFrom('24h', '1h', null), metadata: fc.oneof(fc.constant(undefined), fc.dictionary(fc.string({ maxLength: 70 }), fc.oneof(fc.string({ maxLength: 600 }), fc.integer()), { maxKeys: 20 })) }, { requiredKeys: [] }).map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 100 }),
);

test('the multipart parser on random bytes and random content types: parts or a 400, nothing else', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 400 }), fc.oneof(contentType(BOUNDARY), fc.string({ maxLength: 80 })), (bytes, type) => {
      try {
        const parts = parseMultipart(type, Buffer.from(bytes));
        for (const p of parts) assert.ok(typeof p.name === 'string' && p.name !== '' && Buffer.isBuffer(p.data));
      } catch (e) {
        assert.ok(e instanceof ApiError && e.status === 400, String(e));
      }
    }),
    fuzzParams(2000, 21),
  );
});

const redis: TestRedis = await startTestRedis();

describe('Files and Batch routes under fuzzing (real server on Redis)', { skip: 'skip' in redis ? redis.skip : false }, () => {
  if ('skip' in redis) return;
  let rig: Rig;
  let api: RunningHttpApi;
  let base: string;
  before(async () => {
    rig = await startRig(1);
    // No drainer on this queue: created batches stay queued (nothing runs them; the queue name is this test's own).
    api = await startHttpApi({ frontend: rig.gateway.frontend, limits: { maxContextTokens: 8192, blockTokens: SMALL.blockTokens }, models: [rig.gateway.topology.cluster.model.name], batch: { redisUrl: redis.url, queue: testQueue('fuzz'), maxFileBytes: 4096 } });
    base = `http://127.0.0.1:${api.port}/v1`;
  });
  after(async () => {
    await api?.close();
    await rig?.close();
    await redis.stop();
  });

  const judge = async (r: Response, where: string, ok: (body: Record<string, unknown>) => void): Promise<void> => {
    const text = await r.text();
    assert.ok(r.status >= 200 && r.status < 500, `${r.status} ${where}: ${text.slice(0, 300)}`);
    const body = JSON.parse(text) as Record<string, unknown>;
    if (r.status === 200) return ok(body);
    const e = body.error as Record<string, unknown>;
    assert.ok(typeof e.message === 'string' && typeof e.type === 'string', where);
    assert.ok(e.param === null || typeof e.param === 'string', where);
  };

  test('uploads and batch creates: a 200 object or a 4xx OpenAI error, never a 5xx', async () => {
    const fileIds: string[] = [];
    await fc.assert(
      fc.asyncProperty(mutatedUpload.chain((u) => fc.tuple(fc.constant(u), contentType(u.boundary))), async ([u, type]) => {
        const r = await fetch(`${base}/files`, { method: 'POST', headers: { 'content-type': type }, body: u.body });
        await judge(r, `upload ${JSON.stringify(u.body.subarray(0, 80).toString('latin1'))}`, (f) => {
          assert.equal(f.object, 'file');
          assert.equal(f.purpose, 'batch');
          fileIds.push(f.id as string);
        });
      }),
      fuzzParams(150, 22),
    );
    assert.ok(fileIds.length > 0, 'some uploads were valid');
    await fc.assert(
      fc.asyncProperty(createBody, fc.boolean(), async (text, useReal) => {
        let body = text;
        if (useReal) {
          const v = JSON.parse(JSON.stringify({ input_file_id: fileIds[0], endpoint: '/v1/chat/completions', completion_window: '24h' })) as Record<string, unknown>;
          try {
            const extra = JSON.parse(text) as unknown;
            if (typeof extra === 'object' && extra !== null && !Array.isArray(extra)) body = JSON.stringify({ ...v, ...extra, input_file_id: fileIds[0] });
            else body = JSON.stringify(v);
          } catch {
            body = JSON.stringify(v);
          }
        }
        const r = await fetch(`${base}/batches`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        await judge(r, `create ${body.slice(0, 200)}`, (b) => {
          assert.equal(b.object, 'batch');
          assert.ok(['in_progress', 'failed'].includes(b.status as string), String(b.status));
        });
      }),
      fuzzParams(150, 23),
    );
    // Still serving: a clean upload and a batch from it.
    const form = new FormData();
    form.append('purpose', 'batch');
    form.append('file', new Blob([batchLines(2).join('\n')]), 'after.jsonl');
    const f = (await (await fetch(`${base}/files`, { method: 'POST', body: form })).json()) as { id: string };
    const b = await fetch(`${base}/batches`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input_file_id: f.id, endpoint: '/v1/chat/completions', completion_window: '24h' }) });
    assert.equal(((await b.json()) as { status: string }).status, 'in_progress');
  });
});
