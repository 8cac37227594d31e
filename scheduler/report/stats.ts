// Order statistics for reports. Percentiles interpolate linearly between closest ranks (numpy's default, which
// vLLM's and SGLang's bench clients use), so a p99 here means what it means in their reports.

/** The p-th percentile (0 ≤ p ≤ 100) of ascending `sorted`; null when empty. */
export function percentileSorted(sorted: ArrayLike<number>, p: number): number | null {
  const n = sorted.length;
  if (n === 0) return null;
  const rank = (p / 100) * (n - 1);
  const lo = Math.floor(rank);
  const hi = Math.min(lo + 1, n - 1);
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  return a + (b - a) * (rank - lo);
}

/** Ascending copy as a Float64Array (numeric sort, no string comparison). */
export function sortedCopy(values: readonly number[]): Float64Array {
  return Float64Array.from(values).sort();
}

export function mean(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

/** A ratio that is null (not NaN, not Infinity) when the denominator is 0, so that the JSON stays valid. */
export function ratio(numerator: number, denominator: number): number | null {
  return denominator > 0 ? numerator / denominator : null;
}

/** Nine significant digits: keeps JSON readable (no 0.30000000000000004) without losing anything measurable. */
export function sig(value: number | null): number | null {
  return value === null ? null : Number(value.toPrecision(9));
}
