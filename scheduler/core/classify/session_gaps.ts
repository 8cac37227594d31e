// `session-gaps`: seconds between a session's turn end and its next request (the user's or tool's think time),
// predicted from the session's recent gaps, else its tenant's, else everyone's. KV retention weighs it against
// memory pressure (architecture §2 step 7). Same machinery as the output-length predictor.
import { ConfigError, asParams, onlyKeys, readBool, readNumber } from '../config/params.js';
import type { ThinkTimePredictor } from '../types.js';
import { histAdd, histQuantiles, makeLogHistogram, makeLogScale, type LogHistogram } from './histogram.js';
import { quantilePlan } from './levels.js';
import { lruPeek, lruTouch, makeLru } from './lru.js';
import { makeSlab, slabAdd, slabCount, slabQuantiles, slabSlot } from './window.js';

export interface SessionGapsParams {
  expectedQuantile: number;
  minSessionSamples: number;
  minTenantSamples: number;
  sessionWindow: number;
  /** A session's p90 is at least the tenant's (or everyone's): a few gaps under-cover the tail. */
  sessionTailFromBroader: boolean;
  halfLifeSamples: number;
  maxSessions: number;
  maxTenants: number;
  bucketGrowth: number;
}

export const SESSION_GAPS_DEFAULTS: Readonly<SessionGapsParams> = {
  expectedQuantile: 0.5,
  minSessionSamples: 2,
  minTenantSamples: 5,
  sessionWindow: 16,
  sessionTailFromBroader: true,
  halfLifeSamples: 2000,
  maxSessions: 100_000,
  maxTenants: 1000,
  bucketGrowth: 1.05,
};

/** Histogram range: 10 ms (a tool's instant reply) to ~11.6 days (a session resumed much later). */
export const GAP_RANGE_S = { min: 0.01, max: 1e6 } as const;

export function readSessionGapsParams(value: unknown, path: string): SessionGapsParams {
  const p = asParams(value, path);
  onlyKeys(p, path, Object.keys(SESSION_GAPS_DEFAULTS));
  const d = SESSION_GAPS_DEFAULTS;
  const count = { min: 1, integer: true };
  const out: SessionGapsParams = {
    expectedQuantile: readNumber(p, 'expectedQuantile', path, d.expectedQuantile, { min: 0.01, max: 0.99 }),
    minSessionSamples: readNumber(p, 'minSessionSamples', path, d.minSessionSamples, count),
    minTenantSamples: readNumber(p, 'minTenantSamples', path, d.minTenantSamples, count),
    sessionWindow: readNumber(p, 'sessionWindow', path, d.sessionWindow, { min: 1, max: 256, integer: true }),
    sessionTailFromBroader: readBool(p, 'sessionTailFromBroader', path, d.sessionTailFromBroader),
    halfLifeSamples: readNumber(p, 'halfLifeSamples', path, d.halfLifeSamples, { min: 0 }),
    maxSessions: readNumber(p, 'maxSessions', path, d.maxSessions, count),
    maxTenants: readNumber(p, 'maxTenants', path, d.maxTenants, count),
    bucketGrowth: readNumber(p, 'bucketGrowth', path, d.bucketGrowth, { min: 1.001, max: 2 }),
  };
  if (out.minSessionSamples > out.sessionWindow) {
    throw new ConfigError(`${path}.minSessionSamples`, `must be ≤ sessionWindow (${out.sessionWindow}), got ${out.minSessionSamples}`);
  }
  return out;
}

export interface SessionGapsPredictor extends ThinkTimePredictor {
  readonly params: Readonly<SessionGapsParams>;
  sizes(): { sessions: number; tenants: number };
}

export function makeSessionGaps(params: unknown, path: string): SessionGapsPredictor {
  const cfg = readSessionGapsParams(params, path);
  const scale = makeLogScale(GAP_RANGE_S.min, GAP_RANGE_S.max, cfg.bucketGrowth, cfg.halfLifeSamples);
  const everyone = makeLogHistogram(scale);
  const tenants = makeLru<LogHistogram>(cfg.maxTenants);
  const sessions = makeLru<number>(cfg.maxSessions);
  const slab = makeSlab(cfg.sessionWindow, cfg.maxSessions);
  const plan = quantilePlan([cfg.expectedQuantile, 0.9]);
  const [atE, at90] = plan.at as [number, number];
  const found = new Float64Array(plan.qs.length);
  const scratch = new Float64Array(cfg.sessionWindow);
  const sessionFound = new Float64Array(plan.qs.length);
  const answer = (samples: number) => ({ expectedS: found[atE] as number, p90S: found[at90] as number, samples });

  /** Tenant level, else everyone; undefined with no history at all. */
  function broaderLevel(tenant: string): { expectedS: number; p90S: number; samples: number } | undefined {
    const h = lruPeek(tenants, tenant);
    if (h && h.count >= cfg.minTenantSamples) {
      histQuantiles(scale, h, plan.qs, found);
      return answer(h.count);
    }
    if (everyone.count === 0) return undefined;
    histQuantiles(scale, everyone, plan.qs, found);
    return answer(everyone.count);
  }

  return {
    name: 'session-gaps',
    params: cfg,
    predict(sessionId: string, tenant: string) {
      const broader = broaderLevel(tenant);
      const slot = sessionId ? lruPeek(sessions, sessionId) : undefined;
      const count = slot === undefined ? 0 : slabCount(slab, slot);
      if (slot === undefined || count < cfg.minSessionSamples) return broader;
      slabQuantiles(slab, slot, plan.qs, sessionFound, scratch);
      // As in streaming-quantiles: a few samples under-cover the tail, so p90 is at least the broader level's.
      const p90S = cfg.sessionTailFromBroader && broader ? Math.max(sessionFound[at90] as number, broader.p90S) : (sessionFound[at90] as number);
      return { expectedS: sessionFound[atE] as number, p90S, samples: Math.min(count, cfg.sessionWindow) };
    },
    observe(sessionId: string, tenant: string, gapS: number): void {
      if (!(gapS >= 0) || !Number.isFinite(gapS)) return;
      histAdd(scale, everyone, gapS);
      histAdd(scale, lruTouch(tenants, tenant, () => makeLogHistogram(scale)), gapS);
      if (sessionId) slabAdd(slab, lruTouch(sessions, sessionId, (evicted) => slabSlot(slab, evicted)), gapS);
    },
    sizes: () => ({ sessions: sessions.map.size, tenants: tenants.map.size }),
  };
}
