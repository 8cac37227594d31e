// Block hash → the holders that have it, each with a number (a reference count in the KV index, a last-access
// time in the SGLang-style routing tree). Holders are small ints chosen by the user of the table.
//
// Layout: a U64Map from hash to the head of a singly linked list of nodes kept in typed arrays, with a free
// list. A hash is usually held by a handful of holders, so walking its list is cheaper than any set structure.
import { U64Map } from './u64_map.js';

const NONE = -1;

export class HolderTable {
  private readonly heads = new U64Map(1024);
  private holder = new Int32Array(1024);
  private value = new Float64Array(1024);
  private next = new Int32Array(1024);
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

  nextNode(node: number): number {
    return this.next[node] as number;
  }

  holderOf(node: number): number {
    return this.holder[node] as number;
  }

  valueOf(node: number): number {
    return this.value[node] as number;
  }

  setValueOf(node: number, value: number): void {
    this.value[node] = value;
  }

  /** The node of (hash, holder), or -1. */
  findNode(hash: bigint, holder: number): number {
    for (let node = this.firstNode(hash); node !== NONE; node = this.next[node] as number) {
      if (this.holder[node] === holder) return node;
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
    for (let node = this.heads.valueAt(slot); node !== NONE; prev = node, node = this.next[node] as number) {
      if (this.holder[node] !== holder) continue;
      const after = this.next[node] as number;
      if (prev === NONE) {
        if (after === NONE) this.heads.deleteAt(slot);
        else this.heads.setValueAt(slot, after);
      } else {
        this.next[prev] = after;
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
      for (let node = this.heads.valueAt(slot); node !== NONE; node = this.next[node] as number) {
        pairs.push([hash, this.holder[node] as number, this.value[node] as number]);
      }
    });
    for (const [hash, holder, value] of pairs) fn(hash, holder, value);
  }

  private insert(hash: bigint, holder: number, value: number): void {
    const node = this.allocate();
    this.holder[node] = holder;
    this.value[node] = value;
    const head = this.firstNode(hash);
    this.next[node] = head;
    this.heads.set(hash, node);
  }

  private allocate(): number {
    if (this.freeHead !== NONE) {
      const node = this.freeHead;
      this.freeHead = this.next[node] as number;
      return node;
    }
    if (this.used === this.holder.length) this.grow();
    return this.used++;
  }

  private release(node: number): void {
    this.next[node] = this.freeHead;
    this.freeHead = node;
  }

  private grow(): void {
    const capacity = this.holder.length * 2;
    const holder = new Int32Array(capacity);
    const value = new Float64Array(capacity);
    const next = new Int32Array(capacity);
    holder.set(this.holder);
    value.set(this.value);
    next.set(this.next);
    this.holder = holder;
    this.value = value;
    this.next = next;
  }
}
