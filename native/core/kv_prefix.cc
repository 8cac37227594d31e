// Prefix queries and pins (SPEC §5).
#include <string>

#include "kv_impl.h"

namespace nvl {

void KvManager::Impl::matchOnGpu(uint32_t gpu, const uint64_t* hashes, size_t n, PrefixMatch& out) const {
  out = PrefixMatch{gpu, 0, 0, 0};
  const uint32_t tray = config.topology.trayOfGpu(gpu);
  const HashBlockMap& device = pools[gpu].map();
  const HashBlockMap& host = pools[numGpus + tray].map();
  const HashBlockMap& disk = pools[numGpus + numTrays + tray].map();
  for (size_t i = 0; i < n; ++i) {
    if (device.contains(hashes[i])) {
      ++out.deviceBlocks;
    } else if (host.contains(hashes[i])) {
      ++out.hostBlocks;
    } else if (disk.contains(hashes[i])) {
      ++out.diskBlocks;
    } else {
      return;
    }
  }
}

void KvManager::matchPrefix(const uint64_t* hashes, size_t numHashes, std::vector<PrefixMatch>& out) const {
  const Impl& m = *impl_;
  if (m.indexed) {
    m.index.match(hashes, numHashes, out);
    return;
  }
  // Clusters beyond PrefixIndex::kMaxGpus: walk every GPU's maps (correct, O(numGpus) per call).
  out.clear();
  if (numHashes == 0) return;
  PrefixMatch one;
  for (uint32_t g = 0; g < m.numGpus; ++g) {
    m.matchOnGpu(g, hashes, numHashes, one);
    if (one.deviceBlocks + one.hostBlocks + one.diskBlocks > 0) out.push_back(one);
  }
}

Status KvManager::matchPrefixOnGpu(uint32_t gpu, const uint64_t* hashes, size_t numHashes, PrefixMatch& out) const {
  const Impl& m = *impl_;
  Status s = m.checkGpu(gpu, "gpu");
  if (!s.ok()) return s;
  m.matchOnGpu(gpu, hashes, numHashes, out);
  return Status::Ok();
}

Status KvManager::pin(uint32_t gpu, const uint64_t* hashes, size_t numHashes, uint32_t& pinned) {
  Impl& m = *impl_;
  Status s = m.checkGpu(gpu, "gpu");
  if (!s.ok()) return s;
  BlockPool& pool = m.pools[gpu];
  pinned = 0;
  for (uint32_t b; pinned < numHashes && pool.map().find(hashes[pinned], b); ++pinned) {
    if (pool.inLru(b)) pool.lruRemove(b);
    if (pool.meta(b).pinCount++ == 0) ++pool.pinnedBlocks;
  }
  return Status::Ok();
}

// A hash listed k times needs pinCount >= k: the check pass takes the pins away tentatively so that duplicates
// see what earlier entries already used, then puts them back; the real pass runs last to first (SPEC §5).
Status KvManager::unpin(uint32_t gpu, const uint64_t* hashes, size_t numHashes, uint32_t& unpinned) {
  Impl& m = *impl_;
  Status s = m.checkGpu(gpu, "gpu");
  if (!s.ok()) return s;
  BlockPool& pool = m.pools[gpu];
  std::vector<int32_t>& blocks = m.scratchBlocks;
  blocks.clear();
  for (size_t i = 0; i < numHashes; ++i) {
    uint32_t b;
    // Pins held by hand-offs are not the caller's to take (SPEC §11).
    const bool pinnedHere =
        pool.map().find(hashes[i], b) && pool.meta(b).pinCount >= 1u + pool.meta(b).handoffPins;
    if (!pinnedHere) {
      for (int32_t done : blocks) ++pool.meta(uint32_t(done)).pinCount;
      return Status::Error(Code::NotPinned, "blockHashes[" + std::to_string(i) + "] is not pinned on GPU " +
                                                std::to_string(gpu) + " (not resident, or pins used up)");
    }
    --pool.meta(b).pinCount;
    blocks.push_back(int32_t(b));
  }
  for (int32_t b : blocks) ++pool.meta(uint32_t(b)).pinCount;
  for (size_t i = blocks.size(); i-- > 0;) {
    const uint32_t b = uint32_t(blocks[i]);
    BlockMeta& meta = pool.meta(b);
    if (--meta.pinCount != 0) continue;
    --pool.pinnedBlocks;
    if (meta.refCount == 0) pool.lruPushBack(b);
  }
  unpinned = uint32_t(numHashes);
  return Status::Ok();
}

}  // namespace nvl
