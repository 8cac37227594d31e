// The shared session directory: session id → the replica and instance holding its context. Redis keeps one key per
// session (TTL) and a pub/sub channel announces every write; each replica keeps a bounded mirror, so a lookup on a
// request's path is a Map read, never a round trip. A write only wins over an older record (a Lua compare on
// updatedMs), so a replica republishing after an outage cannot undo a newer placement elsewhere. Sessions homed
// here are also kept in `own`, and written again whenever Redis comes back (it may have lost them: nothing lost).
import type { SessionRecord } from './keys.js';
import { parseSessionRecord, type ReplicaKeys } from './keys.js';
import type { RedisLink } from './redis_link.js';

/** SET only when no record or an older one is there; announce what was written. KEYS[1] key; ARGV json, updatedMs, ttlMs, channel. */
const PUT_IF_NEWER = `
local cur = redis.call('GET', KEYS[1])
if cur then
  local ok, old = pcall(cjson.decode, cur)
  if ok and type(old) == 'table' and tonumber(old.updatedMs) and tonumber(old.updatedMs) > tonumber(ARGV[2]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
redis.call('PUBLISH', ARGV[4], ARGV[1])
return 1`;

/** Keys read per SCAN page and per MGET when a mirror is reloaded; records written per pipeline when republishing. */
const BATCH = 1000;

export interface DirectoryOptions {
  link: RedisLink;
  keys: ReplicaKeys;
  replicaId: string;
  /** How long a session's record lives after its last write. */
  ttlMs: number;
  /** Largest mirror (and own-session map); the least recently written go first. */
  maxSessions: number;
  nowMs: () => number;
}

interface Entry {
  rec: SessionRecord;
  expiresMs: number;
}

export class SessionDirectory {
  private readonly mirror = new Map<string, Entry>();
  private readonly own = new Map<string, SessionRecord>();
  private resyncing: Promise<void> | null = null;
  /** Records written to Redis / refused as older / failed (Redis down), and reloads done. */
  readonly counts = { written: 0, stale: 0, failed: 0, resyncs: 0, republished: 0 };

  constructor(private readonly o: DirectoryOptions) {
    o.link.subscribe(o.keys.sessionChannel, (message) => {
      const rec = parseSessionRecord(message);
      if (rec) this.heard(rec);
    });
    o.link.onUp(() => void this.resync());
  }

  /** The live record of a session (undefined: unknown or expired). */
  lookup(sessionId: string): SessionRecord | undefined {
    const e = this.mirror.get(sessionId);
    if (!e) return undefined;
    if (e.expiresMs <= this.o.nowMs()) {
      this.mirror.delete(sessionId);
      return undefined;
    }
    return e.rec;
  }

  /** This replica placed (or ended) a session turn: remember it, and share it when Redis is up. */
  record(sessionId: string, instanceId: string, contextTokens: number): void {
    const rec: SessionRecord = { sessionId, replicaId: this.o.replicaId, instanceId, updatedMs: this.o.nowMs(), contextTokens };
    this.heard(rec);
    if (this.o.link.up) void this.write(rec);
  }

  get mirrorSize(): number {
    return this.mirror.size;
  }

  get ownSize(): number {
    return this.own.size;
  }

  /** A record from anywhere (our own write, the channel, a reload): the newer one wins. */
  private heard(rec: SessionRecord): void {
    const cur = this.mirror.get(rec.sessionId);
    if (cur && cur.rec.updatedMs > rec.updatedMs) return;
    this.mirror.delete(rec.sessionId);
    this.mirror.set(rec.sessionId, { rec, expiresMs: rec.updatedMs + this.o.ttlMs });
    trim(this.mirror, this.o.maxSessions);
    if (rec.replicaId === this.o.replicaId) {
      this.own.delete(rec.sessionId);
      this.own.set(rec.sessionId, rec);
      trim(this.own, this.o.maxSessions);
    } else {
      this.own.delete(rec.sessionId);
    }
  }

  private async write(rec: SessionRecord): Promise<void> {
    const ttlMs = Math.max(1, Math.round(rec.updatedMs + this.o.ttlMs - this.o.nowMs()));
    try {
      const wrote = await this.o.link.cmd.eval(PUT_IF_NEWER, 1, this.o.keys.session(rec.sessionId), JSON.stringify(rec), String(rec.updatedMs), String(ttlMs), this.o.keys.sessionChannel);
      if (wrote === 1) this.counts.written++;
      else this.counts.stale++;
    } catch (error) {
      this.counts.failed++;
      this.o.link.commandFailed('session write', error);
    }
  }

  /** After a (re)connect: write our sessions again (Redis may have restarted empty), then reload the mirror. */
  resync(): Promise<void> {
    this.resyncing ??= this.doResync().finally(() => {
      this.resyncing = null;
    });
    return this.resyncing;
  }

  private async doResync(): Promise<void> {
    const { link, keys } = this.o;
    try {
      const nowMs = this.o.nowMs();
      const own = [...this.own.values()].filter((r) => r.updatedMs + this.o.ttlMs > nowMs);
      for (let i = 0; i < own.length; i += BATCH) {
        const p = link.cmd.pipeline();
        for (const rec of own.slice(i, i + BATCH)) {
          p.eval(PUT_IF_NEWER, 1, keys.session(rec.sessionId), JSON.stringify(rec), String(rec.updatedMs), String(Math.max(1, rec.updatedMs + this.o.ttlMs - nowMs)), keys.sessionChannel);
        }
        await p.exec();
        this.counts.republished += Math.min(BATCH, own.length - i);
      }
      let cursor = '0';
      let loaded = 0;
      // Bounded: one pass of the cursor, at most maxSessions records.
      do {
        const [next, found] = await link.cmd.scan(cursor, 'MATCH', keys.sessionPattern, 'COUNT', BATCH);
        cursor = next;
        if (found.length > 0) {
          for (const raw of await link.cmd.mget(...found)) {
            const rec = parseSessionRecord(raw);
            if (rec) this.heard(rec);
          }
          loaded += found.length;
        }
      } while (cursor !== '0' && loaded < this.o.maxSessions);
      this.counts.resyncs++;
    } catch (error) {
      link.commandFailed('session directory reload', error);
    }
  }
}

/** Drops the oldest entries (Map order is insertion order; writers re-insert) beyond `max`. */
function trim<V>(m: Map<string, V>, max: number): void {
  while (m.size > max) {
    const oldest = m.keys().next().value as string;
    m.delete(oldest);
  }
}
