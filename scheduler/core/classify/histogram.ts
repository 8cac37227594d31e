// Streaming quantiles over a log-spaced histogram with exponential decay by sample count.
//
// Bucket 0 holds values ≤ minValue; bucket i ≥ 1 holds (minValue·g^(i-1), minValue·g^i]; values above maxValue go to
// the last bucket. With g = 1.05 a quantile is off by at most ~2.5% of its value from bucketing, over 1..1M tokens in
// 284 buckets. Decay is O(1) per update: instead of multiplying every bucket by d = 2^(-1/halfLife) on each sample,
// each new sample is added with weight 1/d^n (growing); weights are rescaled once they pass 1e200 (every ~660
// half-lives), so the relative weights are exactly those of the decayed histogram.

export interface LogScale {
  readonly minValue: number;
  readonly maxValue: number;
  readonly lnGrowth: number;
  readonly numBuckets: number;
  /** Upper edge of each bucket (edges[0] = minValue). */
  readonly edges: Float64Array;
  /** Per-sample growth of the new-sample weight (1/d); 1 means no decay. */
  readonly weightGrowth: number;
}

/** One histogram's state: plain data, owned by one level (shape, tenant, global). */
export interface LogHistogram {
  weights: Float64Array;
  totalWeight: number;
  /** Weight the next sample gets (grows by weightGrowth per sample). */
  nextWeight: number;
  /** Samples observed (undecayed): what "min samples" rules count. */
  count: number;
}

const RESCALE_ABOVE = 1e200;

/** halfLifeSamples 0 means no decay (every sample weighs the same forever). */
export function makeLogScale(minValue: number, maxValue: number, growth: number, halfLifeSamples: number): LogScale {
  const lnGrowth = Math.log(growth);
  const numBuckets = 1 + Math.ceil(Math.log(maxValue / minValue) / lnGrowth);
  const edges = new Float64Array(numBuckets);
  for (let i = 0; i < numBuckets; i++) edges[i] = minValue * Math.exp(i * lnGrowth);
  const weightGrowth = halfLifeSamples > 0 ? Math.pow(2, 1 / halfLifeSamples) : 1;
  return { minValue, maxValue, lnGrowth, numBuckets, edges, weightGrowth };
}

export function makeLogHistogram(scale: LogScale): LogHistogram {
  return { weights: new Float64Array(scale.numBuckets), totalWeight: 0, nextWeight: 1, count: 0 };
}

export function bucketOf(scale: LogScale, value: number): number {
  if (!(value > scale.minValue)) return 0;
  // The small epsilon keeps exact edges (minValue·g^i, computed with rounding) in bucket i, not i + 1.
  const i = Math.ceil(Math.log(value / scale.minValue) / scale.lnGrowth - 1e-9);
  return i < scale.numBuckets ? i : scale.numBuckets - 1;
}

export function histAdd(scale: LogScale, h: LogHistogram, value: number): void {
  const w = h.nextWeight;
  const b = bucketOf(scale, value);
  h.weights[b] = (h.weights[b] as number) + w;
  h.totalWeight += w;
  h.count++;
  h.nextWeight = w * scale.weightGrowth;
  if (h.nextWeight > RESCALE_ABOVE) rescale(h, 1 / h.nextWeight);
}

function rescale(h: LogHistogram, factor: number): void {
  for (let i = 0; i < h.weights.length; i++) h.weights[i] = (h.weights[i] as number) * factor;
  h.totalWeight *= factor;
  h.nextWeight *= factor;
}

/**
 * Writes the quantiles qs (ascending, each in (0,1)) into out, in one cumulative scan. Inside a bucket the value is
 * interpolated on the log scale by the fraction of the bucket's weight below the target. Empty histogram: NaN.
 */
export function histQuantiles(scale: LogScale, h: LogHistogram, qs: ArrayLike<number>, out: Float64Array): void {
  if (!(h.totalWeight > 0)) {
    out.fill(NaN, 0, qs.length);
    return;
  }
  let k = 0;
  let below = 0;
  for (let i = 0; i < scale.numBuckets && k < qs.length; i++) {
    const w = h.weights[i] as number;
    if (w <= 0) continue;
    while (k < qs.length && below + w >= (qs[k] as number) * h.totalWeight) {
      const frac = ((qs[k] as number) * h.totalWeight - below) / w;
      out[k++] = i === 0 ? scale.minValue : (scale.edges[i - 1] as number) * Math.exp(frac * scale.lnGrowth);
    }
    below += w;
  }
  // Rounding can leave the last targets unmet by a hair: they are the top bucket's upper edge.
  for (; k < qs.length; k++) out[k] = lastEdge(scale, h);
}

function lastEdge(scale: LogScale, h: LogHistogram): number {
  for (let i = scale.numBuckets - 1; i >= 0; i--) if ((h.weights[i] as number) > 0) return scale.edges[i] as number;
  return scale.minValue;
}
