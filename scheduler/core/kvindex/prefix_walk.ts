// One walk over a request's block hashes answers the prefix question for every candidate instance at once.
//
// Pass 1 walks the hashes in order, looking each up once; for every holder (an instance's device, or a worker's
// host tier) it records the contiguous runs [start, end) of positions it holds. The walk stops at the first hash
// nobody holds: no run can cross it. Pass 2 answers each candidate from the runs:
//   device    = end of its own run that starts at 0;
//   host      = how far the host runs of its workers extend that (several trays: their union);
//   neighbour = how far one other instance of the same NVLink domain extends it from there (the best one).
// Contiguity is checked, never assumed: a chained hash present without its parent does not count.
// Cost: one hash lookup per walked block + one step per (block, holder) pair + O(1) per candidate (the best
// neighbour is computed once per distinct (domain, start) and remembered for the call).
import { HOLDER_LIST_HEADER, type HolderTable } from './holder_table.js';
import type { Topology } from './topology.js';

/** Per-candidate answers in columns (reused by the caller; length ≥ number of candidates). */
export interface PrefixColumns {
  deviceBlocks: Int32Array;
  hostBlocks: Int32Array;
  neighbourBlocks: Int32Array;
  /** Instance slot of the best neighbour, -1 when neighbourBlocks is 0. */
  neighbourSlot: Int32Array;
}

export function makePrefixColumns(capacity: number): PrefixColumns {
  return {
    deviceBlocks: new Int32Array(capacity),
    hostBlocks: new Int32Array(capacity),
    neighbourBlocks: new Int32Array(capacity),
    neighbourSlot: new Int32Array(capacity),
  };
}

const NONE = -1;
const UNSEEN = -10;
const TICK_LIMIT = 1 << 30;
const MEMO_SIZE = 8;
/** Hashes looked up per batch: enough to overlap cache misses, few enough not to waste lookups past a miss. */
const CHUNK = 32;

function grown(array: Int32Array<ArrayBuffer>, capacity: number, fill: number): Int32Array<ArrayBuffer> {
  if (array.length >= capacity) return array;
  const next = new Int32Array(Math.max(capacity, array.length * 2)).fill(fill);
  next.set(array);
  return next;
}

export class PrefixWalker {
  // Per holder, indexed by instance slot / worker slot: last position stamp, open run start, run list head.
  private iStamp = new Int32Array(0);
  private iRunStart = new Int32Array(0);
  private iRunHead = new Int32Array(0);
  private iNextInDomain = new Int32Array(0);
  private wStamp = new Int32Array(0);
  private wRunStart = new Int32Array(0);
  private wRunHead = new Int32Array(0);
  private dStamp = new Int32Array(0);
  private dHead = new Int32Array(0);
  private runStart = new Int32Array(64);
  private runEnd = new Int32Array(64);
  private runNext = new Int32Array(64);
  private runCount = 0;
  private touchedI = new Int32Array(64);
  private touchedW = new Int32Array(64);
  private nTouchedI = 0;
  private nTouchedW = 0;
  private tick = 0;
  private base = 0;
  private readonly memoKey = new Int32Array(MEMO_SIZE * 2);
  private readonly memoVal = new Int32Array(MEMO_SIZE * 3);
  private readonly memoSecond = new Int32Array(MEMO_SIZE);
  private readonly firsts = new Int32Array(CHUNK);
  private memoCount = 0;

  constructor(private readonly table: HolderTable, private readonly topo: Topology) {}

  /** Fills out[0..slots.length) for the candidates with these instance slots (-1: unknown → all zero). */
  walk(hashes: ArrayLike<bigint>, slots: ArrayLike<number>, count: number, out: PrefixColumns): void {
    this.prepare();
    const walked = this.collectRuns(hashes);
    for (let c = 0; c < count; c++) this.answer(slots[c] as number, walked, out, c);
    this.tick = this.base + walked + 2;
  }

  private prepare(): void {
    const topo = this.topo;
    const ni = topo.instanceCapacity;
    const nw = topo.workerCapacity;
    const nd = topo.domainCapacity;
    this.iStamp = grown(this.iStamp, ni, UNSEEN);
    this.iRunStart = grown(this.iRunStart, ni, 0);
    this.iRunHead = grown(this.iRunHead, ni, NONE);
    this.iNextInDomain = grown(this.iNextInDomain, ni, NONE);
    this.touchedI = grown(this.touchedI, ni, 0);
    this.wStamp = grown(this.wStamp, nw, UNSEEN);
    this.wRunStart = grown(this.wRunStart, nw, 0);
    this.wRunHead = grown(this.wRunHead, nw, NONE);
    this.touchedW = grown(this.touchedW, nw, 0);
    this.dStamp = grown(this.dStamp, nd, UNSEEN);
    this.dHead = grown(this.dHead, nd, NONE);
    if (this.tick > TICK_LIMIT) {
      // Stamps only compare against this call's range; restart the clock long before int32 wraps.
      this.iStamp.fill(UNSEEN);
      this.wStamp.fill(UNSEEN);
      this.dStamp.fill(UNSEEN);
      this.tick = 0;
    }
    this.base = this.tick;
    this.runCount = 0;
    this.nTouchedI = 0;
    this.nTouchedW = 0;
    this.memoCount = 0;
  }

  /** Pass 1. Returns how many leading positions have at least one holder. */
  private collectRuns(hashes: ArrayLike<bigint>): number {
    const table = this.table;
    const length = hashes.length;
    const firsts = this.firsts;
    let i = 0;
    // A stretch of positions held by exactly the previous position's holder set (a prefix cached on a whole rack)
    // is skipped: those holders' runs just continue. Their stamps are brought up to date (flushed) when the set
    // changes or the walk ends, so a stretch costs O(holders) instead of O(holders × positions).
    let prevList = NONE;
    let stretchList = NONE;
    walk: for (let start = 0; start < length; start += CHUNK) {
      const end = Math.min(length, start + CHUNK);
      table.lists(hashes, start, end, firsts);
      const pairs = table.pairs;
      const iStamp = this.iStamp;
      const wStamp = this.wStamp;
      for (i = start; i < end; i++) {
        const list = firsts[i - start] as number;
        if (list === NONE) break walk;
        const t = this.base + i;
        if (prevList !== NONE && table.sameHolders(list, prevList)) {
          if (stretchList === NONE) stretchList = prevList;
          continue;
        }
        if (stretchList !== NONE) {
          this.flushStretch(stretchList, t - 1);
          stretchList = NONE;
        }
        prevList = list;
        const stop = list + HOLDER_LIST_HEADER + 2 * (pairs[list + 1] as number);
        for (let at = list + HOLDER_LIST_HEADER; at < stop; at += 2) {
          const holder = pairs[at] as number;
          // Fast path: the holder's run continues from the previous position (the common case in a shared prefix).
          if (holder >= 0) {
            if (iStamp[holder] === t - 1) iStamp[holder] = t;
            else this.touchInstance(holder, i, t);
          } else if (wStamp[-1 - holder] === t - 1) {
            wStamp[-1 - holder] = t;
          } else {
            this.touchWorker(-1 - holder, i, t);
          }
        }
      }
    }
    if (stretchList !== NONE) this.flushStretch(stretchList, this.base + i - 1);
    // Close the runs still open at the end of the walk.
    for (let k = 0; k < this.nTouchedI; k++) {
      const h = this.touchedI[k] as number;
      this.iRunHead[h] = this.pushRun(this.iRunStart[h] as number, (this.iStamp[h] as number) - this.base + 1, this.iRunHead[h] as number);
    }
    for (let k = 0; k < this.nTouchedW; k++) {
      const w = this.touchedW[k] as number;
      this.wRunHead[w] = this.pushRun(this.wRunStart[w] as number, (this.wStamp[w] as number) - this.base + 1, this.wRunHead[w] as number);
    }
    return i;
  }

  /** Every holder of `list` held each position of the skipped stretch: its run now reaches stamp `t`. */
  private flushStretch(list: number, t: number): void {
    const pairs = this.table.pairs;
    const stop = list + HOLDER_LIST_HEADER + 2 * (pairs[list + 1] as number);
    for (let at = list + HOLDER_LIST_HEADER; at < stop; at += 2) {
      const holder = pairs[at] as number;
      if (holder >= 0) this.iStamp[holder] = t;
      else this.wStamp[-1 - holder] = t;
    }
  }

  private touchInstance(h: number, i: number, t: number): void {
    const seen = this.iStamp[h] as number;
    if (seen === t) return;
    if (seen < this.base) {
      this.iRunHead[h] = NONE;
      this.iRunStart[h] = i;
      this.touchedI[this.nTouchedI++] = h;
      const d = this.topo.instDomain[h] as number;
      if (this.dStamp[d] !== this.base) {
        this.dStamp[d] = this.base;
        this.dHead[d] = NONE;
      }
      this.iNextInDomain[h] = this.dHead[d] as number;
      this.dHead[d] = h;
    } else if (seen !== t - 1) {
      this.iRunHead[h] = this.pushRun(this.iRunStart[h] as number, seen - this.base + 1, this.iRunHead[h] as number);
      this.iRunStart[h] = i;
    }
    this.iStamp[h] = t;
  }

  private touchWorker(w: number, i: number, t: number): void {
    const seen = this.wStamp[w] as number;
    if (seen === t) return;
    if (seen < this.base) {
      this.wRunHead[w] = NONE;
      this.wRunStart[w] = i;
      this.touchedW[this.nTouchedW++] = w;
    } else if (seen !== t - 1) {
      this.wRunHead[w] = this.pushRun(this.wRunStart[w] as number, seen - this.base + 1, this.wRunHead[w] as number);
      this.wRunStart[w] = i;
    }
    this.wStamp[w] = t;
  }

  private pushRun(start: number, end: number, next: number): number {
    if (this.runCount === this.runStart.length) {
      this.runStart = grown(this.runStart, this.runCount * 2, 0);
      this.runEnd = grown(this.runEnd, this.runCount * 2, 0);
      this.runNext = grown(this.runNext, this.runCount * 2, 0);
    }
    const r = this.runCount++;
    this.runStart[r] = start;
    this.runEnd[r] = end;
    this.runNext[r] = next;
    return r;
  }

  /** Pass 2 for one candidate. */
  private answer(h: number, walked: number, out: PrefixColumns, c: number): void {
    out.deviceBlocks[c] = 0;
    out.hostBlocks[c] = 0;
    out.neighbourBlocks[c] = 0;
    out.neighbourSlot[c] = NONE;
    if (h < 0 || walked === 0) return;
    let device = 0;
    if ((this.iStamp[h] as number) >= this.base) {
      for (let r = this.iRunHead[h] as number; r !== NONE; r = this.runNext[r] as number) {
        if (this.runStart[r] === 0) device = this.runEnd[r] as number;
      }
    }
    const pos = this.extendByHost(h, device);
    out.deviceBlocks[c] = device;
    out.hostBlocks[c] = pos - device;
    if (pos >= walked) return;
    const m = this.bestNeighbours(this.topo.instDomain[h] as number, pos);
    let end = this.memoVal[m * 3] as number;
    let slot = this.memoVal[m * 3 + 1] as number;
    if (slot === h) {
      end = this.memoVal[m * 3 + 2] as number;
      slot = this.memoSecond[m] as number;
    }
    if (slot !== NONE && end > pos) {
      out.neighbourBlocks[c] = end - pos;
      out.neighbourSlot[c] = slot;
    }
  }

  /** Extends `pos` through the host runs of the instance's workers (their union, if it spans trays). */
  private extendByHost(h: number, pos: number): number {
    const workers = this.topo.instWorkers[h];
    if (!workers) return pos;
    for (let progressed = true; progressed; ) {
      progressed = false;
      for (const w of workers) {
        if ((this.wStamp[w] as number) < this.base) continue;
        for (let r = this.wRunHead[w] as number; r !== NONE; r = this.runNext[r] as number) {
          if ((this.runStart[r] as number) <= pos && (this.runEnd[r] as number) > pos) {
            pos = this.runEnd[r] as number;
            progressed = true;
          }
        }
      }
    }
    return pos;
  }

  /**
   * Memo entry for (domain, start): the two instances of the domain whose device runs reach furthest from
   * `start` (holding `start` itself), as [end1, slot1, end2] in memoVal and slot2 in memoSecond.
   */
  private bestNeighbours(d: number, start: number): number {
    for (let m = 0; m < this.memoCount; m++) {
      if (this.memoKey[m * 2] === d && this.memoKey[m * 2 + 1] === start) return m;
    }
    let end1 = start;
    let slot1 = NONE;
    let end2 = start;
    let slot2 = NONE;
    if (this.dStamp[d] === this.base) {
      for (let n = this.dHead[d] as number; n !== NONE; n = this.iNextInDomain[n] as number) {
        let end = start;
        for (let r = this.iRunHead[n] as number; r !== NONE; r = this.runNext[r] as number) {
          if ((this.runStart[r] as number) <= start && (this.runEnd[r] as number) > end) end = this.runEnd[r] as number;
        }
        if (end > end1) {
          end2 = end1;
          slot2 = slot1;
          end1 = end;
          slot1 = n;
        } else if (end > end2) {
          end2 = end;
          slot2 = n;
        }
      }
    }
    const m = this.memoCount < MEMO_SIZE ? this.memoCount++ : MEMO_SIZE - 1;
    this.memoKey[m * 2] = d;
    this.memoKey[m * 2 + 1] = start;
    this.memoVal[m * 3] = end1;
    this.memoVal[m * 3 + 1] = slot1;
    this.memoVal[m * 3 + 2] = end2;
    this.memoSecond[m] = slot2;
    return m;
  }
}
