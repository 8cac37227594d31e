// Redis connections for batches. The drainer's client waits through outages (commands queue and are resent when
// the connection is back; ioredis reconnects with backoff, 250 ms doubling to 5 s) and says so once per outage, in
// one line naming the URL; the CLI's client fails at once with a one-line reason. URLs are shown without their
// password.
import { Redis } from 'ioredis';

export const RECONNECT_MIN_MS = 250;
export const RECONNECT_MAX_MS = 5000;

/** The URL as logs show it: any password replaced by `***`. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString().replace(/\/$/, '');
  } catch {
    return url;
  }
}

export function reconnectDelayMs(attempt: number): number {
  return Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** Math.max(0, Math.min(attempt - 1, 16)));
}

/** A client whose commands wait for the server (never fail for a lost connection): the drainer's. */
export function waitingClient(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, retryStrategy: reconnectDelayMs, lazyConnect: true });
}

/** A client that fails instead of retrying: the CLI's. `timeoutMs` bounds connecting and each command. */
export function failFastClient(url: string, timeoutMs: number): Redis {
  return new Redis(url, { lazyConnect: true, connectTimeout: timeoutMs, commandTimeout: timeoutMs, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
}

/** Connects a lazy client; a failure is one line: `cannot reach Redis at <url>: <reason>`. */
export async function connectOrExplain(client: Redis, url: string): Promise<void> {
  let first: Error | undefined;
  const onError = (e: Error): void => void (first ??= e);
  client.on('error', onError);
  try {
    await client.connect();
  } catch (error) {
    throw new Error(`cannot reach Redis at ${redactUrl(url)}: ${(first ?? (error as Error)).message}`);
  }
}

/**
 * Follows a waiting client's connection: `onChange(false)` and one log line when it is lost, `onChange(true)` and
 * one line when it is back. Errors while down are not repeated; `closing()` silences it before a deliberate quit.
 */
export function watchConnection(client: Redis, url: string, who: string, log: (line: string) => void, onChange: (up: boolean) => void): { closing(): void } {
  const shown = redactUrl(url);
  let up = true;
  let said = false;
  let closing = false;
  const down = (why: string): void => {
    if (closing) return;
    if (up) {
      up = false;
      onChange(false);
    }
    if (!said) {
      said = true;
      log(`${who}: Redis at ${shown} unreachable (${why}); lines stay pending, retrying every ${RECONNECT_MIN_MS} ms to ${RECONNECT_MAX_MS / 1000} s`);
    }
  };
  client.on('error', (e: Error) => down(e.message));
  client.on('close', () => down('connection closed'));
  client.on('ready', () => {
    if (up) return;
    up = true;
    said = false;
    log(`${who}: Redis at ${shown} is back; resuming`);
    onChange(true);
  });
  return { closing: () => void (closing = true) };
}
