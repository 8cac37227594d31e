// Redis access for distributed tuning, outside BullMQ: a bounded reachability probe (BullMQ's
// connections retry forever, so an unreachable server would otherwise hang `tune --redis` instead of failing with a
// reason), and the id of the last event of a queue's event stream.
import { Redis } from 'ioredis';

/** BullMQ's default key prefix: queue Q lives under `bull:Q:*`. */
export const BULL_PREFIX = 'bull';

/** A client that fails instead of retrying: for probes and one-off commands. */
function oneShotClient(url: string, timeoutMs: number): Redis {
  return new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
}

async function withClient<T>(url: string, timeoutMs: number, use: (client: Redis) => Promise<T>): Promise<T> {
  const client = oneShotClient(url, timeoutMs);
  // The connection error (ECONNREFUSED, ETIMEDOUT) says more than the failed command's "Connection is closed".
  let connectionError: Error | undefined;
  client.on('error', (err: Error) => (connectionError ??= err));
  try {
    await client.connect();
    return await use(client);
  } catch (error) {
    throw connectionError ?? error;
  } finally {
    client.disconnect();
  }
}

/** Resolves when the server answers PING within `timeoutMs`; rejects with a one-line reason otherwise. */
export async function pingRedis(url: string, timeoutMs: number): Promise<void> {
  try {
    await withClient(url, timeoutMs, async (client) => {
      const answer = await client.ping();
      if (answer !== 'PONG') throw new Error(`PING answered ${JSON.stringify(answer)}`);
    });
  } catch (error) {
    throw new Error(`cannot reach Redis at ${url}: ${(error as Error).message}`);
  }
}

/**
 * The id of the newest event in queue `queue`'s event stream ('0-0' when there is none): a QueueEvents reader that
 * starts there sees every event of jobs added afterwards (BullMQ's default '$' is only fixed at its first read).
 */
export async function lastEventId(url: string, queue: string, timeoutMs = 5000): Promise<string> {
  return withClient(url, timeoutMs, async (client) => {
    const newest = await client.xrevrange(`${BULL_PREFIX}:${queue}:events`, '+', '-', 'COUNT', 1);
    return newest[0]?.[0] ?? '0-0';
  });
}
