// KvManager::Impl: the state behind the public API, shared by the kv_*.cc files (one per group of calls).
// Private to native/core; nothing outside includes it.
//
// Invariants kept by every public call (SPEC "every failed call changes nothing"): a call validates everything
// and checks capacity before its first mutation, so a non-Ok status always leaves pools, sequences, stats and
// the event log untouched. Helpers below that mutate (take, registerHash, release, acquire) are only called
// after those checks.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "block_pool.h"
#include "event_log.h"
#include "kv_manager.h"
#include "prefix_index.h"

namespace nvl {

constexpr uint32_t kMaxTokens = 0x7fffffffu;  // 2^31 - 1: per sequence, and blocks per pool

struct Sequence {
  uint32_t id = 0;
  Location location;
  uint32_t numTokens = 0;
  uint32_t hashedBlocks = 0;  // blocks 0..hashedBlocks-1 carry hashes[i]
  uint64_t lastHash = 0;
  uint32_t homeGpu = 0;
  std::vector<int32_t> blocks;   // block numbers in the pool of `location`
  std::vector<uint64_t> hashes;  // size() == hashedBlocks; kept even where a block stayed unhashed (duplicate)
};

// One live KV hand-off (SPEC §11). A manager can be the source of some and the destination of others; ended
// hand-offs leave the map (ids below nextHandoffId that are absent have ended).
struct HandoffRecord {
  bool source = true;
  HandoffPlan plan;             // source: as returned by begin; destination: as received, validated
  ChunkGrid grid;
  uint32_t pool = 0;            // source: the pool of the pinned blocks; destination: the GPU's pool
  std::vector<int32_t> blocks;  // source: pinned used blocks; destination: the whole table (reserved blocks too)
  std::vector<uint8_t> done;    // per chunk: exported (source), imported or not needed (destination)
  std::vector<uint32_t> groupDone;  // per layer group: chunks done (destination)
  uint32_t doneChunks = 0;      // chunks marked in `done`
  uint32_t cachedBlocks = 0;    // destination: leading blocks shared from the GPU's cache
  uint32_t skippedChunks = 0;   // destination: chunks wholly inside the cached prefix (marked done at reserve)
  bool devicePending = false;   // destination: chunks were received on a stream; commit fences before it runs
};

// Sizes derived from a config (SPEC §1).
struct Sizing {
  uint64_t bytesPerToken = 0;
  uint64_t blockBytes = 0;
  uint32_t deviceBlocksPerGpu = 0;
  uint32_t hostBlocksPerTray = 0;
  uint32_t diskBlocksPerTray = 0;
};
Status computeSizing(const KvConfig& config, Sizing& out);

struct KvManager::Impl {
  KvConfig config;
  Sizing sizing;
  uint32_t numGpus = 0;
  uint32_t numTrays = 0;
  uint32_t tokensPerBlock = 0;

  std::vector<BlockPool> pools;  // location order: devices, hosts, disks
  bool indexed = false;          // PrefixIndex maintained (numGpus <= PrefixIndex::kMaxGpus)
  PrefixIndex index;
  EventLog events;

  // slotOfId[id] = slot + 1 while live, 0 once freed or moved away; id 0 is never issued.
  std::vector<uint32_t> slotOfId{0};
  std::vector<Sequence> slots;  // recycled, so their vectors keep their capacity
  std::vector<uint32_t> freeSlots;
  uint64_t liveSequences = 0;
  uint64_t transfers = 0;
  double bytesMovedByLink[kNumLinkKinds] = {0, 0, 0, 0, 0};

  std::unordered_map<uint32_t, HandoffRecord> handoffs;
  uint32_t nextHandoffId = 1;
  HandoffStats handoffCounters;  // begun/completed/... and bytes; live counts and held blocks kept in step

  std::unique_ptr<Backend> backend;  // null in metadata mode
  std::string backendName = "cpu";
  mutable bool probed = false;
  mutable DeviceProbe probe;

  uint32_t epoch = 0;  // BlockMeta::mark generation, for "distinct block" counting
  std::vector<int32_t> scratchBlocks;
  std::vector<CopyOp> scratchCopies;

  explicit Impl(uint32_t eventLogCapacity) : events(eventLogCapacity) {}

  // --- locations ---
  uint32_t poolOf(Location loc) const;
  Location locationOfPool(uint32_t pool) const;
  Status checkLocation(Location loc, const char* field) const;
  Status checkGpu(uint32_t gpu, const char* field) const;

  // --- block operations (SPEC §2) ---
  int32_t take(uint32_t pool);  // free stack, else evict the LRU end
  void registerHash(uint32_t pool, uint32_t block, uint64_t hash, uint64_t parentHash);
  void release(uint32_t pool, uint32_t block);
  void acquire(uint32_t pool, uint32_t block);
  void releaseTable(uint32_t pool, const std::vector<int32_t>& blocks);  // last block first
  // Distinct blocks among blocks[0..n) (entries < 0 skipped) that sit in the LRU: they leave it when acquired.
  uint32_t distinctInLru(uint32_t pool, const int32_t* blocks, size_t n);
  void indexHash(uint32_t pool, uint64_t hash, bool present);
  void prefetchEviction(uint32_t pool);
  void prefetchRegistration(uint32_t pool, uint64_t hash) const;

  // --- sequences ---
  Status lookup(uint32_t seqId, uint32_t& slot) const;
  Status checkCanIssueId() const;
  uint32_t newSequence();  // issues the next id; returns its slot (slots may reallocate: re-fetch references)
  void retire(uint32_t slot);

  // --- hand-offs ---
  Status findHandoff(uint32_t id, bool wantSource, const char* call, HandoffRecord*& out);
  void releaseHandoffPins(HandoffRecord& r);

  void matchOnGpu(uint32_t gpu, const uint64_t* hashes, size_t n, PrefixMatch& out) const;
};

// Hand-off helpers shared by kv_handoff*.cc: the route rule (same GPU refused, other domain only with
// crossDomain), and the plan's chunk grid and cost fields from the topology's link model.
Status checkHandoffRoute(const KvManager::Impl& m, uint32_t sourceGpu, uint32_t destinationGpu, bool crossDomain,
                         const char* field, LinkKind& link);
Status checkChunking(const KvManager::Impl& m, uint32_t numTokens, uint32_t blocksPerChunk, uint32_t layersPerChunk,
                     const char* prefix, ChunkGrid& grid);
void fillPlanCosts(const KvManager::Impl& m, const ChunkGrid& grid, HandoffPlan& plan);
constexpr uint64_t kMaxHandoffChunks = 1u << 20;

// Text helpers for messages.
std::string locationText(Location loc);

}  // namespace nvl
