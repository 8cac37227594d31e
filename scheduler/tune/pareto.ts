// The goodput/cost Pareto front of a set of trials: the ones no other trial beats on both goodput per GPU-hour
// (higher is better) and cost per request (lower is better). Only trials measured on the same budget are compared
// (callers pass one rung), as a longer run is a different measurement.
import type { TrialResult } from './types.js';

function cost(t: TrialResult): number {
  return t.metrics.cost_per_request_usd ?? Infinity;
}

/** `a` is at least as good on both objectives and strictly better on one. */
export function dominates(a: TrialResult, b: TrialResult): boolean {
  const ga = a.metrics.goodput_per_gpu_hour;
  const gb = b.metrics.goodput_per_gpu_hour;
  return ga >= gb && cost(a) <= cost(b) && (ga > gb || cost(a) < cost(b));
}

/** The non-dominated trials, by goodput per GPU-hour descending (ties: lower cost, then id). */
export function paretoFront(trials: readonly TrialResult[]): TrialResult[] {
  const front = trials.filter((t) => !trials.some((other) => other !== t && dominates(other, t)));
  return front.sort((a, b) => b.metrics.goodput_per_gpu_hour - a.metrics.goodput_per_gpu_hour || cost(a) - cost(b) || (a.id < b.id ? -1 : 1));
}
