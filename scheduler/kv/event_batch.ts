// Conversions between KV events as objects and as columns (KvEventBatch). The native addon builds batches
// itself; the reference and consumers that want objects use these.
import type { KvEvent, KvEventBatch, Location, Tier } from './types.js';

const TIER_CODES: Record<Tier, number> = { device: 0, host: 1, disk: 2 };
const TIER_NAMES: Tier[] = ['device', 'host', 'disk'];

export function emptyBatch(count: number): KvEventBatch {
  return {
    count,
    eventIds: new Float64Array(count),
    kinds: new Uint8Array(count),
    tiers: new Uint8Array(count),
    indexes: new Uint32Array(count),
    hashes: new BigUint64Array(count),
    parentHashes: new BigUint64Array(count),
    dstTiers: new Uint8Array(count),
    dstIndexes: new Uint32Array(count),
    seqIds: new Uint32Array(count),
    modes: new Uint8Array(count),
    blocks: new Uint32Array(count),
    bytes: new Float64Array(count),
  };
}

export function packEvents(events: KvEvent[]): KvEventBatch {
  const batch = emptyBatch(events.length);
  events.forEach((e, i) => {
    batch.eventIds[i] = e.eventId;
    if (e.kind === 'moved') {
      batch.kinds[i] = 2;
      batch.tiers[i] = TIER_CODES[e.source.tier];
      batch.indexes[i] = e.source.index;
      batch.dstTiers[i] = TIER_CODES[e.destination.tier];
      batch.dstIndexes[i] = e.destination.index;
      batch.seqIds[i] = e.seqId;
      batch.modes[i] = e.mode === 'copy' ? 1 : 0;
      batch.blocks[i] = e.blocks;
      batch.bytes[i] = e.bytes;
    } else {
      batch.kinds[i] = e.kind === 'stored' ? 0 : 1;
      batch.tiers[i] = TIER_CODES[e.location.tier];
      batch.indexes[i] = e.location.index;
      batch.hashes[i] = e.hash;
      if (e.kind === 'stored') batch.parentHashes[i] = e.parentHash;
    }
  });
  return batch;
}

function location(tier: number, index: number): Location {
  return { tier: TIER_NAMES[tier] as Tier, index };
}

export function unpackEvents(batch: KvEventBatch): KvEvent[] {
  const out: KvEvent[] = [];
  for (let i = 0; i < batch.count; i++) {
    const eventId = batch.eventIds[i] as number;
    const loc = location(batch.tiers[i] as number, batch.indexes[i] as number);
    const kind = batch.kinds[i];
    if (kind === 0) {
      out.push({ eventId, kind: 'stored', location: loc, hash: batch.hashes[i] as bigint, parentHash: batch.parentHashes[i] as bigint });
    } else if (kind === 1) {
      out.push({ eventId, kind: 'removed', location: loc, hash: batch.hashes[i] as bigint });
    } else {
      out.push({
        eventId, kind: 'moved', seqId: batch.seqIds[i] as number, source: loc,
        destination: location(batch.dstTiers[i] as number, batch.dstIndexes[i] as number),
        mode: batch.modes[i] === 1 ? 'copy' : 'move', blocks: batch.blocks[i] as number, bytes: batch.bytes[i] as number,
      });
    }
  }
  return out;
}
