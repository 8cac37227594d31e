// The Redis keys and records the replicas share, in one place (every replica of a deployment uses one prefix).
// Records are JSON with units in the names; a record that does not parse is ignored, never trusted.

export interface SessionRecord {
  sessionId: string;
  /** The replica whose instance holds (or last held) the session's context. */
  replicaId: string;
  instanceId: string;
  /** Wall-clock ms of the placement or end that wrote it: a newer record wins, an older one never overwrites. */
  updatedMs: number;
  /** Context the instance holds for the session's next turn (prompt + output of the turn that ended). */
  contextTokens: number;
}

export interface ReplicaRecord {
  replicaId: string;
  /** host:port of the replica's peer port (the Gateway gRPC service that never forwards again). */
  address: string;
  instances: string[];
  heartbeatMs: number;
  /** Changes whenever the replica's KV summary changes (readers fetch it again then). */
  summaryVersion: number;
  summaryHashes: number;
}

export class ReplicaKeys {
  constructor(readonly prefix: string) {}
  session(sessionId: string): string {
    return `${this.prefix}:session:${sessionId}`;
  }
  get sessionPattern(): string {
    return `${this.prefix}:session:*`;
  }
  /** Pub/sub channel of session placements (the mirrors' fast path). */
  get sessionChannel(): string {
    return `${this.prefix}:sessions`;
  }
  replica(replicaId: string): string {
    return `${this.prefix}:replica:${replicaId}`;
  }
  /** Sorted set: replica id scored by its last heartbeat (ms). */
  get replicas(): string {
    return `${this.prefix}:replicas`;
  }
  summary(replicaId: string): string {
    return `${this.prefix}:kv:${replicaId}`;
  }
}

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const text = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

export function parseSessionRecord(raw: string | null | undefined): SessionRecord | null {
  if (!raw) return null;
  try {
    const r = JSON.parse(raw) as Partial<SessionRecord>;
    if (!text(r.sessionId) || !text(r.replicaId) || !text(r.instanceId) || !finite(r.updatedMs) || !finite(r.contextTokens)) return null;
    return { sessionId: r.sessionId, replicaId: r.replicaId, instanceId: r.instanceId, updatedMs: r.updatedMs, contextTokens: r.contextTokens };
  } catch {
    return null;
  }
}

export function parseReplicaRecord(raw: string | null | undefined): ReplicaRecord | null {
  if (!raw) return null;
  try {
    const r = JSON.parse(raw) as Partial<ReplicaRecord>;
    if (!text(r.replicaId) || !text(r.address) || !Array.isArray(r.instances) || !r.instances.every(text)) return null;
    if (!finite(r.heartbeatMs) || !finite(r.summaryVersion) || !finite(r.summaryHashes)) return null;
    return { replicaId: r.replicaId, address: r.address, instances: r.instances, heartbeatMs: r.heartbeatMs, summaryVersion: r.summaryVersion, summaryHashes: r.summaryHashes };
  } catch {
    return null;
  }
}
