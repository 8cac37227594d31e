// OpenAI's Files and Batch endpoints over HTTP (the work is scheduler/batch/http_service.ts):
//   POST /v1/files                  multipart/form-data: purpose=batch, file=<JSONL>   → file object
//   GET  /v1/files/{id}             → file object;  GET /v1/files/{id}/content → the bytes
//   POST /v1/batches                {input_file_id, endpoint, completion_window, metadata?} → batch object
//   GET  /v1/batches[?limit&after]  → list (newest first);  GET /v1/batches/{id};  POST /v1/batches/{id}/cancel
// The caller is authenticated first (server.ts), and everything is scoped to its tenant. Without a batch service
// (a gateway without Redis) every such route is a 501 saying how to get one.
import type { IncomingMessage, ServerResponse } from 'node:http';

import type { BatchHttpService } from '../../batch/http_service.js';
import { DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT } from '../../batch/http_service.js';
import { readBody } from './body.js';
import { ApiError, FieldError } from './errors.js';
import { parseMultipart } from './multipart.js';
import { sendError, sendJson } from './respond.js';

export interface BatchRouteLimits {
  maxBodyBytes: number;
  /** An upload's body (the file plus the multipart framing) at most. */
  maxUploadBytes: number;
  bodyIdleTimeoutS: number | null;
}

/** Multipart framing allowed on top of the file itself (boundaries, part headers, the purpose field). */
export const UPLOAD_FRAMING_BYTES = 64 * 1024;

type Handler = (tenant: string, req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void>;
interface Match { methods: readonly string[]; handle: Handler }

/** Whether a path belongs to these routes (server.ts sends them here after authenticating). */
export function isBatchPath(pathname: string): boolean {
  return pathname === '/v1/files' || pathname.startsWith('/v1/files/') || pathname === '/v1/batches' || pathname.startsWith('/v1/batches/');
}

/** An id segment: decoded, non-empty, printable, bounded (ids never hold a slash). */
function idOf(segment: string, what: string): string {
  let id: string;
  try {
    id = decodeURIComponent(segment);
  } catch {
    throw new ApiError(400, `bad ${what} in the path`, what, 'invalid_url');
  }
  if (id === '' || id.length > 128 || !/^[\x21-\x7e]+$/.test(id)) throw new ApiError(400, `${what}: expected 1 to 128 printable characters, got ${JSON.stringify(id.slice(0, 40))}`, what, 'invalid_url');
  return id;
}

async function readOrAnswer(req: IncomingMessage, res: ServerResponse, maxBytes: number, idleS: number | null): Promise<Buffer | null> {
  const body = await readBody(req, maxBytes, idleS === null ? null : idleS * 1000);
  if (body.ok) return body.body;
  if (body.reason === 'aborted') return null;
  if (body.reason === 'idle') {
    sendError(res, new ApiError(408, `body: no bytes for ${idleS} s while reading it (limits.bodyIdleTimeoutS = ${idleS})`, 'body', 'request_timeout'), { connection: 'close' });
    return null;
  }
  req.resume();
  sendError(res, new ApiError(413, `body: larger than the limit of ${maxBytes} bytes`, 'body', 'request_too_large'), { connection: 'close' });
  return null;
}

function listLimit(url: URL): number {
  const raw = url.searchParams.get('limit');
  if (raw === null || raw === '') return DEFAULT_LIST_LIMIT;
  if (!/^[0-9]{1,4}$/.test(raw) || Number(raw) < 1 || Number(raw) > MAX_LIST_LIMIT) throw new FieldError('limit', `expected an integer from 1 to ${MAX_LIST_LIMIT}, got ${JSON.stringify(raw.slice(0, 20))}`);
  return Number(raw);
}

export function batchRoutes(service: BatchHttpService | null, lim: BatchRouteLimits, isClosing: () => boolean) {
  const upload: Handler = async (tenant, req, res) => {
    const body = await readOrAnswer(req, res, lim.maxUploadBytes, lim.bodyIdleTimeoutS);
    if (body === null) return;
    const parts = parseMultipart(req.headers['content-type'], body);
    const purpose = parts.find((p) => p.name === 'purpose');
    const file = parts.find((p) => p.name === 'file');
    if (!purpose) throw new FieldError('purpose', 'required: a form field purpose=batch');
    if (!file || file.filename === undefined) throw new FieldError('file', 'required: a form field "file" carrying a file (with a filename)');
    if (file.data.length > lim.maxUploadBytes - UPLOAD_FRAMING_BYTES) throw new ApiError(413, `file: larger than the limit of ${lim.maxUploadBytes - UPLOAD_FRAMING_BYTES} bytes`, 'file', 'request_too_large');
    sendJson(res, 200, await (service as BatchHttpService).uploadFile(tenant, { filename: file.filename, purpose: purpose.data.toString('utf8').trim(), content: Buffer.from(file.data) }));
  };
  const createBatch: Handler = async (tenant, req, res) => {
    const body = await readOrAnswer(req, res, lim.maxBodyBytes, lim.bodyIdleTimeoutS);
    if (body === null) return;
    let json: unknown;
    try {
      json = body.length === 0 ? undefined : JSON.parse(body.toString('utf8'));
    } catch (e) {
      throw new FieldError('body', `not valid JSON (${(e as Error).message})`);
    }
    sendJson(res, 200, await (service as BatchHttpService).createBatch(tenant, json));
  };

  /** The route a path names, or undefined (404). */
  const match = (pathname: string): Match | undefined => {
    const s = service as BatchHttpService;
    const seg = pathname.split('/').slice(3); // ['', 'v1', 'files' | 'batches', ...]
    if (pathname.startsWith('/v1/files')) {
      if (seg.length === 0) return { methods: ['POST'], handle: upload };
      const id = idOf(seg[0] as string, 'file_id');
      if (seg.length === 1) return { methods: ['GET'], handle: async (t, _req, res) => sendJson(res, 200, await s.file(t, id)) };
      if (seg.length === 2 && seg[1] === 'content') {
        return {
          methods: ['GET'],
          handle: async (t, _req, res) => {
            // The headers go out with the first bytes: a missing file (checked before any byte) is a clean 404.
            const start = (): void => void (res.headersSent || res.writeHead(200, { 'content-type': 'application/octet-stream' }));
            await s.fileContent(t, id, (chunk) => {
              start();
              if (!res.write(chunk)) return new Promise<void>((resolve) => res.once('drain', resolve));
              return undefined;
            });
            start();
            res.end();
          },
        };
      }
      return undefined;
    }
    if (seg.length === 0) {
      return {
        methods: ['GET', 'POST'],
        handle: async (t, req, res, url) => {
          if (req.method === 'POST') return createBatch(t, req, res, url);
          const after = url.searchParams.get('after');
          sendJson(res, 200, await s.list(t, listLimit(url), after === null || after === '' ? undefined : idOf(after, 'after')));
        },
      };
    }
    const id = idOf(seg[0] as string, 'batch_id');
    if (seg.length === 1) return { methods: ['GET'], handle: async (t, _req, res) => sendJson(res, 200, await s.view(t, id)) };
    if (seg.length === 2 && seg[1] === 'cancel') return { methods: ['POST'], handle: async (t, _req, res) => sendJson(res, 200, await s.cancel(t, id)) };
    return undefined;
  };

  /** Serves an authenticated request on a batch path; throws ApiError for the server to answer. */
  return async (tenant: string, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    const method = req.method ?? 'GET';
    if (service === null) {
      req.resume();
      throw new ApiError(501, `${url.pathname}: the Batch API needs Redis; start the gateway with serve --redis redis://host:6379 (batches and files are stored there)`, null, 'batch_api_unavailable', 'not_implemented_error');
    }
    const m = match(url.pathname);
    if (m === undefined) {
      req.resume();
      throw new ApiError(404, `Unknown route: ${method} ${url.pathname}`, null, 'unknown_url');
    }
    if (!m.methods.includes(method)) {
      req.resume();
      sendError(res, new ApiError(405, `${method} is not allowed on ${url.pathname}; use ${m.methods.join(', ')}`, null, 'method_not_allowed'), { allow: m.methods.join(', ') });
      return;
    }
    if (method === 'POST' && isClosing()) {
      req.resume();
      throw new ApiError(503, 'the gateway is shutting down', null, 'E_SHUTTING_DOWN', 'server_error', 1);
    }
    await m.handle(tenant, req, res, url);
  };
}
