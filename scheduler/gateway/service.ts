// The Gateway gRPC service (proto/nvlsched/v1/gateway.proto) over the frontend: Generate validates
// (INVALID_ARGUMENT naming the field), submits (a rejection → the status of its kind, the reason, and the retry hint
// in metadata `retry-after-s`), then streams token chunks and ends with usage and timings. Cancel and a client
// that goes away cancel the request and free its KV. With an authenticator, Generate and Cancel need an API key in
// metadata (`authorization: Bearer <key>` or `x-api-key`): missing or wrong → UNAUTHENTICATED; the key's tenant
// replaces the request's `tenant` field, and Cancel only reaches the caller's own tenant's requests. Health stays
// open (probes carry no key). A client that stops reading (its HTTP/2 window stays full) while tokens keep coming is
// cut off at limits.maxClientBacklogBytes: the request is cancelled (KV freed) and the call ends RESOURCE_EXHAUSTED
// naming the limit — the status goes out behind the messages already queued, so the queue stays bounded by the limit.
import * as grpc from '@grpc/grpc-js';

import type { Shape } from '../core/types.js';
import type { CancelRequest__Output } from '../gen/proto/nvlsched/v1/CancelRequest.js';
import type { GenerateRequest__Output } from '../gen/proto/nvlsched/v1/GenerateRequest.js';
import type { GenerateResponse } from '../gen/proto/nvlsched/v1/GenerateResponse.js';
import type { Shape as ProtoShape } from '../gen/proto/nvlsched/v1/Shape.js';
import { loadGatewayProto } from '../rpc/proto.js';
import type { Frontend, RejectionKind } from './frontend.js';
import { parseGenerate, type Limits } from './request.js';
import { encodeRequestIdField, encodeTokenChunk, withEncodedChunks } from './token_chunk.js';
import { keyFromGrpc, type Authenticator } from './tenancy/auth.js';
import { backlogMessage, EDGE_LIMITS_DEFAULTS } from './tenancy/limits.js';
import { MessageBacklog } from './client_backlog.js';
import type { GatewayMetrics } from '../metrics/gateway_metrics.js';

const SHAPE_ENUM: Readonly<Record<Shape, ProtoShape>> = {
  tool_call: 'SHAPE_TOOL_CALL',
  reasoning: 'SHAPE_REASONING',
  terminal: 'SHAPE_TERMINAL',
  chat: 'SHAPE_CHAT',
};

const STATUS_OF: Readonly<Record<RejectionKind, grpc.status>> = {
  invalid: grpc.status.INVALID_ARGUMENT,
  not_found: grpc.status.NOT_FOUND,
  conflict: grpc.status.ALREADY_EXISTS,
  overloaded: grpc.status.RESOURCE_EXHAUSTED,
  unavailable: grpc.status.UNAVAILABLE,
  unimplemented: grpc.status.UNIMPLEMENTED,
};

export interface ServiceDeps {
  frontend: Frontend;
  limits: Limits;
  /** Detail for Health. */
  label: string;
  /** API keys (tenancy/auth.ts); absent or null: no auth (the tenant field is used as sent). */
  auth?: Authenticator | null;
  /** Counts refused keys (nvlsched_auth_failures_total). */
  metrics?: GatewayMetrics;
  /** limits.maxClientBacklogBytes (tenancy/limits.ts); absent: its default; null: unbounded. */
  maxClientBacklogBytes?: number | null;
}

type GenerateCall = grpc.ServerWritableStream<GenerateRequest__Output, GenerateResponse>;

function fail(call: GenerateCall, code: grpc.status, details: string, metadata?: grpc.Metadata): void {
  call.emit('error', { code, details, ...(metadata ? { metadata } : {}) });
}

export class GatewayService {
  private readonly maxBacklogBytes: number | null;

  constructor(private readonly d: ServiceDeps) {
    this.maxBacklogBytes = d.maxClientBacklogBytes === undefined ? EDGE_LIMITS_DEFAULTS.maxClientBacklogBytes : d.maxClientBacklogBytes;
  }

  addTo(server: grpc.Server): void {
    const proto = loadGatewayProto();
    const fe = this.d.frontend;
    server.addService(withEncodedChunks(proto.nvlsched.v1.Gateway.service), {
      Generate: (call: GenerateCall) => this.generate(call),
      Cancel: (call: grpc.ServerUnaryCall<CancelRequest__Output, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        const who = this.authenticate(call.metadata);
        if (!who.ok) return cb({ code: grpc.status.UNAUTHENTICATED, details: who.message });
        cb(null, { found: fe.cancel(call.request.requestId, 'cancelled by the client', who.tenant) });
      },
      Health: (_call: unknown, cb: grpc.sendUnaryData<unknown>) =>
        cb(null, { status: fe.stopping ? 'STATUS_DRAINING' : 'STATUS_SERVING', detail: `${this.d.label}; ${fe.liveRequests} live requests` }),
    });
  }

  /** The caller's tenant from its key (undefined without auth), or the refusal. */
  private authenticate(md: grpc.Metadata): { ok: true; tenant?: string } | { ok: false; message: string } {
    const auth = this.d.auth;
    if (!auth) return { ok: true };
    const r = auth.authenticate(keyFromGrpc((name) => md.get(name)));
    if (r.ok) return { ok: true, tenant: r.tenant };
    try {
      this.d.metrics?.authFailed(r.reason);
    } catch {
      // Metrics never break serving.
    }
    return { ok: false, message: `invalid_api_key: ${r.message}` };
  }

  private generate(call: GenerateCall): void {
    const fe = this.d.frontend;
    if (fe.stopping) return fail(call, grpc.status.UNAVAILABLE, 'the gateway is shutting down');
    const who = this.authenticate(call.metadata);
    if (!who.ok) return fail(call, grpc.status.UNAUTHENTICATED, who.message);
    const parsed = parseGenerate(call.request, this.d.limits, fe.newRequestId(), fe.now());
    if (!parsed.ok) return fail(call, grpc.status.INVALID_ARGUMENT, parsed.error);
    if (who.tenant !== undefined) parsed.value.req.tenant = who.tenant;
    const requestId = parsed.value.req.requestId;
    let open = true;
    let idField: Buffer | undefined;
    // Set once start() returns; tokens only arrive later (after a worker round trip), the end may come at once.
    let shape: ProtoShape = 'SHAPE_UNSPECIFIED';
    const maxBacklog = this.maxBacklogBytes;
    const backlog = maxBacklog === null ? null : new MessageBacklog();
    const started = fe.start(parsed.value, {
      onTokens: (tokenIds) => {
        if (!open) return;
        // Encoded by hand (token_chunk.ts): one per decoding stream per step, the hot write of a gateway step.
        const chunk = encodeTokenChunk((idField ??= encodeRequestIdField(requestId)), tokenIds, shape);
        call.write(chunk as unknown as GenerateResponse);
        if (backlog && backlog.wrote(chunk.length, call.writableLength) > (maxBacklog as number)) tooSlow(backlog.bytes);
      },
      onEnd: (f) => {
        if (!open) return;
        open = false;
        call.write({
          requestId,
          finished: true,
          finishReason: f.finishReason,
          text: f.error ?? f.cancelReason ?? '',
          shape: SHAPE_ENUM[f.shape],
          usage: f.usage,
          timings: f.timings,
        });
        call.end();
      },
    });
    if (!started.ok) {
      const r = started.rejection;
      const md = new grpc.Metadata();
      md.set('x-nvlsched-reject-code', r.code);
      if (r.retryAfterS !== undefined) md.set('retry-after-s', r.retryAfterS.toFixed(3));
      return fail(call, STATUS_OF[r.kind], `${r.code}: ${r.reason}`, md);
    }
    shape = SHAPE_ENUM[started.shape];
    // Tokens reach onTokens only after this (a worker round trip later), so `started` is set when it is called.
    const tooSlow = (backlogBytes: number): void => {
      open = false;
      const message = backlogMessage(backlogBytes, maxBacklog as number);
      started.cancel(message);
      fail(call, grpc.status.RESOURCE_EXHAUSTED, message);
    };
    call.on('cancelled', () => {
      if (!open) return;
      open = false;
      started.cancel('client disconnected');
    });
  }
}
