// Worker KV events and snapshots (proto) → the KV manager's shapes that the scheduler's KV index applies.
import type { KvEvent__Output } from '../gen/proto/nvlsched/v1/KvEvent.js';
import type { Location__Output } from '../gen/proto/nvlsched/v1/Location.js';
import type { SnapshotResponse__Output } from '../gen/proto/nvlsched/v1/SnapshotResponse.js';
import type { KvEvent, KvSnapshot, Location } from '../kv/types.js';

const TIERS = { TIER_DEVICE: 'device', TIER_HOST: 'host', TIER_DISK: 'disk' } as const;

function location(loc: Location__Output | null | undefined): Location {
  return { tier: TIERS[(loc?.tier ?? 'TIER_DEVICE') as keyof typeof TIERS] ?? 'device', index: loc?.index ?? 0 };
}

export function eventsFromProto(events: readonly KvEvent__Output[]): KvEvent[] {
  const out: KvEvent[] = [];
  for (const e of events) {
    const eventId = Number(e.eventId);
    if (e.stored) out.push({ eventId, kind: 'stored', location: location(e.stored.location), hash: BigInt(e.stored.hash), parentHash: BigInt(e.stored.parentHash) });
    else if (e.removed) out.push({ eventId, kind: 'removed', location: location(e.removed.location), hash: BigInt(e.removed.hash) });
    else if (e.moved) {
      const m = e.moved;
      out.push({ eventId, kind: 'moved', seqId: m.seqId, source: location(m.source), destination: location(m.destination), mode: m.copy ? 'copy' : 'move', blocks: m.blocks, bytes: m.bytes });
    }
  }
  return out;
}

export function snapshotFromProto(s: SnapshotResponse__Output): KvSnapshot {
  return {
    lastEventId: Number(s.lastEventId),
    locations: s.locations.map((l) => ({ location: location(l.location), hashes: BigUint64Array.from(l.hashes.map((h) => BigInt(h))) })),
  };
}
