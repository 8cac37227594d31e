// An open-addressing hash map from 64-bit keys (bigint) to int32 values, in one typed array.
//
// Why not Map<bigint, …>: V8 hashes a BigInt key on every lookup and allocates per entry; placement looks up to a
// thousand block hashes per request, mostly cold in cache. Here a slot is 4 int32s side by side — key low half,
// key high half, value, occupied — so a probe touches one cache line (four slots per line), and a lookup
// allocates nothing: keys are split through one shared BigUint64Array. Linear probing with backward-shift
// deletion: no tombstones, so probe chains stay short under the constant store/remove churn of KV events.

const scratch64 = new BigUint64Array(1);
const scratch32 = new Int32Array(scratch64.buffer);

const STRIDE = 4;
const LO = 0;
const HI = 1;
const VAL = 2;
const OCC = 3;
const MIN_CAPACITY = 16;

function mix(lo: number, hi: number): number {
  let h = Math.imul(lo, 0x9e3779b1) ^ Math.imul(hi ^ (hi >>> 15), 0x85ebca6b);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  return h ^ (h >>> 12);
}

export class U64Map {
  private slots: Int32Array<ArrayBuffer>;
  private mask: number;
  private count = 0;

  constructor(initialCapacity = MIN_CAPACITY) {
    let cap = MIN_CAPACITY;
    while (cap < initialCapacity * 2) cap *= 2;
    this.slots = new Int32Array(cap * STRIDE);
    this.mask = cap - 1;
  }

  get size(): number {
    return this.count;
  }

  /** Slot of `key`, or -1. A slot stays valid until the next set() or delete(). */
  find(key: bigint): number {
    scratch64[0] = key;
    const lo = scratch32[0] as number;
    const hi = scratch32[1] as number;
    const slots = this.slots;
    const mask = this.mask;
    let slot = mix(lo, hi) & mask;
    for (;;) {
      const at = slot * STRIDE;
      if (slots[at + OCC] === 0) return -1;
      if (slots[at + LO] === lo && slots[at + HI] === hi) return slot;
      slot = (slot + 1) & mask;
    }
  }

  /**
   * find() for keys[from..to), into out[0..to-from). Two passes: the first computes every home slot and touches its
   * cache line, loads that do not depend on each other so the CPU overlaps their misses; the second probes lines
   * already on their way. In the index walk, whose per-hash work otherwise keeps lookups from overlapping, this
   * took a cold 1,000-hash walk from ~110 to ~80 µs (README.md, "Measured"); a bare find() loop gains nothing.
   */
  findMany(keys: ArrayLike<bigint>, from: number, to: number, out: Int32Array): void {
    const slots = this.slots;
    const mask = this.mask;
    const homes = this.homes.length >= to - from ? this.homes : (this.homes = new Int32Array((to - from) * 2));
    let touched = 0;
    for (let i = from; i < to; i++) {
      scratch64[0] = keys[i] as bigint;
      const home = mix(scratch32[0] as number, scratch32[1] as number) & mask;
      homes[i - from] = home;
      touched += slots[home * STRIDE + OCC] as number;
    }
    this.touched = touched;
    for (let i = from; i < to; i++) out[i - from] = this.find(keys[i] as bigint);
  }

  private homes = new Int32Array(64);
  /** Keeps the touch pass observable so it is not optimised away. */
  touched = 0;

  has(key: bigint): boolean {
    return this.find(key) >= 0;
  }

  /** Value of `key`, or `fallback` when absent. */
  get(key: bigint, fallback = -1): number {
    const slot = this.find(key);
    return slot < 0 ? fallback : (this.slots[slot * STRIDE + VAL] as number);
  }

  valueAt(slot: number): number {
    return this.slots[slot * STRIDE + VAL] as number;
  }

  setValueAt(slot: number, value: number): void {
    this.slots[slot * STRIDE + VAL] = value;
  }

  /** The key stored in `slot` (allocates a bigint: for rare paths such as dropping a worker's entries). */
  keyAt(slot: number): bigint {
    scratch32[0] = this.slots[slot * STRIDE + LO] as number;
    scratch32[1] = this.slots[slot * STRIDE + HI] as number;
    return scratch64[0] as bigint;
  }

  /** Inserts or overwrites (value: an int32); returns the slot. */
  set(key: bigint, value: number): number {
    if ((this.count + 1) * 2 > this.mask + 1) this.resize((this.mask + 1) * 2);
    scratch64[0] = key;
    const lo = scratch32[0] as number;
    const hi = scratch32[1] as number;
    const slots = this.slots;
    const mask = this.mask;
    let slot = mix(lo, hi) & mask;
    for (;;) {
      const at = slot * STRIDE;
      if (slots[at + OCC] === 0) {
        slots[at + LO] = lo;
        slots[at + HI] = hi;
        slots[at + VAL] = value;
        slots[at + OCC] = 1;
        this.count++;
        return slot;
      }
      if (slots[at + LO] === lo && slots[at + HI] === hi) {
        slots[at + VAL] = value;
        return slot;
      }
      slot = (slot + 1) & mask;
    }
  }

  delete(key: bigint): boolean {
    const slot = this.find(key);
    if (slot < 0) return false;
    this.deleteAt(slot);
    return true;
  }

  /** Removes the entry in `slot`, shifting later members of its probe run back (no tombstones). */
  deleteAt(slot: number): void {
    const slots = this.slots;
    const mask = this.mask;
    let hole = slot;
    let next = (hole + 1) & mask;
    while (slots[next * STRIDE + OCC] !== 0) {
      const at = next * STRIDE;
      const home = mix(slots[at + LO] as number, slots[at + HI] as number) & mask;
      // Move `next` into the hole unless its home lies cyclically in (hole, next].
      const stays = hole <= next ? home > hole && home <= next : home > hole || home <= next;
      if (!stays) {
        slots.copyWithin(hole * STRIDE, at, at + STRIDE);
        hole = next;
      }
      next = (next + 1) & mask;
    }
    slots[hole * STRIDE + OCC] = 0;
    this.count--;
  }

  /** Calls fn(slot) for every occupied slot. fn must not insert or delete. */
  forEachSlot(fn: (slot: number) => void): void {
    const slots = this.slots;
    for (let slot = 0; slot <= this.mask; slot++) if (slots[slot * STRIDE + OCC] !== 0) fn(slot);
  }

  clear(): void {
    this.slots.fill(0);
    this.count = 0;
  }

  private resize(capacity: number): void {
    const old = this.slots;
    const slots = new Int32Array(capacity * STRIDE);
    const mask = capacity - 1;
    for (let at = 0; at < old.length; at += STRIDE) {
      if (old[at + OCC] === 0) continue;
      let slot = mix(old[at + LO] as number, old[at + HI] as number) & mask;
      while (slots[slot * STRIDE + OCC] !== 0) slot = (slot + 1) & mask;
      slots.set(old.subarray(at, at + STRIDE), slot * STRIDE);
    }
    this.slots = slots;
    this.mask = mask;
  }
}
