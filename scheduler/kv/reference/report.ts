// Read-only views (native/SPEC.md §8, §9): stats and the snapshot of resident hashes, both in location order.
import type { KvSnapshot, KvStats } from '../types.js';
import type { KvState } from './state.js';

export function statsOf(state: KvState): KvStats {
  const { blockBytes, bytesPerToken, tokensPerBlock } = state.config;
  return {
    blockBytes,
    bytesPerToken,
    tokensPerBlock,
    pools: state.pools.map((pool) => ({
      location: { ...pool.location },
      totalBlocks: pool.totalBlocks,
      usedBlocks: pool.usedBlocks,
      cachedBlocks: pool.cachedBlocks,
      freeBlocks: pool.freeBlocks,
      pinnedBlocks: pool.pinnedBlocks,
      hits: pool.hits,
      misses: pool.misses,
      evictions: pool.evictions,
    })),
    bytesMovedByLink: { ...state.bytesMovedByLink },
    transfers: state.transfers,
    liveSequences: state.sequences.liveCount,
    droppedEvents: state.events.droppedEvents,
    lastEventId: state.events.lastEventId,
  };
}

export function snapshotOf(state: KvState): KvSnapshot {
  const locations: KvSnapshot['locations'] = [];
  for (const pool of state.pools) {
    if (pool.byHash.size > 0) locations.push({ location: { ...pool.location }, hashes: pool.sortedHashes() });
  }
  return { lastEventId: state.events.lastEventId, locations };
}
