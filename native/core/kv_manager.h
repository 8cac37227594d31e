// The KV-cache block manager: paged pools per GPU (HBM), per tray (host / Grace memory, local disk), hash-chained
// prefix reuse, reference counts, LRU eviction, pins, sequences, tier moves and transfers, an ordered event log.
// Semantics: native/SPEC.md (the TypeScript reference implements the same and the differential test holds both
// to it). Not thread-safe: one owner calls it (the binding serialises on the JS thread).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "backend.h"
#include "handoff.h"
#include "status.h"
#include "topology.h"

namespace nvl {

class NcclHandoffLink;
struct ncclUniqueId;

enum class Tier : uint8_t { Device = 0, Host = 1, Disk = 2 };
const char* tierName(Tier tier);

struct Location {
  Tier tier = Tier::Device;
  uint32_t index = 0;  // GPU for device, tray for host/disk
  bool operator==(const Location& o) const { return tier == o.tier && index == o.index; }
};

enum class DataMode : uint8_t { Metadata = 0, Bytes = 1 };
enum class BackendChoice : uint8_t { Auto = 0, Cpu = 1, Cuda = 2 };

struct KvLayout {
  uint32_t numLayers = 0;
  uint32_t numKvHeads = 0;
  uint32_t headDim = 0;
  uint32_t mlaLatentDim = 0;
  double bytesPerElement = 2;
  uint32_t tensorParallel = 1;
};

// Negative sizes mean "derive" (SPEC §1).
struct KvConfig {
  TopologySpec topology;
  KvLayout layout;
  uint32_t tokensPerBlock = 16;
  int64_t deviceBlocksPerGpu = -1;
  double weightsBytesPerGpu = 0;
  double deviceReserveFraction = 0.1;
  int64_t hostBlocksPerTray = -1;
  double hostFraction = 0.5;
  int64_t diskBlocksPerTray = -1;
  DataMode dataMode = DataMode::Metadata;
  double maxRealBytes = 1024.0 * 1024 * 1024;
  uint32_t eventLogCapacity = 1u << 20;
  BackendChoice backend = BackendChoice::Auto;
};

struct AllocateResult {
  uint32_t seqId = 0;
  uint32_t numBlocks = 0;
  uint32_t cachedBlocks = 0;
  uint32_t newBlocks = 0;
};

struct AppendResult {
  uint32_t numTokens = 0;
  uint32_t numBlocks = 0;
  uint32_t newBlocks = 0;
};

struct SequenceInfo {
  uint32_t seqId = 0;
  Location location;
  uint32_t numTokens = 0;
  uint32_t numBlocks = 0;
  uint32_t hashedBlocks = 0;
  uint64_t lastHash = 0;
  uint32_t homeGpu = 0;
};

struct PrefixMatch {
  uint32_t gpu = 0;
  uint32_t deviceBlocks = 0;
  uint32_t hostBlocks = 0;
  uint32_t diskBlocks = 0;
};

struct TransferHop {
  LinkKind link = LinkKind::NvLink;
  double bytes = 0;
  double seconds = 0;
};

enum class TransferMode : uint8_t { Move = 0, Copy = 1 };

struct TransferPlan {
  uint32_t seqId = 0;
  Location source;
  Location destination;
  TransferMode mode = TransferMode::Move;
  uint32_t blocksCopied = 0;
  uint32_t blocksShared = 0;
  double bytes = 0;
  std::vector<TransferHop> hops;
  double estimatedSeconds = 0;
  std::string path;
  uint64_t fenceTicket = 0;  // backend fence covering this transfer's copies (0 in metadata mode)
};

enum class EventKind : uint8_t { Stored = 0, Removed = 1, Moved = 2 };

struct KvEvent {
  uint64_t eventId = 0;
  EventKind kind = EventKind::Stored;
  Location location;      // stored / removed: where; moved: source
  Location destination;   // moved only
  uint64_t hash = 0;      // stored / removed
  uint64_t parentHash = 0;  // stored
  uint32_t seqId = 0;     // moved
  TransferMode mode = TransferMode::Move;  // moved
  uint32_t blocks = 0;    // moved
  double bytes = 0;       // moved
};

struct SnapshotLocation {
  Location location;
  std::vector<uint64_t> hashes;  // ascending
};

struct Snapshot {
  uint64_t lastEventId = 0;
  std::vector<SnapshotLocation> locations;
};

struct PoolStats {
  Location location;
  uint32_t totalBlocks = 0;
  uint32_t usedBlocks = 0;
  uint32_t cachedBlocks = 0;
  uint32_t freeBlocks = 0;
  uint32_t pinnedBlocks = 0;
  uint64_t hits = 0;
  uint64_t misses = 0;
  uint64_t evictions = 0;
};

struct KvStats {
  uint64_t blockBytes = 0;
  uint64_t bytesPerToken = 0;
  uint32_t tokensPerBlock = 0;
  std::vector<PoolStats> pools;
  double bytesMovedByLink[kNumLinkKinds] = {0, 0, 0, 0, 0};
  uint64_t transfers = 0;
  uint64_t liveSequences = 0;
  uint64_t droppedEvents = 0;
  uint64_t lastEventId = 0;
};

struct BackendInfo {
  std::string backend;  // "cpu" | "cuda"
  DataMode dataMode = DataMode::Metadata;
  DeviceProbe probe;
};

// Hash helpers (SPEC §3).
uint64_t fmix64(uint64_t x);
uint64_t chainHash(uint64_t parent, uint64_t localId);
// Chained hashes of the full blocks of `tokens`.
std::vector<uint64_t> hashTokens(const uint32_t* tokens, size_t numTokens, uint32_t tokensPerBlock, uint64_t parent);
std::vector<uint64_t> chainHashes(const uint64_t* localIds, size_t count, uint64_t parent);

class KvManager {
 public:
  // Validates the config, sizes the pools, picks and initialises the backend. Null with status on error.
  static std::unique_ptr<KvManager> create(const KvConfig& config, Status& status);
  ~KvManager();

  uint32_t numGpus() const;
  uint32_t numTrays() const;
  uint32_t tokensPerBlock() const;
  uint64_t bytesPerToken() const;
  uint64_t blockBytes() const;
  const TopologySpec& topology() const;
  BackendInfo backendInfo() const;  // probes CUDA on first call
  DataMode dataMode() const;

  Status allocate(uint32_t gpu, uint32_t numTokens, const uint64_t* hashes, size_t numHashes,
                  uint32_t reserveTokens, AllocateResult& out);
  Status append(uint32_t seqId, uint32_t numTokens, const uint64_t* hashes, size_t numHashes, AppendResult& out);
  Status free(uint32_t seqId);
  Status sequenceInfo(uint32_t seqId, SequenceInfo& out) const;
  Status blockTable(uint32_t seqId, std::vector<int32_t>& out) const;

  // Appends matches (GPU ascending, matched length >= 1) to `out` after clearing it.
  void matchPrefix(const uint64_t* hashes, size_t numHashes, std::vector<PrefixMatch>& out) const;
  Status matchPrefixOnGpu(uint32_t gpu, const uint64_t* hashes, size_t numHashes, PrefixMatch& out) const;
  Status pin(uint32_t gpu, const uint64_t* hashes, size_t numHashes, uint32_t& pinned);
  Status unpin(uint32_t gpu, const uint64_t* hashes, size_t numHashes, uint32_t& unpinned);

  Status transfer(uint32_t seqId, Location destination, TransferMode mode, TransferPlan& out);
  Status estimateTransfer(Location source, Location destination, double bytes, TransferPlan& out) const;
  // Blocks until the backend finished the copies covered by `ticket` (call off the JS thread).
  Status waitTransfer(uint64_t ticket);

  // KV hand-off to another manager (SPEC §11, handoff.h). Source side: begin, export (bytes into `data`, which
  // may be null in metadata mode), complete. Destination side: reserve, import (data null / size 0 in metadata
  // mode; checksum null = unchecked), commit. Either side: status, abort (released = false when already ended).
  Status handoffBegin(uint32_t seqId, const HandoffOptions& options, HandoffPlan& out);
  Status handoffExport(uint32_t handoffId, uint32_t chunkIndex, std::vector<uint8_t>* data, HandoffChunk& out);
  Status handoffComplete(uint32_t handoffId, bool& sourceFreed);
  Status handoffReserve(const HandoffPlan& plan, const HandoffReserveOptions& options, HandoffTicket& out);
  Status handoffImport(uint32_t ticketId, uint32_t chunkIndex, const uint8_t* data, size_t size,
                       const uint64_t* checksum, HandoffProgress& out);
  Status handoffCommit(uint32_t ticketId, HandoffCommit& out);
  Status handoffStatus(uint32_t handoffId, HandoffProgress& out) const;
  Status handoffAbort(uint32_t handoffId, bool& released);
  void handoffStats(HandoffStats& out) const;
  // Device path (CUDA backend + NCCL, handoff_nccl.h; UNTESTED ON A DEVICE): the chunk is packed on the GPU and
  // sent / received over `link` instead of through host memory. Same checks and bookkeeping as export / import.
  Status handoffOpenLink(uint32_t gpu, const ncclUniqueId& id, int rank, std::unique_ptr<NcclHandoffLink>& out);
  Status handoffSendChunk(uint32_t handoffId, uint32_t chunkIndex, NcclHandoffLink& link, HandoffChunk& out);
  Status handoffRecvChunk(uint32_t ticketId, uint32_t chunkIndex, NcclHandoffLink& link, HandoffProgress& out);

  Status write(uint32_t seqId, uint32_t tokenOffset, const uint8_t* data, size_t size);
  Status read(uint32_t seqId, uint32_t tokenOffset, uint32_t numTokens, std::vector<uint8_t>& out) const;

  // Removes and returns up to maxEvents oldest events.
  void drainEvents(size_t maxEvents, std::vector<KvEvent>& out);
  void snapshot(Snapshot& out) const;
  void stats(KvStats& out) const;

  // A validated GPU/location check with the SPEC's wording, shared by binding and core.
  Status checkLocation(Location loc, const char* field) const;

  struct Impl;

 private:
  explicit KvManager(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace nvl
