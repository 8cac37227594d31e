// Binds one request's prefix hits to PlacementContext.prefix(instance): the index is walked once for all candidates
// (prepare), then every filter and scorer reads its candidate's hit in O(1).
//
// Finding a candidate's position: filters keep order, so the instances a scorer asks about are a subsequence of
// the prepared candidates, asked in order. A cursor that scans forward (wrapping) from the last answer therefore
// finds each in one or two steps, by object identity, with no string hashing; an instance that is not among the
// prepared candidates falls back to the index by id.
import type { InstanceView, PrefixHit } from '../types.js';
import type { KvIndex } from './kv_index.js';
import { makePrefixColumns, type PrefixColumns } from './prefix_walk.js';

export class PrefixLookup {
  private columns: PrefixColumns = makePrefixColumns(64);
  private hits: PrefixHit[] = [];
  private candidates: readonly InstanceView[] = [];
  private slots = new Int32Array(64);
  private slotViews: Array<InstanceView | undefined> = [];
  private slotIds: Array<string | undefined> = [];
  private slotsVersion = -1;
  private hashes: ArrayLike<bigint> = [];
  private cursor = 0;
  /** ctx.prefix, bound once (hand it to PlacementContext as is). */
  readonly prefix = (instance: InstanceView): PrefixHit => this.lookup(instance);

  constructor(private readonly index: KvIndex) {}

  /**
   * Walks the index for these candidates. The PrefixHit objects handed out are reused by the next prepare():
   * copy one to keep it (the placement pipeline copies the chosen instance's).
   */
  prepare(hashes: ArrayLike<bigint>, candidates: readonly InstanceView[]): this {
    const n = candidates.length;
    if (this.columns.deviceBlocks.length < n) this.columns = makePrefixColumns(n * 2);
    while (this.hits.length < n) this.hits.push({ deviceBlocks: 0, hostBlocks: 0, neighbourBlocks: 0 });
    this.resolveSlots(candidates);
    this.index.prefixHitsBySlot(hashes, this.slots, n, this.columns);
    for (let c = 0; c < n; c++) {
      const hit = this.hits[c] as PrefixHit;
      hit.deviceBlocks = this.columns.deviceBlocks[c] as number;
      hit.hostBlocks = this.columns.hostBlocks[c] as number;
      hit.neighbourBlocks = this.columns.neighbourBlocks[c] as number;
      hit.neighbourInstanceId = this.index.instanceIdAt(this.columns.neighbourSlot[c] as number);
    }
    this.candidates = candidates;
    this.hashes = hashes;
    this.cursor = 0;
    return this;
  }

  /** Instance slots by candidate position, kept while the same view objects come back and the topology holds. */
  private resolveSlots(candidates: readonly InstanceView[]): void {
    const n = candidates.length;
    if (this.slots.length < n) {
      const grown = new Int32Array(n * 2);
      grown.set(this.slots);
      this.slots = grown;
    }
    const version = this.index.topologyVersion;
    const reuse = version === this.slotsVersion;
    for (let c = 0; c < n; c++) {
      const inst = candidates[c] as InstanceView;
      if (reuse && this.slotViews[c] === inst && this.slotIds[c] === inst.instanceId) continue;
      this.slots[c] = this.index.instanceSlot(inst.instanceId);
      this.slotViews[c] = inst;
      this.slotIds[c] = inst.instanceId;
    }
    this.slotsVersion = version;
  }

  private lookup(instance: InstanceView): PrefixHit {
    const cands = this.candidates;
    const n = cands.length;
    for (let step = 0, pos = this.cursor; step < n; step++) {
      if (cands[pos] === instance) {
        this.cursor = pos + 1 < n ? pos + 1 : 0;
        return this.hits[pos] as PrefixHit;
      }
      pos = pos + 1 < n ? pos + 1 : 0;
    }
    return this.index.prefixHit(this.hashes, instance.instanceId);
  }
}
