// Impl helpers shared by every call: locations, the block operations of SPEC §2, sequence slots.
#include <string>

#include "kv_impl.h"

namespace nvl {

const char* tierName(Tier tier) {
  switch (tier) {
    case Tier::Device: return "device";
    case Tier::Host: return "host";
    case Tier::Disk: return "disk";
  }
  return "unknown";
}

std::string locationText(Location loc) {
  return std::string("{tier: '") + tierName(loc.tier) + "', index: " + std::to_string(loc.index) + "}";
}

// --- locations ---

uint32_t KvManager::Impl::poolOf(Location loc) const {
  switch (loc.tier) {
    case Tier::Device: return loc.index;
    case Tier::Host: return numGpus + loc.index;
    case Tier::Disk: return numGpus + numTrays + loc.index;
  }
  return 0;
}

Location KvManager::Impl::locationOfPool(uint32_t pool) const {
  if (pool < numGpus) return Location{Tier::Device, pool};
  if (pool < numGpus + numTrays) return Location{Tier::Host, pool - numGpus};
  return Location{Tier::Disk, pool - numGpus - numTrays};
}

Status KvManager::Impl::checkGpu(uint32_t gpu, const char* field) const {
  if (gpu < numGpus) return Status::Ok();
  return Status::Error(Code::InvalidArgument, std::string(field) + " must be an integer in [0, " +
                                                  std::to_string(numGpus - 1) + "], got " + std::to_string(gpu));
}

Status KvManager::Impl::checkLocation(Location loc, const char* field) const {
  uint32_t limit = 0;
  switch (loc.tier) {
    case Tier::Device: limit = numGpus; break;
    case Tier::Host:
    case Tier::Disk: limit = numTrays; break;
    default:
      return Status::Error(Code::InvalidArgument,
                           std::string(field) + ".tier must be 'device', 'host' or 'disk'");
  }
  if (loc.index < limit) return Status::Ok();
  return Status::Error(Code::InvalidArgument,
                       std::string(field) + ".index must be an integer in [0, " + std::to_string(limit - 1) +
                           "] for tier '" + tierName(loc.tier) + "', got " + std::to_string(loc.index));
}

// --- block operations ---

void KvManager::Impl::indexHash(uint32_t pool, uint64_t hash, bool present) {
  if (!indexed) return;
  PrefixIndex::MaskKind kind = PrefixIndex::kDevice;
  uint32_t first = pool, count = 1;
  if (pool >= numGpus) {
    const uint32_t gpusPerTray = config.topology.gpusPerTray;
    const bool host = pool < numGpus + numTrays;
    kind = host ? PrefixIndex::kHost : PrefixIndex::kDisk;
    first = (host ? pool - numGpus : pool - numGpus - numTrays) * gpusPerTray;
    count = gpusPerTray;
  }
  if (present) {
    index.add(hash, kind, first, count);
  } else {
    index.remove(hash, kind, first, count);
  }
}

// The taken block belongs to the calling sequence: refCount 1, unhashed.
int32_t KvManager::Impl::take(uint32_t pool) {
  BlockPool& p = pools[pool];
  const int32_t fresh = p.popFree();
  if (fresh >= 0) {
    p.meta(uint32_t(fresh)).refCount = 1;
    return fresh;
  }
  const int32_t victim = p.lruFront();
  if (victim < 0) return -1;  // unreachable: callers checked capacity
  p.lruRemove(uint32_t(victim));
  BlockMeta& m = p.meta(uint32_t(victim));
  p.map().erase(m.hash);
  indexHash(pool, m.hash, false);
  m.hashed = 0;
  m.refCount = 1;
  ++p.evictions;
  events.push(EventKind::Removed, locationOfPool(pool)).hash = m.hash;
  prefetchEviction(pool);
  return victim;
}

// Evictions walk the LRU list, a chain of dependent loads over cold memory. Looking one victim ahead (its map
// and index slots) and two ahead (its metadata) overlaps those misses with the current eviction's work.
void KvManager::Impl::prefetchEviction(uint32_t pool) {
  BlockPool& p = pools[pool];
  const int32_t next = p.lruFront();
  if (next < 0) return;
  const BlockMeta& m = p.meta(uint32_t(next));
  p.map().prefetch(m.hash);
  if (indexed) index.prefetch(m.hash);
  if (m.lruNext >= 0) __builtin_prefetch(&p.meta(uint32_t(m.lruNext)));
}

void KvManager::Impl::prefetchRegistration(uint32_t pool, uint64_t hash) const {
  pools[pool].map().prefetch(hash);
  if (indexed) index.prefetch(hash);
}

void KvManager::Impl::registerHash(uint32_t pool, uint32_t block, uint64_t hash, uint64_t parentHash) {
  BlockPool& p = pools[pool];
  if (!p.map().insert(hash, block)) return;  // another block already holds it here: this one stays unhashed
  BlockMeta& m = p.meta(block);
  m.hash = hash;
  m.hashed = 1;
  indexHash(pool, hash, true);
  KvEvent& e = events.push(EventKind::Stored, locationOfPool(pool));
  e.hash = hash;
  e.parentHash = parentHash;
}

void KvManager::Impl::release(uint32_t pool, uint32_t block) {
  BlockPool& p = pools[pool];
  BlockMeta& m = p.meta(block);
  if (--m.refCount != 0 || m.pinCount != 0) return;
  if (m.hashed) {
    p.lruPushBack(block);
  } else {
    p.pushFree(block);
  }
}

void KvManager::Impl::acquire(uint32_t pool, uint32_t block) {
  BlockPool& p = pools[pool];
  if (p.inLru(block)) p.lruRemove(block);
  ++p.meta(block).refCount;
}

void KvManager::Impl::releaseTable(uint32_t pool, const std::vector<int32_t>& blocks) {
  for (size_t i = blocks.size(); i-- > 0;) release(pool, uint32_t(blocks[i]));
}

uint32_t KvManager::Impl::distinctInLru(uint32_t pool, const int32_t* blocks, size_t n) {
  BlockPool& p = pools[pool];
  if (++epoch == 0) {
    // The generation wrapped: clear every mark so an old one cannot pass for the new epoch.
    for (BlockPool& q : pools) q.clearMarks();
    epoch = 1;
  }
  uint32_t count = 0;
  for (size_t i = 0; i < n; ++i) {
    if (blocks[i] < 0) continue;
    const uint32_t b = uint32_t(blocks[i]);
    BlockMeta& m = p.meta(b);
    if (m.mark == epoch || !p.inLru(b)) continue;
    m.mark = epoch;
    ++count;
  }
  return count;
}

// --- sequences ---

Status KvManager::Impl::lookup(uint32_t seqId, uint32_t& slot) const {
  if (seqId == 0 || seqId >= slotOfId.size()) {
    return Status::Error(Code::UnknownSequence, "seqId must be an id issued by this manager (1.." +
                                                    std::to_string(slotOfId.size() - 1) + "), got " +
                                                    std::to_string(seqId));
  }
  if (slotOfId[seqId] == 0) {
    return Status::Error(Code::SequenceFreed,
                         "seqId " + std::to_string(seqId) + " was freed (or moved away) and cannot be used");
  }
  slot = slotOfId[seqId] - 1;
  return Status::Ok();
}

Status KvManager::Impl::checkCanIssueId() const {
  if (slotOfId.size() < 0xffffffffULL) return Status::Ok();
  return Status::Error(Code::Internal, "sequence ids are exhausted (2^32 - 1 issued)");
}

uint32_t KvManager::Impl::newSequence() {
  uint32_t slot;
  if (!freeSlots.empty()) {
    slot = freeSlots.back();
    freeSlots.pop_back();
  } else {
    slot = uint32_t(slots.size());
    slots.emplace_back();
  }
  Sequence& s = slots[slot];
  s.id = uint32_t(slotOfId.size());
  s.blocks.clear();
  s.hashes.clear();
  s.numTokens = s.hashedBlocks = s.homeGpu = 0;
  s.lastHash = 0;
  slotOfId.push_back(slot + 1);
  ++liveSequences;
  return slot;
}

void KvManager::Impl::retire(uint32_t slot) {
  slotOfId[slots[slot].id] = 0;
  freeSlots.push_back(slot);
  --liveSequences;
}

}  // namespace nvl
