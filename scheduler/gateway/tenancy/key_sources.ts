// Where the gateway's API key records come from, each re-read without a restart (rotation: add the new key, move
// clients over, disable the old one):
//   FileKeySource   a YAML keys file (keys.ts), re-read on reload() (the lead's SIGHUP hook) and when an unref'd
//                   poll sees its size, mtime or inode differ from the last read (fs.watchFile would take its
//                   baseline asynchronously, missing a change made just after the first read)
//   RedisKeySource  a Redis hash `<prefix>api-keys` (field = key id, value = JSON {tenant, sha256, disabled?}),
//                   re-read on a message on `<prefix>api-keys:changed` (what `nvlsched keys` publishes), on every
//                   reconnect, and on a bounded poll (a lost pub/sub message costs at most one poll interval)
// A re-read that fails (a half-written file, bad YAML, Redis down) keeps the last good records and logs one line:
// a typo in the keys file must not lock every tenant out.
import { readFileSync, statSync } from 'node:fs';
import { Redis } from 'ioredis';

import { ConfigError } from '../../core/config/params.js';
import { checkUnique, parseKeysFile, readKeyRecord, type KeyRecord } from './keys.js';

export interface KeySource {
  /** For logs: the file path or the Redis hash. */
  readonly name: string;
  /** The last good records. */
  current(): readonly KeyRecord[];
  /** Called after every re-read that changed the records. */
  onChange(listener: () => void): void;
  close(): Promise<void>;
}

const sameRecords = (a: readonly KeyRecord[], b: readonly KeyRecord[]): boolean => JSON.stringify(a) === JSON.stringify(b);

abstract class BaseSource implements KeySource {
  protected records: readonly KeyRecord[] = [];
  private readonly listeners: Array<() => void> = [];
  abstract readonly name: string;
  abstract close(): Promise<void>;

  current(): readonly KeyRecord[] {
    return this.records;
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** Replaces the records; true (and listeners told) when they differ. */
  protected replace(next: readonly KeyRecord[]): boolean {
    if (sameRecords(this.records, next)) return false;
    this.records = next;
    for (const l of this.listeners) l();
    return true;
  }
}

export interface FileKeySourceOptions {
  /** Poll interval; default 2000 ms. 0: no watching (reload() only). */
  pollMs?: number;
  log?: (line: string) => void;
}

export class FileKeySource extends BaseSource {
  readonly name: string;
  private readonly log: (line: string) => void;
  private timer: NodeJS.Timeout | undefined;
  /** size:mtime:inode of the file as last read. */
  private seen = '';

  /** Reads the file now: a missing or bad file throws ConfigError naming it (the gateway must not start without keys). */
  constructor(private readonly path: string, o: FileKeySourceOptions = {}) {
    super();
    this.name = path;
    this.log = o.log ?? (() => undefined);
    this.records = this.read();
    const pollMs = o.pollMs ?? 2000;
    if (pollMs > 0) {
      this.timer = setInterval(() => {
        if (this.stamp() !== this.seen) this.reload();
      }, pollMs);
      this.timer.unref();
    }
  }

  private stamp(): string {
    try {
      const st = statSync(this.path);
      return `${st.size}:${st.mtimeMs}:${st.ino}`;
    } catch {
      return 'missing';
    }
  }

  private read(): KeyRecord[] {
    let text: string;
    try {
      // Stamp before reading: a change made during the read shows as a new stamp at the next poll.
      this.seen = this.stamp();
      text = readFileSync(this.path, 'utf8');
    } catch (e) {
      throw new ConfigError(this.path, `cannot read the keys file: ${(e as Error).message}`);
    }
    return parseKeysFile(text, this.path);
  }

  /** Re-reads the file; true when the records changed. A bad file keeps the last good records (one log line). */
  reload(): boolean {
    try {
      return this.replace(this.read());
    } catch (e) {
      this.log(`auth: keys file not reloaded, keeping the ${this.records.length} keys loaded before: ${(e as Error).message}`);
      return false;
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
  }
}

/** Redis names of the key store under a prefix (the CLI writes the same). */
export function redisKeyNames(prefix: string): { hash: string; channel: string } {
  return { hash: `${prefix}api-keys`, channel: `${prefix}api-keys:changed` };
}

export const DEFAULT_REDIS_KEY_PREFIX = 'nvlsched:';

/** Hash entries → records; bad entries are skipped and named (one tool's mistake must not drop every key). */
export function recordsFromHash(hash: Record<string, string>, where: string): { records: KeyRecord[]; problems: string[] } {
  const records: KeyRecord[] = [];
  const problems: string[] = [];
  for (const [id, value] of Object.entries(hash).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    try {
      let json: unknown;
      try {
        json = JSON.parse(value);
      } catch {
        throw new ConfigError(`${where}[${id}]`, 'not JSON');
      }
      records.push(readKeyRecord({ ...(json as object), id }, `${where}[${id}]`));
    } catch (e) {
      problems.push((e as Error).message);
    }
  }
  try {
    checkUnique(records, where);
  } catch (e) {
    // Two ids with one digest: the tenant would be ambiguous; drop both.
    const dup = new Map<string, number>();
    for (const r of records) dup.set(r.sha256, (dup.get(r.sha256) ?? 0) + 1);
    problems.push((e as Error).message);
    return { records: records.filter((r) => dup.get(r.sha256) === 1), problems };
  }
  return { records, problems };
}

export interface RedisKeySourceOptions {
  /** Key prefix (default `nvlsched:`). */
  prefix?: string;
  /** Re-read at least this often (default 30000 ms). */
  pollMs?: number;
  /** Connect and command timeout (default 2000 ms). */
  timeoutMs?: number;
  log?: (line: string) => void;
}

export class RedisKeySource extends BaseSource {
  readonly name: string;
  private readonly cmd: Redis;
  private readonly sub: Redis;
  private readonly names: { hash: string; channel: string };
  private readonly log: (line: string) => void;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private down = false;
  private problemsSaid = '';

  private constructor(url: string, o: RedisKeySourceOptions) {
    super();
    this.names = redisKeyNames(o.prefix ?? DEFAULT_REDIS_KEY_PREFIX);
    this.name = `redis ${this.names.hash}`;
    this.log = o.log ?? (() => undefined);
    const timeoutMs = o.timeoutMs ?? 2000;
    const options = {
      lazyConnect: true,
      connectTimeout: timeoutMs,
      commandTimeout: timeoutMs,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: (times: number) => (this.closed ? null : Math.min(5000, 100 * 2 ** Math.min(times - 1, 10))),
    };
    this.cmd = new Redis(url, options);
    // The subscriber resubscribes after a reconnect (ioredis autoResubscribe), which needs its offline queue.
    this.sub = new Redis(url, { ...options, enableOfflineQueue: true, commandTimeout: undefined });
    for (const c of [this.cmd, this.sub]) {
      c.on('error', (e: Error) => this.wentDown(e.message));
    }
    this.cmd.on('ready', () => {
      if (this.down) this.log(`auth: ${this.name} reachable again; re-reading keys`);
      this.down = false;
      void this.reload();
    });
    this.sub.on('message', (channel: string) => {
      if (channel === this.names.channel) void this.reload();
    });
  }

  /** Connects and reads the keys now: Redis unreachable at start throws (the gateway must not start without keys). */
  static async open(url: string, o: RedisKeySourceOptions = {}): Promise<RedisKeySource> {
    const s = new RedisKeySource(url, o);
    try {
      await s.cmd.connect();
      await s.sub.connect();
      await s.sub.subscribe(s.names.channel);
      if (!(await s.reload())) throw new Error('could not read the keys');
    } catch (e) {
      await s.close();
      throw new ConfigError('auth.redis', `cannot read API keys from Redis: ${(e as Error).message}`);
    }
    const pollMs = o.pollMs ?? 30_000;
    s.timer = setInterval(() => void s.reload(), pollMs);
    s.timer.unref();
    return s;
  }

  /** Re-reads the hash; resolves false when Redis could not be read (the last good records stay). */
  async reload(): Promise<boolean> {
    if (this.closed) return false;
    let hash: Record<string, string>;
    try {
      hash = await this.cmd.hgetall(this.names.hash);
    } catch (e) {
      this.wentDown((e as Error).message);
      return false;
    }
    const { records, problems } = recordsFromHash(hash, this.names.hash);
    const said = problems.join('; ');
    if (said !== '' && said !== this.problemsSaid) this.log(`auth: skipped bad API key entries: ${said}`);
    this.problemsSaid = said;
    this.replace(records);
    return true;
  }

  private wentDown(reason: string): void {
    if (this.closed || this.down) return;
    this.down = true;
    this.log(`auth: ${this.name} unreachable (${reason}); keeping the ${this.records.length} keys read before, retrying`);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.cmd.disconnect();
    this.sub.disconnect();
  }
}
