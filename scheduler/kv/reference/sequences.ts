// Sequences and their ids (native/SPEC.md §4). Ids are 1, 2, 3, … and never reused, so any number below the next
// id that is not live was freed: that is how E_SEQUENCE_FREED is told apart from E_UNKNOWN_SEQUENCE.
import { kvError } from '../errors.js';
import type { Location } from '../types.js';
import type { BlockPool } from './pool.js';

export interface Sequence {
  readonly seqId: number;
  location: Location;
  pool: BlockPool;
  numTokens: number;
  /** Block numbers in `pool`, one per block of the table (reserved blocks included). */
  blocks: number[];
  /**
   * The hash chain as given by the caller: hashes[i] belongs to block i (hashedBlocks = hashes.length). Kept here
   * and not read back from the pool, because a block whose hash was already resident stays unhashed.
   */
  hashes: bigint[];
  homeGpu: number;
}

export type NewSequence = Omit<Sequence, 'seqId'>;

export class SequenceTable {
  private nextId = 1;
  private readonly live = new Map<number, Sequence>();

  get liveCount(): number {
    return this.live.size;
  }

  create(fields: NewSequence): Sequence {
    const seq: Sequence = { seqId: this.nextId++, ...fields };
    this.live.set(seq.seqId, seq);
    return seq;
  }

  /** The live sequence `seqId` (callers have checked that it is a number). */
  get(seqId: number): Sequence {
    const seq = this.live.get(seqId);
    if (seq !== undefined) return seq;
    if (!Number.isInteger(seqId) || seqId < 1 || seqId >= this.nextId) {
      const issued = this.nextId === 1 ? 'none issued yet' : `issued ids are 1..${this.nextId - 1}`;
      throw kvError('E_UNKNOWN_SEQUENCE', `seqId ${seqId} is not a sequence of this manager (${issued})`);
    }
    throw kvError('E_SEQUENCE_FREED', `seqId ${seqId} was freed`);
  }

  delete(seqId: number): void {
    this.live.delete(seqId);
  }
}

export function lastHash(seq: Sequence): bigint {
  return seq.hashes.length > 0 ? seq.hashes[seq.hashes.length - 1]! : 0n;
}
