// The Gateway gRPC service (proto/nvlsched/v1/gateway.proto) over the driver: Generate validates (INVALID_ARGUMENT
// naming the field), submits to the scheduler (a rejection → RESOURCE_EXHAUSTED with the reason, and the retry hint
// in metadata `retry-after-s`), then streams token chunks and ends with usage and timings. Cancel and a client
// that goes away cancel the request and free its KV.
import * as grpc from '@grpc/grpc-js';

import type { EndedRequest, Scheduler } from '../core/scheduler.js';
import type { Shape } from '../core/types.js';
import type { CancelRequest__Output } from '../gen/proto/nvlsched/v1/CancelRequest.js';
import type { GenerateRequest__Output } from '../gen/proto/nvlsched/v1/GenerateRequest.js';
import type { GenerateResponse } from '../gen/proto/nvlsched/v1/GenerateResponse.js';
import type { Shape as ProtoShape } from '../gen/proto/nvlsched/v1/Shape.js';
import { loadGatewayProto } from '../rpc/proto.js';
import type { Clock, GatewayDriver, RequestSink } from './driver.js';
import { parseGenerate, type Limits } from './request.js';

const SHAPE_ENUM: Readonly<Record<Shape, ProtoShape>> = {
  tool_call: 'SHAPE_TOOL_CALL',
  reasoning: 'SHAPE_REASONING',
  terminal: 'SHAPE_TERMINAL',
  chat: 'SHAPE_CHAT',
};

/** gRPC status of a scheduler rejection code; anything not listed is load (retry later). */
const REJECT_STATUS: Readonly<Record<string, grpc.status>> = {
  E_DUPLICATE_REQUEST: grpc.status.ALREADY_EXISTS,
  E_CONTEXT_TOO_LONG: grpc.status.INVALID_ARGUMENT,
  E_NO_POOL: grpc.status.NOT_FOUND,
};

export interface ServiceDeps {
  sched: Scheduler;
  driver: GatewayDriver;
  clock: Clock;
  limits: Limits;
  /** Detail for Health. */
  label: string;
  isStopping: () => boolean;
}

type GenerateCall = grpc.ServerWritableStream<GenerateRequest__Output, GenerateResponse>;

function fail(call: GenerateCall, code: grpc.status, details: string, metadata?: grpc.Metadata): void {
  call.emit('error', { code, details, ...(metadata ? { metadata } : {}) });
}

function finishReason(e: EndedRequest, maxTokens: number, error: string | undefined): string {
  if (error !== undefined) return 'error';
  if (e.end.kind === 'completed') return e.outputTokens >= maxTokens ? 'length' : 'stop';
  return 'cancelled';
}

export class GatewayService {
  private nextId = 0;

  constructor(private readonly d: ServiceDeps) {}

  addTo(server: grpc.Server): void {
    const proto = loadGatewayProto();
    server.addService(proto.nvlsched.v1.Gateway.service, {
      Generate: (call: GenerateCall) => this.generate(call),
      Cancel: (call: grpc.ServerUnaryCall<CancelRequest__Output, unknown>, cb: grpc.sendUnaryData<unknown>) =>
        cb(null, { found: this.d.driver.cancel(call.request.requestId, 'cancelled by the client') }),
      Health: (_call: unknown, cb: grpc.sendUnaryData<unknown>) =>
        cb(null, { status: this.d.isStopping() ? 'STATUS_DRAINING' : 'STATUS_SERVING', detail: `${this.d.label}; ${this.d.driver.liveRequests} live requests` }),
    });
  }

  private generate(call: GenerateCall): void {
    const { sched, driver, clock } = this.d;
    if (this.d.isStopping()) return fail(call, grpc.status.UNAVAILABLE, 'the gateway is shutting down');
    const nowS = clock();
    const parsed = parseGenerate(call.request, this.d.limits, `gw-${process.pid}-${++this.nextId}`, nowS);
    if (!parsed.ok) return fail(call, grpc.status.INVALID_ARGUMENT, parsed.error);
    const { req, maxTokens } = parsed.value;
    const res = sched.submit(req, nowS);
    if (!res.ok) {
      const md = new grpc.Metadata();
      md.set('x-nvlsched-reject-code', res.end.code);
      if (res.end.retryAfterS !== undefined) md.set('retry-after-s', res.end.retryAfterS.toFixed(3));
      return fail(call, REJECT_STATUS[res.end.code] ?? grpc.status.RESOURCE_EXHAUSTED, `${res.end.code}: ${res.end.reason}`, md);
    }
    if (res.external) return fail(call, grpc.status.UNIMPLEMENTED, `pool ${res.pool} is external: upstream forwarding is not built yet`);
    const requestId = req.requestId;
    const shape = SHAPE_ENUM[res.cls.shape];
    let open = true;
    const sink: RequestSink = {
      onTokens: (tokenIds) => {
        if (open) call.write({ requestId, tokenIds: [...tokenIds], shape });
      },
      onEnd: (e, detail) => {
        if (!open) return;
        open = false;
        const ttftS = e.firstTokenS !== undefined ? e.firstTokenS - e.arrivalS : 0;
        const tpotS = e.firstTokenS !== undefined && e.outputTokens > 1 ? (e.endS - e.firstTokenS) / (e.outputTokens - 1) : 0;
        call.write({
          requestId,
          finished: true,
          finishReason: finishReason(e, maxTokens, detail.error),
          text: detail.error ?? (e.end.kind === 'cancelled' ? e.end.reason : ''),
          shape,
          usage: { promptTokens: e.promptTokens, completionTokens: e.outputTokens, cachedPromptTokens: e.cachedPromptTokens, costUsd: e.cost.usd },
          timings: { queueS: Math.max(0, detail.queueS), ttftS, tpotS, e2eS: e.endS - e.arrivalS },
        });
        call.end();
      },
    };
    call.on('cancelled', () => {
      if (!open) return;
      open = false;
      driver.cancel(requestId, 'client disconnected');
    });
    driver.admitted(res.instanceId, requestId, { maxTokens, promptTokens: req.promptTokens, hashes: req.blockHashes, arrivalS: nowS }, sink);
  }
}
