// Random variates for sampled workloads, all drawn from the seeded Rng so a seed replays exactly.
import { Rng } from '../util/random.js';

/** Uniform in (0, 1): never 0, so logs and powers stay finite. */
function open01(rng: Rng): number {
  let u = rng.next();
  while (u === 0) u = rng.next();
  return u;
}

export function exponential(rng: Rng, mean: number): number {
  return -Math.log(open01(rng)) * mean;
}

export function standardNormal(rng: Rng): number {
  // Box–Muller; one of the pair is discarded to keep the stream position independent of call history.
  return Math.sqrt(-2 * Math.log(open01(rng))) * Math.cos(2 * Math.PI * rng.next());
}

export function lognormal(rng: Rng, median: number, sigma: number): number {
  return median * Math.exp(sigma * standardNormal(rng));
}

/** Gamma(shape, scale) by Marsaglia–Tsang; shape < 1 through Gamma(shape + 1)·U^(1/shape). */
export function gamma(rng: Rng, shape: number, scale: number): number {
  if (shape < 1) return gamma(rng, shape + 1, scale) * Math.pow(open01(rng), 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = standardNormal(rng);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = open01(rng);
    if (u < 1 - 0.0331 * x * x * x * x || Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v * scale;
  }
}

/** Weibull(shape k, scale λ) by inversion. */
export function weibull(rng: Rng, shape: number, scale: number): number {
  return scale * Math.pow(-Math.log(open01(rng)), 1 / shape);
}

/** Gap of a renewal process with this rate and coefficient of variation (cv = 1: Poisson; > 1: bursts). */
export function gammaGap(rng: Rng, ratePerS: number, cv: number): number {
  if (cv === 1) return exponential(rng, 1 / ratePerS);
  const shape = 1 / (cv * cv);
  return gamma(rng, shape, 1 / (ratePerS * shape));
}

/** n block hashes that nothing else shares (no prefix information in the trace). */
export function randomHashes(rng: Rng, count: number): bigint[] {
  const out = new Array<bigint>(count);
  for (let i = 0; i < count; i++) out[i] = rng.u64();
  return out;
}

/** A discrete distribution (values with weights) sampled by binary search on its cumulative weights. */
export class Discrete {
  private readonly cumulative: Float64Array;
  constructor(readonly values: readonly number[], weights: readonly number[]) {
    this.cumulative = new Float64Array(values.length);
    let sum = 0;
    for (let i = 0; i < values.length; i++) {
      sum += weights[i] ?? 0;
      this.cumulative[i] = sum;
    }
  }

  get total(): number {
    return this.cumulative[this.cumulative.length - 1] ?? 0;
  }

  sample(rng: Rng): number {
    const target = rng.next() * this.total;
    let lo = 0;
    let hi = this.cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.cumulative[mid] as number) > target) hi = mid;
      else lo = mid + 1;
    }
    return this.values[lo] as number;
  }
}
