// When a drainer may start one more batch line: fewer than maxInFlight of its lines live, fewer than maxUnstarted of
// them still waiting for their first token (so batch lines never fill the scheduler's queue), not backing off after
// a load rejection, Redis reachable (a result that cannot be stored is work thrown away), and the gateway idle as
// the caller's test says. Shared by all chunks a drainer holds. Waiters wake on any change, or after pollMs at most
// because `idle` reads state the gate cannot see change.

/** The drainer's own load, given to the idle test. */
export interface DrainLoad {
  /** Its lines submitted and not ended. */
  inFlight: number;
  /** Of those, the ones with no token yet (queued in the scheduler, or in their first prefill). */
  unstarted: number;
}

/** Whether the gateway has room for batch work now. */
export type IdleTest = (load: DrainLoad) => boolean;

/**
 * The idle test over the gateway's queue: nothing waits to be planned but this drainer's own lines. `queued` is the
 * number of requests the gateway has admitted and not yet planned (e.g. the sum of the driver's queuedByShape()).
 * A line counts as unstarted until its first token, a step longer than it counts as queued, so for that step an
 * interactive request can wait unseen; the scheduler still puts it ahead of every batch line (priority).
 */
export function nothingElseQueued(queued: () => number): IdleTest {
  return (load) => queued() <= load.unstarted;
}

export interface GateOptions {
  maxInFlight: number;
  maxUnstarted: number;
  idle: IdleTest;
  pollMs: number;
}

export class DrainGate {
  inFlight = 0;
  unstarted = 0;
  redisUp = true;
  stopped = false;
  private backoffUntilMs = 0;
  private readonly waiters = new Set<() => void>();

  constructor(private readonly o: GateOptions) {}

  canStart(nowMs: number): boolean {
    if (this.stopped || !this.redisUp || nowMs < this.backoffUntilMs) return false;
    if (this.inFlight >= this.o.maxInFlight || this.unstarted >= this.o.maxUnstarted) return false;
    return this.o.idle({ inFlight: this.inFlight, unstarted: this.unstarted });
  }

  /** After a load rejection: no line starts before `ms` from now (the longest hint wins). */
  backoff(ms: number, nowMs: number): void {
    this.backoffUntilMs = Math.max(this.backoffUntilMs, nowMs + ms);
  }

  /** Wakes every waiter (a line ended, Redis came back, stop). */
  notify(): void {
    for (const wake of [...this.waiters]) wake();
  }

  /** Resolves on the next notify, or after min(maxMs, pollMs). */
  wait(maxMs: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, Math.max(1, Math.min(maxMs, this.o.pollMs)));
      timer.unref();
      this.waiters.add(wake);
    });
  }
}
