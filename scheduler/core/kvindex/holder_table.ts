// Block hash → the holders that have it, each with an int32 value (a reference count in the KV index, a last-access
// second in the SGLang-style routing tree). Holders are small ints chosen by the user of the table.
//
// Layout: a U64Map from hash to a holder list kept contiguously in one Int32Array arena:
//   [sizeClass, count, fpLo, fpHi, holder0, value0, holder1, value1, ...]   capacity = 2^sizeClass pairs
// (fpLo, fpHi) fingerprint the holder *set* (XOR of two independent 32-bit mixes of each holder, values ignored):
// equal sets have equal fingerprints, so the prefix walk can tell in O(1) that a block is held by exactly the
// same holders as the one before it (a shared prefix cached on a whole rack) and skip the per-holder work.
// A list outgrowing its block moves to one twice the size; freed blocks wait on a free list per size class. A walk
// over a hash's holders is a sequential scan — a system prompt cached on all 72 GPUs of a rack is 72 adjacent
// pairs, not 72 pointer hops.
import { U64Map } from './u64_map.js';

const NONE = -1;
/** Words before the pairs: sizeClass, count, fpLo, fpHi. */
export const HOLDER_LIST_HEADER = 4;
const HEADER = HOLDER_LIST_HEADER;
const MAX_CLASSES = 31;

/** Two independent 32-bit mixes of a holder id (murmur3's finaliser with two seeds). */
function mixLo(holder: number): number {
  let h = Math.imul(holder ^ 0x2545f491, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

function mixHi(holder: number): number {
  let h = Math.imul(holder ^ 0x6c8e9cf5, 0xcc9e2d51);
  h ^= h >>> 15;
  h = Math.imul(h, 0x1b873593);
  return h ^ (h >>> 13);
}

export class HolderTable {
  private readonly heads = new U64Map(1024);
  private arena = new Int32Array(4096);
  private used = 0;
  private readonly free = new Int32Array(MAX_CLASSES).fill(NONE);

  /** Distinct hashes with at least one holder. */
  get size(): number {
    return this.heads.size;
  }

  /** The holder list of `hash` (read with countOf/holderAt/valueAt), or -1. Valid until the next change. */
  list(hash: bigint): number {
    const slot = this.heads.find(hash);
    return slot < 0 ? NONE : this.heads.valueAt(slot);
  }

  /**
   * list() for hashes[from..to) into out[0..to-from), batched so that cold cache misses overlap (the index walk's
   * hot path): hash slots first, then each list's first line touched before anyone reads it.
   */
  lists(hashes: ArrayLike<bigint>, from: number, to: number, out: Int32Array): void {
    this.heads.findMany(hashes, from, to, out);
    const arena = this.arena;
    let touched = 0;
    for (let k = 0; k < to - from; k++) {
      const slot = out[k] as number;
      const list = slot < 0 ? NONE : this.heads.valueAt(slot);
      out[k] = list;
      if (list !== NONE) touched += arena[list + 1] as number;
    }
    this.touched = touched;
  }

  /** Keeps the touch pass observable so it is not optimised away. */
  touched = 0;

  /**
   * The arena, for tight read loops: list L holds countOf(L) pairs at L + HEADER + 2i (holder) and L + HEADER + 1 + 2i
   * (value); its holder-set fingerprint is at L + 2 and L + 3 (sameHolders).
   * Valid until the next change to the table.
   */
  get pairs(): Int32Array {
    return this.arena;
  }

  /** Whether two lists hold the same holder set (fingerprint and count equal; values may differ). */
  sameHolders(a: number, b: number): boolean {
    const arena = this.arena;
    return arena[a + 1] === arena[b + 1] && arena[a + 2] === arena[b + 2] && arena[a + 3] === arena[b + 3];
  }

  countOf(list: number): number {
    return this.arena[list + 1] as number;
  }

  holderAt(list: number, i: number): number {
    return this.arena[list + HEADER + 2 * i] as number;
  }

  valueAt(list: number, i: number): number {
    return this.arena[list + HEADER + 2 * i + 1] as number;
  }

  /** Value of (hash, holder), or undefined. */
  get(hash: bigint, holder: number): number | undefined {
    const list = this.list(hash);
    const i = list === NONE ? NONE : this.indexOf(list, holder);
    return i === NONE ? undefined : this.valueAt(list, i);
  }

  /** Adds `delta` to (hash, holder), creating it at 0 first; removes it when the result is ≤ 0. Returns the result. */
  add(hash: bigint, holder: number, delta: number): number {
    const slot = this.heads.find(hash);
    const list = slot < 0 ? NONE : this.heads.valueAt(slot);
    const i = list === NONE ? NONE : this.indexOf(list, holder);
    if (i === NONE) {
      if (delta <= 0) return 0;
      this.append(hash, slot, list, holder, delta);
      return delta;
    }
    const result = this.valueAt(list, i) + delta;
    if (result <= 0) this.removeAt(slot, list, i);
    else this.arena[list + HEADER + 2 * i + 1] = result;
    return result;
  }

  /** Sets (hash, holder) to `value`; returns true when the pair is new. */
  set(hash: bigint, holder: number, value: number): boolean {
    const slot = this.heads.find(hash);
    const list = slot < 0 ? NONE : this.heads.valueAt(slot);
    const i = list === NONE ? NONE : this.indexOf(list, holder);
    if (i !== NONE) {
      this.arena[list + HEADER + 2 * i + 1] = value;
      return false;
    }
    this.append(hash, slot, list, holder, value);
    return true;
  }

  /** Removes (hash, holder); returns whether it was there. */
  remove(hash: bigint, holder: number): boolean {
    const slot = this.heads.find(hash);
    if (slot < 0) return false;
    const list = this.heads.valueAt(slot);
    const i = this.indexOf(list, holder);
    if (i === NONE) return false;
    this.removeAt(slot, list, i);
    return true;
  }

  /** Calls fn(hash, holder, value) for every pair (allocates bigints: for rare maintenance such as eviction). */
  forEach(fn: (hash: bigint, holder: number, value: number) => void): void {
    const rows: Array<[bigint, number, number]> = [];
    this.heads.forEachSlot((slot) => {
      const hash = this.heads.keyAt(slot);
      const list = this.heads.valueAt(slot);
      for (let i = 0; i < this.countOf(list); i++) rows.push([hash, this.holderAt(list, i), this.valueAt(list, i)]);
    });
    for (const [hash, holder, value] of rows) fn(hash, holder, value);
  }

  private indexOf(list: number, holder: number): number {
    const arena = this.arena;
    const end = list + HEADER + 2 * (arena[list + 1] as number);
    for (let at = list + HEADER; at < end; at += 2) if (arena[at] === holder) return (at - list - HEADER) >> 1;
    return NONE;
  }

  private append(hash: bigint, slot: number, list: number, holder: number, value: number): void {
    if (list === NONE) {
      list = this.allocate(0);
      this.heads.set(hash, list);
    } else if ((this.arena[list + 1] as number) === 1 << (this.arena[list] as number)) {
      const bigger = this.allocate((this.arena[list] as number) + 1);
      const count = this.arena[list + 1] as number;
      this.arena.copyWithin(bigger + HEADER, list + HEADER, list + HEADER + 2 * count);
      this.arena[bigger + 1] = count;
      this.arena[bigger + 2] = this.arena[list + 2] as number;
      this.arena[bigger + 3] = this.arena[list + 3] as number;
      this.release(list);
      list = bigger;
      this.heads.setValueAt(slot, list);
    }
    const count = this.arena[list + 1] as number;
    this.arena[list + HEADER + 2 * count] = holder;
    this.arena[list + HEADER + 2 * count + 1] = value;
    this.arena[list + 1] = count + 1;
    this.arena[list + 2] = (this.arena[list + 2] as number) ^ mixLo(holder);
    this.arena[list + 3] = (this.arena[list + 3] as number) ^ mixHi(holder);
  }

  /** Swap-removes pair i (order within a list carries no meaning); frees the list and the hash when empty. */
  private removeAt(slot: number, list: number, i: number): void {
    const arena = this.arena;
    const last = (arena[list + 1] as number) - 1;
    const holder = arena[list + HEADER + 2 * i] as number;
    arena[list + 2] = (arena[list + 2] as number) ^ mixLo(holder);
    arena[list + 3] = (arena[list + 3] as number) ^ mixHi(holder);
    arena[list + HEADER + 2 * i] = arena[list + HEADER + 2 * last] as number;
    arena[list + HEADER + 2 * i + 1] = arena[list + HEADER + 2 * last + 1] as number;
    arena[list + 1] = last;
    if (last === 0) {
      this.release(list);
      this.heads.deleteAt(slot);
    }
  }

  private allocate(sizeClass: number): number {
    const head = this.free[sizeClass] as number;
    if (head !== NONE) {
      this.free[sizeClass] = this.arena[head + 1] as number;
      this.arena[head] = sizeClass;
      this.arena[head + 1] = 0;
      this.arena[head + 2] = 0;
      this.arena[head + 3] = 0;
      return head;
    }
    const size = HEADER + 2 * (1 << sizeClass);
    while (this.used + size > this.arena.length) {
      const grown = new Int32Array(this.arena.length * 2);
      grown.set(this.arena);
      this.arena = grown;
    }
    const list = this.used;
    this.used += size;
    this.arena[list] = sizeClass;
    this.arena[list + 1] = 0;
    this.arena[list + 2] = 0;
    this.arena[list + 3] = 0;
    return list;
  }

  /** A freed block keeps its size class in word 0 and links the free list through word 1. */
  private release(list: number): void {
    const sizeClass = this.arena[list] as number;
    this.arena[list + 1] = this.free[sizeClass] as number;
    this.free[sizeClass] = list;
  }
}
