// One location's pool of blocks (native/SPEC.md §2): per-block refCount / pinCount / hash, the free stack, the LRU
// list of evictable blocks and the hash → block map. Invariants: a block is in exactly one of {free stack, LRU,
// used}; free blocks are unhashed; LRU blocks are hashed with refCount == 0 && pinCount == 0; used blocks have
// refCount ≥ 1 or pinCount ≥ 1. So usedBlocks + cachedBlocks + freeBlocks = totalBlocks without counting.
// Per-block arrays grow on demand (block numbers below `untouched` only); `!` marks reads of those indices.
import { kvError } from '../errors.js';
import type { Location } from '../types.js';
import type { EventLog } from './events.js';
import { LruList } from './lru.js';

export class BlockPool {
  readonly byHash = new Map<bigint, number>();
  /** Real block memory in 'bytes' mode: block b is bytes [b * blockBytes, (b + 1) * blockBytes). */
  readonly data: Uint8Array | undefined;
  hits = 0;
  misses = 0;
  evictions = 0;
  pinnedBlocks = 0;

  private readonly lru = new LruList();
  private refs = new Int32Array(0);
  private pins = new Int32Array(0);
  private hashes = new BigUint64Array(0);
  private hashed = new Uint8Array(0);
  // The free stack is `returned` (top, LIFO) above the never-used blocks [untouched, totalBlocks), which pop in
  // ascending order: exactly a stack initialised to pop 0, 1, 2, … with released blocks pushed on top.
  private untouched = 0;
  private readonly returned: number[] = [];

  constructor(
    readonly location: Location,
    readonly totalBlocks: number,
    private readonly events: EventLog,
    blockBytes?: number,
  ) {
    this.data = blockBytes === undefined ? undefined : new Uint8Array(totalBlocks * blockBytes);
  }

  get freeBlocks(): number {
    return this.returned.length + this.totalBlocks - this.untouched;
  }

  get cachedBlocks(): number {
    return this.lru.size;
  }

  get usedBlocks(): number {
    return this.totalBlocks - this.freeBlocks - this.cachedBlocks;
  }

  refCount(block: number): number {
    return this.refs[block]!;
  }

  pinCount(block: number): number {
    return this.pins[block]!;
  }

  isCached(block: number): boolean {
    return this.lru.has(block);
  }

  /** Blocks a call may take after acquiring `acquired`: acquired blocks leave the LRU, so they cannot be evicted. */
  available(acquired: readonly number[]): number {
    let seen: Set<number> | undefined;
    for (const block of acquired) {
      if (!this.lru.has(block)) continue;
      seen ??= new Set();
      seen.add(block);
    }
    return this.freeBlocks + this.lru.size - (seen?.size ?? 0);
  }

  /** Reuses a cached or shared block. */
  acquire(block: number): void {
    if (this.lru.has(block)) this.lru.remove(block);
    this.refs[block]!++;
  }

  /** A block for new content: the free stack first, else the LRU end's block, evicted. Callers check capacity. */
  take(): number {
    let block = this.returned.pop();
    if (block === undefined && this.untouched < this.totalBlocks) block = this.touchNext();
    if (block === undefined) block = this.evict();
    this.refs[block] = 1;
    return block;
  }

  /** Caches `hash` on a block; a hash already resident here keeps its block and this one stays unhashed. */
  register(block: number, hash: bigint, parentHash: bigint): void {
    if (this.byHash.has(hash)) return;
    this.byHash.set(hash, block);
    this.hashes[block] = hash;
    this.hashed[block] = 1;
    this.events.stored(this.location, hash, parentHash);
  }

  release(block: number): void {
    const refs = --this.refs[block]!;
    if (refs === 0 && this.pins[block] === 0) this.park(block);
  }

  pin(block: number): void {
    if (this.lru.has(block)) this.lru.remove(block);
    if (this.pins[block]!++ === 0) this.pinnedBlocks++;
  }

  unpin(block: number): void {
    const pins = --this.pins[block]!;
    if (pins > 0) return;
    this.pinnedBlocks--;
    if (this.refs[block] === 0) this.park(block);
  }

  /** Every resident hash, ascending. */
  sortedHashes(): BigUint64Array {
    return BigUint64Array.from(this.byHash.keys()).sort();
  }

  /** Blocks from the LRU end to the MRU end (tests). */
  lruOrder(): number[] {
    return this.lru.toArray();
  }

  // A block nobody holds: hashed content stays cached (evictable), anything else is free.
  private park(block: number): void {
    if (this.hashed[block] === 1) this.lru.append(block);
    else this.returned.push(block);
  }

  private evict(): number {
    const block = this.lru.popLru();
    if (block < 0) throw kvError('E_INTERNAL', `pool ${this.location.tier}[${this.location.index}] has no block to take`);
    const hash = this.hashes[block]!;
    this.byHash.delete(hash);
    this.hashed[block] = 0;
    this.evictions++;
    this.events.removed(this.location, hash);
    return block;
  }

  private touchNext(): number {
    const block = this.untouched++;
    if (block >= this.refs.length) this.grow(Math.min(this.totalBlocks, Math.max(64, this.refs.length * 2)));
    return block;
  }

  private grow(capacity: number): void {
    const refs = new Int32Array(capacity);
    const pins = new Int32Array(capacity);
    const hashes = new BigUint64Array(capacity);
    const hashed = new Uint8Array(capacity);
    refs.set(this.refs);
    pins.set(this.pins);
    hashes.set(this.hashes);
    hashed.set(this.hashed);
    this.refs = refs;
    this.pins = pins;
    this.hashes = hashes;
    this.hashed = hashed;
    this.lru.grow(capacity);
  }
}
