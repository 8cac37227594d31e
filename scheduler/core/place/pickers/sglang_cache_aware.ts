// sglang-cache-aware: SGLang model gateway's `cache_aware` policy (sgl-model-gateway/src/policies/cache_aware.rs),
// anchors-mission §2.3 [S1][S2][S3]:
//   load(w)    = router-tracked in-flight requests (InstanceView.inFlightRequests)
//   imbalanced = (max_load − min_load) > balance_abs_threshold  AND  max_load > balance_rel_threshold · min_load
//   imbalanced → argmin load (the request still goes into the chosen worker's tree)
//   else       → (matched, w*) = tree.prefix_match(request); match_rate = matched / request length
//                w* if match_rate > cache_threshold, else argmin load
// argmin takes the first minimum in candidate order (Rust's min_by_key). The tree is the router's own history of
// where it sent prompts, not the engines' caches. SMG keeps a character radix tree per model; this keeps the
// same information by block hashes (chained, so one hash names a whole prefix: a tree node = a hash), in a
// table hash → (worker, last access). match_rate = matched blocks · blockTokens / promptTokens (SMG: characters).
// Among workers tied for the longest match SMG takes an arbitrary tenant of the deepest node; here ctx.rng.
// Eviction as SMG's background thread: every evictionIntervalS, each worker's least recently used entries beyond
// maxTreeBlocks go (driven by ctx.nowS, so replays are exact).
// Defaults are the CLI's (and docs'): cache_threshold 0.3, balance_abs_threshold 64, balance_rel_threshold 1.5,
// eviction interval 120 s, max_tree_size 2^26 characters ≈ 2^26 / 4 chars per token / 16 tokens per block =
// 1,048,576 blocks. The library's CacheAwareConfig::default() differs: 0.5, 32, 1.1, 30 s, 10,000.
import { onlyKeys, readNumber, type Params } from '../../config/params.js';
import type { InstanceView, PlacementContext, PlacementPicker } from '../../types.js';
import { HolderTable } from '../../kvindex/holder_table.js';

const NONE = -1;
const UNSEEN = -10;

export interface SglangParams {
  cacheThreshold: number;
  balanceAbsThreshold: number;
  balanceRelThreshold: number;
  evictionIntervalS: number;
  maxTreeBlocks: number;
}

export function readSglangParams(params: Params, path: string): SglangParams {
  onlyKeys(params, path, ['cacheThreshold', 'balanceAbsThreshold', 'balanceRelThreshold', 'evictionIntervalS', 'maxTreeBlocks']);
  return {
    cacheThreshold: readNumber(params, 'cacheThreshold', path, 0.3, { min: 0, max: 1 }),
    balanceAbsThreshold: readNumber(params, 'balanceAbsThreshold', path, 64, { min: 0 }),
    balanceRelThreshold: readNumber(params, 'balanceRelThreshold', path, 1.5, { min: 0 }),
    evictionIntervalS: readNumber(params, 'evictionIntervalS', path, 120, { min: 0 }),
    maxTreeBlocks: readNumber(params, 'maxTreeBlocks', path, 1_048_576, { min: 1, integer: true }),
  };
}

/** The router-side approximate tree: where this router sent which prefixes. */
export class RoutingTree {
  private readonly table = new HolderTable();
  private readonly slots = new Map<string, number>();
  private readonly counts: number[] = [];
  private candStamp = new Int32Array(0);
  private candIndex = new Int32Array(0);
  private posStamp = new Int32Array(0);
  private cur: number[] = [];
  private prev: number[] = [];
  private tick = 0;

  slotOf(instanceId: string): number {
    let slot = this.slots.get(instanceId);
    if (slot === undefined) {
      slot = this.counts.length;
      this.slots.set(instanceId, slot);
      this.counts.push(0);
    }
    return slot;
  }

  blocksOf(instanceId: string): number {
    const slot = this.slots.get(instanceId);
    return slot === undefined ? 0 : (this.counts[slot] as number);
  }

  /** Records that this router sent `hashes` to the instance at nowS (whole seconds: LRU order is all we need). */
  insert(hashes: readonly bigint[], instanceId: string, nowS: number): void {
    const slot = this.slotOf(instanceId);
    const second = Math.floor(nowS);
    for (const h of hashes) if (this.table.set(h, slot, second)) this.counts[slot] = (this.counts[slot] as number) + 1;
  }

  /**
   * Longest leading run of `hashes` this router sent to one of the candidates. Returns the run length in blocks
   * and writes the candidate's index to `winner[0]` (-1 when nothing matches).
   */
  longestMatch(ctx: PlacementContext, hashes: readonly bigint[], candidates: readonly InstanceView[], winner: Int32Array): number {
    this.prepare(candidates.length);
    const base = this.tick;
    for (let i = 0; i < candidates.length; i++) {
      const slot = this.slotOf((candidates[i] as InstanceView).instanceId);
      this.ensure(this.counts.length);
      this.candStamp[slot] = base;
      this.candIndex[slot] = i;
    }
    let matched = 0;
    this.prev.length = 0;
    for (let i = 0; i < hashes.length; i++) {
      const t = base + i;
      this.cur.length = 0;
      const list = this.table.list(hashes[i] as bigint);
      const count = list === NONE ? 0 : this.table.countOf(list);
      for (let k = 0; k < count; k++) {
        const slot = this.table.holderAt(list, k);
        if (this.candStamp[slot] !== base) continue;
        if (i > 0 && this.posStamp[slot] !== t - 1) continue;
        this.posStamp[slot] = t;
        this.cur.push(slot);
      }
      if (this.cur.length === 0) break;
      matched = i + 1;
      const swap = this.prev;
      this.prev = this.cur;
      this.cur = swap;
    }
    this.tick = base + hashes.length + 2;
    if (matched === 0) {
      winner[0] = NONE;
      return 0;
    }
    const pick = this.prev.length === 1 ? 0 : Math.floor(ctx.rng.next() * this.prev.length);
    winner[0] = this.candIndex[this.prev[pick] as number] as number;
    return matched;
  }

  /** Drops each worker's least recently used entries beyond maxBlocks. */
  evict(maxBlocks: number): void {
    const over = new Map<number, Array<[bigint, number]>>();
    this.counts.forEach((count, slot) => {
      if (count > maxBlocks) over.set(slot, []);
    });
    if (over.size === 0) return;
    this.table.forEach((hash, slot, lastS) => over.get(slot)?.push([hash, lastS]));
    for (const [slot, entries] of over) {
      entries.sort((a, b) => a[1] - b[1]);
      const drop = entries.length - maxBlocks;
      for (let k = 0; k < drop; k++) this.table.remove((entries[k] as [bigint, number])[0], slot);
      this.counts[slot] = (this.counts[slot] as number) - drop;
    }
  }

  private prepare(n: number): void {
    this.ensure(this.counts.length + n);
    if (this.tick > 1 << 30) {
      this.candStamp.fill(UNSEEN);
      this.posStamp.fill(UNSEEN);
      this.tick = 0;
    }
  }

  private ensure(capacity: number): void {
    if (this.candStamp.length >= capacity) return;
    const grow = (a: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> => {
      const next = new Int32Array(capacity * 2).fill(UNSEEN);
      next.set(a);
      return next;
    };
    this.candStamp = grow(this.candStamp);
    this.candIndex = grow(this.candIndex);
    this.posStamp = grow(this.posStamp);
  }
}

export function makeSglangCacheAwarePicker(params: Params, path: string): PlacementPicker & { readonly tree: RoutingTree } {
  const p = readSglangParams(params, path);
  const tree = new RoutingTree();
  const winner = new Int32Array(1);
  let lastEvictionS = Number.NaN;
  return {
    name: 'sglang-cache-aware',
    tree,
    pick: (ctx, candidates) => {
      if (Number.isNaN(lastEvictionS)) lastEvictionS = ctx.nowS;
      if (p.evictionIntervalS > 0 && ctx.nowS - lastEvictionS >= p.evictionIntervalS) {
        tree.evict(p.maxTreeBlocks);
        lastEvictionS = ctx.nowS;
      }
      let minLoad = Infinity;
      let maxLoad = -Infinity;
      let minIdx = 0;
      for (let i = 0; i < candidates.length; i++) {
        const load = (candidates[i] as InstanceView).inFlightRequests;
        if (load < minLoad) {
          minLoad = load;
          minIdx = i;
        }
        if (load > maxLoad) maxLoad = load;
      }
      const imbalanced = maxLoad - minLoad > p.balanceAbsThreshold && maxLoad > p.balanceRelThreshold * minLoad;
      let chosen = minIdx;
      if (!imbalanced) {
        const hashes = ctx.req.blockHashes;
        const matched = tree.longestMatch(ctx, hashes, candidates, winner);
        const rate = ctx.req.promptTokens > 0 ? Math.min(1, (matched * ctx.blockTokens) / ctx.req.promptTokens) : 0;
        if (rate > p.cacheThreshold && winner[0] !== NONE) chosen = winner[0] as number;
      }
      tree.insert(ctx.req.blockHashes, (candidates[chosen] as InstanceView).instanceId, ctx.nowS);
      return chosen;
    },
  };
}
