// Seeded quasi-random points in the unit cube: the Halton sequence (dimension d in base = the d-th prime) with a
// random digit permutation per dimension and digit position. Plain Halton points are strongly correlated across
// the higher dimensions for the first few dozen indices (bases 23 and 29 move in lockstep), which is exactly the
// regime of a tuning run; permuting the digits breaks that while keeping the low discrepancy of each coordinate
// (Owen, "A randomized Halton algorithm in R", 2017, describes this scrambling). Deterministic for a seed.
import { Rng } from '../util/random.js';

const PRIMES = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97];
export const MAX_HALTON_DIMENSIONS = PRIMES.length;

/** Digits kept per coordinate: b^-digits below 1e-12, far finer than any parameter's rounding. */
function digitsFor(base: number): number {
  return Math.ceil(12 / Math.log10(base));
}

function permutation(rng: Rng, base: number): number[] {
  const perm = Array.from({ length: base }, (_, i) => i);
  for (let i = base - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [perm[i], perm[j]] = [perm[j] as number, perm[i] as number];
  }
  return perm;
}

export class ScrambledHalton {
  private readonly perms: number[][][];

  constructor(readonly dimensions: number, seed: number) {
    if (!Number.isInteger(dimensions) || dimensions < 1 || dimensions > MAX_HALTON_DIMENSIONS) {
      throw new RangeError(`halton: dimensions must be an integer in [1, ${MAX_HALTON_DIMENSIONS}], got ${dimensions}`);
    }
    const rng = new Rng((seed ^ 0x5bd1e995) >>> 0);
    this.perms = PRIMES.slice(0, dimensions).map((base) => Array.from({ length: digitsFor(base) }, () => permutation(rng, base)));
  }

  /** The point at `index` (an integer ≥ 0); every coordinate in [0, 1). */
  point(index: number): number[] {
    if (!Number.isInteger(index) || index < 0) throw new RangeError(`halton: index must be an integer ≥ 0, got ${index}`);
    return this.perms.map((digitPerms, d) => {
      const base = PRIMES[d] as number;
      let n = index;
      let u = 0;
      let scale = 1 / base;
      // Every digit position up to the precision, the leading zeros included: a permuted 0 is not 0.
      for (const perm of digitPerms) {
        u += (perm[n % base] as number) * scale;
        n = Math.floor(n / base);
        scale /= base;
      }
      return Math.min(u, 1 - Number.EPSILON);
    });
  }
}
