// Checks of the --redis URL and the --queue name, kept apart from redis.ts so that flag parsing does not load a
// Redis client.

/** The URL if it is a redis:// or rediss:// URL with a host; else an error naming the flag. */
export function checkRedisUrl(url: string, flag = '--redis'): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw Object.assign(new Error(`${flag}: '${url}' is not a URL; expected redis://host:port[/db]`), { code: 'E_USAGE' });
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw Object.assign(new Error(`${flag}: '${url}' is not a redis:// or rediss:// URL`), { code: 'E_USAGE' });
  }
  if (parsed.hostname === '') throw Object.assign(new Error(`${flag}: '${url}' has no host`), { code: 'E_USAGE' });
  return url;
}

/** Queue names become Redis keys and BullMQ refuses ':' in them. */
export function checkQueueName(name: string, flag = '--queue'): string {
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name)) {
    throw Object.assign(new Error(`${flag}: '${name}' must be 1–64 characters of letters, digits, '_', '.', '-'`), { code: 'E_USAGE' });
  }
  return name;
}
