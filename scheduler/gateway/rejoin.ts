// Bringing a failed instance back: after its worker stream broke, try again with exponential backoff (capped) until
// the attempt succeeds (the driver's attempt probes the worker's Health, opens a fresh Step stream and resyncs the
// KV index from a snapshot). Timers are unref'd and stop() cancels them all, so shutdown never waits on a dead worker.

export interface RejoinerOptions {
  /** First wait, then doubled up to maxBackoffMs. */
  backoffMs?: number;
  maxBackoffMs?: number;
  log?: (line: string) => void;
}

const DEFAULT_BACKOFF_MS = 250;
const DEFAULT_MAX_BACKOFF_MS = 5000;

export class Rejoiner {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private stopped = false;
  private readonly firstMs: number;
  private readonly maxMs: number;

  constructor(private readonly o: RejoinerOptions = {}) {
    this.firstMs = o.backoffMs ?? DEFAULT_BACKOFF_MS;
    this.maxMs = Math.max(this.firstMs, o.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS);
  }

  /** Runs attempt() after a backoff, again after a longer one while it rejects; one schedule per key at a time. */
  start(key: string, attempt: () => Promise<void>): void {
    if (this.stopped || this.timers.has(key)) return;
    const tryAfter = (waitMs: number, tries: number): void => {
      const timer = setTimeout(() => {
        attempt().then(
          () => {
            this.timers.delete(key);
          },
          (err: Error) => {
            if (this.stopped) return;
            // Say it on the first miss and then rarely: a tray down for minutes should not flood the log.
            if (tries === 0 || (tries & (tries + 1)) === 0) this.o.log?.(`${key}: rejoin attempt ${tries + 1} failed (${err.message}); retrying`);
            tryAfter(Math.min(this.maxMs, waitMs * 2), tries + 1);
          },
        );
      }, waitMs);
      timer.unref();
      this.timers.set(key, timer);
    };
    tryAfter(this.firstMs, 0);
  }

  /** Keys with a rejoin pending. */
  get pending(): number {
    return this.timers.size;
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }
}
