// The driver's sink calls (tokens, ends) in order: made at once, or — with tokensAfterNextPlan — in a setImmediate,
// after the instance's next plan has gone out on the worker's socket. Every sink call goes through here, so one
// request's tokens never follow its end.
import type { Delivery } from './driver_types.js';

export class Deliveries {
  /**
   * true (default): a step's tokens are written to the clients in a setImmediate: by then the step's continuation
   * has sent the instance's next plan, and Node has flushed it to the worker's socket (its HTTP/2 sessions write in
   * native immediates, which run before the JavaScript ones), so the worker computes while the gateway writes.
   * false: written at once, then the next plan (the worker waits for the writes). `bench overhead` runs both,
   * alternated (rows c and c'): on the 2-core dev VM with both cores free, 365–405 µs a step against 450–490 µs
   * (worker/README.md "Measured"); with one core left the two are alike (the work is the same).
   */
  tokensAfterNextPlan = true;
  private pending: Delivery[] = [];
  private flushScheduled = false;

  /**
   * @param log  a sink that throws is logged here (the other calls are still made)
   * @param flushed  after each flush (the driver resolves its idle waiters)
   */
  constructor(private readonly log: (line: string) => void, private readonly flushed: () => void) {}

  /** Sink calls not made yet. */
  get size(): number {
    return this.pending.length;
  }

  /**
   * One request's tokens of a step (the hot path: one call per decoding request per step). Made at once, without a
   * queue entry, when nothing waits before them; else queued like every other call.
   */
  deliverTokens(sink: Delivery['sink'], tokenIds: readonly number[]): void {
    if (this.tokensAfterNextPlan || this.pending.length > 0) return this.deliver({ sink, tokenIds });
    try {
      sink.onTokens(tokenIds);
    } catch (error) {
      this.log(`a request's sink threw: ${(error as Error).message}`);
    }
  }

  deliver(d: Delivery): void {
    this.pending.push(d);
    if (!this.tokensAfterNextPlan) return this.flush();
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  /** Makes the pending sink calls in order (a sink that throws is logged; the rest are still made). */
  flush(): void {
    this.flushScheduled = false;
    const batch = this.pending;
    this.pending = [];
    for (const d of batch) {
      try {
        if (d.tokenIds) d.sink.onTokens(d.tokenIds);
        else if (d.end) d.sink.onEnd(d.end[0], d.end[1]);
      } catch (error) {
        this.log(`a request's sink threw: ${(error as Error).message}`);
      }
    }
    this.flushed();
  }
}
