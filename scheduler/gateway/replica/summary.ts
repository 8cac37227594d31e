// Compact KV-index summaries that replicas exchange: which cached prompt prefixes their instances hold.
//
// Block hashes are chained (hashing.ts), so the hash of block d-1 names the whole prefix of d blocks. A summary is
// the set of such hashes at fixed checkpoint depths (1, 2, 3, 4, 6, 8, 12, 16, 24, ... blocks: powers of two and
// 1.5× them), each with the instance that holds it. A reader looks up a request's hashes at those same depths only
// (O(log n) lookups per peer) and learns a lower bound of the peer's cached prefix that is at least 2/3 of it.
// The writer learns its prefixes from the requests it admits and publishes only the checkpoints its own KV index
// held at their last check (hits on device or Grace), so evicted prefixes leave the summary (SummaryTracker).
import type { KvIndex } from '../../core/kvindex/index.js';
import { makePrefixColumns } from '../../core/kvindex/index.js';

/** Checkpoint depths (in blocks) up to `maxBlocks`, ascending. */
export function checkpointDepths(maxBlocks: number): number[] {
  const out: number[] = [];
  for (let p = 1; p <= maxBlocks; p *= 2) {
    out.push(p);
    const mid = p + p / 2;
    if (p >= 2 && mid <= maxBlocks) out.push(mid);
  }
  return out.sort((a, b) => a - b);
}

/** Depths for prompts of up to 2^20 blocks, ascending (shared by writers and readers). */
export const CHECKPOINTS = checkpointDepths(1 << 20);

interface Tracked {
  /** Index into the replica's instance list. */
  instance: number;
  /** Wall-clock ms when a request last used this prefix here. */
  seenMs: number;
  /** Held by the KV index at its last check. */
  valid: boolean;
}

export interface SummaryTrackerOptions {
  kvIndex: KvIndex;
  instances: readonly string[];
  /** Largest number of checkpoint hashes kept (least recently used go first). */
  maxHashes: number;
  /** A checkpoint the index does not hold (yet) is kept this long (the worker's KV events may still be on the way). */
  pendingGraceMs: number;
  /** Checkpoints checked against the KV index per refresh: new ones first, then a round over the rest. */
  checksPerRefresh: number;
  nowMs: () => number;
}

/**
 * This replica's side: checkpoints of admitted prompts, checked against the local KV index. A check is one
 * single-hash walk over this replica's instances (~4 µs for 8: `bench.ts`), so each refresh checks a bounded number
 * — those admitted since the last refresh first, then the next slice of a round over all — and a summary lags an
 * eviction by at most one round (maxHashes / checksPerRefresh refreshes).
 */
export class SummaryTracker {
  private readonly tracked = new Map<bigint, Tracked>();
  /** Noted since their last check (checked first). */
  private readonly fresh = new Set<bigint>();
  private round: Iterator<[bigint, Tracked]> | null = null;
  private readonly columns;
  private readonly one: bigint[] = [0n];
  private slots = new Int32Array(0);
  private slotsVersion = -1;
  private validCount = 0;
  private changedSinceBuild = true;
  /** Bumped by every build(): names the published set. */
  version = 0;

  constructor(private readonly o: SummaryTrackerOptions) {
    this.columns = makePrefixColumns(Math.max(1, o.instances.length));
  }

  /** A request was admitted on `instanceId` with these prompt block hashes. */
  note(blockHashes: readonly bigint[], instanceId: string): void {
    const instance = this.o.instances.indexOf(instanceId);
    if (instance < 0) return;
    const nowMs = this.o.nowMs();
    for (const d of CHECKPOINTS) {
      if (d > blockHashes.length) break;
      const h = blockHashes[d - 1] as bigint;
      const prev = this.tracked.get(h);
      this.tracked.delete(h);
      this.tracked.set(h, { instance, seenMs: nowMs, valid: prev?.valid ?? false });
      if (!prev?.valid) this.fresh.add(h);
    }
    while (this.tracked.size > this.o.maxHashes) this.forget(this.tracked.keys().next().value as bigint);
  }

  get size(): number {
    return this.tracked.size;
  }

  /** Checkpoints held at their last check (what the summary publishes). */
  get published(): number {
    return this.validCount;
  }

  /** Runs this refresh's checks; `changed` when the published set differs from the last build(). */
  refresh(): { changed: boolean } {
    let budget = this.o.checksPerRefresh;
    for (const h of this.fresh) {
      if (budget-- <= 0) break;
      this.fresh.delete(h);
      const t = this.tracked.get(h);
      if (t) this.check(h, t);
    }
    while (budget-- > 0 && this.tracked.size > 0) {
      this.round ??= this.tracked.entries();
      const next = this.round.next();
      if (next.done) {
        this.round = null;
        // One round per refresh at most: a small set is not checked twice in a row.
        break;
      }
      this.check(next.value[0], next.value[1]);
    }
    return { changed: this.changedSinceBuild };
  }

  /** The published entries: hashes held at their last check, with their instance. */
  build(): { hashes: bigint[]; instances: number[] } {
    const hashes: bigint[] = [];
    const instances: number[] = [];
    for (const [h, t] of this.tracked) {
      if (!t.valid) continue;
      hashes.push(h);
      instances.push(t.instance);
    }
    this.changedSinceBuild = false;
    this.version++;
    return { hashes, instances };
  }

  private check(h: bigint, t: Tracked): void {
    const { kvIndex, instances } = this.o;
    if (this.slotsVersion !== kvIndex.topologyVersion) {
      this.slots = Int32Array.from(instances, (id) => kvIndex.instanceSlot(id));
      this.slotsVersion = kvIndex.topologyVersion;
    }
    const c = this.columns;
    this.one[0] = h;
    kvIndex.prefixHitsBySlot(this.one, this.slots, instances.length, c);
    let holder = -1;
    if ((c.deviceBlocks[t.instance] as number) + (c.hostBlocks[t.instance] as number) > 0) holder = t.instance;
    else {
      for (let i = 0; i < instances.length && holder < 0; i++) if ((c.deviceBlocks[i] as number) + (c.hostBlocks[i] as number) > 0) holder = i;
    }
    if (holder < 0) {
      this.setValid(t, false);
      if (this.o.nowMs() - t.seenMs > this.o.pendingGraceMs) this.forget(h);
      return;
    }
    if (t.valid && t.instance !== holder) this.changedSinceBuild = true;
    t.instance = holder;
    this.setValid(t, true);
  }

  private setValid(t: Tracked, valid: boolean): void {
    if (t.valid === valid) return;
    t.valid = valid;
    this.validCount += valid ? 1 : -1;
    this.changedSinceBuild = true;
  }

  private forget(h: bigint): void {
    const t = this.tracked.get(h);
    if (!t) return;
    if (t.valid) this.setValid(t, false);
    this.tracked.delete(h);
    this.fresh.delete(h);
  }
}

/**
 * Wire form: u32 count, u32 zero, count u64 hashes, count u16 instance indices, all little-endian; the 8-byte header
 * keeps the hashes 8-aligned so both ends copy whole typed arrays (`bench.ts` has the cost).
 */
const HEADER_BYTES = 8;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function encodeSummary(hashes: readonly bigint[], instances: readonly number[]): Buffer {
  const n = hashes.length;
  const ab = new ArrayBuffer(HEADER_BYTES + n * 10);
  const view = new DataView(ab);
  view.setUint32(0, n, true);
  if (LITTLE_ENDIAN) {
    new BigUint64Array(ab, HEADER_BYTES, n).set(hashes);
    new Uint16Array(ab, HEADER_BYTES + n * 8, n).set(instances);
  } else {
    for (let i = 0; i < n; i++) view.setBigUint64(HEADER_BYTES + i * 8, hashes[i] as bigint, true);
    for (let i = 0; i < n; i++) view.setUint16(HEADER_BYTES + n * 8 + i * 2, instances[i] as number, true);
  }
  return Buffer.from(ab);
}

/** hash → instance index; null when the buffer is not a summary (a reader ignores it rather than guess). */
export function decodeSummary(buf: Buffer): Map<bigint, number> | null {
  if (buf.length < HEADER_BYTES) return null;
  // A copy: typed-array views need the hashes 8-aligned, which a Buffer from a socket need not be.
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length) as ArrayBuffer;
  const view = new DataView(ab);
  const n = view.getUint32(0, true);
  if (buf.length !== HEADER_BYTES + n * 10 || view.getUint32(4, true) !== 0) return null;
  const out = new Map<bigint, number>();
  if (LITTLE_ENDIAN) {
    const hs = new BigUint64Array(ab, HEADER_BYTES, n);
    const is = new Uint16Array(ab, HEADER_BYTES + n * 8, n);
    for (let i = 0; i < n; i++) out.set(hs[i] as bigint, is[i] as number);
  } else {
    for (let i = 0; i < n; i++) out.set(view.getBigUint64(HEADER_BYTES + i * 8, true), view.getUint16(HEADER_BYTES + n * 8 + i * 2, true));
  }
  return out;
}

/** The deepest checkpoint of `blockHashes` that `summary` holds: blocks (0: none) and the holder's index. */
export function summaryDepth(summary: ReadonlyMap<bigint, number>, blockHashes: readonly bigint[]): { blocks: number; instance: number } {
  for (let k = CHECKPOINTS.length - 1; k >= 0; k--) {
    const d = CHECKPOINTS[k] as number;
    if (d > blockHashes.length) continue;
    const inst = summary.get(blockHashes[d - 1] as bigint);
    if (inst !== undefined) return { blocks: d, instance: inst };
  }
  return { blocks: 0, instance: -1 };
}
