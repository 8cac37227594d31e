// The KV manager's packed event columns (scheduler/kv/types.ts KvEventBatch) → proto KvEvent messages. Ids and
// hashes travel as decimal strings (the loader's `longs: String`), so all 64 bits of a hash survive.
import type { KvEvent } from '../gen/proto/nvlsched/v1/KvEvent.js';
import type { Tier } from '../gen/proto/nvlsched/v1/Tier.js';
import type { KvEventBatch, KvSnapshot } from '../kv/types.js';
import type { SnapshotResponse } from '../gen/proto/nvlsched/v1/SnapshotResponse.js';

const TIER_NAMES: readonly Tier[] = ['TIER_DEVICE', 'TIER_HOST', 'TIER_DISK'];

function tier(code: number): Tier {
  return TIER_NAMES[code] ?? 'TIER_DEVICE';
}

/** One proto event per column entry, in order. `gatewaySeqId` maps a native sequence id back (moved events). */
export function eventsToProto(batch: KvEventBatch, gatewaySeqId: (nativeId: number) => number): KvEvent[] {
  const out: KvEvent[] = new Array(batch.count);
  for (let i = 0; i < batch.count; i++) {
    const eventId = String(batch.eventIds[i]);
    const location = { tier: tier(batch.tiers[i] as number), index: batch.indexes[i] as number };
    const kind = batch.kinds[i];
    if (kind === 0) {
      out[i] = { eventId, stored: { location, hash: String(batch.hashes[i]), parentHash: String(batch.parentHashes[i]) } };
    } else if (kind === 1) {
      out[i] = { eventId, removed: { location, hash: String(batch.hashes[i]) } };
    } else {
      out[i] = {
        eventId,
        moved: {
          seqId: gatewaySeqId(batch.seqIds[i] as number),
          source: location,
          destination: { tier: tier(batch.dstTiers[i] as number), index: batch.dstIndexes[i] as number },
          copy: batch.modes[i] === 1,
          blocks: batch.blocks[i] as number,
          bytes: batch.bytes[i] as number,
        },
      };
    }
  }
  return out;
}

export function snapshotToProto(snapshot: KvSnapshot): SnapshotResponse {
  return {
    lastEventId: String(snapshot.lastEventId),
    locations: snapshot.locations.map(({ location, hashes }) => ({
      location: { tier: tier(location.tier === 'device' ? 0 : location.tier === 'host' ? 1 : 2), index: location.index },
      hashes: Array.from(hashes, (h) => String(h)),
    })),
  };
}
