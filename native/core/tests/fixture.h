// Shared helpers for the core's tests: a small configurable cluster, and whole-state captures for "nothing
// changed" checks (stats + snapshot + block tables + pending events).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "check.h"
#include "kv_manager.h"

namespace nvltest {

// numDomains x traysPerDomain x gpusPerTray; 4 bytes per token (1 layer, 1 head, dim 1, bf16), 4 tokens/block.
inline nvl::KvConfig smallConfig(uint32_t numDomains, uint32_t traysPerDomain, uint32_t gpusPerTray,
                                 int64_t deviceBlocks, int64_t hostBlocks, int64_t diskBlocks) {
  nvl::KvConfig c;
  nvl::topologyPreset("gb200-nvl72", c.topology);
  c.topology.name = "test";
  c.topology.numDomains = numDomains;
  c.topology.traysPerDomain = traysPerDomain;
  c.topology.gpusPerTray = gpusPerTray;
  c.layout.numLayers = 1;
  c.layout.numKvHeads = 1;
  c.layout.headDim = 1;
  c.layout.bytesPerElement = 2;
  c.tokensPerBlock = 4;
  c.deviceBlocksPerGpu = deviceBlocks;
  c.hostBlocksPerTray = hostBlocks;
  c.diskBlocksPerTray = diskBlocks;
  return c;
}

inline std::unique_ptr<nvl::KvManager> make(const nvl::KvConfig& c) {
  nvl::Status s;
  std::unique_ptr<nvl::KvManager> kv = nvl::KvManager::create(c, s);
  if (!s.ok()) std::fprintf(stderr, "create failed: %s %s\n", nvl::codeName(s.code), s.message.c_str());
  return kv;
}

inline bool sameStats(const nvl::KvStats& a, const nvl::KvStats& b) {
  if (a.pools.size() != b.pools.size() || a.transfers != b.transfers || a.liveSequences != b.liveSequences ||
      a.droppedEvents != b.droppedEvents || a.lastEventId != b.lastEventId) {
    return false;
  }
  for (int k = 0; k < nvl::kNumLinkKinds; ++k) {
    if (a.bytesMovedByLink[k] != b.bytesMovedByLink[k]) return false;
  }
  for (size_t i = 0; i < a.pools.size(); ++i) {
    const nvl::PoolStats &x = a.pools[i], &y = b.pools[i];
    if (!(x.location == y.location) || x.totalBlocks != y.totalBlocks || x.usedBlocks != y.usedBlocks ||
        x.cachedBlocks != y.cachedBlocks || x.freeBlocks != y.freeBlocks || x.pinnedBlocks != y.pinnedBlocks ||
        x.hits != y.hits || x.misses != y.misses || x.evictions != y.evictions) {
      return false;
    }
  }
  return true;
}

inline bool sameSnapshot(const nvl::Snapshot& a, const nvl::Snapshot& b) {
  if (a.lastEventId != b.lastEventId || a.locations.size() != b.locations.size()) return false;
  for (size_t i = 0; i < a.locations.size(); ++i) {
    if (!(a.locations[i].location == b.locations[i].location) || a.locations[i].hashes != b.locations[i].hashes) {
      return false;
    }
  }
  return true;
}

// Everything observable that a failed call must leave alone, for the given live sequence ids.
struct Capture {
  nvl::KvStats stats;
  nvl::Snapshot snapshot;
  std::vector<std::vector<int32_t>> tables;
  std::vector<nvl::SequenceInfo> infos;
};

inline Capture capture(const nvl::KvManager& kv, const std::vector<uint32_t>& seqIds) {
  Capture c;
  kv.stats(c.stats);
  kv.snapshot(c.snapshot);
  for (uint32_t id : seqIds) {
    std::vector<int32_t> table;
    nvl::SequenceInfo info;
    kv.blockTable(id, table);
    kv.sequenceInfo(id, info);
    c.tables.push_back(table);
    c.infos.push_back(info);
  }
  return c;
}

inline bool sameInfo(const nvl::SequenceInfo& a, const nvl::SequenceInfo& b) {
  return a.seqId == b.seqId && a.location == b.location && a.numTokens == b.numTokens &&
         a.numBlocks == b.numBlocks && a.hashedBlocks == b.hashedBlocks && a.lastHash == b.lastHash &&
         a.homeGpu == b.homeGpu;
}

inline bool sameCapture(const Capture& a, const Capture& b) {
  if (!sameStats(a.stats, b.stats) || !sameSnapshot(a.snapshot, b.snapshot) || a.tables != b.tables) return false;
  for (size_t i = 0; i < a.infos.size(); ++i) {
    if (!sameInfo(a.infos[i], b.infos[i])) return false;
  }
  return true;
}

// used + cached + free == total for every pool.
inline bool poolsBalanced(const nvl::KvManager& kv) {
  nvl::KvStats s;
  kv.stats(s);
  for (const nvl::PoolStats& p : s.pools) {
    if (uint64_t(p.usedBlocks) + p.cachedBlocks + p.freeBlocks != p.totalBlocks) return false;
  }
  return true;
}

inline nvl::PoolStats poolStats(const nvl::KvManager& kv, size_t pool) {
  nvl::KvStats s;
  kv.stats(s);
  return s.pools[pool];
}

inline std::vector<int32_t> table(const nvl::KvManager& kv, uint32_t seqId) {
  std::vector<int32_t> t;
  kv.blockTable(seqId, t);
  return t;
}

inline std::string where(nvl::Location loc) {
  return std::string(nvl::tierName(loc.tier)) + ":" + std::to_string(loc.index);
}

inline std::vector<nvl::KvEvent> drainAll(nvl::KvManager& kv) {
  std::vector<nvl::KvEvent> events;
  kv.drainEvents(SIZE_MAX, events);
  return events;
}

}  // namespace nvltest

