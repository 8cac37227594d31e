// What every client-facing API (gRPC Generate, OpenAI-compatible HTTP) does with a validated request, in one place:
// submit to the scheduler → on rejection, a transport-neutral Rejection (kind + code + reason + retry hint) that
// each API maps to its own status; on admission, the driver streams tokens and the end to the caller's sink, and
// the caller gets a handle to cancel (client Cancel, disconnect). Parsing stays with each API (its own field names).
// With gateway replicas (replica/README.md) an optional Forwarder is asked first whether another replica should serve
// the request, and hears of every request admitted and ended here; without one, nothing changes.
import type { EndedRequest, Scheduler } from '../core/scheduler.js';
import type { Shape } from '../core/types.js';
import { performance } from 'node:perf_hooks';

import type { GatewayMetrics } from '../metrics/gateway_metrics.js';
import type { Clock, GatewayDriver } from './driver.js';
import type { ParsedRequest } from './request.js';
import type { Admission, EdgeGuard } from './tenancy/guard.js';

/** How an API should report a rejection: bad input, unknown model/pool, a duplicate id, or load (retry later). */
export type RejectionKind = 'invalid' | 'not_found' | 'conflict' | 'overloaded' | 'unavailable' | 'unimplemented';

export interface Rejection {
  kind: RejectionKind;
  /** Scheduler code (E_CONTEXT_TOO_LONG, E_QUEUE_FULL, ...) or a gateway one (E_SHUTTING_DOWN, E_EXTERNAL_POOL). */
  code: string;
  reason: string;
  retryAfterS?: number;
  /** The OpenAI-style error code the HTTP API shows (rate_limit_exceeded, ...); default: `code`. */
  apiCode?: string;
  /** The request field to blame (HTTP `param`). */
  param?: string;
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
  /** Set when the edge ended it for a limit (cancelled; `cancelReason` says more): limits.<this>. */
  limit?: 'streamIdleTimeoutS' | 'totalTimeoutS';
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
  /** Tokens per KV block (prefix-hit metrics). */
  blockTokens?: number;
  /** Tenant quotas and request timeouts (tenancy/guard.ts): absent, none apply. */
  guard?: EdgeGuard;
}

/** A request another replica serves: its tokens and end reach the caller's sink as if served here. */
export interface ForwardStart {
  shape: Shape;
  pool: string;
  /** The instance the forward targets (the other replica places it itself). */
  instanceId: string;
  cancel(reason: string): boolean;
}

/** Gateway replicas (scheduler/gateway/replica): consulted before the local submit; hears local admissions and ends. */
export interface Forwarder {
  /** Takes the request to another replica (tokens and the end go to `sink`, never before this returns), or null: serve here. */
  forward(parsed: ParsedRequest, sink: StreamSink): ForwardStart | null;
  /** The request was admitted here, on this instance (requests another replica forwarded here too). */
  admitted(parsed: ParsedRequest, instanceId: string): void;
  /** A request admitted here ended. */
  ended(parsed: ParsedRequest, instanceId: string, f: Finished): void;
}

function finishReason(e: EndedRequest, maxTokens: number, error: string | undefined): Finished['finishReason'] {
  if (error !== undefined) return 'error';
  if (e.end.kind === 'completed') return e.outputTokens >= maxTokens ? 'length' : 'stop';
  return 'cancelled';
}

export class Frontend {
  private nextId = 0;
  private forwarderSet: Forwarder | null = null;
  /** Requests handed to another replica, by request id (for Cancel by id and the live count). */
  private readonly forwarded = new Map<string, ForwardStart>();

  /** `parent`: set for the local-only view (localOnly()), which shares the parent's forwarder hooks. */
  constructor(private readonly d: FrontendDeps, private readonly parent?: Frontend) {}

  /** Installs (or, with null, removes) the replica forwarder (replica/replica.ts startReplica does it). */
  setForwarder(f: Forwarder | null): void {
    if (this.parent) throw new Error('setForwarder: set it on the main frontend, not on its local-only view');
    this.forwarderSet = f;
  }

  /**
   * A view that never forwards (it still reports admissions and ends to the forwarder): what the replica's peer
   * port serves, so that a request another replica forwarded here is served here and never bounces.
   */
  localOnly(): Frontend {
    return new Frontend(this.d, this);
  }

  private get forwarder(): Forwarder | null {
    return this.parent ? this.parent.forwarderSet : this.forwarderSet;
  }

  /** A fresh request id for a client that gave none. */
  newRequestId(prefix = this.parent ? 'gwp' : 'gw'): string {
    return `${prefix}-${process.pid}-${++this.nextId}`;
  }

  now(): number {
    return this.d.clock();
  }

  get stopping(): boolean {
    return this.d.isStopping();
  }

  /**
   * Submits; tokens and the end go to `sink` (never called when the result is a rejection). The edge guard (tenant
   * quotas, timeouts) applies here, on the main frontend only: a request another replica forwarded was charged there.
   */
  start(parsed: ParsedRequest, sink: StreamSink): StartResult {
    if (this.d.isStopping()) return { ok: false, rejection: { kind: 'unavailable', code: 'E_SHUTTING_DOWN', reason: 'the gateway is shutting down' } };
    const guard = this.parent ? undefined : this.d.guard;
    const { req } = parsed;
    let adm: Admission | undefined;
    if (guard) {
      adm = guard.admit(parsed, sink);
      if (!adm.ok) {
        const m = this.d.metrics;
        const { quota, rejection } = adm;
        if (m) this.record(() => m.quotaRejected({ tenant: req.tenant, reason: quota }));
        if (m) this.record(() => m.requestEnded({ shape: 'unknown', outcome: 'rejected', rejectCode: rejection.code, tenant: req.tenant, promptTokens: req.promptTokens, outputTokens: 0, cachedPromptTokens: 0, costUsd: 0 }));
        return { ok: false, rejection };
      }
    }
    const inner = adm?.ok ? adm.sink : sink;
    let ended = false;
    const res = this.route(parsed, {
      onTokens: (ids) => inner.onTokens(ids),
      onEnd: (f) => {
        ended = true;
        this.owners.delete(req.requestId);
        inner.onEnd(f);
      },
    });
    if (res.ok && !ended) this.owners.set(req.requestId, req.tenant);
    if (adm?.ok) {
      if (res.ok) adm.started(res.cancel);
      else adm.rejected();
    }
    return res;
  }

  /** Tenants of live requests started here, by request id (Cancel checks the caller owns the request). */
  private readonly owners = new Map<string, string>();

  /** Forwards to another replica or serves here. */
  private route(parsed: ParsedRequest, sink: StreamSink): StartResult {
    const fw = this.parent ? null : this.forwarder;
    if (fw) {
      const requestId = parsed.req.requestId;
      if (this.forwarded.has(requestId)) return { ok: false, rejection: { kind: 'conflict', code: 'E_DUPLICATE_REQUEST', reason: `request ${requestId} is already running` } };
      const fwd = this.hook(() => fw.forward(parsed, {
        onTokens: (ids) => sink.onTokens(ids),
        onEnd: (f) => {
          this.forwarded.delete(requestId);
          sink.onEnd(f);
        },
      }), null);
      if (fwd) {
        this.forwarded.set(requestId, fwd);
        return { ok: true, requestId, shape: fwd.shape, pool: fwd.pool, instanceId: fwd.instanceId, cancel: (reason) => fwd.cancel(reason) };
      }
    }
    // Served here: nothing needs the prompt's ids any more (the workers' plans carry lengths and block hashes).
    delete parsed.promptTokenIds;
    return this.startLocal(parsed, sink);
  }

  /** Submits here, never forwarding (a forward that could not reach its replica falls back to this). */
  startLocal(parsed: ParsedRequest, sink: StreamSink): StartResult {
    const { sched, driver } = this.d;
    if (this.d.isStopping()) return { ok: false, rejection: { kind: 'unavailable', code: 'E_SHUTTING_DOWN', reason: 'the gateway is shutting down' } };
    const { req, maxTokens } = parsed;
    const m = this.d.metrics;
    const t0 = m ? performance.now() : 0;
    const res = sched.submit(req, req.arrivalS);
    // The whole routing decision (classify, route, KV walk, placement, admission): the core has no clock of its own.
    if (m) this.record(() => m.schedulingLatency('submit', (performance.now() - t0) / 1000));
    if (!res.ok) {
      const r: Rejection = { kind: KIND_OF_CODE[res.end.code] ?? 'overloaded', code: res.end.code, reason: res.end.reason };
      if (res.end.retryAfterS !== undefined) r.retryAfterS = res.end.retryAfterS;
      if (m) this.record(() => m.requestEnded({ shape: res.cls?.shape ?? 'unknown', outcome: 'rejected', rejectCode: res.end.code, tenant: req.tenant, promptTokens: req.promptTokens, outputTokens: 0, cachedPromptTokens: 0, costUsd: 0 }));
      return { ok: false, rejection: r };
    }
    if (res.external) {
      return { ok: false, rejection: { kind: 'unimplemented', code: 'E_EXTERNAL_POOL', reason: `pool ${res.pool} is external: upstream forwarding is not built yet` } };
    }
    const shape = res.cls.shape;
    const slo = res.cls.slo;
    const pool = res.pool;
    if (m) {
      // Prefix hits by tier: on the device, promoted from Grace, fetched from a neighbour GPU (the fetch plan).
      const bt = this.d.blockTokens ?? 0;
      const host = Math.min(res.fetch.hostBlocks * bt, res.cachedPromptTokens);
      const neighbour = Math.min(res.fetch.neighbourBlocks * bt, res.cachedPromptTokens - host);
      const device = res.cachedPromptTokens - host - neighbour;
      this.record(() => m.prefixLookup({ instanceId: res.instanceId, pool, queriedTokens: req.promptTokens, hitTokens: { device, host, neighbour } }));
    }
    const requestId = req.requestId;
    let lastTokensS: number | undefined;
    const fw = this.forwarder;
    const instanceId = res.instanceId;
    // This request's token series (generation tokens, ITL): its labels resolved here, not at every emission.
    const tokens = m?.tokenRecorder(shape, pool);
    driver.admitted(res.instanceId, { req, maxTokens, shape }, {
      onTokens: (ids) => {
        // Once per decoding request per step: no closure or spread here (record()'s catch, inline).
        if (tokens) {
          const nowS = this.d.clock();
          try {
            tokens.emitted(ids.length, lastTokensS !== undefined ? Math.max(0, nowS - lastTokensS) : undefined);
          } catch (error) {
            this.metricsFailed(error);
          }
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
            shape, pool, tenant: req.tenant, outcome, ttftS, tpotS, e2eS: f.timings.e2eS, queueS: f.timings.queueS,
            promptTokens: e.promptTokens, outputTokens: e.outputTokens, cachedPromptTokens: e.cachedPromptTokens, costUsd: e.cost.usd, sloMet,
          }));
        }
        if (fw) this.hook(() => fw.ended(parsed, instanceId, f), undefined);
        sink.onEnd(f);
      },
    });
    if (fw) this.hook(() => fw.admitted(parsed, instanceId), undefined);
    return { ok: true, requestId, shape, pool: res.pool, instanceId: res.instanceId, cancel: (reason) => driver.cancel(requestId, reason) };
  }

  /** A forwarder that throws must not break serving: say it once, serve locally. */
  private hook<T>(call: () => T, otherwise: T): T {
    try {
      return call();
    } catch (error) {
      if (!this.hookErrorSaid) this.d.log?.(`replica forwarder: ${(error as Error).message} (served locally; further forwarder errors are not logged)`);
      this.hookErrorSaid = true;
      return otherwise;
    }
  }

  private hookErrorSaid = false;

  /** A metrics call that refuses its input must not break serving: say it once, keep going. */
  private record(call: () => void): void {
    try {
      call();
    } catch (error) {
      this.metricsFailed(error);
    }
  }

  private metricsFailed(error: unknown): void {
    if (this.metricsErrorSaid) return;
    this.metricsErrorSaid = true;
    this.d.log?.(`metrics: ${(error as Error).message} (further metrics errors are not logged)`);
  }

  private metricsErrorSaid = false;

  /**
   * Cancels by id (an API's Cancel call); false when unknown or already ended. With `asTenant` (an authenticated
   * caller) only that tenant's own requests: request ids are guessable, tenants must not cancel each other's.
   */
  cancel(requestId: string, reason: string, asTenant?: string): boolean {
    if (asTenant !== undefined && this.owners.get(requestId) !== asTenant) return false;
    const fwd = this.forwarded.get(requestId);
    if (fwd) return fwd.cancel(reason);
    return this.d.driver.cancel(requestId, reason);
  }

  /** Live requests: served here, and (on the main frontend) forwarded to another replica. */
  get liveRequests(): number {
    return this.d.driver.liveRequests + this.forwarded.size;
  }
}
