// The evictable blocks of one pool, as a doubly linked list over Int32Arrays: O(1) append at the MRU end, removal
// from anywhere (a cached block being reused or pinned) and eviction from the LRU end (native/SPEC.md §2).
// Arrays grow on demand: a pool may have millions of blocks that are never touched.
const NONE = -1;

export class LruList {
  private prev = new Int32Array(0);
  private next = new Int32Array(0);
  private member = new Uint8Array(0);
  /** LRU end: the next block evicted. */
  private head = NONE;
  /** MRU end: where released blocks are appended. */
  private tail = NONE;
  size = 0;

  /** Makes room for block numbers < capacity. */
  grow(capacity: number): void {
    if (capacity <= this.member.length) return;
    const prev = new Int32Array(capacity);
    const next = new Int32Array(capacity);
    const member = new Uint8Array(capacity);
    prev.set(this.prev);
    next.set(this.next);
    member.set(this.member);
    this.prev = prev;
    this.next = next;
    this.member = member;
  }

  has(block: number): boolean {
    return this.member[block] === 1;
  }

  append(block: number): void {
    this.member[block] = 1;
    this.prev[block] = this.tail;
    this.next[block] = NONE;
    if (this.tail === NONE) this.head = block;
    else this.next[this.tail] = block;
    this.tail = block;
    this.size++;
  }

  remove(block: number): void {
    const before = this.prev[block]!;
    const after = this.next[block]!;
    if (before === NONE) this.head = after;
    else this.next[before] = after;
    if (after === NONE) this.tail = before;
    else this.prev[after] = before;
    this.member[block] = 0;
    this.size--;
  }

  /** Removes and returns the least recently used block, or -1 when the list is empty. */
  popLru(): number {
    const block = this.head;
    if (block !== NONE) this.remove(block);
    return block;
  }

  /** Blocks from the LRU end to the MRU end (tests and debugging). */
  toArray(): number[] {
    const out: number[] = [];
    for (let b = this.head; b !== NONE; b = this.next[b]!) out.push(b);
    return out;
  }
}
