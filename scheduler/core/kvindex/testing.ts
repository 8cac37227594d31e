// Test and benchmark helpers: a worker's event log that numbers events the way a worker does.
import type { KvEvent } from '../../kv/types.js';

export class WorkerEventLog {
  private nextId = 1;
  constructor(readonly workerId: string) {}

  /** Store events for a chain of hashes at one location (parent of block 0 is 0n). */
  stored(tier: 'device' | 'host', index: number, hashes: readonly bigint[], from = 0): KvEvent[] {
    const out: KvEvent[] = [];
    for (let i = from; i < hashes.length; i++) {
      out.push({ eventId: this.nextId++, kind: 'stored', location: { tier, index }, hash: hashes[i] as bigint, parentHash: i > 0 ? (hashes[i - 1] as bigint) : 0n });
    }
    return out;
  }

  removed(tier: 'device' | 'host', index: number, hashes: readonly bigint[]): KvEvent[] {
    return hashes.map((hash) => ({ eventId: this.nextId++, kind: 'removed' as const, location: { tier, index }, hash }));
  }

  moved(source: { tier: 'device' | 'host'; index: number }, destination: { tier: 'device' | 'host'; index: number }, blocks: number): KvEvent[] {
    return [{ eventId: this.nextId++, kind: 'moved', seqId: 1, source, destination, mode: 'move', blocks, bytes: blocks * 1024 }];
  }

  /** Skips ids, as a worker whose log overflowed would. */
  skip(count: number): void {
    this.nextId += count;
  }

  get lastEventId(): number {
    return this.nextId - 1;
  }
}

/** A chain of distinct hashes (chained hashes are opaque to the index: any distinct values do). */
export function chain(prefix: number, length: number): bigint[] {
  return Array.from({ length }, (_, i) => (BigInt(prefix) << 32n) | BigInt(i + 1));
}
