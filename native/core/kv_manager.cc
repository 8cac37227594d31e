// KvManager: creation, accessors and the sequence calls of SPEC §4 (allocate, append, free, queries).
#include "kv_manager.h"

#include <string>

#include "kv_impl.h"

namespace nvl {
namespace {

Status invalid(const std::string& message) { return Status::Error(Code::InvalidArgument, message); }

uint32_t ceilDiv(uint64_t a, uint32_t b) { return uint32_t((a + b - 1) / b); }

Status outOfBlocks(const KvManager::Impl& m, uint32_t pool, uint64_t needed, uint64_t available) {
  return Status::Error(Code::OutOfBlocks, "location " + locationText(m.locationOfPool(pool)) + " needs " +
                                              std::to_string(needed) + " blocks but has " +
                                              std::to_string(available) + " (free + evictable)");
}

// Bytes mode: the CPU backend, the CUDA one, or whichever `auto` finds first.
Status pickBackend(KvManager::Impl& m) {
  Status status;
  const BackendChoice choice = m.config.backend;
  if (choice == BackendChoice::Cuda || choice == BackendChoice::Auto) {
    std::unique_ptr<Backend> cuda = makeCudaBackend(status);
    if (cuda) {
      m.backend = std::move(cuda);
    } else if (choice == BackendChoice::Cuda) {
      return Status::Error(Code::BackendUnavailable, "backend 'cuda' is unavailable: " + status.message);
    }
  }
  if (!m.backend) m.backend = makeCpuBackend();
  m.backendName = m.backend->name();
  return Status::Ok();
}

Status setUpBackend(KvManager::Impl& m) {
  const Sizing& z = m.sizing;
  if (m.config.dataMode == DataMode::Metadata) {
    // No block memory exists; a request for 'cuda' still has to be satisfiable so callers learn early.
    if (m.config.backend == BackendChoice::Cuda) {
      Status status;
      if (!makeCudaBackend(status)) {
        return Status::Error(Code::BackendUnavailable, "backend 'cuda' is unavailable: " + status.message);
      }
      m.backendName = "cuda";
    }
    return Status::Ok();
  }
  const double totalBlocks =
      double(m.numGpus) * z.deviceBlocksPerGpu + double(m.numTrays) * z.hostBlocksPerTray +
      double(m.numTrays) * z.diskBlocksPerTray;
  const double totalBytes = double(z.blockBytes) * totalBlocks;
  if (totalBytes > m.config.maxRealBytes) {
    return Status::Error(Code::TooLarge, "dataMode 'bytes' needs " + std::to_string(totalBytes) +
                                             " bytes of block memory, more than maxRealBytes = " +
                                             std::to_string(m.config.maxRealBytes));
  }
  Status s = pickBackend(m);
  if (!s.ok()) return s;
  std::vector<PoolShape> shapes;
  for (uint32_t p = 0; p < m.pools.size(); ++p) {
    shapes.push_back(PoolShape{m.pools[p].numBlocks(), p < m.numGpus, p < m.numGpus ? p : 0});
  }
  return m.backend->init(shapes, z.blockBytes);
}

Status checkAllocate(const KvManager::Impl& m, uint32_t gpu, uint32_t numTokens, size_t numHashes,
                     uint32_t reserveTokens) {
  Status s = m.checkGpu(gpu, "gpu");
  if (!s.ok()) return s;
  if (numTokens < 1 || numTokens > kMaxTokens) {
    return invalid("numTokens must be an integer in [1, 2147483647], got " + std::to_string(numTokens));
  }
  const uint64_t totalTokens = uint64_t(numTokens) + reserveTokens;
  if (totalTokens > kMaxTokens) {
    return invalid("reserveTokens must keep numTokens + reserveTokens <= 2147483647, got " +
                   std::to_string(totalTokens));
  }
  if (numHashes > numTokens / m.tokensPerBlock) {
    return invalid("blockHashes.length must be <= floor(numTokens / tokensPerBlock) = " +
                   std::to_string(numTokens / m.tokensPerBlock) + ", got " + std::to_string(numHashes));
  }
  return m.checkCanIssueId();
}

// SPEC §4 append checks, in order: tier, numTokens, length limit, hash count, chain contiguity.
Status checkAppend(const Sequence& seq, uint32_t numTokens, size_t numHashes, uint32_t bs) {
  if (seq.location.tier != Tier::Device) {
    return Status::Error(Code::WrongTier, "append needs a sequence on a device; seqId " + std::to_string(seq.id) +
                                              " is at " + locationText(seq.location) + " (promote it first)");
  }
  if (numTokens < 1 || numTokens > kMaxTokens) {
    return invalid("numTokens must be an integer in [1, 2147483647], got " + std::to_string(numTokens));
  }
  const uint64_t newLen = uint64_t(seq.numTokens) + numTokens;
  if (newLen > kMaxTokens) {
    return invalid("numTokens would grow the sequence to " + std::to_string(newLen) +
                   " tokens; a sequence holds at most 2147483647");
  }
  const uint32_t oldFull = seq.numTokens / bs;
  const uint32_t newFull = uint32_t(newLen / bs) - oldFull;
  if (numHashes > newFull) {
    return invalid("blockHashes.length must be <= the blocks this call fills (" + std::to_string(newFull) +
                   "), got " + std::to_string(numHashes));
  }
  if (numHashes > 0 && seq.hashedBlocks != oldFull) {
    return invalid("blockHashes must continue a contiguous chain: the sequence has " +
                   std::to_string(seq.hashedBlocks) + " hashed blocks of " + std::to_string(oldFull) + " full ones");
  }
  return Status::Ok();
}

// Positions seq.blocks.size() .. numBlocks-1 each take a block; those with a given hash register it (parent =
// the previous given hash). Map and index slots are requested a few positions ahead: those tables are far
// larger than the caches, so this is where allocate spends its time.
void takeNewBlocks(KvManager::Impl& m, uint32_t gpu, const uint64_t* hashes, size_t numHashes, uint32_t numBlocks,
                   Sequence& seq) {
  constexpr uint32_t kAhead = 4;
  const uint32_t first = uint32_t(seq.blocks.size());
  for (uint32_t i = first; i < numHashes && i < first + kAhead; ++i) m.prefetchRegistration(gpu, hashes[i]);
  if (m.pools[gpu].freeCount() < numBlocks - first) m.prefetchEviction(gpu);
  for (uint32_t i = first; i < numBlocks; ++i) {
    if (i + kAhead < numHashes) m.prefetchRegistration(gpu, hashes[i + kAhead]);
    const uint32_t b = uint32_t(m.take(gpu));
    seq.blocks.push_back(int32_t(b));
    if (i < numHashes) m.registerHash(gpu, b, hashes[i], i > 0 ? hashes[i - 1] : 0);
  }
}

}  // namespace

KvManager::KvManager(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
KvManager::~KvManager() = default;

std::unique_ptr<KvManager> KvManager::create(const KvConfig& config, Status& status) {
  Sizing sizing;
  status = computeSizing(config, sizing);
  if (!status.ok()) return nullptr;
  auto impl = std::make_unique<Impl>(config.eventLogCapacity);
  Impl& m = *impl;
  m.config = config;
  m.sizing = sizing;
  m.numGpus = config.topology.numGpus();
  m.numTrays = config.topology.numTrays();
  m.tokensPerBlock = config.tokensPerBlock;
  m.pools.reserve(size_t(m.numGpus) + 2 * size_t(m.numTrays));
  for (uint32_t g = 0; g < m.numGpus; ++g) m.pools.emplace_back(sizing.deviceBlocksPerGpu);
  for (uint32_t t = 0; t < m.numTrays; ++t) m.pools.emplace_back(sizing.hostBlocksPerTray);
  for (uint32_t t = 0; t < m.numTrays; ++t) m.pools.emplace_back(sizing.diskBlocksPerTray);
  m.indexed = m.numGpus <= PrefixIndex::kMaxGpus;
  if (m.indexed) m.index.init(m.numGpus);
  status = setUpBackend(m);
  if (!status.ok()) return nullptr;
  return std::unique_ptr<KvManager>(new KvManager(std::move(impl)));
}

uint32_t KvManager::numGpus() const { return impl_->numGpus; }
uint32_t KvManager::numTrays() const { return impl_->numTrays; }
uint32_t KvManager::tokensPerBlock() const { return impl_->tokensPerBlock; }
uint64_t KvManager::bytesPerToken() const { return impl_->sizing.bytesPerToken; }
uint64_t KvManager::blockBytes() const { return impl_->sizing.blockBytes; }
const TopologySpec& KvManager::topology() const { return impl_->config.topology; }

BackendInfo KvManager::backendInfo() const {
  const Impl& m = *impl_;
  if (!m.probed) {
    // Probing CUDA can take a while (driver start-up), so it happens on first request, not at create.
    m.probe = probeDevices();
    m.probed = true;
  }
  return BackendInfo{m.backendName, m.config.dataMode, m.probe};
}

DataMode KvManager::dataMode() const { return impl_->config.dataMode; }

Status KvManager::checkLocation(Location loc, const char* field) const { return impl_->checkLocation(loc, field); }

Status KvManager::allocate(uint32_t gpu, uint32_t numTokens, const uint64_t* hashes, size_t numHashes,
                           uint32_t reserveTokens, AllocateResult& out) {
  Impl& m = *impl_;
  Status s = checkAllocate(m, gpu, numTokens, numHashes, reserveTokens);
  if (!s.ok()) return s;
  const uint32_t bs = m.tokensPerBlock;
  const uint64_t totalTokens = uint64_t(numTokens) + reserveTokens;
  BlockPool& pool = m.pools[gpu];
  const uint32_t numBlocks = ceilDiv(totalTokens, bs);
  std::vector<int32_t>& cached = m.scratchBlocks;
  cached.clear();
  for (uint32_t b; cached.size() < numHashes && pool.map().find(hashes[cached.size()], b);) {
    cached.push_back(int32_t(b));
  }
  const uint32_t numCached = uint32_t(cached.size());
  const uint32_t needed = numBlocks - numCached;
  const uint64_t available =
      uint64_t(pool.freeCount()) + pool.lruSize() - m.distinctInLru(gpu, cached.data(), numCached);
  if (needed > available) return outOfBlocks(m, gpu, needed, available);

  Sequence& seq = m.slots[m.newSequence()];
  seq.location = Location{Tier::Device, gpu};
  seq.numTokens = numTokens;
  seq.homeGpu = gpu;
  seq.blocks.reserve(numBlocks);
  for (uint32_t i = 0; i < numCached; ++i) {
    m.acquire(gpu, uint32_t(cached[i]));
    seq.blocks.push_back(cached[i]);
  }
  takeNewBlocks(m, gpu, hashes, numHashes, numBlocks, seq);
  seq.hashes.assign(hashes, hashes + numHashes);
  seq.hashedBlocks = uint32_t(numHashes);
  seq.lastHash = numHashes > 0 ? hashes[numHashes - 1] : 0;
  pool.hits += numCached;
  pool.misses += numHashes - numCached;
  out = AllocateResult{seq.id, numBlocks, numCached, needed};
  return Status::Ok();
}

Status KvManager::append(uint32_t seqId, uint32_t numTokens, const uint64_t* hashes, size_t numHashes,
                         AppendResult& out) {
  Impl& m = *impl_;
  uint32_t slot;
  Status s = m.lookup(seqId, slot);
  if (!s.ok()) return s;
  Sequence& seq = m.slots[slot];
  const uint32_t bs = m.tokensPerBlock;
  if (!(s = checkAppend(seq, numTokens, numHashes, bs)).ok()) return s;
  const uint64_t newLen = uint64_t(seq.numTokens) + numTokens;
  const uint32_t oldFull = seq.numTokens / bs;
  const uint32_t gpu = seq.location.index;
  BlockPool& pool = m.pools[gpu];
  const uint32_t blocksNeeded = ceilDiv(newLen, bs);
  const uint32_t numBlocks = uint32_t(seq.blocks.size());
  const uint32_t needed = blocksNeeded > numBlocks ? blocksNeeded - numBlocks : 0;
  const uint64_t available = uint64_t(pool.freeCount()) + pool.lruSize();
  if (needed > available) return outOfBlocks(m, gpu, needed, available);

  for (uint32_t i = 0; i < needed; ++i) seq.blocks.push_back(m.take(gpu));
  uint64_t parent = seq.lastHash;
  for (size_t k = 0; k < numHashes; ++k) {
    m.registerHash(gpu, uint32_t(seq.blocks[oldFull + k]), hashes[k], parent);
    parent = hashes[k];
  }
  seq.hashes.insert(seq.hashes.end(), hashes, hashes + numHashes);
  seq.hashedBlocks += uint32_t(numHashes);
  seq.lastHash = parent;
  seq.numTokens = uint32_t(newLen);
  out = AppendResult{seq.numTokens, uint32_t(seq.blocks.size()), needed};
  return Status::Ok();
}

Status KvManager::free(uint32_t seqId) {
  Impl& m = *impl_;
  uint32_t slot;
  Status s = m.lookup(seqId, slot);
  if (!s.ok()) return s;
  const Sequence& seq = m.slots[slot];
  m.releaseTable(m.poolOf(seq.location), seq.blocks);
  m.retire(slot);
  return Status::Ok();
}

Status KvManager::sequenceInfo(uint32_t seqId, SequenceInfo& out) const {
  const Impl& m = *impl_;
  uint32_t slot;
  Status s = m.lookup(seqId, slot);
  if (!s.ok()) return s;
  const Sequence& seq = m.slots[slot];
  out = SequenceInfo{seq.id,           seq.location, seq.numTokens, uint32_t(seq.blocks.size()),
                     seq.hashedBlocks, seq.lastHash, seq.homeGpu};
  return Status::Ok();
}

Status KvManager::blockTable(uint32_t seqId, std::vector<int32_t>& out) const {
  const Impl& m = *impl_;
  uint32_t slot;
  Status s = m.lookup(seqId, slot);
  if (!s.ok()) return s;
  out = m.slots[slot].blocks;
  return Status::Ok();
}

}  // namespace nvl
