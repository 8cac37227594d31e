// The last N samples of one session, for per-session quantiles. A dense log histogram per session would cost
// ~2.3 KB (284 float64 buckets); 100k sessions would hold 227 MB. A ring of 16 float32 (integers below 2^24 are
// exact) costs 64 bytes of data, and a session's most recent turns are what predicts its next one anyway.

export interface RecentWindow {
  values: Float32Array;
  /** Samples observed (may exceed the ring's size; only the last values.length are kept). */
  count: number;
  /** Slot the next sample overwrites. */
  next: number;
}

export function makeWindow(size: number): RecentWindow {
  return { values: new Float32Array(size), count: 0, next: 0 };
}

export function windowAdd(w: RecentWindow, value: number): void {
  w.values[w.next] = value;
  w.next = (w.next + 1) % w.values.length;
  w.count++;
}

/**
 * Quantiles qs (each in [0,1]) of the kept samples into out, by linear interpolation between order statistics
 * (Hyndman-Fan type 7, numpy's default). scratch must hold values.length numbers; it is overwritten (no allocation).
 * Empty window: NaN.
 */
export function windowQuantiles(w: RecentWindow, qs: ArrayLike<number>, out: Float64Array, scratch: Float64Array): void {
  const n = Math.min(w.count, w.values.length);
  if (n === 0) {
    out.fill(NaN, 0, qs.length);
    return;
  }
  // Insertion sort: n ≤ 16 or so, cheaper than a typed-array sort on a subarray view (which allocates).
  for (let i = 0; i < n; i++) {
    const v = w.values[i] as number;
    let j = i - 1;
    while (j >= 0 && (scratch[j] as number) > v) {
      scratch[j + 1] = scratch[j] as number;
      j--;
    }
    scratch[j + 1] = v;
  }
  for (let k = 0; k < qs.length; k++) {
    const pos = (qs[k] as number) * (n - 1);
    const lo = Math.floor(pos);
    const hi = Math.min(lo + 1, n - 1);
    const a = scratch[lo] as number;
    out[k] = a + (pos - lo) * ((scratch[hi] as number) - a);
  }
}
