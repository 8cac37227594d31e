// The gateway's view of where KV blocks are cached, fed by worker KV events (scheduler/kv/types.ts).
//
// Each worker (compute tray) sends an ordered log: stored/removed/moved events with an eventId that increases by
// exactly 1. The index keeps, per worker, the hashes present at each of its locations (a GPU's HBM, its host tier)
// — the ground truth — and derives from them one table hash → holders, where a holder is an instance (any of its
// GPUs has the block on device) or a worker's host tier. A gap in a worker's log means we no longer know what it
// holds: the worker is marked stale, its entries are dropped (it contributes no hits: we do not guess), and a
// snapshot is requested. Events arriving while stale are buffered and replayed on top of the snapshot.
import { packEvents } from '../../kv/event_batch.js';
import type { KvEvent, KvEventBatch, KvSnapshot } from '../../kv/types.js';
import type { PrefixHit } from '../types.js';
import { HolderTable } from './holder_table.js';
import { makePrefixColumns, PrefixWalker, type PrefixColumns } from './prefix_walk.js';
import { Topology } from './topology.js';
import { U64Map } from './u64_map.js';

/** One worker's share of an instance: the worker's id and the GPUs as that worker's events index them. */
export interface KvIndexMember {
  workerId: string;
  gpus: readonly number[];
}

export interface ApplyResult {
  /** Events that changed or confirmed the index. */
  applied: number;
  /** Events at or below the worker's last applied id (already covered, e.g. by a snapshot). */
  skipped: number;
  /** The worker is stale: send it a snapshot request (see needsResync()). */
  resyncNeeded: boolean;
}

export interface KvIndexOptions {
  /** Events kept per stale worker while its snapshot is awaited (oldest batches go first). Default 262,144. */
  maxBufferedEvents?: number;
}

export interface KvIndexStats {
  instances: number;
  workers: number;
  staleWorkers: number;
  /** Distinct block hashes with at least one holder. */
  indexedHashes: number;
}

const TIER_DEVICE = 0;
const TIER_HOST = 1;
const KIND_STORED = 0;
const KIND_REMOVED = 1;
const KIND_MOVED = 2;

interface WorkerState {
  readonly slot: number;
  lastEventId: number;
  stale: boolean;
  buffered: KvEventBatch[];
  bufferedEvents: number;
  /** Location code (device: gpu ≥ 0; host: -1 - index) → hashes present there. */
  readonly locations: Map<number, U64Map>;
  /** GPU (as this worker numbers it) → instance slot. */
  readonly gpuOwner: Map<number, number>;
}

function hostHolder(workerSlot: number): number {
  return -1 - workerSlot;
}

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

export class KvIndex {
  private readonly table = new HolderTable();
  private readonly topo = new Topology();
  private readonly walker: PrefixWalker;
  private readonly workers = new Map<string, WorkerState>();
  private readonly maxBufferedEvents: number;
  private slotsScratch = new Int32Array(64);
  private version = 0;
  private columns = makePrefixColumns(64);

  constructor(options: KvIndexOptions = {}) {
    this.maxBufferedEvents = options.maxBufferedEvents ?? 262_144;
    this.walker = new PrefixWalker(this.table, this.topo);
  }

  // ------------------------------------------------------------------ instances

  /**
   * Registers (or re-registers) an instance: its NVLink domain and its GPUs per worker. Blocks the workers already
   * reported on those GPUs count for the instance at once. Throws RangeError naming the bad field.
   */
  registerInstance(instanceId: string, domainId: string, members: readonly KvIndexMember[]): void {
    this.validateRegistration(instanceId, domainId, members);
    this.unregisterInstance(instanceId);
    const workerSlots: number[] = [];
    for (const m of members) {
      const w = this.worker(m.workerId);
      if (!workerSlots.includes(w.slot)) workerSlots.push(w.slot);
    }
    const slot = this.topo.addInstance(instanceId, domainId, workerSlots);
    this.version++;
    for (const m of members) {
      const w = this.worker(m.workerId);
      for (const gpu of m.gpus) {
        w.gpuOwner.set(gpu, slot);
        this.adjustLocation(w.locations.get(gpu), slot, +1);
      }
    }
  }

  /** Forgets an instance; its workers' blocks stay known (a later registration picks them up). */
  unregisterInstance(instanceId: string): boolean {
    const slot = this.topo.instanceSlot(instanceId);
    if (slot < 0) return false;
    for (const w of this.workers.values()) {
      for (const [gpu, owner] of w.gpuOwner) {
        if (owner !== slot) continue;
        this.adjustLocation(w.locations.get(gpu), slot, -1);
        w.gpuOwner.delete(gpu);
      }
    }
    this.topo.removeInstance(slot);
    this.version++;
    return true;
  }

  // ------------------------------------------------------------------ events

  /** Applies a worker's batch in order. A gap makes the worker stale (see ApplyResult.resyncNeeded). */
  applyBatch(workerId: string, batch: KvEventBatch): ApplyResult {
    const w = this.worker(workerId);
    const result: ApplyResult = { applied: 0, skipped: 0, resyncNeeded: false };
    if (w.stale) {
      this.buffer(w, batch, 0);
      result.resyncNeeded = true;
      return result;
    }
    for (let i = 0; i < batch.count; i++) {
      const eventId = batch.eventIds[i] as number;
      if (eventId <= w.lastEventId) {
        result.skipped++;
        continue;
      }
      if (eventId !== w.lastEventId + 1) {
        this.markStale(workerId);
        this.buffer(w, batch, i);
        result.resyncNeeded = true;
        return result;
      }
      this.applyOne(w, batch, i);
      w.lastEventId = eventId;
      result.applied++;
    }
    return result;
  }

  /** applyBatch for events as objects (tests, the reference KV manager). */
  applyEvents(workerId: string, events: readonly KvEvent[]): ApplyResult {
    return this.applyBatch(workerId, packEvents(events as KvEvent[]));
  }

  /**
   * Rebuilds a worker from its snapshot, then replays the events buffered while it was stale (those with ids above
   * snapshot.lastEventId). Returns what the replay did; resyncNeeded is true if the replay met a gap again.
   */
  applySnapshot(workerId: string, snapshot: KvSnapshot): ApplyResult {
    const w = this.worker(workerId);
    this.dropEntries(w);
    for (const { location, hashes } of snapshot.locations) {
      const tier = location.tier === 'device' ? TIER_DEVICE : location.tier === 'host' ? TIER_HOST : -1;
      if (tier < 0) continue;
      for (let i = 0; i < hashes.length; i++) this.store(w, tier, location.index, hashes[i] as bigint);
    }
    w.lastEventId = snapshot.lastEventId;
    w.stale = false;
    const pending = w.buffered;
    w.buffered = [];
    w.bufferedEvents = 0;
    const total: ApplyResult = { applied: 0, skipped: 0, resyncNeeded: false };
    for (const batch of pending) {
      const r = this.applyBatch(workerId, batch);
      total.applied += r.applied;
      total.skipped += r.skipped;
    }
    total.resyncNeeded = w.stale;
    return total;
  }

  /** Drops what the worker reported and waits for a snapshot (e.g. its event stream broke). */
  markStale(workerId: string): void {
    const w = this.worker(workerId);
    this.dropEntries(w);
    w.stale = true;
  }

  /** The worker restarted with an empty cache: forget its blocks and expect eventId 1 next. */
  resetWorker(workerId: string): void {
    const w = this.worker(workerId);
    this.dropEntries(w);
    w.stale = false;
    w.lastEventId = 0;
    w.buffered = [];
    w.bufferedEvents = 0;
  }

  /** Workers waiting for a snapshot, in the order they were first seen. */
  needsResync(): string[] {
    const out: string[] = [];
    for (const [id, w] of this.workers) if (w.stale) out.push(id);
    return out;
  }

  isStale(workerId: string): boolean {
    return this.workers.get(workerId)?.stale ?? false;
  }

  lastEventId(workerId: string): number {
    return this.workers.get(workerId)?.lastEventId ?? 0;
  }

  // ------------------------------------------------------------------ queries

  /**
   * Prefix hits of one request for many instances with one walk over its hashes: out columns [0, instanceIds.length).
   * Unknown instance ids get zeros. out.neighbourSlot names instances through instanceIdAt().
   */
  prefixHits(hashes: ArrayLike<bigint>, instanceIds: readonly string[], out: PrefixColumns): void {
    const n = instanceIds.length;
    if (this.slotsScratch.length < n) this.slotsScratch = new Int32Array(n * 2);
    for (let c = 0; c < n; c++) this.slotsScratch[c] = this.topo.instanceSlot(instanceIds[c] as string);
    this.walker.walk(hashes, this.slotsScratch, n, out);
  }

  /** prefixHits by instance slots (see instanceSlot()): the allocation-free path for callers that keep slots. */
  prefixHitsBySlot(hashes: ArrayLike<bigint>, slots: ArrayLike<number>, count: number, out: PrefixColumns): void {
    this.walker.walk(hashes, slots, count, out);
  }

  /** The hit for one instance (convenience; a placement decision uses prefixHits for all candidates at once). */
  prefixHit(hashes: ArrayLike<bigint>, instanceId: string): PrefixHit {
    this.prefixHits(hashes, [instanceId], this.columns);
    const c = this.columns;
    const hit: PrefixHit = {
      deviceBlocks: c.deviceBlocks[0] as number,
      hostBlocks: c.hostBlocks[0] as number,
      neighbourBlocks: c.neighbourBlocks[0] as number,
    };
    const neighbour = this.instanceIdAt(c.neighbourSlot[0] as number);
    if (neighbour !== undefined) hit.neighbourInstanceId = neighbour;
    return hit;
  }

  instanceSlot(instanceId: string): number {
    return this.topo.instanceSlot(instanceId);
  }

  /** Changes whenever an instance is registered or unregistered: slots cached by a caller are valid while it holds. */
  get topologyVersion(): number {
    return this.version;
  }

  instanceIdAt(slot: number): string | undefined {
    return slot >= 0 ? this.topo.instIds[slot] : undefined;
  }

  stats(): KvIndexStats {
    let stale = 0;
    for (const w of this.workers.values()) if (w.stale) stale++;
    return { instances: this.topo.instanceCount, workers: this.workers.size, staleWorkers: stale, indexedHashes: this.table.size };
  }

  // ------------------------------------------------------------------ internals

  private worker(workerId: string): WorkerState {
    let w = this.workers.get(workerId);
    if (!w) {
      if (typeof workerId !== 'string' || workerId === '') throw new RangeError(`workerId must be a non-empty string, got ${describe(workerId)}`);
      w = {
        slot: this.topo.ensureWorker(workerId),
        lastEventId: 0,
        stale: false,
        buffered: [],
        bufferedEvents: 0,
        locations: new Map(),
        gpuOwner: new Map(),
      };
      this.workers.set(workerId, w);
    }
    return w;
  }

  private applyOne(w: WorkerState, batch: KvEventBatch, i: number): void {
    const kind = batch.kinds[i] as number;
    // A move's block changes arrive as stored/removed events before it (native/SPEC.md §6): nothing to do here.
    if (kind === KIND_MOVED) return;
    const tier = batch.tiers[i] as number;
    if (kind !== KIND_STORED && kind !== KIND_REMOVED) {
      throw new RangeError(`KV event batch: kinds[${i}] must be 0 (stored), 1 (removed) or 2 (moved), got ${kind}`);
    }
    // Disk-tier blocks are not a placement tier (PrefixHit has none): ignored.
    if (tier !== TIER_DEVICE && tier !== TIER_HOST) return;
    const index = batch.indexes[i] as number;
    const hash = batch.hashes[i] as bigint;
    if (kind === KIND_STORED) this.store(w, tier, index, hash);
    else this.remove(w, tier, index, hash);
  }

  private holderFor(w: WorkerState, code: number): number {
    return code >= 0 ? (w.gpuOwner.get(code) ?? Number.NaN) : hostHolder(w.slot);
  }

  private store(w: WorkerState, tier: number, index: number, hash: bigint): void {
    const code = tier === TIER_DEVICE ? index : -1 - index;
    let set = w.locations.get(code);
    if (!set) {
      set = new U64Map();
      w.locations.set(code, set);
    }
    if (set.has(hash)) return;
    set.set(hash, 1);
    const holder = this.holderFor(w, code);
    if (!Number.isNaN(holder)) this.table.add(hash, holder, 1);
  }

  private remove(w: WorkerState, tier: number, index: number, hash: bigint): void {
    const code = tier === TIER_DEVICE ? index : -1 - index;
    const set = w.locations.get(code);
    if (!set || !set.delete(hash)) return;
    const holder = this.holderFor(w, code);
    if (!Number.isNaN(holder)) this.table.add(hash, holder, -1);
  }

  /** Adds delta to `holder` for every hash present at one location (registration changes). */
  private adjustLocation(set: U64Map | undefined, holder: number, delta: number): void {
    set?.forEachSlot((slot) => this.table.add(set.keyAt(slot), holder, delta));
  }

  private dropEntries(w: WorkerState): void {
    for (const [code, set] of w.locations) {
      const holder = this.holderFor(w, code);
      if (!Number.isNaN(holder)) this.adjustLocation(set, holder, -1);
    }
    w.locations.clear();
  }

  /** Keeps a copy of batch[from..] for replay after the snapshot; the producer may reuse its arrays. */
  private buffer(w: WorkerState, batch: KvEventBatch, from: number): void {
    if (from >= batch.count) return;
    w.buffered.push(sliceBatch(batch, from));
    w.bufferedEvents += batch.count - from;
    while (w.bufferedEvents > this.maxBufferedEvents && w.buffered.length > 0) {
      // Dropping the oldest is safe: a hole it leaves shows up as a gap after the snapshot, which asks again.
      const dropped = w.buffered.shift() as KvEventBatch;
      w.bufferedEvents -= dropped.count;
    }
  }

  private validateRegistration(instanceId: string, domainId: string, members: readonly KvIndexMember[]): void {
    if (typeof instanceId !== 'string' || instanceId === '') throw new RangeError(`registerInstance: instanceId must be a non-empty string, got ${describe(instanceId)}`);
    if (typeof domainId !== 'string' || domainId === '') throw new RangeError(`registerInstance: domainId must be a non-empty string, got ${describe(domainId)}`);
    if (!Array.isArray(members) || members.length === 0) throw new RangeError(`registerInstance: members must be a non-empty array of {workerId, gpus}`);
    const seen = new Set<string>();
    members.forEach((m, k) => {
      const field = `registerInstance: members[${k}]`;
      if (typeof m?.workerId !== 'string' || m.workerId === '') throw new RangeError(`${field}.workerId must be a non-empty string, got ${describe(m?.workerId)}`);
      if (!Array.isArray(m.gpus) || m.gpus.length === 0) throw new RangeError(`${field}.gpus must be a non-empty array of GPU indexes`);
      m.gpus.forEach((gpu: number, g: number) => {
        if (!Number.isInteger(gpu) || gpu < 0) throw new RangeError(`${field}.gpus[${g}] must be an integer ≥ 0, got ${describe(gpu)}`);
        const key = `${m.workerId}/${gpu}`;
        if (seen.has(key)) throw new RangeError(`${field}.gpus[${g}]: GPU ${gpu} of worker ${m.workerId} is listed twice`);
        seen.add(key);
        const owner = this.workers.get(m.workerId)?.gpuOwner.get(gpu);
        const ownerId = owner === undefined ? undefined : this.topo.instIds[owner];
        if (ownerId !== undefined && ownerId !== instanceId) {
          throw new RangeError(`${field}.gpus[${g}]: GPU ${gpu} of worker ${m.workerId} already belongs to instance ${ownerId}`);
        }
      });
    });
  }
}

function sliceBatch(batch: KvEventBatch, from: number): KvEventBatch {
  const to = batch.count;
  return {
    count: to - from,
    eventIds: batch.eventIds.slice(from, to),
    kinds: batch.kinds.slice(from, to),
    tiers: batch.tiers.slice(from, to),
    indexes: batch.indexes.slice(from, to),
    hashes: batch.hashes.slice(from, to),
    parentHashes: batch.parentHashes.slice(from, to),
    dstTiers: batch.dstTiers.slice(from, to),
    dstIndexes: batch.dstIndexes.slice(from, to),
    seqIds: batch.seqIds.slice(from, to),
    modes: batch.modes.slice(from, to),
    blocks: batch.blocks.slice(from, to),
    bytes: batch.bytes.slice(from, to),
  };
}
