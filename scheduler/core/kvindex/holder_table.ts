// Block hash → the holders that have it, each with a number (a reference count in the KV index, a last-access
// time in the SGLang-style routing tree). Holders are small ints chosen by the user of the table.
//
// Layout: a U64Map from hash to the head of a singly linked list of nodes kept in typed arrays, with a free
// list. A hash is usually held by a handful of holders, so walking its list is cheaper than any set structure.
import { U64Map } from './u64_map.js';

const NONE = -1;

export class HolderTable {
  private readonly heads = new U64Map(1024);
  /** Per node: [holder, next] side by side (a walk reads both); values apart (only updates read them). */
  private links = new Int32Array(2048);
  private value = new Float64Array(1024);
  private freeHead = NONE;
  private used = 0;

  /** Distinct hashes with at least one holder. */
  get size(): number {
    return this.heads.size;
  }

  /** First node of `hash`'s holder list, or -1. Iterate with nextNode(); read with holderOf()/valueOf(). */
  firstNode(hash: bigint): number {
    const slot = this.heads.find(hash);
    return slot < 0 ? NONE : this.heads.valueAt(slot);
  }

  /**
   * firstNode() for hashes[from..to) into out[0..to-from), batched so that cold cache misses overlap (the index
   * walk's hot path): hash slots first, then each first node's line touched before anyone walks it.
   */
  firstNodes(hashes: ArrayLike<bigint>, from: number, to: number, out: Int32Array): void {
    this.heads.findMany(hashes, from, to, out);
    const links = this.links;
    let touched = 0;
    for (let k = 0; k < to - from; k++) {
      const slot = out[k] as number;
      const node = slot < 0 ? NONE : this.heads.valueAt(slot);
      out[k] = node;
      if (node !== NONE) touched += links[node * 2] as number;
    }
    this.touched = touched;
  }

  /** Keeps the touch pass observable so it is not optimised away. */
  touched = 0;

  nextNode(node: number): number {
    return this.links[node * 2 + 1] as number;
  }

  holderOf(node: number): number {
    return this.links[node * 2] as number;
  }

  valueOf(node: number): number {
    return this.value[node] as number;
  }

  setValueOf(node: number, value: number): void {
    this.value[node] = value;
  }

  /** The node of (hash, holder), or -1. */
  findNode(hash: bigint, holder: number): number {
    for (let node = this.firstNode(hash); node !== NONE; node = this.links[node * 2 + 1] as number) {
      if (this.links[node * 2] === holder) return node;
    }
    return NONE;
  }

  /** Adds `delta` to (hash, holder), creating it at 0 first; removes it when the result is ≤ 0. Returns the result. */
  add(hash: bigint, holder: number, delta: number): number {
    const node = this.findNode(hash, holder);
    if (node === NONE) {
      if (delta <= 0) return 0;
      this.insert(hash, holder, delta);
      return delta;
    }
    const result = (this.value[node] as number) + delta;
    if (result <= 0) this.remove(hash, holder);
    else this.value[node] = result;
    return result;
  }

  /** Sets (hash, holder) to `value`; returns true when the pair is new. */
  set(hash: bigint, holder: number, value: number): boolean {
    const node = this.findNode(hash, holder);
    if (node !== NONE) {
      this.value[node] = value;
      return false;
    }
    this.insert(hash, holder, value);
    return true;
  }

  /** Removes (hash, holder); returns whether it was there. */
  remove(hash: bigint, holder: number): boolean {
    const slot = this.heads.find(hash);
    if (slot < 0) return false;
    let prev = NONE;
    for (let node = this.heads.valueAt(slot); node !== NONE; prev = node, node = this.links[node * 2 + 1] as number) {
      if (this.links[node * 2] !== holder) continue;
      const after = this.links[node * 2 + 1] as number;
      if (prev === NONE) {
        if (after === NONE) this.heads.deleteAt(slot);
        else this.heads.setValueAt(slot, after);
      } else {
        this.links[prev * 2 + 1] = after;
      }
      this.release(node);
      return true;
    }
    return false;
  }

  /** Calls fn(hash, holder, value) for every pair (allocates bigints: for rare maintenance such as eviction). */
  forEach(fn: (hash: bigint, holder: number, value: number) => void): void {
    const pairs: Array<[bigint, number, number]> = [];
    this.heads.forEachSlot((slot) => {
      const hash = this.heads.keyAt(slot);
      for (let node = this.heads.valueAt(slot); node !== NONE; node = this.links[node * 2 + 1] as number) {
        pairs.push([hash, this.links[node * 2] as number, this.value[node] as number]);
      }
    });
    for (const [hash, holder, value] of pairs) fn(hash, holder, value);
  }

  private insert(hash: bigint, holder: number, value: number): void {
    const node = this.allocate();
    this.links[node * 2] = holder;
    this.links[node * 2 + 1] = this.firstNode(hash);
    this.value[node] = value;
    this.heads.set(hash, node);
  }

  private allocate(): number {
    if (this.freeHead !== NONE) {
      const node = this.freeHead;
      this.freeHead = this.links[node * 2 + 1] as number;
      return node;
    }
    if (this.used === this.value.length) this.grow();
    return this.used++;
  }

  private release(node: number): void {
    this.links[node * 2 + 1] = this.freeHead;
    this.freeHead = node;
  }

  private grow(): void {
    const capacity = this.value.length * 2;
    const links = new Int32Array(capacity * 2);
    const value = new Float64Array(capacity);
    links.set(this.links);
    value.set(this.value);
    this.links = links;
    this.value = value;
  }
}
