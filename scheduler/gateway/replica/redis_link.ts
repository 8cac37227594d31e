// The replica's two Redis connections (commands; pub/sub needs its own) and whether Redis is usable right now.
// Nothing on a request's path ever waits on Redis: commands fail at once while it is down (no offline queue), the
// replica serves locally, one line says so, ioredis reconnects with capped exponential backoff, and `onUp` runs
// once both connections are back so that the replica republishes its state and reloads its mirrors.
import { Redis } from 'ioredis';

export interface RedisLinkOptions {
  url: string;
  log: (line: string) => void;
  /** Longest wait between reconnect attempts (they start at 100 ms and double). Default 2000. */
  retryMaxMs?: number;
  /** A command that gets no answer fails after this long (a hung Redis must not pile up work). Default 1000. */
  commandTimeoutMs?: number;
  /** Wall clock for outage durations in the log. */
  nowMs?: () => number;
}

/** The URL with any password masked, for logs. */
export function safeRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable Redis URL)';
  }
}

export class RedisLink {
  readonly cmd: Redis;
  readonly sub: Redis;
  private readonly upHandlers: Array<() => void> = [];
  private readonly messageHandlers = new Map<string, (message: string) => void>();
  /** Set while an outage is under way (the time it was first seen), null while up or before the first connect. */
  private downSinceMs: number | null = null;
  private everUp = false;
  private closed = false;
  private readonly where: string;
  private readonly nowMs: () => number;
  /** Outages seen (for tests and stats). */
  outages = 0;

  constructor(private readonly o: RedisLinkOptions) {
    this.where = safeRedisUrl(o.url);
    this.nowMs = o.nowMs ?? Date.now;
    const retryMaxMs = o.retryMaxMs ?? 2000;
    const timeoutMs = o.commandTimeoutMs ?? 1000;
    const options = {
      connectTimeout: timeoutMs,
      commandTimeout: timeoutMs,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: (times: number) => (this.closed ? null : Math.min(retryMaxMs, 100 * 2 ** Math.min(times - 1, 10))),
    };
    this.cmd = new Redis(o.url, options);
    // The subscriber keeps its channels across reconnects (ioredis autoResubscribe); it needs the offline queue for
    // that resubscribe.
    this.sub = new Redis(o.url, { ...options, enableOfflineQueue: true, commandTimeout: undefined });
    for (const c of [this.cmd, this.sub]) {
      c.on('error', (err: Error) => this.wentDown(err.message));
      c.on('close', () => this.wentDown('connection closed'));
      c.on('ready', () => this.maybeUp());
    }
    this.sub.on('message', (channel: string, message: string) => this.messageHandlers.get(channel)?.(message));
  }

  /** Both connections are ready: writes and reads may be tried (they can still fail; callers treat that as down). */
  get up(): boolean {
    return !this.closed && this.cmd.status === 'ready' && this.sub.status === 'ready';
  }

  /** Runs after every (re)connect of both connections, the first one included. */
  onUp(fn: () => void): void {
    this.upHandlers.push(fn);
    if (this.up) fn();
  }

  /** Subscribes (and stays subscribed across reconnects). */
  subscribe(channel: string, fn: (message: string) => void): void {
    this.messageHandlers.set(channel, fn);
    this.sub.subscribe(channel).catch((err: Error) => this.wentDown(err.message));
  }

  /** A command failed: Redis is likely going away; the connection events will tell. */
  commandFailed(what: string, err: unknown): void {
    this.wentDown(`${what}: ${(err as Error).message}`);
  }

  private wentDown(reason: string): void {
    if (this.closed || this.downSinceMs !== null || this.up) return;
    this.downSinceMs = this.nowMs();
    this.outages++;
    this.o.log(`replica: Redis unavailable at ${this.where} (${reason}); serving locally, sessions and KV summaries not shared until it is back; retrying with backoff`);
  }

  private maybeUp(): void {
    if (!this.up) return;
    if (this.downSinceMs !== null) {
      this.o.log(`replica: Redis back at ${this.where} after ${((this.nowMs() - this.downSinceMs) / 1000).toFixed(1)} s; republishing this replica's state`);
    } else if (!this.everUp) {
      this.o.log(`replica: Redis connected at ${this.where}`);
    }
    this.downSinceMs = null;
    this.everUp = true;
    for (const fn of this.upHandlers) fn();
  }

  close(): void {
    this.closed = true;
    this.cmd.disconnect();
    this.sub.disconnect();
  }
}
