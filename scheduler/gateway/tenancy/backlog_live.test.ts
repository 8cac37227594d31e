// limits.maxClientBacklogBytes over real gRPC and HTTP on 127.0.0.1: a client that stays connected but stops reading
// while its tokens keep coming (gRPC: a bare HTTP/2 stream with a 1 KiB window that is not read; HTTP: a raw socket
// that sends its request and pauses) is cut off once the bytes queued for it pass the limit — the request is
// cancelled in the scheduler and the worker frees its sequence, the client finds the error naming the limit after
// what was queued before it (gRPC RESOURCE_EXHAUSTED, an SSE error event without [DONE]), and clients that read are
// served whole meanwhile and after. Waits are on conditions with a bound, never on time.
import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { connect as http2Connect, type IncomingHttpHeaders } from 'node:http2';
import { connect as netConnect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';

import type { GenerateRequest } from '../../gen/proto/nvlsched/v1/GenerateRequest.js';
import type { GenerateResponse__Output } from '../../gen/proto/nvlsched/v1/GenerateResponse.js';
import { loadGatewayProto } from '../../rpc/proto.js';
import { generateWith, startEdge, startEdgeBase, until, type Edge, type EdgeBase } from './testing.js';

const LIMIT_BYTES = 4096;
/** More tokens than any cut-off needs: the kernel takes ~4 MB of a paused loopback socket (~20,000 SSE events) first. */
const MAX_TOKENS = 60_000;
/** 4,096 blocks of 16 tokens: room for one MAX_TOKENS request and the others. */
const KV_BLOCKS = 4096;
const ids = (n: number, from: number): number[] => Array.from({ length: n }, (_, i) => from + i);
const LIMIT_MESSAGE = new RegExp(`^stream: the client is not reading: (\\d+) bytes written to it and not yet taken exceed the limit limits\\.maxClientBacklogBytes = ${LIMIT_BYTES}$`);

let base: EdgeBase;
let e: Edge;
before(async () => {
  base = await startEdgeBase('none', KV_BLOCKS);
  e = await startEdge(base, { keys: null, limits: { maxClientBacklogBytes: LIMIT_BYTES } });
});
after(async () => {
  await e.close();
  await base.close();
});

/**
 * A Generate on a bare HTTP/2 connection with a 1 KiB window that reads nothing until readToEnd(): a client that
 * stopped reading. (A grpc-js client is no such client even with its call paused: grpc-js goes on reading the HTTP/2
 * stream into a buffer of its own, so the gateway's writes complete.)
 */
function stalledGenerate(port: number, req: GenerateRequest) {
  const generate = loadGatewayProto().nvlsched.v1.Gateway.service.Generate;
  const message = generate.requestSerialize(req);
  const framed = Buffer.alloc(5 + message.length);
  framed.writeUInt32BE(message.length, 1);
  message.copy(framed, 5);
  const session = http2Connect(`http://127.0.0.1:${port}`, { settings: { initialWindowSize: 1024 } });
  const stream = session.request({ ':method': 'POST', ':path': '/nvlsched.v1.Gateway/Generate', 'content-type': 'application/grpc', te: 'trailers' });
  stream.end(framed);
  stream.pause();
  return {
    session,
    /** Reads what was queued, then the trailers: the responses and the status. */
    readToEnd(): Promise<{ responses: GenerateResponse__Output[]; status: number; message: string }> {
      return new Promise((resolve, reject) => {
        const chunks: Buffer[] = [];
        let trailers: IncomingHttpHeaders = {};
        stream.on('data', (d: Buffer) => chunks.push(d));
        stream.on('trailers', (t: IncomingHttpHeaders) => { trailers = t; });
        stream.on('error', reject);
        stream.on('end', () => {
          const bytes = Buffer.concat(chunks);
          const responses: GenerateResponse__Output[] = [];
          for (let at = 0; at + 5 <= bytes.length; at += 5 + bytes.readUInt32BE(at + 1)) {
            responses.push(generate.responseDeserialize(bytes.subarray(at + 5, at + 5 + bytes.readUInt32BE(at + 1))) as GenerateResponse__Output);
          }
          resolve({ responses, status: Number(trailers['grpc-status']), message: decodeURIComponent(String(trailers['grpc-message'] ?? '')) });
        });
        stream.resume();
      });
    },
  };
}

/** The slow request was cancelled by the gateway, and nothing of it is left in the scheduler or on the worker. */
async function cutOffAndFreed(cancelledBefore: number, what: string): Promise<void> {
  await until(() => base.gateway.sched.stats().cancelled === cancelledBefore + 1, `${what}: the request to be cancelled`, 30_000);
  await until(() => base.gateway.sched.stats().live === 0 && base.gateway.driver.liveRequests === 0, `${what}: the scheduler to drop it`);
  await until(() => base.worker.backend.liveSequences === 0, `${what}: the worker to free its sequence`);
}

describe('a client that stops reading is cut off at limits.maxClientBacklogBytes', () => {
  test('gRPC: RESOURCE_EXHAUSTED naming the limit after the queued tokens; KV freed; a reading client served', async () => {
    const cancelledBefore = base.gateway.sched.stats().cancelled;
    const slow = stalledGenerate(e.grpcPort, { requestId: 'slow-grpc', promptTokenIds: ids(64, 1), maxTokens: MAX_TOKENS });
    try {
      const reader = generateWith(e.client, { promptTokenIds: ids(48, 7000), maxTokens: 300 }, new grpc.Metadata());
      await cutOffAndFreed(cancelledBefore, 'gRPC');
      const read = await reader;
      assert.equal(read.error, undefined, read.error?.details);
      assert.equal(read.tokens.length, 300);
      assert.equal(read.last?.finishReason, 'length');

      // The slow client reads again: the tokens queued before the cut, then the status naming the limit.
      const end = await slow.readToEnd();
      assert.equal(end.status, grpc.status.RESOURCE_EXHAUSTED, end.message);
      const m = LIMIT_MESSAGE.exec(end.message);
      assert.ok(m, end.message);
      assert.ok(Number(m[1]) > LIMIT_BYTES);
      const tokens = end.responses.reduce((n, r) => n + r.tokenIds.length, 0);
      assert.ok(tokens > 0 && tokens < MAX_TOKENS, `${tokens} tokens before the cut`);
      assert.ok(end.responses.every((r) => !r.finished), 'no finished message: the request did not complete');
    } finally {
      slow.session.destroy();
    }
    // And the gateway serves as before.
    const next = await generateWith(e.client, { promptTokenIds: ids(32, 9000), maxTokens: 20 }, new grpc.Metadata());
    assert.equal(next.tokens.length, 20);
  });

  test('HTTP SSE: an error event naming the limit (code limit_exceeded, no [DONE]) after the queued events; KV freed; a reading client served', async () => {
    const cancelledBefore = base.gateway.sched.stats().cancelled;
    const body = JSON.stringify({ prompt: ids(64, 100), max_tokens: MAX_TOKENS, stream: true });
    const sock: Socket = netConnect(e.http.port, '127.0.0.1');
    sock.pause(); // reads at most its high-water mark, then the kernel's buffers fill, then the gateway's
    try {
      sock.write(`POST /v1/completions HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      const reader = fetch(`${e.baseUrl}/v1/completions`, { method: 'POST', body: JSON.stringify({ prompt: ids(48, 7000), max_tokens: 300, stream: true, stream_options: { include_usage: true } }) }).then((r) => r.text());
      await cutOffAndFreed(cancelledBefore, 'HTTP');
      const read = await reader;
      assert.match(read, /"completion_tokens":300/);
      assert.ok(read.endsWith('data: [DONE]\n\n'));

      // Read everything queued: SSE events, then the error event and the end of the chunked body.
      let text = '';
      sock.setEncoding('latin1');
      sock.on('data', (d: string) => { text += d; });
      sock.resume();
      await until(() => text.endsWith('\r\n0\r\n\r\n'), 'the response to end', 30_000);
      assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
      assert.ok(text.includes('"choices":[{"text":'), 'tokens before the cut');
      const err = /data: (\{"error":.*\})\n\n/.exec(text);
      assert.ok(err, text.slice(-400));
      const { error } = JSON.parse(err[1]!) as { error: { message: string; type: string; param: null; code: string } };
      assert.match(error.message, LIMIT_MESSAGE);
      assert.equal(error.code, 'limit_exceeded');
      assert.equal(error.type, 'invalid_request_error');
      assert.ok(!text.includes('[DONE]'));
    } finally {
      sock.destroy();
    }
    const next = await fetch(`${e.baseUrl}/v1/completions`, { method: 'POST', body: JSON.stringify({ prompt: 'hello', max_tokens: 20 }) });
    assert.equal(((await next.json()) as { usage: { completion_tokens: number } }).usage.completion_tokens, 20);
  });
});
