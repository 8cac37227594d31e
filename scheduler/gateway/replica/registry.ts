// The replica registry: each replica writes its record (peer address, instances, summary version) under a key with a
// TTL and refreshes it every tick; a replica whose key expired is gone (liveness is Redis's clock, so clock skew
// between machines does not matter). Each tick also reads the others' records and fetches a peer's KV summary again
// when its version changed. A peer that failed a forward is skipped for a backoff (1 s doubling to 30 s) even while
// its key lives: a crashed replica costs one failed attempt, not one per request until its key expires.
import type { ReplicaKeys, ReplicaRecord } from './keys.js';
import { parseReplicaRecord } from './keys.js';
import type { RedisLink } from './redis_link.js';
import { decodeSummary } from './summary.js';

const FIRST_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 30_000;
/** Registry members unseen for this many TTLs are pruned from the sorted set (their keys are long gone). */
const PRUNE_AFTER_TTLS = 20;

export interface Peer {
  rec: ReplicaRecord;
  /** hash → index into rec.instances; null until fetched (or when the stored one did not decode). */
  summary: Map<bigint, number> | null;
  summaryVersion: number;
  failedUntilMs: number;
  backoffMs: number;
}

export interface RegistryOptions {
  link: RedisLink;
  keys: ReplicaKeys;
  replicaId: string;
  address: string;
  instances: readonly string[];
  ttlMs: number;
  nowMs: () => number;
}

export class ReplicaRegistry {
  private readonly peers = new Map<string, Peer>();
  /** Ticks that read the peers, and summary blobs fetched. */
  readonly counts = { reads: 0, summariesFetched: 0 };

  constructor(private readonly o: RegistryOptions) {}

  /** Writes this replica's record and (when `blob` is given, i.e. it changed) its summary; refreshes both TTLs. */
  async publish(summaryVersion: number, summaryHashes: number, blob: Buffer | null): Promise<void> {
    const { link, keys } = this.o;
    const rec: ReplicaRecord = { replicaId: this.o.replicaId, address: this.o.address, instances: [...this.o.instances], heartbeatMs: this.o.nowMs(), summaryVersion, summaryHashes };
    // The summary outlives the record by a tick or two, so a reader that sees the record finds the summary.
    const summaryTtlMs = this.o.ttlMs * 2;
    const p = link.cmd.multi();
    if (blob) p.set(keys.summary(this.o.replicaId), blob, 'PX', summaryTtlMs);
    else p.pexpire(keys.summary(this.o.replicaId), summaryTtlMs);
    p.set(keys.replica(this.o.replicaId), JSON.stringify(rec), 'PX', this.o.ttlMs);
    p.zadd(keys.replicas, rec.heartbeatMs, this.o.replicaId);
    p.zremrangebyscore(keys.replicas, '-inf', rec.heartbeatMs - PRUNE_AFTER_TTLS * this.o.ttlMs);
    await p.exec();
  }

  /** Reads the live peers' records; fetches summaries whose version changed. A peer whose key expired is dropped. */
  async readPeers(): Promise<void> {
    const { link, keys } = this.o;
    const ids = (await link.cmd.zrange(keys.replicas, 0, -1)).filter((id) => id !== this.o.replicaId);
    const raws = ids.length > 0 ? await link.cmd.mget(...ids.map((id) => keys.replica(id))) : [];
    const seen = new Set<string>();
    for (let i = 0; i < ids.length; i++) {
      const rec = parseReplicaRecord(raws[i]);
      if (!rec || rec.replicaId !== ids[i]) continue;
      seen.add(rec.replicaId);
      let peer = this.peers.get(rec.replicaId);
      if (!peer) {
        peer = { rec, summary: null, summaryVersion: -1, failedUntilMs: 0, backoffMs: FIRST_BACKOFF_MS };
        this.peers.set(rec.replicaId, peer);
      }
      // A restarted peer (new address) gets a clean slate.
      if (peer.rec.address !== rec.address) {
        peer.failedUntilMs = 0;
        peer.backoffMs = FIRST_BACKOFF_MS;
      }
      peer.rec = rec;
      if (rec.summaryVersion !== peer.summaryVersion) {
        const blob = await link.cmd.getBuffer(keys.summary(rec.replicaId));
        peer.summary = blob ? decodeSummary(blob) : null;
        peer.summaryVersion = rec.summaryVersion;
        this.counts.summariesFetched++;
      }
    }
    for (const id of [...this.peers.keys()]) if (!seen.has(id)) this.peers.delete(id);
    this.counts.reads++;
  }

  /** A peer that may be sent a forward now: registered (key alive at the last read) and not in failure backoff. */
  usable(replicaId: string): Peer | undefined {
    const p = this.peers.get(replicaId);
    return p && p.failedUntilMs <= this.o.nowMs() ? p : undefined;
  }

  /** Usable peers (for prefix lookups). */
  usablePeers(): Peer[] {
    const nowMs = this.o.nowMs();
    return [...this.peers.values()].filter((p) => p.failedUntilMs <= nowMs);
  }

  /** Every known peer id (stats, tests). */
  peerIds(): string[] {
    return [...this.peers.keys()];
  }

  peerFailed(replicaId: string): void {
    const p = this.peers.get(replicaId);
    if (!p) return;
    p.failedUntilMs = this.o.nowMs() + p.backoffMs;
    p.backoffMs = Math.min(MAX_BACKOFF_MS, p.backoffMs * 2);
  }

  peerOk(replicaId: string): void {
    const p = this.peers.get(replicaId);
    if (p) p.backoffMs = FIRST_BACKOFF_MS;
  }

  /** A clean stop: the record goes at once (peers stop forwarding here on their next read). */
  async deregister(): Promise<void> {
    const { link, keys } = this.o;
    await link.cmd.multi().del(keys.replica(this.o.replicaId)).del(keys.summary(this.o.replicaId)).zrem(keys.replicas, this.o.replicaId).exec();
  }
}
