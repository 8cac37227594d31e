// Compact KV-index summaries that replicas exchange: which cached prompt prefixes their instances hold.
//
// Block hashes are chained (hashing.ts), so the hash of block d-1 names the whole prefix of d blocks. A summary is
// the set of such hashes at fixed checkpoint depths (1, 2, 3, 4, 6, 8, 12, 16, 24, ... blocks: powers of two and
// 1.5× them), each with the instance that holds it. A reader looks up a request's hashes at those same depths only
// (O(log n) lookups per peer) and learns a lower bound of the peer's cached prefix that is at least 2/3 of it.
// The writer learns its prefixes from the requests it admits, and before each publish keeps only the checkpoints
// its own KV index still holds (hits on device or Grace), so evicted prefixes leave the summary.
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
  /** Held by the KV index at the last validation. */
  valid: boolean;
}

export interface SummaryTrackerOptions {
  kvIndex: KvIndex;
  instances: readonly string[];
  /** Largest number of checkpoint hashes kept (least recently used go first). */
  maxHashes: number;
  /** A checkpoint the index does not hold yet is kept this long (the worker's KV events may still be on the way). */
  pendingGraceMs: number;
  nowMs: () => number;
}

/** This replica's side: checkpoints of admitted prompts, validated against the local KV index. */
export class SummaryTracker {
  private readonly tracked = new Map<bigint, Tracked>();
  private readonly columns;
  private readonly one: bigint[] = [0n];
  private digest = 0;
  /** Bumped whenever the published set changes. */
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
    }
    while (this.tracked.size > this.o.maxHashes) this.tracked.delete(this.tracked.keys().next().value as bigint);
  }

  get size(): number {
    return this.tracked.size;
  }

  /**
   * Checks every tracked checkpoint against the KV index (one single-hash walk over this replica's instances each),
   * drops those gone for longer than the grace, and returns the published entries; `changed` when they differ
   * from the last call's.
   */
  refresh(): { hashes: bigint[]; instances: number[]; changed: boolean } {
    const { kvIndex, instances } = this.o;
    const c = this.columns;
    const nowMs = this.o.nowMs();
    const hashes: bigint[] = [];
    const owners: number[] = [];
    let digest = 0;
    for (const [h, t] of this.tracked) {
      this.one[0] = h;
      kvIndex.prefixHits(this.one, instances, c);
      let holder = -1;
      if (((c.deviceBlocks[t.instance] as number) + (c.hostBlocks[t.instance] as number)) > 0) holder = t.instance;
      else {
        for (let i = 0; i < instances.length; i++) {
          if ((c.deviceBlocks[i] as number) + (c.hostBlocks[i] as number) > 0) {
            holder = i;
            break;
          }
        }
      }
      if (holder < 0) {
        t.valid = false;
        if (nowMs - t.seenMs > this.o.pendingGraceMs) this.tracked.delete(h);
        continue;
      }
      t.valid = true;
      t.instance = holder;
      hashes.push(h);
      owners.push(holder);
      // Order-independent digest of (hash, owner): detects a changed set without keeping the last one.
      digest = (digest + mix(h, holder)) >>> 0;
    }
    digest = (digest ^ hashes.length) >>> 0;
    const changed = digest !== this.digest;
    if (changed) {
      this.digest = digest;
      this.version++;
    }
    return { hashes, instances: owners, changed };
  }
}

function mix(h: bigint, owner: number): number {
  const lo = Number(h & 0xffffffffn);
  const hi = Number((h >> 32n) & 0xffffffffn);
  return Math.imul(lo ^ Math.imul(hi, 0x9e3779b1) ^ owner, 0x85ebca6b) >>> 0;
}

/** Wire form: u32 count, then count little-endian u64 hashes, then count u16 instance indices. */
export function encodeSummary(hashes: readonly bigint[], instances: readonly number[]): Buffer {
  const n = hashes.length;
  const buf = Buffer.alloc(4 + n * 10);
  buf.writeUInt32LE(n, 0);
  for (let i = 0; i < n; i++) buf.writeBigUInt64LE(hashes[i] as bigint, 4 + i * 8);
  const base = 4 + n * 8;
  for (let i = 0; i < n; i++) buf.writeUInt16LE(instances[i] as number, base + i * 2);
  return buf;
}

/** hash → instance index; null when the buffer is not a summary (a reader ignores it rather than guess). */
export function decodeSummary(buf: Buffer): Map<bigint, number> | null {
  if (buf.length < 4) return null;
  const n = buf.readUInt32LE(0);
  if (buf.length !== 4 + n * 10) return null;
  const out = new Map<bigint, number>();
  const base = 4 + n * 8;
  for (let i = 0; i < n; i++) out.set(buf.readBigUInt64LE(4 + i * 8), buf.readUInt16LE(base + i * 2));
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
