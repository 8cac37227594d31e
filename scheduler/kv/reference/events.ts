// The ordered event log (native/SPEC.md §8): every event takes the next id (1, 2, …); a full log drops its oldest
// event so that consumers see a gap in eventId and fall back to a snapshot instead of guessing.
import type { KvEvent, Location } from '../types.js';

export class EventLog {
  /** Events [head, buffer.length) are kept; the prefix is garbage waiting for compaction. */
  private buffer: KvEvent[] = [];
  private head = 0;
  lastEventId = 0;
  droppedEvents = 0;

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.buffer.length - this.head;
  }

  stored(location: Location, hash: bigint, parentHash: bigint): void {
    this.push({ eventId: ++this.lastEventId, kind: 'stored', location: { ...location }, hash, parentHash });
  }

  removed(location: Location, hash: bigint): void {
    this.push({ eventId: ++this.lastEventId, kind: 'removed', location: { ...location }, hash });
  }

  moved(
    seqId: number,
    source: Location,
    destination: Location,
    mode: 'move' | 'copy',
    blocks: number,
    bytes: number,
  ): void {
    this.push({
      eventId: ++this.lastEventId,
      kind: 'moved',
      seqId,
      source: { ...source },
      destination: { ...destination },
      mode,
      blocks,
      bytes,
    });
  }

  /** Removes and returns the oldest `maxEvents` events (all when undefined). */
  drain(maxEvents = Infinity): KvEvent[] {
    const count = Math.min(maxEvents, this.size);
    const out = this.buffer.slice(this.head, this.head + count);
    this.head += count;
    this.compact();
    return out;
  }

  private push(event: KvEvent): void {
    this.buffer.push(event);
    if (this.size > this.capacity) {
      this.head++;
      this.droppedEvents++;
      this.compact();
    }
  }

  // Amortised O(1): the dead prefix is cut once it is at least half of the buffer.
  private compact(): void {
    if (this.head === this.buffer.length) {
      this.buffer = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.buffer.length) {
      this.buffer = this.buffer.slice(this.head);
      this.head = 0;
    }
  }
}
