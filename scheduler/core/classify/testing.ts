// Seeded samples for the predictor tests.
import { Rng } from '../../util/random.js';

/** n draws from the log-normal with median p50 and log-sd sigma (Box-Muller on a seeded Rng). */
export function lognormalSample(seed: number, n: number, p50: number, sigma: number): number[] {
  const rng = new Rng(seed);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const u = 1 - rng.next();
    const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
    out.push(p50 * Math.exp(sigma * z));
  }
  return out;
}

/** The exact empirical q-quantile (type 7) of values. */
export function exactQuantile(values: readonly number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  const pos = q * (s.length - 1);
  const lo = Math.floor(pos);
  const a = s[lo] as number;
  return a + (pos - lo) * ((s[Math.min(lo + 1, s.length - 1)] as number) - a);
}
