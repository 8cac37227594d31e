// Robust fitting of a predictor's efficiency parameters: Nelder–Mead on log-parameters (all parameters are
// positive), minimising the mean absolute log error |ln(predicted / measured)| — an L1 loss, so a few odd
// measurements do not pull the fit — over a deterministic sample. Deterministic: same data, same result.
import { type Gpu } from './gpus.js';
import { type Family, predictPrepared } from './ops/index.js';

export interface Sample {
  gpu: Gpu;
  args: number[];
  latencyMs: number;
}

export function meanAbsLogError(family: Family, p: ArrayLike<number>, samples: readonly Sample[]): number {
  let sum = 0;
  for (const s of samples) {
    const predicted = predictPrepared(s.gpu, family, p, s.args);
    const e = Math.abs(Math.log(predicted / s.latencyMs));
    sum += Number.isFinite(e) ? e : 50;
  }
  return sum / samples.length;
}

/** Minimises f over R^d with Nelder–Mead from x0 (initial simplex: +/- step in each coordinate). */
export function nelderMead(f: (x: number[]) => number, x0: number[], step: number, maxEvals: number): number[] {
  const d = x0.length;
  let simplex = [x0, ...x0.map((_, i) => x0.map((v, j) => (i === j ? v + step : v)))];
  let values = simplex.map(f);
  let evals = simplex.length;
  while (evals < maxEvals) {
    const order = values.map((_, i) => i).sort((a, b) => (values[a] as number) - (values[b] as number));
    simplex = order.map((i) => simplex[i] as number[]);
    values = order.map((i) => values[i] as number);
    if ((values[d] as number) - (values[0] as number) < 1e-7) break;
    const centroid = x0.map((_, j) => simplex.slice(0, d).reduce((s, x) => s + (x[j] as number), 0) / d);
    const worst = simplex[d] as number[];
    const at = (t: number) => centroid.map((c, j) => c + t * (c - (worst[j] as number)));
    const reflected = at(1);
    const fr = f(reflected);
    evals++;
    if (fr < (values[0] as number)) {
      const expanded = at(2);
      const fe = f(expanded);
      evals++;
      [simplex[d], values[d]] = fe < fr ? [expanded, fe] : [reflected, fr];
    } else if (fr < (values[d - 1] as number)) {
      [simplex[d], values[d]] = [reflected, fr];
    } else {
      const contracted = at(fr < (values[d] as number) ? 0.5 : -0.5);
      const fc = f(contracted);
      evals++;
      if (fc < Math.min(fr, values[d] as number)) {
        [simplex[d], values[d]] = [contracted, fc];
      } else {
        const best = simplex[0] as number[];
        for (let i = 1; i <= d; i++) {
          simplex[i] = best.map((b, j) => b + 0.5 * (((simplex[i] as number[])[j] as number) - b));
          values[i] = f(simplex[i] as number[]);
          evals++;
        }
      }
    }
  }
  const best = values.indexOf(Math.min(...values));
  return simplex[best] as number[];
}

/** Fits one family/variant: positive parameters from `init`; three restarts of Nelder–Mead in log space. */
export function fitParams(family: Family, init: readonly number[], samples: readonly Sample[]): number[] {
  const loss = (logP: number[]) => meanAbsLogError(family, logP.map(Math.exp), samples);
  let x = init.map(Math.log);
  for (const step of [1.5, 0.7, 0.3]) x = nelderMead(loss, x, step, 120 * init.length);
  return x.map((v) => Number(Math.exp(v).toPrecision(5)));
}

/** Absolute percentage errors of predictions, for the calibration report. */
export function absPercentErrors(family: Family, p: ArrayLike<number>, samples: readonly Sample[]): number[] {
  return samples.map((s) => Math.abs(predictPrepared(s.gpu, family, p, s.args) / s.latencyMs - 1) * 100);
}

export function quantile(values: number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}
