// Per-tenant quotas at the gateway's edge (the `tenants:` section, core/config/tenants.ts): requests in flight
// (maxConcurrentRequests) and a token bucket (tokensPerMinute refilled continuously, burstTokens deep, full at the
// start). A request costs prompt tokens + max_tokens when admitted — the most it can use, so a tenant can never run
// past its rate — and the output tokens it did not use are refunded when it ends (a chat that stops at 40 of 4,096
// tokens costs 40). Concurrency is checked first so that a refusal never consumes tokens. One clock (seconds, the
// frontend's) drives the refill, so tests step it.
//
// State is kept per governing entry (the policy's name): tenants the section does not name share `default`'s
// bucket and slots. So a client cannot mint fresh quotas by inventing x-tenant values in no-auth mode, and memory
// stays bounded by the section's size. Quotas are per gateway replica (each replica counts its own admissions).
import { tenantPolicy, type TenantPolicy, type TenantsConfig } from '../../core/config/tenants.js';

export type QuotaReason = 'concurrency' | 'rate' | 'burst';

export interface QuotaRefusal {
  reason: QuotaReason;
  /** When a retry can succeed (rate: the refill time of the deficit; concurrency: 1 s, a guess). Infinity for burst. */
  retryAfterS: number;
  message: string;
}

export interface QuotaLease {
  readonly tenant: string;
  readonly costTokens: number;
  /** Frees the slot and refunds `unusedTokens` (capped at the cost). Exactly once: later calls do nothing. */
  release(unusedTokens: number): void;
}

export type QuotaResult = { ok: true; lease: QuotaLease } | { ok: false; refusal: QuotaRefusal };

interface State {
  inFlight: number;
  tokens: number;
  lastS: number;
}

/** Seconds a concurrency-refused client is told to wait: a slot frees when any request ends, which we cannot predict. */
const CONCURRENCY_RETRY_S = 1;

export class TenantQuotas {
  private readonly states = new Map<string, State>();

  constructor(private readonly cfg: TenantsConfig, private readonly nowS: () => number) {}

  policy(tenant: string): TenantPolicy {
    return tenantPolicy(this.cfg, tenant);
  }

  private state(p: TenantPolicy): State {
    let s = this.states.get(p.name);
    if (!s) this.states.set(p.name, (s = { inFlight: 0, tokens: capacity(p), lastS: this.nowS() }));
    return s;
  }

  private refill(p: TenantPolicy, s: State): void {
    const now = this.nowS();
    if (p.tokensPerMinute !== null && now > s.lastS) s.tokens = Math.min(capacity(p), s.tokens + ((now - s.lastS) * p.tokensPerMinute) / 60);
    s.lastS = Math.max(s.lastS, now);
  }

  /** Admits a request of `costTokens` (prompt + max output) for `tenant`, or says why not. */
  acquire(tenant: string, costTokens: number): QuotaResult {
    const p = this.policy(tenant);
    const s = this.state(p);
    const who = p.name === tenant ? `tenant ${tenant}` : `tenant ${tenant} (under the ${p.name} entry)`;
    if (p.maxConcurrentRequests !== null && s.inFlight >= p.maxConcurrentRequests) {
      return { ok: false, refusal: { reason: 'concurrency', retryAfterS: CONCURRENCY_RETRY_S, message: `${who} has ${s.inFlight} requests in flight, the limit tenants.${p.name}.maxConcurrentRequests = ${p.maxConcurrentRequests}` } };
    }
    if (p.tokensPerMinute !== null) {
      this.refill(p, s);
      const cap = capacity(p);
      if (costTokens > cap) {
        return { ok: false, refusal: { reason: 'burst', retryAfterS: Infinity, message: `the request costs ${costTokens} tokens (prompt + max_tokens), more than ${who}'s bucket of ${cap} (tenants.${p.name}.${p.burstTokens !== null ? 'burstTokens' : 'tokensPerMinute'}); ask for fewer max_tokens` } };
      }
      if (costTokens > s.tokens) {
        const waitS = ((costTokens - s.tokens) * 60) / p.tokensPerMinute;
        return { ok: false, refusal: { reason: 'rate', retryAfterS: waitS, message: `${who} is over its token rate tenants.${p.name}.tokensPerMinute = ${p.tokensPerMinute}: the request costs ${costTokens} tokens (prompt + max_tokens), ${Math.floor(s.tokens)} available` } };
      }
      s.tokens -= costTokens;
    }
    s.inFlight++;
    let released = false;
    return {
      ok: true,
      lease: {
        tenant,
        costTokens,
        release: (unusedTokens: number) => {
          if (released) return;
          released = true;
          s.inFlight--;
          if (p.tokensPerMinute !== null) {
            this.refill(p, s);
            const refund = Math.min(costTokens, Math.max(0, Number.isFinite(unusedTokens) ? unusedTokens : 0));
            s.tokens = Math.min(capacity(p), s.tokens + refund);
          }
        },
      },
    };
  }

  /** For tests and Health: requests in flight and tokens available under `tenant`'s entry. */
  usage(tenant: string): { inFlight: number; tokens: number } {
    const p = this.policy(tenant);
    const s = this.state(p);
    this.refill(p, s);
    return { inFlight: s.inFlight, tokens: p.tokensPerMinute === null ? Infinity : s.tokens };
  }
}

function capacity(p: TenantPolicy): number {
  return p.tokensPerMinute === null ? Infinity : p.burstTokens ?? p.tokensPerMinute;
}
