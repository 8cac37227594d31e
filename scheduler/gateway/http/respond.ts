// Writing responses: JSON bodies, OpenAI errors (with Retry-After when the error carries one), SSE events.
import type { ServerResponse } from 'node:http';

import type { ApiError } from './errors.js';

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string | number> = {}): void {
  const data = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data), ...headers });
  res.end(data);
}

/** An error as JSON; when a response has already started, the only honest signal left is to cut it. */
export function sendError(res: ServerResponse, e: ApiError, headers: Record<string, string | number> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, e.status, e.body(), { ...(e.retryAfterS !== undefined ? { 'retry-after': e.retryAfterS } : {}), ...headers });
}

// No `connection` header: Node sets keep-alive or close from the request (a client that said close gets close).
export const SSE_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' } as const;

export function sseData(res: ServerResponse, obj: unknown): void {
  res.write(`data: ${JSON.stringify(obj)}\n\n`);
}

export function sseDone(res: ServerResponse): void {
  res.end('data: [DONE]\n\n');
}
