// One admitted completion: submit through the frontend, then stream SSE chunks (or collect one JSON body) from the
// worker's tokens, decoded to text. Ends: `length` at max_tokens, `stop` below it (the model's context); a worker
// failure is a 500 error (non-streaming) or an SSE `data: {"error": ...}` event and the end of the stream (no
// [DONE]); a request the server cancelled (shutdown, a Cancel by id) ends the same way with code `cancelled` (503
// when not streaming) — never a `stop` that would pass truncated output off as complete. A client that goes away
// (request or response closed before our end) cancels the request, which frees its KV. A streaming client that stays
// connected but stops reading is cut off once the response's unsent bytes (res.writableLength: Node's buffers, past
// what the kernel took) exceed limits.maxClientBacklogBytes: the request is cancelled and the stream ends with an SSE
// error event naming the limit (code `limit_exceeded`, no [DONE]), queued behind what it has not read.
import type { ServerResponse } from 'node:http';

import type { Finished, Frontend, StartResult } from '../frontend.js';
import type { Tokenizer } from '../tokenizer.js';
import { backlogMessage } from '../tenancy/limits.js';
import { ApiError, rejectionError } from './errors.js';
import type { ApiRequest } from './parse.js';
import { sendError, sendJson, sseData, sseDone, SSE_HEADERS } from './respond.js';
import { chunk, usageChunk, usageOf, wholeResponse, type ResponseHead } from './shapes.js';

/** What the HTTP API needs of the frontend (a test may pass a fake). */
export type ApiFrontend = Pick<Frontend, 'start' | 'newRequestId' | 'now' | 'stopping' | 'liveRequests'>;

function endError(f: Finished): ApiError | undefined {
  // The edge ended it for a limit (limits.totalTimeoutS, limits.streamIdleTimeoutS): the client's request took too
  // long, so a 408 naming the limit (streaming: the same error as an SSE event).
  if (f.finishReason === 'cancelled' && f.limit !== undefined) return new ApiError(408, f.cancelReason ?? `limits.${f.limit} reached`, null, 'request_timeout');
  if (f.finishReason === 'error') return new ApiError(500, `the worker failed: ${f.error ?? 'unknown error'}`, null, 'worker_error');
  if (f.finishReason === 'cancelled') return new ApiError(503, `cancelled by the server: ${f.cancelReason ?? 'no reason given'}`, null, 'cancelled');
  return undefined;
}

/** maxBacklogBytes: limits.maxClientBacklogBytes (null: unbounded). */
export function serveGeneration(fe: ApiFrontend, api: ApiRequest, tokenizer: Tokenizer, res: ServerResponse, maxBacklogBytes: number | null = null): void {
  const head: ResponseHead = { id: api.parsed.req.requestId, created: Math.floor(Date.now() / 1000), model: api.model };
  const text = tokenizer.decodeStream();
  const collected: number[] = [];
  let ready = false;
  let done = false;
  let ended: Finished | undefined;

  const writeTokens = (ids: readonly number[]): void => {
    const t = text.push(ids);
    // A push inside a multi-byte character yields nothing yet; its text comes with the next push.
    if (t !== '') sseData(res, chunk(api.kind, head, { text: t }, api.includeUsage));
    if (maxBacklogBytes !== null && res.writableLength > maxBacklogBytes) tooSlow(res.writableLength);
  };
  // Only from writeTokens, which runs once the response is set up (`started` is set by then).
  const tooSlow = (backlogBytes: number): void => {
    done = true;
    const message = backlogMessage(backlogBytes, maxBacklogBytes as number);
    if (started.ok) started.cancel(message);
    sseData(res, new ApiError(400, message, null, 'limit_exceeded').body());
    res.end();
  };
  const finish = (f: Finished): void => {
    done = true;
    const err = endError(f);
    if (err) {
      if (!api.stream) return sendError(res, err);
      sseData(res, err.body());
      res.end();
      return;
    }
    const reason = f.finishReason === 'length' ? 'length' : 'stop';
    const usage = usageOf(f);
    if (!api.stream) return sendJson(res, 200, wholeResponse(api.kind, head, tokenizer.decode(collected), reason, usage));
    const rest = text.end();
    if (rest !== '') sseData(res, chunk(api.kind, head, { text: rest }, api.includeUsage));
    sseData(res, chunk(api.kind, head, { finish: reason }, api.includeUsage));
    if (api.includeUsage) sseData(res, usageChunk(api.kind, head, usage));
    sseDone(res);
  };

  // The sink may hear the end (never tokens) before start() returns: hold everything until the response is set up.
  const started: StartResult = fe.start(api.parsed, {
    onTokens: (ids) => {
      if (done) return;
      if (api.stream && ready) writeTokens(ids);
      else for (const id of ids) collected.push(id);
    },
    onEnd: (f) => {
      if (done) return;
      ended = f;
      if (ready) finish(f);
    },
  });
  if (!started.ok) return sendError(res, rejectionError(started.rejection, api.kind === 'chat' ? 'messages' : 'prompt'));
  res.setHeader('x-request-id', started.requestId);
  res.setHeader('x-nvlsched-shape', started.shape);
  res.setHeader('x-nvlsched-instance', started.instanceId);
  const gone = (): void => {
    if (done) return;
    done = true;
    started.cancel('client disconnected');
  };
  // The client may have gone while the body was parsed; 'close' would not fire again. (Not req.destroyed: a request
  // whose body was read to its end is destroyed by Node, its connection lives on.)
  if (res.destroyed || res.socket === null || res.socket.destroyed) return gone();
  res.on('close', gone);
  if (api.stream) {
    res.writeHead(200, SSE_HEADERS);
    if (api.kind === 'chat') sseData(res, chunk('chat', head, { role: true }, api.includeUsage));
  }
  ready = true;
  if (api.stream && collected.length > 0) writeTokens(collected.splice(0));
  if (ended) finish(ended);
}
