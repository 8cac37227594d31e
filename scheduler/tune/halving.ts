// Successive halving (Jamieson & Talwalkar 2016; the inner loop of Hyperband): every sampled configuration runs on
// a short simulated duration, the best 1/eta go on to a run eta times longer, until the full duration. Most of the
// budget goes to the configurations that looked good cheaply, instead of a grid's equal share for every point.
import type { TrialMetrics } from './types.js';

export interface HalvingOptions {
  samples: number;
  eta: number;
  minDurationS: number;
  maxDurationS: number;
}

export interface Rung {
  rung: number;
  durationS: number;
  /** Configurations evaluated on this rung. */
  size: number;
}

function check(o: HalvingOptions): void {
  if (!Number.isInteger(o.samples) || o.samples < 1 || o.samples > 4096) throw new RangeError(`samples: expected an integer in [1, 4096], got ${o.samples}`);
  if (!Number.isInteger(o.eta) || o.eta < 2 || o.eta > 16) throw new RangeError(`eta: expected an integer in [2, 16], got ${o.eta}`);
  if (!(o.minDurationS > 0 && Number.isFinite(o.minDurationS))) throw new RangeError(`minDurationS: expected a number > 0, got ${o.minDurationS}`);
  if (!(o.maxDurationS >= o.minDurationS && Number.isFinite(o.maxDurationS))) {
    throw new RangeError(`maxDurationS: expected a number ≥ minDurationS (${o.minDurationS}), got ${o.maxDurationS}`);
  }
}

/** The rungs: durations min, min·eta, ... capped at max (the last rung runs max); sizes ⌈size/eta⌉ each step. */
export function planRungs(o: HalvingOptions): Rung[] {
  check(o);
  const rungs: Rung[] = [];
  let durationS = o.minDurationS;
  let size = o.samples;
  for (let r = 0; ; r++) {
    rungs.push({ rung: r, durationS, size });
    if (durationS >= o.maxDurationS || size === 1) break;
    durationS = Math.min(o.maxDurationS, durationS * o.eta);
    size = Math.ceil(size / o.eta);
  }
  // A single survivor stops early: it still gets the full duration, so "best" is always measured on the full budget.
  const last = rungs[rungs.length - 1] as Rung;
  last.durationS = o.maxDurationS;
  return rungs;
}

export interface Ranked {
  sample: number;
  metrics: TrialMetrics;
}

/** Best first: higher goodput per GPU-hour, then lower cost per request (null = worst), then the lower sample. */
export function compareTrials(a: Ranked, b: Ranked): number {
  const byGoodput = b.metrics.goodput_per_gpu_hour - a.metrics.goodput_per_gpu_hour;
  if (byGoodput !== 0) return byGoodput;
  const ca = a.metrics.cost_per_request_usd ?? Infinity;
  const cb = b.metrics.cost_per_request_usd ?? Infinity;
  if (ca !== cb) return ca < cb ? -1 : 1;
  return a.sample - b.sample;
}

/** The samples that go on to the next rung, best first. */
export function survivors(results: readonly Ranked[], count: number): number[] {
  return [...results].sort(compareTrials).slice(0, count).map((r) => r.sample);
}
