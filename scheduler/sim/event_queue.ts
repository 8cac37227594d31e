// The simulator's future: a binary min-heap of (time, insertion order) with one integer payload per event, kept
// in typed arrays so that pushing and popping allocate nothing. Ties in time pop in insertion order, which makes
// a run a pure function of its inputs and seed.

export class EventQueue {
  private times = new Float64Array(1024);
  private orders = new Float64Array(1024);
  private payloads = new Int32Array(1024);
  private n = 0;
  private nextOrder = 0;

  get size(): number {
    return this.n;
  }

  /** Time of the earliest event; Infinity when empty. */
  peekTime(): number {
    return this.n > 0 ? (this.times[0] as number) : Infinity;
  }

  /** Payload of the earliest event (undefined behaviour when empty: check size first). */
  peekPayload(): number {
    return this.payloads[0] as number;
  }

  push(timeS: number, payload: number): void {
    if (!(timeS >= 0) || timeS === Infinity) throw new RangeError(`event time must be a finite number ≥ 0, got ${timeS}`);
    if (this.n === this.times.length) this.grow();
    let i = this.n++;
    const order = this.nextOrder++;
    // Sift up: move parents down until the slot fits.
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(timeS, order, parent)) break;
      this.move(parent, i);
      i = parent;
    }
    this.set(i, timeS, order, payload);
  }

  /** Removes the earliest event and returns its payload; -1 when empty. */
  pop(): number {
    if (this.n === 0) return -1;
    const top = this.payloads[0] as number;
    const last = --this.n;
    if (last > 0) {
      const t = this.times[last] as number;
      const o = this.orders[last] as number;
      const p = this.payloads[last] as number;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= last) break;
        const r = l + 1;
        const c = r < last && this.less(r, l) ? r : l;
        if (!this.lessThan(c, t, o)) break;
        this.move(c, i);
        i = c;
      }
      this.set(i, t, o, p);
    }
    return top;
  }

  private before(t: number, o: number, j: number): boolean {
    const tj = this.times[j] as number;
    return t < tj || (t === tj && o < (this.orders[j] as number));
  }

  /** Slot a sorts before slot b. */
  private less(a: number, b: number): boolean {
    return this.before(this.times[a] as number, this.orders[a] as number, b);
  }

  /** Slot j sorts before (t, o). */
  private lessThan(j: number, t: number, o: number): boolean {
    const tj = this.times[j] as number;
    return tj < t || (tj === t && (this.orders[j] as number) < o);
  }

  private move(from: number, to: number): void {
    this.times[to] = this.times[from] as number;
    this.orders[to] = this.orders[from] as number;
    this.payloads[to] = this.payloads[from] as number;
  }

  private set(i: number, t: number, o: number, p: number): void {
    this.times[i] = t;
    this.orders[i] = o;
    this.payloads[i] = p;
  }

  private grow(): void {
    const size = this.times.length * 2;
    const times = new Float64Array(size);
    const orders = new Float64Array(size);
    const payloads = new Int32Array(size);
    times.set(this.times);
    orders.set(this.orders);
    payloads.set(this.payloads);
    this.times = times;
    this.orders = orders;
    this.payloads = payloads;
  }
}
