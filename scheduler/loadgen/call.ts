// One Generate stream from the client side: sends, times the first token and the end on the caller's clock, counts
// the tokens received, and sorts how it ended — completed, rejected (refused before streaming: the scheduler's code
// from metadata `x-nvlsched-reject-code`, else E_<gRPC status>), cancelled (by us, or by the gateway) or failed
// (an error status mid-stream, a deadline, a lost connection, a stream without a final message). Exactly one
// CallResult per call, whatever happens.
import * as grpc from '@grpc/grpc-js';

import type { Shape } from '../core/types.js';
import type { GatewayClient } from '../gen/proto/nvlsched/v1/Gateway.js';
import type { GenerateRequest } from '../gen/proto/nvlsched/v1/GenerateRequest.js';
import type { GenerateResponse__Output } from '../gen/proto/nvlsched/v1/GenerateResponse.js';
import { shapeOfProto } from './request.js';

export type CallOutcome = 'completed' | 'rejected' | 'cancelled' | 'failed';

export interface ServerTimings {
  queueS: number;
  ttftS: number;
  tpotS: number;
  e2eS: number;
}

export interface CallResult {
  outcome: CallOutcome;
  sentS: number;
  /** When the first token arrived (absent when none did). */
  firstTokenS?: number;
  endS: number;
  /** Token ids received. */
  outputTokens: number;
  /** The shape the gateway assigned (from any message; absent when it refused before streaming). */
  shape?: Shape;
  /** The final message's finish_reason (length, stop, cancelled, error). */
  finishReason?: string;
  /** Rejections: the scheduler's code, or E_<gRPC status> when the gateway gave none (validation). */
  code?: string;
  /** Why it was rejected, cancelled or failed. */
  reason?: string;
  /** gRPC status name of an error end (RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED, ...). */
  grpcStatus?: string;
  retryAfterS?: number;
  usage?: { promptTokens: number; completionTokens: number; cachedPromptTokens: number; costUsd: number };
  /** The gateway's own timings of the request (its clock: arrival at the gateway → tokens leaving it). */
  server?: ServerTimings;
}

export interface CallHandle {
  done: Promise<CallResult>;
  /** Cancels the stream; the result is `cancelled` with this reason (no-op once it ended). */
  cancel(reason: string): void;
}

/** Statuses that mean "the gateway refused this request" when they come before any token. */
const REFUSALS = new Set<grpc.status>([
  grpc.status.INVALID_ARGUMENT, grpc.status.NOT_FOUND, grpc.status.ALREADY_EXISTS, grpc.status.RESOURCE_EXHAUSTED,
  grpc.status.UNIMPLEMENTED, grpc.status.FAILED_PRECONDITION, grpc.status.OUT_OF_RANGE, grpc.status.PERMISSION_DENIED,
]);

export function statusName(code: number): string {
  return (grpc.status as unknown as Record<number, string | undefined>)[code] ?? `STATUS_${code}`;
}

function metadataString(md: grpc.Metadata | undefined, key: string): string | undefined {
  const v = md?.get(key)[0];
  return v === undefined ? undefined : String(v);
}

/**
 * Starts one Generate. `now()` is the run's clock (seconds); `timeoutS` becomes the call's gRPC deadline, so the
 * gateway sees a cancel and frees the request when it passes.
 */
export function startCall(client: GatewayClient, req: GenerateRequest, o: { now: () => number; timeoutS: number }): CallHandle {
  const sentS = o.now();
  let outputTokens = 0;
  let firstTokenS: number | undefined;
  let shape: Shape | undefined;
  let last: GenerateResponse__Output | undefined;
  let lastS = 0;
  let cancelReason: string | undefined;
  let settled = false;
  let resolveDone!: (r: CallResult) => void;
  const done = new Promise<CallResult>((resolve) => (resolveDone = resolve));
  const call = client.Generate(req, { deadline: Date.now() + o.timeoutS * 1000 });

  const settle = (r: Omit<CallResult, 'sentS' | 'outputTokens'>): void => {
    if (settled) return;
    settled = true;
    const out: CallResult = { sentS, outputTokens, ...r };
    if (firstTokenS !== undefined) out.firstTokenS = firstTokenS;
    if (shape !== undefined && out.shape === undefined) out.shape = shape;
    resolveDone(out);
  };

  const fromFinal = (f: GenerateResponse__Output, endS: number): void => {
    const base = {
      endS,
      finishReason: f.finishReason,
      ...(f.usage ? { usage: { promptTokens: f.usage.promptTokens, completionTokens: f.usage.completionTokens, cachedPromptTokens: f.usage.cachedPromptTokens, costUsd: f.usage.costUsd } } : {}),
      ...(f.timings ? { server: { queueS: f.timings.queueS, ttftS: f.timings.ttftS, tpotS: f.timings.tpotS, e2eS: f.timings.e2eS } } : {}),
    };
    if (f.finishReason === 'length' || f.finishReason === 'stop') settle({ outcome: 'completed', ...base });
    else if (f.finishReason === 'cancelled') settle({ outcome: 'cancelled', reason: `cancelled by the gateway: ${f.text || 'no reason given'}`, ...base });
    else settle({ outcome: 'failed', reason: `finish_reason ${f.finishReason || '(empty)'}: ${f.text || 'no detail'}`, ...base });
  };

  call.on('data', (c: GenerateResponse__Output) => {
    const t = o.now();
    shape ??= shapeOfProto(c.shape);
    if (c.tokenIds.length > 0) {
      firstTokenS ??= t;
      outputTokens += c.tokenIds.length;
    }
    if (c.finished) {
      last = c;
      lastS = t;
    }
  });
  call.on('end', () => {
    if (last) fromFinal(last, lastS);
    else settle({ outcome: 'failed', endS: o.now(), reason: 'the stream ended without a final message' });
  });
  call.on('error', (err: grpc.ServiceError) => {
    const endS = o.now();
    if (last) return fromFinal(last, lastS);
    const grpcStatus = statusName(err.code);
    if (cancelReason !== undefined) return settle({ outcome: 'cancelled', endS, reason: cancelReason, grpcStatus });
    const code = metadataString(err.metadata, 'x-nvlsched-reject-code');
    const retry = Number(metadataString(err.metadata, 'retry-after-s'));
    if (outputTokens === 0 && (code !== undefined || REFUSALS.has(err.code))) {
      return settle({ outcome: 'rejected', endS, code: code ?? `E_${grpcStatus}`, reason: err.details, grpcStatus, ...(Number.isFinite(retry) ? { retryAfterS: retry } : {}) });
    }
    const why = err.code === grpc.status.DEADLINE_EXCEEDED ? `no end within the ${o.timeoutS} s request timeout` : err.details;
    settle({ outcome: 'failed', endS, reason: `${grpcStatus}: ${why}`, grpcStatus });
  });
  return {
    done,
    cancel(reason: string) {
      if (settled || cancelReason !== undefined) return;
      cancelReason = reason;
      call.cancel();
    },
  };
}
