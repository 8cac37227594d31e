// Read-side views: events, snapshot, stats (SPEC §8, §9).
#include <algorithm>

#include "kv_impl.h"

namespace nvl {

void KvManager::drainEvents(size_t maxEvents, std::vector<KvEvent>& out) { impl_->events.drain(maxEvents, out); }

void KvManager::snapshot(Snapshot& out) const {
  const Impl& m = *impl_;
  out.lastEventId = m.events.lastEventId();
  out.locations.clear();
  for (uint32_t p = 0; p < m.pools.size(); ++p) {
    const HashBlockMap& map = m.pools[p].map();
    if (map.size() == 0) continue;
    SnapshotLocation loc{m.locationOfPool(p), {}};
    loc.hashes.reserve(map.size());
    map.forEachKey([&](uint64_t hash) { loc.hashes.push_back(hash); });
    std::sort(loc.hashes.begin(), loc.hashes.end());
    out.locations.push_back(std::move(loc));
  }
}

void KvManager::stats(KvStats& out) const {
  const Impl& m = *impl_;
  out.blockBytes = m.sizing.blockBytes;
  out.bytesPerToken = m.sizing.bytesPerToken;
  out.tokensPerBlock = m.tokensPerBlock;
  out.pools.resize(m.pools.size());
  for (uint32_t p = 0; p < m.pools.size(); ++p) {
    const BlockPool& pool = m.pools[p];
    out.pools[p] = PoolStats{m.locationOfPool(p), pool.numBlocks(),  pool.usedCount(), pool.lruSize(),
                             pool.freeCount(),    pool.pinnedBlocks, pool.hits,        pool.misses,
                             pool.evictions};
  }
  for (int k = 0; k < kNumLinkKinds; ++k) out.bytesMovedByLink[k] = m.bytesMovedByLink[k];
  out.transfers = m.transfers;
  out.liveSequences = m.liveSequences;
  out.droppedEvents = m.events.droppedEvents();
  out.lastEventId = m.events.lastEventId();
}

}  // namespace nvl
