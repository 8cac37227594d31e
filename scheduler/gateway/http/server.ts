// The OpenAI-compatible HTTP API of the gateway, on plain node:http (no framework): `POST /v1/chat/completions`,
// `POST /v1/completions` (streaming and not), `GET /v1/models[/id]`, `GET /health`, and with Redis OpenAI's Files
// and Batch API (batch_routes.ts). The sibling of the gRPC service
// (service.ts) over the same transport-neutral frontend. Bad input of any kind gets an OpenAI error JSON (never a
// crash or a hang); close() is bounded: after a grace, lingering connections are destroyed (their requests cancel).
// With `auth`, the API routes need an API key (`Authorization: Bearer <key>`, or `x-api-key`) — /v1/models too, as
// OpenAI's does; /health stays open for probes — and the key's tenant replaces x-tenant. With `tls`, node:https.
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';

import type { Limits } from '../request.js';
import { defaultTokenizer, type Tokenizer } from '../tokenizer.js';
import { MAX_BATCH_BYTES } from '../../batch/format.js';
import { openBatchService, type OpenedBatchService } from '../../batch/http_service.js';
import { batchRoutes, isBatchPath, UPLOAD_FRAMING_BYTES } from './batch_routes.js';
import { readBody } from './body.js';
import { readHints } from './hints.js';
import type { GatewayMetrics } from '../../metrics/gateway_metrics.js';
import { keyFromHttp, type Authenticator } from '../tenancy/auth.js';
import { EDGE_LIMITS_DEFAULTS } from '../tenancy/limits.js';
import { ApiError, FieldError, authError } from './errors.js';
import { serveGeneration, type ApiFrontend } from './generate.js';
import { parseChat, parseCompletion, type ApiRequest, type ParseContext } from './parse.js';
import { sendError, sendJson } from './respond.js';
import { modelObject } from './shapes.js';

export interface HttpLimits {
  /** Request bodies past this are refused with 413 (checked while reading). */
  maxBodyBytes: number;
  /** close(): how long open requests may run on before their connections are destroyed. */
  closeGraceMs: number;
  /** No body bytes for this long while reading → 408 (limits.bodyIdleTimeoutS); null: no limit. */
  bodyIdleTimeoutS: number | null;
  /** A streaming response this far behind (res.writableLength) is cut off (limits.maxClientBacklogBytes); null: no limit. */
  maxClientBacklogBytes: number | null;
}

export const HTTP_LIMITS_DEFAULTS: Readonly<HttpLimits> = {
  maxBodyBytes: 8 * 1024 * 1024, closeGraceMs: 2000, bodyIdleTimeoutS: 30, maxClientBacklogBytes: EDGE_LIMITS_DEFAULTS.maxClientBacklogBytes,
};

/** HTTPS: PEM key and certificate; with `ca` and `requestCert`, clients must present a certificate that ca signed (mTLS). */
export interface HttpTls {
  key: Buffer | string;
  cert: Buffer | string;
  ca?: Buffer | string;
  requestCert?: boolean;
}

export interface HttpApiOptions {
  frontend: ApiFrontend;
  limits: Limits;
  /** Served model names (pool or model names the scheduler routes by); the first is the default. */
  models: readonly string[];
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  log?: (line: string) => void;
  tokenizer?: Tokenizer;
  limitsHttp?: Partial<HttpLimits>;
  /** API keys (tenancy/auth.ts); absent or null: no auth (x-tenant is used as sent). */
  auth?: Authenticator | null;
  /** Counts refused keys (nvlsched_auth_failures_total). */
  metrics?: GatewayMetrics;
  tls?: HttpTls;
  /**
   * OpenAI's Files and Batch API (batch_routes.ts) on this Redis, in the queue the drainers and `nvlsched batch`
   * use (default nvlsched-batch). Absent or null: those routes answer 501 naming `serve --redis`.
   */
  batch?: BatchApiOptions | null;
}

export interface BatchApiOptions {
  redisUrl: string;
  queue?: string;
  /** An uploaded file's bytes at most (default 200 MiB, OpenAI's batch input limit). */
  maxFileBytes?: number;
  /** Lines per queued chunk (default 100). */
  chunkLines?: number;
}

export interface RunningHttpApi {
  port: number;
  close(): Promise<void>;
}

type Route = { methods: readonly string[]; handle: (req: http.IncomingMessage, res: http.ServerResponse) => void | Promise<void> };

export async function startHttpApi(o: HttpApiOptions): Promise<RunningHttpApi> {
  if (o.models.length === 0) throw new Error('startHttpApi: models must name at least one served model');
  const fe = o.frontend;
  const lim: HttpLimits = { ...HTTP_LIMITS_DEFAULTS, ...o.limitsHttp };
  const tokenizer = o.tokenizer ?? defaultTokenizer();
  const startedS = Math.floor(Date.now() / 1000);
  let closing = false;
  // Opened first: an unreachable Redis fails the start with its reason, as the batch drainer does.
  const batchService: OpenedBatchService | null = o.batch
    ? await openBatchService({
      redisUrl: o.batch.redisUrl,
      ...(o.batch.queue !== undefined ? { queue: o.batch.queue } : {}),
      ...(o.batch.chunkLines !== undefined ? { chunkLines: o.batch.chunkLines } : {}),
      validate: { limits: o.limits, tokenizer, models: o.models },
      ...(o.log ? { log: o.log } : {}),
    })
    : null;
  const batch = batchRoutes(batchService?.service ?? null, {
    maxBodyBytes: lim.maxBodyBytes,
    maxUploadBytes: (o.batch?.maxFileBytes ?? MAX_BATCH_BYTES) + UPLOAD_FRAMING_BYTES,
    bodyIdleTimeoutS: lim.bodyIdleTimeoutS,
  }, () => closing || fe.stopping);

  /** The caller's tenant (undefined without auth), or null after a 401 was sent. */
  const authenticate = (req: http.IncomingMessage, res: http.ServerResponse): { tenant?: string } | null => {
    if (!o.auth) return {};
    const r = o.auth.authenticate(keyFromHttp(req.headers));
    if (r.ok) return { tenant: r.tenant };
    try {
      o.metrics?.authFailed(r.reason);
    } catch {
      // Metrics never break serving.
    }
    // The body is not read for an unauthenticated caller: discard what comes and close the connection.
    req.resume();
    sendError(res, authError(r.message), { 'www-authenticate': 'Bearer', connection: 'close' });
    return null;
  };

  const generation = (parse: (body: unknown, h: http.IncomingHttpHeaders, ctx: ParseContext) => ApiRequest, idPrefix: string) =>
    async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
      const who = authenticate(req, res);
      if (who === null) return;
      const body = await readBody(req, lim.maxBodyBytes, lim.bodyIdleTimeoutS === null ? null : lim.bodyIdleTimeoutS * 1000);
      if (!body.ok) {
        if (body.reason === 'aborted') return;
        if (body.reason === 'idle') {
          return sendError(res, new ApiError(408, `body: no bytes for ${lim.bodyIdleTimeoutS} s while reading it (limits.bodyIdleTimeoutS = ${lim.bodyIdleTimeoutS})`, 'body', 'request_timeout'), { connection: 'close' });
        }
        // Drain (discard) the rest so the client sees the 413, then close the connection.
        req.resume();
        return sendError(res, new ApiError(413, `body: larger than the limit of ${lim.maxBodyBytes} bytes`, 'body', 'request_too_large'), { connection: 'close' });
      }
      if (closing || fe.stopping) return sendError(res, new ApiError(503, 'the gateway is shutting down', null, 'E_SHUTTING_DOWN', 'server_error', 1));
      let json: unknown;
      try {
        json = body.body.length === 0 ? undefined : JSON.parse(body.body.toString('utf8'));
      } catch (e) {
        return sendError(res, new FieldError('body', `not valid JSON (${(e as Error).message})`));
      }
      if (json === undefined) return sendError(res, new FieldError('body', 'expected a JSON object, got an empty body'));
      const api = parse(json, req.headers, { limits: o.limits, models: o.models, tokenizer, newRequestId: () => fe.newRequestId(idPrefix), nowS: fe.now() });
      // The key names the tenant; a client's x-tenant does not override it.
      if (who.tenant !== undefined) api.parsed.req.tenant = who.tenant;
      serveGeneration(fe, api, tokenizer, res, lim.maxClientBacklogBytes);
    };

  const modelsRoute: Route = {
    methods: ['GET'],
    handle: (req, res) => {
      if (authenticate(req, res) === null) return;
      sendJson(res, 200, { object: 'list', data: o.models.map((m) => modelObject(m, startedS)) });
    },
  };
  const routes: Readonly<Record<string, Route>> = {
    '/v1/chat/completions': { methods: ['POST'], handle: generation(parseChat, 'chatcmpl') },
    '/v1/completions': { methods: ['POST'], handle: generation(parseCompletion, 'cmpl') },
    '/v1/models': modelsRoute,
    '/health': {
      methods: ['GET'],
      handle: (_req, res) => {
        const serving = !closing && !fe.stopping;
        sendJson(res, serving ? 200 : 503, { status: serving ? 'serving' : 'draining', live_requests: fe.liveRequests });
      },
    },
  };

  const route = (req: http.IncomingMessage, res: http.ServerResponse): void | Promise<void> => {
    const method = req.method ?? 'GET';
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      return sendError(res, new ApiError(400, `bad request target ${JSON.stringify((req.url ?? '').slice(0, 80))}`, null, 'invalid_url'));
    }
    const pathname = url.pathname;
    if (isBatchPath(pathname)) {
      const who = authenticate(req, res);
      if (who === null) return;
      // A batch and its files belong to the key's tenant; without keys, to x-tenant as sent (default "default").
      return batch(who.tenant ?? readHints({ 'x-tenant': req.headers['x-tenant'] }).tenant, req, res, url);
    }
    let modelId: string | undefined;
    try {
      modelId = pathname.startsWith('/v1/models/') ? decodeURIComponent(pathname.slice('/v1/models/'.length)) : undefined;
    } catch {
      return sendError(res, new ApiError(400, `bad model id in ${JSON.stringify(pathname.slice(0, 80))}`, 'model', 'invalid_url'));
    }
    const r = modelId !== undefined ? undefined : routes[pathname];
    if (modelId !== undefined) {
      if (method !== 'GET') return sendError(res, new ApiError(405, `${method} is not allowed on ${pathname}; use GET`, null, 'method_not_allowed'), { allow: 'GET' });
      if (authenticate(req, res) === null) return;
      if (!o.models.includes(modelId)) return sendError(res, new ApiError(404, `The model ${JSON.stringify(modelId)} does not exist; served: ${o.models.join(', ')}`, 'model', 'model_not_found'));
      return sendJson(res, 200, modelObject(modelId, startedS));
    }
    if (r === undefined) return sendError(res, new ApiError(404, `Unknown route: ${method} ${pathname}`, null, 'unknown_url'));
    if (!r.methods.includes(method)) return sendError(res, new ApiError(405, `${method} is not allowed on ${pathname}; use ${r.methods.join(', ')}`, null, 'method_not_allowed'), { allow: r.methods.join(', ') });
    return r.handle(req, res);
  };

  // requireHostHeader off: a request without Host still reaches the handlers (and gets an OpenAI-shaped answer)
  // instead of Node's bare 400.
  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    // While closing, a kept-alive connection closes once its response is done instead of idling until the grace.
    res.on('finish', () => {
      if (closing) server.closeIdleConnections();
    });
    // One place catches everything a handler throws: an ApiError is the client's, anything else is ours (500).
    const fail = (e: unknown): void => {
      if (e instanceof ApiError) return sendError(res, e);
      o.log?.(`http: ${req.method} ${req.url}: ${(e as Error)?.stack ?? String(e)}`);
      sendError(res, new ApiError(500, 'internal error (logged by the gateway)', null, 'internal_error'));
    };
    try {
      const p = route(req, res);
      if (p) p.catch(fail);
    } catch (e) {
      fail(e);
    }
  };
  const server: http.Server = o.tls
    ? https.createServer({
      requireHostHeader: false,
      key: o.tls.key,
      cert: o.tls.cert,
      ...(o.tls.ca !== undefined ? { ca: o.tls.ca } : {}),
      // mTLS: a client without a certificate signed by `ca` fails the handshake (no HTTP answer at all).
      ...(o.tls.requestCert ? { requestCert: true, rejectUnauthorized: true } : {}),
    }, handler)
    : http.createServer({ requireHostHeader: false }, handler);
  const sockets = new Set<Socket>();
  // With TLS, 'connection' gives the raw TCP socket: destroying it ends the TLS session on top too.
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  // An Expect other than 100-continue: Node would send a bare 417; answer with the API's error shape.
  server.on('checkExpectation', (req: http.IncomingMessage, res: http.ServerResponse) => {
    sendError(res, new ApiError(417, `expect: only 100-continue is supported, got ${JSON.stringify(req.headers.expect ?? '')}`, 'expect', 'expectation_failed'), { connection: 'close' });
  });
  // CONNECT (tunnelling) is not an API method: answer 405 and close rather than leave the socket hanging.
  server.on('connect', (_req: http.IncomingMessage, socket: Socket) => {
    const body = JSON.stringify(new ApiError(405, 'CONNECT is not allowed', null, 'method_not_allowed').body());
    socket.end(`HTTP/1.1 405 Method Not Allowed\r\ncontent-type: application/json\r\nallow: GET, POST\r\nconnection: close\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  });
  // A malformed request line or headers: Node's parser fails before any handler; answer 400 and close.
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (socket.writable && err.code !== 'ECONNRESET') socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    else socket.destroy();
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(o.port ?? 0, o.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    await batchService?.close();
    throw error;
  }
  const port = (server.address() as AddressInfo).port;

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closed ??= new Promise<void>((resolve) => {
      const done = (): void => void (batchService ? batchService.close().then(resolve, resolve) : resolve());
      closing = true;
      const force = setTimeout(() => {
        // Destroying a connection closes its response, which cancels its request (generate.ts).
        for (const s of sockets) s.destroy();
      }, lim.closeGraceMs);
      force.unref();
      server.close(() => {
        clearTimeout(force);
        done();
      });
      server.closeIdleConnections();
    }));
  return { port, close };
}
