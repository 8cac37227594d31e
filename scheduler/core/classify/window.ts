// The last N samples of each session, for per-session quantiles, in one slab of float32 (integers below 2^24 are
// exact). A dense log histogram per session would cost ~2.3 KB (286 float64 buckets) and a typed array per session
// ~200 bytes of object overhead; a slab slot costs N·4 bytes plus one count, and a session's most recent turns are
// what predicts its next one anyway. Slots are numbered; the owner maps session ids to slots and reuses the slot of
// a session it forgets.

export interface WindowSlab {
  readonly size: number;
  readonly maxSlots: number;
  /** slot · size + i: the i-th kept sample of a slot (ring order). */
  values: Float32Array;
  /** Samples observed per slot (may exceed size; only the last size are kept). */
  counts: Float64Array;
  /** Slots handed out so far (≤ maxSlots); storage grows by doubling up to maxSlots. */
  used: number;
}

const INITIAL_SLOTS = 1024;

export function makeSlab(size: number, maxSlots: number): WindowSlab {
  const slots = Math.min(INITIAL_SLOTS, maxSlots);
  return { size, maxSlots, values: new Float32Array(slots * size), counts: new Float64Array(slots), used: 0 };
}

/** A fresh slot: the one given back (an evicted session's) or a new one. Its count starts at 0. */
export function slabSlot(slab: WindowSlab, reuse?: number): number {
  let slot = reuse;
  if (slot === undefined) {
    if (slab.used >= slab.maxSlots) throw new Error(`window slab full (${slab.maxSlots} slots): the owner must reuse evicted slots`);
    slot = slab.used++;
    if (slot >= slab.counts.length) grow(slab);
  }
  slab.counts[slot] = 0;
  return slot;
}

function grow(slab: WindowSlab): void {
  const slots = Math.min(slab.counts.length * 2, slab.maxSlots);
  const values = new Float32Array(slots * slab.size);
  values.set(slab.values);
  const counts = new Float64Array(slots);
  counts.set(slab.counts);
  slab.values = values;
  slab.counts = counts;
}

export function slabCount(slab: WindowSlab, slot: number): number {
  return slab.counts[slot] as number;
}

export function slabAdd(slab: WindowSlab, slot: number, value: number): void {
  const count = slab.counts[slot] as number;
  slab.values[slot * slab.size + (count % slab.size)] = value;
  slab.counts[slot] = count + 1;
}

/**
 * Quantiles qs (each in [0,1]) of a slot's kept samples into out, by linear interpolation between order statistics
 * (Hyndman-Fan type 7, numpy's default). scratch must hold `size` numbers; it is overwritten (no allocation).
 * Empty slot: NaN.
 */
export function slabQuantiles(slab: WindowSlab, slot: number, qs: ArrayLike<number>, out: Float64Array, scratch: Float64Array): void {
  const n = Math.min(slab.counts[slot] as number, slab.size);
  if (n === 0) {
    out.fill(NaN, 0, qs.length);
    return;
  }
  const base = slot * slab.size;
  // Insertion sort: n ≤ 16 or so, cheaper than a typed-array sort on a subarray view (which allocates).
  for (let i = 0; i < n; i++) {
    const v = slab.values[base + i] as number;
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
