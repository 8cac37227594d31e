// A binary min-heap of waiting sequences ordered by (queueKeyValue, seqId). Each sequence records its position so a
// cancelled one leaves in O(log n): the step loop then only touches the heads it admits, never the whole queue.
import type { Seq } from './seq.js';

function before(a: Seq, b: Seq): boolean {
  return a.queueKeyValue < b.queueKeyValue || (a.queueKeyValue === b.queueKeyValue && a.seqId < b.seqId);
}

export class SeqHeap {
  private readonly items: Seq[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): Seq | undefined {
    return this.items[0];
  }

  push(seq: Seq): void {
    seq.heapIndex = this.items.length;
    this.items.push(seq);
    this.up(seq.heapIndex);
  }

  pop(): Seq | undefined {
    const top = this.items[0];
    if (top) this.remove(top);
    return top;
  }

  remove(seq: Seq): void {
    const i = seq.heapIndex;
    if (i < 0 || this.items[i] !== seq) return;
    const last = this.items.pop() as Seq;
    seq.heapIndex = -1;
    if (last === seq) return;
    this.items[i] = last;
    last.heapIndex = i;
    this.down(i);
    this.up(last.heapIndex);
  }

  private up(i: number): void {
    const items = this.items;
    const seq = items[i] as Seq;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = items[parent] as Seq;
      if (!before(seq, p)) break;
      items[i] = p;
      p.heapIndex = i;
      i = parent;
    }
    items[i] = seq;
    seq.heapIndex = i;
  }

  private down(i: number): void {
    const items = this.items;
    const n = items.length;
    const seq = items[i] as Seq;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      let child = left;
      if (right < n && before(items[right] as Seq, items[left] as Seq)) child = right;
      const c = items[child] as Seq;
      if (!before(c, seq)) break;
      items[i] = c;
      c.heapIndex = i;
      i = child;
    }
    items[i] = seq;
    seq.heapIndex = i;
  }
}
