// Accuracy of output-length predictions against what the requests really produced.

export interface Scored {
  actual: number;
  expected: number;
  p90: number;
}

export interface Accuracy {
  count: number;
  actual_p50: number | null;
  actual_p90: number | null;
  /** Median of the predicted expectedTokens. */
  predicted_p50: number | null;
  /** Median over requests of |expected − actual| (tokens). */
  median_abs_error_tokens: number | null;
  /** Median over requests of |expected − actual| / max(actual, 1), in percent. */
  median_abs_error_pct: number | null;
  /** Share of requests with expected within [actual/2, 2·actual] (actual floored at 1). */
  within_2x: number | null;
  /** Share of requests whose actual output was ≤ the predicted p90 (0.9 is calibrated). */
  p90_coverage: number | null;
}

/** Nearest-rank quantile of already sorted values. */
function rank(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}

function median(values: number[]): number {
  return rank(Float64Array.from(values).sort(), 0.5);
}

const round = (x: number, digits: number): number => Number(x.toFixed(digits));

export function accuracy(rows: readonly Scored[]): Accuracy {
  if (rows.length === 0) {
    return { count: 0, actual_p50: null, actual_p90: null, predicted_p50: null, median_abs_error_tokens: null,
      median_abs_error_pct: null, within_2x: null, p90_coverage: null };
  }
  const actual = Float64Array.from(rows, (r) => r.actual).sort();
  let within = 0;
  let covered = 0;
  for (const r of rows) {
    const a = Math.max(r.actual, 1);
    if (r.expected >= a / 2 && r.expected <= 2 * a) within++;
    if (r.actual <= r.p90) covered++;
  }
  return {
    count: rows.length,
    actual_p50: rank(actual, 0.5),
    actual_p90: rank(actual, 0.9),
    predicted_p50: median(rows.map((r) => r.expected)),
    median_abs_error_tokens: median(rows.map((r) => Math.abs(r.expected - r.actual))),
    median_abs_error_pct: round(median(rows.map((r) => (100 * Math.abs(r.expected - r.actual)) / Math.max(r.actual, 1))), 1),
    within_2x: round(within / rows.length, 3),
    p90_coverage: round(covered / rows.length, 3),
  };
}
