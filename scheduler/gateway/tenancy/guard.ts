// The edge's per-request guard, used by the transport-neutral frontend (../frontend.ts) so that gRPC, HTTP and
// batch requests all obey it: the tenant's quotas at admission (quotas.ts) and the idle and total timeouts while the
// request lives. admit() takes the quota lease and wraps the caller's sink; the wrapped sink's end releases the
// lease exactly once (refunding the unused output tokens), whatever the end — completed, cancelled, failed — and
// rejected() releases it (full refund) when the request is refused after admission here (scheduler rejection).
//
// Timeouts are checked by sweep() against the frontend's clock (tests call it with a stepped clock); live, an
// unref'd interval runs it while any request is tracked. A request past limits.totalTimeoutS, or with no token for
// limits.streamIdleTimeoutS (a queue wait counts: the client sees nothing either way), is cancelled through the
// frontend — the driver frees its KV — and its Finished carries `limit` naming the limit.
import type { Rejection, StreamSink } from '../frontend.js';
import type { ParsedRequest } from '../request.js';
import type { QuotaLease, QuotaReason, TenantQuotas } from './quotas.js';

export interface GuardOptions {
  clock: () => number;
  quotas?: TenantQuotas | null;
  streamIdleTimeoutS?: number | null;
  totalTimeoutS?: number | null;
  /** How often the live sweep runs; null: never by itself (tests call sweep()). Default: a quarter of the shorter timeout, 50 ms – 1 s. */
  sweepEveryMs?: number | null;
}

export type GuardLimit = 'streamIdleTimeoutS' | 'totalTimeoutS';

export type Admission =
  | { ok: true; sink: StreamSink; started(cancel: (reason: string) => boolean): void; rejected(): void }
  | { ok: false; rejection: Rejection; quota: QuotaReason };

interface Tracked {
  startS: number;
  lastS: number;
  cancel?: (reason: string) => boolean;
  limit?: GuardLimit;
}

const CODES: Readonly<Record<QuotaReason, { code: string; apiCode: string }>> = {
  rate: { code: 'E_RATE_LIMITED', apiCode: 'rate_limit_exceeded' },
  concurrency: { code: 'E_CONCURRENCY_LIMITED', apiCode: 'concurrency_limit_exceeded' },
  burst: { code: 'E_QUOTA_BURST', apiCode: 'request_exceeds_token_quota' },
};

export class EdgeGuard {
  private readonly live = new Set<Tracked>();
  private timer: NodeJS.Timeout | undefined;
  private readonly sweepEveryMs: number | null;

  constructor(private readonly o: GuardOptions) {
    const timeouts = [o.streamIdleTimeoutS, o.totalTimeoutS].filter((t): t is number => typeof t === 'number');
    const shortestS = timeouts.length > 0 ? Math.min(...timeouts) : null;
    this.sweepEveryMs = shortestS === null ? null : o.sweepEveryMs !== undefined ? o.sweepEveryMs : Math.min(1000, Math.max(50, (shortestS * 1000) / 4));
  }

  private get timed(): boolean {
    return this.o.streamIdleTimeoutS != null || this.o.totalTimeoutS != null;
  }

  admit(parsed: ParsedRequest, sink: StreamSink): Admission {
    const { req, maxTokens } = parsed;
    let lease: QuotaLease | undefined;
    if (this.o.quotas) {
      const q = this.o.quotas.acquire(req.tenant, req.promptTokens + maxTokens);
      if (!q.ok) {
        const { code, apiCode } = CODES[q.refusal.reason];
        const r: Rejection = { kind: q.refusal.reason === 'burst' ? 'invalid' : 'overloaded', code, apiCode, reason: q.refusal.message };
        if (q.refusal.reason === 'burst') r.param = 'max_tokens';
        else r.retryAfterS = q.refusal.retryAfterS;
        return { ok: false, rejection: r, quota: q.refusal.reason };
      }
      lease = q.lease;
    }
    const nowS = this.o.clock();
    const t: Tracked = { startS: nowS, lastS: nowS };
    let ended = false;
    if (this.timed) this.track(t);
    const wrapped: StreamSink = {
      onTokens: (ids) => {
        t.lastS = this.o.clock();
        sink.onTokens(ids);
      },
      onEnd: (f) => {
        if (ended) return;
        ended = true;
        this.untrack(t);
        lease?.release(Math.max(0, maxTokens - f.usage.completionTokens));
        sink.onEnd(t.limit !== undefined && f.finishReason === 'cancelled' ? { ...f, limit: t.limit } : f);
      },
    };
    return {
      ok: true,
      sink: wrapped,
      started: (cancel) => {
        if (!ended) t.cancel = cancel;
      },
      rejected: () => {
        if (ended) return;
        ended = true;
        this.untrack(t);
        lease?.release(lease.costTokens);
      },
    };
  }

  /** Cancels every tracked request past a timeout; returns how many. */
  sweep(): number {
    const now = this.o.clock();
    const { totalTimeoutS, streamIdleTimeoutS } = this.o;
    let n = 0;
    for (const t of this.live) {
      if (t.limit !== undefined || !t.cancel) continue;
      let reason: string | undefined;
      if (totalTimeoutS != null && now - t.startS > totalTimeoutS) {
        t.limit = 'totalTimeoutS';
        reason = `limits.totalTimeoutS: the request ran past ${totalTimeoutS} s`;
      } else if (streamIdleTimeoutS != null && now - t.lastS > streamIdleTimeoutS) {
        t.limit = 'streamIdleTimeoutS';
        reason = `limits.streamIdleTimeoutS: no token for ${streamIdleTimeoutS} s`;
      }
      if (reason !== undefined && t.cancel(reason)) n++;
    }
    return n;
  }

  /** Requests being watched for timeouts. */
  get tracked(): number {
    return this.live.size;
  }

  private track(t: Tracked): void {
    this.live.add(t);
    if (this.timer === undefined && this.sweepEveryMs !== null) {
      this.timer = setInterval(() => this.sweep(), this.sweepEveryMs);
      this.timer.unref();
    }
  }

  private untrack(t: Tracked): void {
    this.live.delete(t);
    if (this.live.size === 0 && this.timer !== undefined) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}
