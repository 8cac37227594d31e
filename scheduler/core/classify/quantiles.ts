// `streaming-quantiles`: output length predicted from what finished before, at the narrowest level with enough
// samples: hint → session → (tenant, shape) → shape → prior. Shape and tenant levels are decayed log histograms;
// the session level is the session's last few outputs (window.ts). Both are O(1) to update and bounded in memory.
import { ConfigError, asParams, onlyKeys, readBool, readNumber, readShapeTable } from '../config/params.js';
import { SHAPES, type OutputLengthPredictor, type OutputPrediction, type ScheduleRequest, type Shape } from '../types.js';
import { histAdd, histQuantiles, makeLogHistogram, makeLogScale, type LogHistogram, type LogScale } from './histogram.js';
import { readNameList, quantilePlan } from './levels.js';
import { lognormalQuantile } from './lognormal.js';
import { lruPeek, lruTouch, makeLru, type LruMap } from './lru.js';
import { makeSlab, slabAdd, slabCount, slabQuantiles, slabSlot } from './window.js';

export const OUTPUT_LEVELS = ['session', 'tenant', 'shape'] as const;
export type OutputLevel = (typeof OUTPUT_LEVELS)[number];

export interface StreamingQuantilesParams {
  /** Quantile reported as expectedTokens (what KV reservation and queue order use). */
  expectedQuantile: number;
  /** Levels consulted, narrowest first; [] leaves only the priors (the constant baseline). */
  levels: OutputLevel[];
  minSessionSamples: number;
  minTenantSamples: number;
  minShapeSamples: number;
  /** Outputs a session remembers (its most recent ones). */
  sessionWindow: number;
  /** Session quantiles above the median are at least the broader level's (see sessionQuantiles). */
  sessionTailFromBroader: boolean;
  /** Shape and tenant histograms: a sample's weight halves after this many newer samples; 0 = no decay. */
  halfLifeSamples: number;
  maxSessions: number;
  /** Tenants remembered (each holds up to one 2.3 KB histogram per shape: 1,000 tenants ≤ 9.2 MB). */
  maxTenants: number;
  /** Histogram bucket width ratio (1.05 = 5% wide buckets). */
  bucketGrowth: number;
  /** Histogram range top; longer outputs count as this long. */
  maxTrackedTokens: number;
  priorP50Tokens: Record<Shape, number>;
  priorP90Tokens: Record<Shape, number>;
}

/**
 * Priors when nothing has been observed. tool_call and reasoning from architecture §3 (tool_call "≤ ~256" taken as
 * its p90; reasoning: the log-normal through p50 800 and p99 12K has p90 ≈ 3,550). terminal and chat have no figure
 * there: 256 / 1,024 is an assumption, deliberately not fitted to any trace.
 */
export const OUTPUT_PRIORS: Readonly<Record<Shape, { p50Tokens: number; p90Tokens: number }>> = {
  tool_call: { p50Tokens: 128, p90Tokens: 256 },
  reasoning: { p50Tokens: 800, p90Tokens: 3550 },
  terminal: { p50Tokens: 256, p90Tokens: 1024 },
  chat: { p50Tokens: 256, p90Tokens: 1024 },
};

export const STREAMING_QUANTILES_DEFAULTS: Readonly<Omit<StreamingQuantilesParams, 'priorP50Tokens' | 'priorP90Tokens'>> = {
  expectedQuantile: 0.5,
  levels: ['session', 'tenant', 'shape'],
  minSessionSamples: 3,
  minTenantSamples: 20,
  minShapeSamples: 10,
  sessionWindow: 16,
  sessionTailFromBroader: true,
  halfLifeSamples: 2000,
  maxSessions: 100_000,
  maxTenants: 1000,
  bucketGrowth: 1.05,
  maxTrackedTokens: 1_048_576,
};

const KEYS = [...Object.keys(STREAMING_QUANTILES_DEFAULTS), 'priorP50Tokens', 'priorP90Tokens'];

export function readStreamingQuantilesParams(value: unknown, path: string): StreamingQuantilesParams {
  const p = asParams(value, path);
  onlyKeys(p, path, KEYS);
  const d = STREAMING_QUANTILES_DEFAULTS;
  const count = { min: 1, integer: true };
  const out: StreamingQuantilesParams = {
    expectedQuantile: readNumber(p, 'expectedQuantile', path, d.expectedQuantile, { min: 0.01, max: 0.99 }),
    levels: readNameList(p, 'levels', path, OUTPUT_LEVELS, d.levels),
    minSessionSamples: readNumber(p, 'minSessionSamples', path, d.minSessionSamples, count),
    minTenantSamples: readNumber(p, 'minTenantSamples', path, d.minTenantSamples, count),
    minShapeSamples: readNumber(p, 'minShapeSamples', path, d.minShapeSamples, count),
    sessionWindow: readNumber(p, 'sessionWindow', path, d.sessionWindow, { min: 1, max: 256, integer: true }),
    sessionTailFromBroader: readBool(p, 'sessionTailFromBroader', path, d.sessionTailFromBroader),
    halfLifeSamples: readNumber(p, 'halfLifeSamples', path, d.halfLifeSamples, { min: 0 }),
    maxSessions: readNumber(p, 'maxSessions', path, d.maxSessions, count),
    maxTenants: readNumber(p, 'maxTenants', path, d.maxTenants, count),
    bucketGrowth: readNumber(p, 'bucketGrowth', path, d.bucketGrowth, { min: 1.001, max: 2 }),
    maxTrackedTokens: readNumber(p, 'maxTrackedTokens', path, d.maxTrackedTokens, { min: 16, max: 1e9, integer: true }),
    priorP50Tokens: readShapeTable(p, 'priorP50Tokens', path, SHAPES, p50Of(OUTPUT_PRIORS), { min: 1 }) as Record<Shape, number>,
    priorP90Tokens: readShapeTable(p, 'priorP90Tokens', path, SHAPES, p90Of(OUTPUT_PRIORS), { min: 1 }) as Record<Shape, number>,
  };
  if (out.minSessionSamples > out.sessionWindow) {
    throw new ConfigError(`${path}.minSessionSamples`, `must be ≤ sessionWindow (${out.sessionWindow}), got ${out.minSessionSamples}`);
  }
  for (const shape of SHAPES) {
    if (out.priorP90Tokens[shape] < out.priorP50Tokens[shape]) {
      throw new ConfigError(`${path}.priorP90Tokens.${shape}`, `must be ≥ priorP50Tokens.${shape} (${out.priorP50Tokens[shape]}), got ${out.priorP90Tokens[shape]}`);
    }
  }
  return out;
}

function p50Of(t: typeof OUTPUT_PRIORS): Record<string, number> {
  return Object.fromEntries(SHAPES.map((s) => [s, t[s].p50Tokens]));
}
function p90Of(t: typeof OUTPUT_PRIORS): Record<string, number> {
  return Object.fromEntries(SHAPES.map((s) => [s, t[s].p90Tokens]));
}

export interface StreamingQuantilesPredictor extends OutputLengthPredictor {
  readonly params: Readonly<StreamingQuantilesParams>;
  /** Entries held now (for memory bounds and tests). */
  sizes(): { sessions: number; tenants: number };
}

function clampTokens(x: number, top: number): number {
  return Math.min(top, Math.max(1, Math.round(x)));
}

interface TenantEntry {
  byShape: (LogHistogram | undefined)[];
}

const SHAPE_INDEX = Object.fromEntries(SHAPES.map((s, i) => [s, i])) as Record<Shape, number>;

export function makeStreamingQuantiles(params: unknown, path: string): StreamingQuantilesPredictor {
  const cfg = readStreamingQuantilesParams(params, path);
  const scale: LogScale = makeLogScale(1, cfg.maxTrackedTokens, cfg.bucketGrowth, cfg.halfLifeSamples);
  const useSession = cfg.levels.includes('session');
  const useTenant = cfg.levels.includes('tenant');
  const useShape = cfg.levels.includes('shape');
  const shapes: LogHistogram[] = SHAPES.map(() => makeLogHistogram(scale));
  const tenants: LruMap<TenantEntry> = makeLru(cfg.maxTenants);
  const sessions: LruMap<number> = makeLru(cfg.maxSessions);
  const slab = makeSlab(cfg.sessionWindow, cfg.maxSessions);
  const plan = quantilePlan([0.5, 0.9, cfg.expectedQuantile]);
  const [at50, at90, atE] = plan.at as [number, number, number];
  const found = new Float64Array(plan.qs.length);
  const sessionFound = new Float64Array(plan.qs.length);
  const scratch = new Float64Array(cfg.sessionWindow);
  const priors = SHAPES.map((s) => {
    const p50 = cfg.priorP50Tokens[s];
    const p90 = cfg.priorP90Tokens[s];
    return { p50, p90, expected: lognormalQuantile(p50, p90, cfg.expectedQuantile) };
  });

  function answer(req: ScheduleRequest, source: OutputPrediction['source'], samples: number): OutputPrediction {
    // Clamp to [1, max_tokens]: the request cannot emit more, and reserving 0 tokens would admit it for free.
    const top = req.maxOutputTokens >= 1 ? req.maxOutputTokens : cfg.maxTrackedTokens;
    return {
      expectedTokens: clampTokens(found[atE] as number, top),
      p50Tokens: clampTokens(found[at50] as number, top),
      p90Tokens: clampTokens(found[at90] as number, top),
      samples,
      source,
    };
  }

  /** The answer without the session level, into found. */
  function broaderLevel(req: ScheduleRequest, s: number): { source: OutputPrediction['source']; samples: number } {
    if (useTenant) {
      const h = lruPeek(tenants, req.tenant)?.byShape[s];
      if (h && h.count >= cfg.minTenantSamples) {
        histQuantiles(scale, h, plan.qs, found);
        return { source: 'tenant', samples: h.count };
      }
    }
    const h = shapes[s] as LogHistogram;
    if (useShape && h.count >= cfg.minShapeSamples) {
      histQuantiles(scale, h, plan.qs, found);
      return { source: 'shape', samples: h.count };
    }
    const prior = priors[s] as { p50: number; p90: number; expected: number };
    found[at50] = prior.p50;
    found[at90] = prior.p90;
    found[atE] = prior.expected;
    return { source: 'prior', samples: 0 };
  }

  /**
   * The session's quantiles into found (which holds the broader level's). A window of a few samples puts its p90
   * near its maximum and under-covers (0.85 of actuals ≤ p90 on the Claude Code trace); with sessionTailFromBroader
   * each quantile above the median is at least the broader level's (0.93 there). The median stays the session's.
   */
  function sessionQuantiles(slot: number): void {
    slabQuantiles(slab, slot, plan.qs, sessionFound, scratch);
    for (let k = 0; k < plan.qs.length; k++) {
      const own = sessionFound[k] as number;
      const tail = cfg.sessionTailFromBroader && (plan.qs[k] as number) > 0.5;
      found[k] = tail ? Math.max(own, found[k] as number) : own;
    }
  }

  return {
    name: 'streaming-quantiles',
    params: cfg,
    predict(req: ScheduleRequest, shape: Shape): OutputPrediction {
      const hint = req.hintOutputTokens;
      if (hint !== undefined && hint > 0 && Number.isFinite(hint)) {
        found.fill(hint);
        return answer(req, 'hint', 0);
      }
      // An unknown shape (a caller bug) predicts as chat rather than throwing on the request path.
      const s = Object.hasOwn(SHAPE_INDEX, shape) ? SHAPE_INDEX[shape] : SHAPE_INDEX.chat;
      const slot = useSession && req.sessionId ? lruPeek(sessions, req.sessionId) : undefined;
      const broader = broaderLevel(req, s);
      const count = slot === undefined ? 0 : slabCount(slab, slot);
      if (slot === undefined || count < cfg.minSessionSamples) return answer(req, broader.source, broader.samples);
      sessionQuantiles(slot);
      return answer(req, 'session', Math.min(count, cfg.sessionWindow));
    },
    observe(req: ScheduleRequest, shape: Shape, outputTokens: number): void {
      // A bad count from a worker must not poison every later prediction: drop it.
      if (!(outputTokens >= 0) || !Number.isFinite(outputTokens)) return;
      if (!Object.hasOwn(SHAPE_INDEX, shape)) return;
      const s = SHAPE_INDEX[shape];
      histAdd(scale, shapes[s] as LogHistogram, outputTokens);
      if (useTenant) {
        const entry = lruTouch(tenants, req.tenant, () => ({ byShape: SHAPES.map(() => undefined) }));
        const h = (entry.byShape[s] ??= makeLogHistogram(scale));
        histAdd(scale, h, outputTokens);
      }
      if (useSession && req.sessionId) slabAdd(slab, lruTouch(sessions, req.sessionId, (evicted) => slabSlot(slab, evicted)), outputTokens);
    },
    sizes: () => ({ sessions: sessions.map.size, tenants: tenants.map.size }),
  };
}
