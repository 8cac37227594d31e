// What every client-facing API (gRPC Generate, OpenAI-compatible HTTP) does with a validated request, in one place:
// submit to the scheduler → on rejection, a transport-neutral Rejection (kind + code + reason + retry hint) that
// each API maps to its own status; on admission, the driver streams tokens and the end to the caller's sink, and
// the caller gets a handle to cancel (client Cancel, disconnect). Parsing stays with each API (its own field names).
import type { EndedRequest, Scheduler } from '../core/scheduler.js';
import type { Shape } from '../core/types.js';
import type { GatewayMetrics } from '../metrics/gateway_metrics.js';
import type { Clock, GatewayDriver } from './driver.js';
import type { ParsedRequest } from './request.js';

/** How an API should report a rejection: bad input, unknown model/pool, a duplicate id, or load (retry later). */
export type RejectionKind = 'invalid' | 'not_found' | 'conflict' | 'overloaded' | 'unavailable' | 'unimplemented';

export interface Rejection {
  kind: RejectionKind;
  /** Scheduler code (E_CONTEXT_TOO_LONG, E_QUEUE_FULL, ...) or a gateway one (E_SHUTTING_DOWN, E_EXTERNAL_POOL). */
  code: string;
  reason: string;
  retryAfterS?: number;
}

/** Scheduler codes that are not load; anything else is `overloaded` (retry later). */
const KIND_OF_CODE: Readonly<Record<string, RejectionKind>> = {
  E_DUPLICATE_REQUEST: 'conflict',
  E_CONTEXT_TOO_LONG: 'invalid',
  // Prompt + max output exceed an instance's whole KV: retrying cannot help (the client must ask for less).
  E_KV_CAPACITY: 'invalid',
  E_NO_POOL: 'not_found',
};

/** A request's end as every API reports it. */
export interface Finished {
  requestId: string;
  /** 'length' at max_tokens, 'stop', 'cancelled', 'error' (a worker failure, message in `error`). */
  finishReason: 'length' | 'stop' | 'cancelled' | 'error';
  error?: string;
  cancelReason?: string;
  usage: { promptTokens: number; completionTokens: number; cachedPromptTokens: number; costUsd: number };
  timings: { queueS: number; ttftS: number; tpotS: number; e2eS: number };
  shape: Shape;
}

export interface StreamSink {
  onTokens(tokenIds: readonly number[]): void;
  /** Exactly once. */
  onEnd(f: Finished): void;
}

export type StartResult =
  | { ok: true; requestId: string; shape: Shape; pool: string; instanceId: string; cancel(reason: string): boolean }
  | { ok: false; rejection: Rejection };

export interface FrontendDeps {
  sched: Scheduler;
  driver: GatewayDriver;
  clock: Clock;
  isStopping: () => boolean;
  /** Prometheus recorder (scheduler/metrics); absent in tests that do not look. */
  metrics?: GatewayMetrics;
  log?: (line: string) => void;
}

function finishReason(e: EndedRequest, maxTokens: number, error: string | undefined): Finished['finishReason'] {
  if (error !== undefined) return 'error';
  if (e.end.kind === 'completed') return e.outputTokens >= maxTokens ? 'length' : 'stop';
  return 'cancelled';
}

export class Frontend {
  private nextId = 0;

  constructor(private readonly d: FrontendDeps) {}

  /** A fresh request id for a client that gave none. */
  newRequestId(prefix = 'gw'): string {
    return `${prefix}-${process.pid}-${++this.nextId}`;
  }

  now(): number {
    return this.d.clock();
  }

  get stopping(): boolean {
    return this.d.isStopping();
  }

  /** Submits; tokens and the end go to `sink` (never called when the result is a rejection). */
  start(parsed: ParsedRequest, sink: StreamSink): StartResult {
    const { sched, driver } = this.d;
    if (this.d.isStopping()) return { ok: false, rejection: { kind: 'unavailable', code: 'E_SHUTTING_DOWN', reason: 'the gateway is shutting down' } };
    const { req, maxTokens } = parsed;
    const res = sched.submit(req, req.arrivalS);
    const m = this.d.metrics;
    if (!res.ok) {
      const r: Rejection = { kind: KIND_OF_CODE[res.end.code] ?? 'overloaded', code: res.end.code, reason: res.end.reason };
      if (res.end.retryAfterS !== undefined) r.retryAfterS = res.end.retryAfterS;
      if (m) this.record(() => m.requestEnded({ shape: res.cls?.shape ?? 'unknown', outcome: 'rejected', rejectCode: res.end.code, promptTokens: req.promptTokens, outputTokens: 0, cachedPromptTokens: 0, costUsd: 0 }));
      return { ok: false, rejection: r };
    }
    if (res.external) {
      return { ok: false, rejection: { kind: 'unimplemented', code: 'E_EXTERNAL_POOL', reason: `pool ${res.pool} is external: upstream forwarding is not built yet` } };
    }
    const shape = res.cls.shape;
    const slo = res.cls.slo;
    const pool = res.pool;
    const requestId = req.requestId;
    let lastTokensS: number | undefined;
    driver.admitted(res.instanceId, { req, maxTokens, shape }, {
      onTokens: (ids) => {
        if (m) {
          const nowS = this.d.clock();
          const gap = lastTokensS !== undefined ? { gapS: Math.max(0, nowS - lastTokensS) } : {};
          this.record(() => m.tokensEmitted({ shape, pool, numTokens: ids.length, ...gap }));
          lastTokensS = nowS;
        }
        sink.onTokens(ids);
      },
      onEnd: (e, detail) => {
        const ttftS = e.firstTokenS !== undefined ? e.firstTokenS - e.arrivalS : 0;
        const tpotS = e.firstTokenS !== undefined && e.outputTokens > 1 ? (e.endS - e.firstTokenS) / (e.outputTokens - 1) : 0;
        const f: Finished = {
          requestId,
          finishReason: finishReason(e, maxTokens, detail.error),
          usage: { promptTokens: e.promptTokens, completionTokens: e.outputTokens, cachedPromptTokens: e.cachedPromptTokens, costUsd: e.cost.usd },
          timings: { queueS: Math.max(0, detail.queueS), ttftS, tpotS, e2eS: e.endS - e.arrivalS },
          shape,
        };
        if (detail.error !== undefined) f.error = detail.error;
        if (e.end.kind === 'cancelled') f.cancelReason = e.end.reason;
        if (m) {
          const outcome = f.finishReason === 'error' ? 'error' : f.finishReason === 'cancelled' ? 'cancelled' : 'completed';
          const sloMet = outcome === 'completed' && ttftS <= slo.ttftS && (e.outputTokens <= 1 || tpotS <= slo.tpotS);
          this.record(() => m.requestEnded({
            shape, pool, outcome, ttftS, tpotS, e2eS: f.timings.e2eS, queueS: f.timings.queueS,
            promptTokens: e.promptTokens, outputTokens: e.outputTokens, cachedPromptTokens: e.cachedPromptTokens, costUsd: e.cost.usd, sloMet,
          }));
        }
        sink.onEnd(f);
      },
    });
    return { ok: true, requestId, shape, pool: res.pool, instanceId: res.instanceId, cancel: (reason) => driver.cancel(requestId, reason) };
  }

  /** A metrics call that refuses its input must not break serving: say it once, keep going. */
  private record(call: () => void): void {
    try {
      call();
    } catch (error) {
      if (this.metricsErrorSaid) return;
      this.metricsErrorSaid = true;
      this.d.log?.(`metrics: ${(error as Error).message} (further metrics errors are not logged)`);
    }
  }

  private metricsErrorSaid = false;

  /** Cancels by id (an API's Cancel call); false when unknown or already ended. */
  cancel(requestId: string, reason: string): boolean {
    return this.d.driver.cancel(requestId, reason);
  }

  get liveRequests(): number {
    return this.d.driver.liveRequests;
  }
}
