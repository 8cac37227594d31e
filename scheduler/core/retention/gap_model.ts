// Think times as a log-normal given by the predictor's point estimate (session-gaps answers the median) and its
// p90: how likely the next turn comes before a given moment. Think times are right-skewed (a tool answers in
// seconds, a person in minutes), which a log-normal follows and an exponential does not.

const Z90 = 1.2815515655446004;
/** Spread floor: a history of identical gaps would otherwise make every earlier moment impossible. */
const MIN_SIGMA = 0.05;

/** Standard normal CDF (Abramowitz & Stegun 7.1.26 through erf; absolute error < 1.5e-7). */
export function normalCdf(x: number): number {
  const t = 1 / (1 + 0.3275911 * (Math.abs(x) / Math.SQRT2));
  const poly = ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t;
  const erf = 1 - poly * Math.exp(-(x * x) / 2);
  return x >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

/** σ of the log-normal whose median is medianS and whose 0.9-quantile is p90S. */
export function gapSigma(medianS: number, p90S: number): number {
  return Math.max(MIN_SIGMA, Math.log(Math.max(p90S, medianS) / medianS) / Z90);
}

/** P(gap < tS) for a log-normal gap with this median and σ; 0 for tS ≤ 0. */
export function gapBefore(tS: number, medianS: number, sigma: number): number {
  if (tS <= 0) return 0;
  return normalCdf(Math.log(tS / medianS) / sigma);
}
