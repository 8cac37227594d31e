// Quantiles of a log-normal given by its p50 and p90: how a prior stated as two figures answers any quantile.
// Output lengths are right-skewed and roughly log-normal (reasoning: p50 ~800, p99 ~12K in architecture §3).

const Z90 = 1.2815515655446004;

/** Inverse standard normal CDF (Acklam's rational approximation, relative error < 1.2e-9). p in (0,1). */
export function normalQuantile(p: number): number {
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const poly = (k: number[], x: number): number => k.reduce((acc, coef) => acc * x + coef, 0);
  const pLow = 0.02425;
  if (p < pLow) {
    const q = Math.sqrt(-2 * Math.log(p));
    return poly(c, q) / (poly(d, q) * q + 1);
  }
  if (p > 1 - pLow) {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    return -poly(c, q) / (poly(d, q) * q + 1);
  }
  const q = p - 0.5;
  const r = q * q;
  return (poly(a, r) * q) / (poly(b, r) * r + 1);
}

/** The q-quantile of the log-normal whose median is p50 and whose 0.9-quantile is p90 (p90 ≥ p50 > 0). */
export function lognormalQuantile(p50: number, p90: number, q: number): number {
  if (q === 0.5 || p90 === p50) return p50;
  return p50 * Math.pow(p90 / p50, normalQuantile(q) / Z90);
}
