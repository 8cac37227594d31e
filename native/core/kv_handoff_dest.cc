// KV hand-off, the destination side (SPEC §11): reserve checks the plan against this manager's layout and takes
// every block at once (leading blocks already cached here are shared, like transfer's); import writes a chunk's
// bytes into the new blocks; commit turns the blocks into a runnable sequence and only then registers hashes, so
// nothing can share a block whose bytes have not all arrived.
#include <string>

#include "kv_impl.h"

namespace nvl {
namespace {

Status invalid(const std::string& message) { return Status::Error(Code::InvalidArgument, message); }

template <class T>
Status mustEqual(const char* field, T got, T mine, const char* why) {
  if (got == mine) return Status::Ok();
  return invalid(std::string("plan.") + field + " is " + std::to_string(got) + " but this manager's is " +
                 std::to_string(mine) + why);
}

// Plan fields in order: layout, data mode, sequence shape, hashes, sourceGpu, route, mode, chunking.
Status checkPlan(const KvManager::Impl& m, const HandoffPlan& plan, uint32_t gpu, uint32_t reserveTokens,
                 ChunkGrid& grid, LinkKind& link) {
  const char* layout = ": both instances must hold the same KV layout";
  Status s = mustEqual("tokensPerBlock", plan.tokensPerBlock, m.tokensPerBlock, layout);
  if (s.ok()) s = mustEqual("bytesPerToken", plan.bytesPerToken, m.sizing.bytesPerToken, layout);
  if (s.ok()) s = mustEqual("numLayers", plan.numLayers, m.config.layout.numLayers, layout);
  if (!s.ok()) return s;
  if (plan.bytesMode != (m.backend != nullptr)) {
    return invalid(std::string("plan.dataMode is '") + (plan.bytesMode ? "bytes" : "metadata") +
                   "' but this manager's is '" + (m.backend ? "bytes" : "metadata") + "': both sides must match");
  }
  if (plan.numTokens < 1 || plan.numTokens > kMaxTokens) {
    return invalid("plan.numTokens must be an integer in [1, 2147483647], got " + std::to_string(plan.numTokens));
  }
  if (uint64_t(plan.numTokens) + reserveTokens > kMaxTokens) {
    return invalid("reserveTokens must keep plan.numTokens + reserveTokens <= 2147483647");
  }
  const uint32_t full = plan.numTokens / m.tokensPerBlock;
  if (plan.hashes.size() > full) {
    return invalid("plan.blockHashes.length must be <= floor(numTokens / tokensPerBlock) = " + std::to_string(full) +
                   ", got " + std::to_string(plan.hashes.size()));
  }
  if (plan.sourceGpu >= m.numGpus) {
    return invalid("plan.sourceGpu must be an integer in [0, " + std::to_string(m.numGpus - 1) + "], got " +
                   std::to_string(plan.sourceGpu));
  }
  if (!(s = checkHandoffRoute(m, plan.sourceGpu, gpu, plan.crossDomain, "gpu", link)).ok()) return s;
  if (plan.mode > 1) return invalid("plan.mode must be 'move' or 'copy'");
  if (!(s = checkChunking(m, plan.numTokens, plan.blocksPerChunk, plan.layersPerChunk, "plan.", grid)).ok()) return s;
  if (plan.numBlocks != grid.numBlocks) return mustEqual("numBlocks", plan.numBlocks, grid.numBlocks, " (ceil)");
  if (plan.numChunks != grid.numChunks) {
    return mustEqual("numChunks", uint64_t(plan.numChunks), grid.numChunks, " (from the chunk sizes)");
  }
  return Status::Ok();
}

void markDone(HandoffRecord& r, uint32_t chunk) {
  if (r.done[chunk]) return;
  r.done[chunk] = 1;
  ++r.doneChunks;
  ++r.groupDone[chunk / r.grid.blockGroups];
}

}  // namespace

Status KvManager::handoffReserve(const HandoffPlan& plan, const HandoffReserveOptions& options, HandoffTicket& out) {
  Impl& m = *impl_;
  const uint32_t gpu = options.gpu >= 0 ? uint32_t(options.gpu) : plan.destinationGpu;
  if (options.gpu > int64_t(0xffffffffu)) return m.checkGpu(0xffffffffu, "gpu");
  ChunkGrid grid;
  LinkKind link;
  Status s = checkPlan(m, plan, gpu, options.reserveTokens, grid, link);
  if (!s.ok()) return s;
  if (m.nextHandoffId == 0xffffffffu) return Status::Error(Code::Internal, "hand-off ids are exhausted");

  // Capacity: like allocate, the leading hashes resident on the GPU are shared, the rest taken.
  BlockPool& pool = m.pools[gpu];
  const uint32_t numBlocks = uint32_t((uint64_t(plan.numTokens) + options.reserveTokens + m.tokensPerBlock - 1) /
                                      m.tokensPerBlock);
  std::vector<int32_t>& cached = m.scratchBlocks;
  cached.clear();
  for (uint32_t b; cached.size() < plan.hashes.size() && pool.map().find(plan.hashes[cached.size()], b);) {
    cached.push_back(int32_t(b));
  }
  const uint32_t numCached = uint32_t(cached.size());
  const uint32_t needed = numBlocks - numCached;
  const uint64_t available =
      uint64_t(pool.freeCount()) + pool.lruSize() - m.distinctInLru(gpu, cached.data(), numCached);
  if (needed > available) {
    return Status::Error(Code::OutOfBlocks, "location " + locationText(Location{Tier::Device, gpu}) + " needs " +
                                                std::to_string(needed) + " blocks for the hand-off but has " +
                                                std::to_string(available) + " (free + evictable)");
  }

  HandoffRecord rec;
  rec.source = false;
  rec.pool = gpu;
  rec.plan = plan;
  rec.plan.destinationGpu = gpu;
  rec.plan.link = link;
  rec.grid = grid;
  rec.cachedBlocks = numCached;
  rec.blocks.reserve(numBlocks);
  for (int32_t b : cached) {
    m.acquire(gpu, uint32_t(b));
    rec.blocks.push_back(b);
  }
  for (uint32_t i = numCached; i < numBlocks; ++i) rec.blocks.push_back(m.take(gpu));
  rec.done.assign(grid.numChunks, 0);
  rec.groupDone.assign(grid.layerGroups, 0);
  for (uint32_t c = 0; c < grid.numChunks; ++c) {
    const ChunkGrid::Chunk ch = grid.chunk(c);
    if (ch.firstBlock + ch.numBlocks <= numCached) markDone(rec, c);  // its blocks are all shared: nothing to import
  }
  rec.skippedChunks = rec.doneChunks;

  const uint32_t id = m.nextHandoffId++;
  out = HandoffTicket{id, gpu, numBlocks, numCached, needed, uint32_t(grid.numChunks),
                      uint32_t(grid.numChunks) - rec.skippedChunks};
  m.handoffCounters.reservedBlocks += numBlocks;
  ++m.handoffCounters.liveDestinations;
  ++m.handoffCounters.reserved;
  m.handoffs.emplace(id, std::move(rec));
  return Status::Ok();
}

Status KvManager::handoffImport(uint32_t ticketId, uint32_t chunkIndex, const uint8_t* data, size_t size,
                                const uint64_t* checksum, HandoffProgress& out) {
  Impl& m = *impl_;
  HandoffRecord* r = nullptr;
  Status s = m.findHandoff(ticketId, false, "handoffImport", r);
  if (!s.ok()) return s;
  if (chunkIndex >= r->plan.numChunks) {
    return invalid("chunkIndex must be an integer in [0, " + std::to_string(r->plan.numChunks - 1) + "], got " +
                   std::to_string(chunkIndex));
  }
  const ChunkGrid::Chunk c = r->grid.chunk(chunkIndex);
  if (!m.backend && size != 0) {
    return invalid("data must be empty: dataMode is metadata (chunks carry no bytes), got " + std::to_string(size) +
                   " bytes");
  }
  if (m.backend) {
    if (size != c.bytes) {
      return invalid("data.length must be the chunk's " + std::to_string(c.bytes) + " bytes (chunk " +
                     std::to_string(chunkIndex) + "), got " + std::to_string(size));
    }
    if (checksum != nullptr && *checksum != handoffChecksum(data, size)) {
      return invalid("checksum does not match the bytes of chunk " + std::to_string(chunkIndex) +
                     " (torn or corrupted in flight): import it again or abort the hand-off and recompute");
    }
    // Blocks of the cached prefix are shared and already hold these bytes: only the new blocks are written.
    std::vector<StridedPiece> pieces;
    uint64_t skipBytes = 0;
    for (uint32_t b = c.firstBlock; b < c.firstBlock + c.numBlocks; ++b) {
      const uint32_t rows = r->grid.tokensInBlock(b);
      if (b < r->cachedBlocks) {
        skipBytes += uint64_t(rows) * c.sliceBytes;
        continue;
      }
      pieces.push_back(StridedPiece{uint32_t(r->blocks[b]), c.sliceOffset, c.sliceBytes, r->grid.bytesPerToken, rows});
    }
    if (!pieces.empty() && !(s = m.backend->scatter(r->pool, pieces, data + skipBytes)).ok()) return s;
  }
  markDone(*r, chunkIndex);
  m.handoffCounters.bytesImported += double(c.bytes);
  return handoffStatus(ticketId, out);
}

Status KvManager::handoffCommit(uint32_t ticketId, HandoffCommit& out) {
  Impl& m = *impl_;
  HandoffRecord* r = nullptr;
  Status s = m.findHandoff(ticketId, false, "handoffCommit", r);
  if (!s.ok()) return s;
  if (r->doneChunks != r->plan.numChunks) {
    return Status::Error(Code::HandoffState, "handoffCommit needs every chunk: " +
                                                 std::to_string(r->doneChunks - r->skippedChunks) + " of " +
                                                 std::to_string(r->plan.numChunks - r->skippedChunks) +
                                                 " needed chunks of hand-off " + std::to_string(ticketId) +
                                                 " were imported");
  }
  if (!(s = m.checkCanIssueId()).ok()) return s;
  if (r->devicePending) {
    // Chunks received over a device link are enqueued, not landed: wait before anything can read the blocks.
    if (!(s = m.backend->wait(m.backend->fence())).ok()) return s;
    r->devicePending = false;
  }

  const uint32_t gpu = r->pool;
  const HandoffPlan& plan = r->plan;
  const uint32_t slot = m.newSequence();
  Sequence& seq = m.slots[slot];
  seq.location = Location{Tier::Device, gpu};
  seq.numTokens = plan.numTokens;
  seq.homeGpu = gpu;
  seq.blocks.assign(r->blocks.begin(), r->blocks.end());
  seq.hashes.assign(plan.hashes.begin(), plan.hashes.end());
  seq.hashedBlocks = uint32_t(plan.hashes.size());
  seq.lastHash = plan.hashes.empty() ? 0 : plan.hashes.back();
  for (uint32_t i = r->cachedBlocks; i < seq.hashedBlocks; ++i) {
    m.registerHash(gpu, uint32_t(seq.blocks[i]), seq.hashes[i], i > 0 ? seq.hashes[i - 1] : 0);
  }

  // Accounting like a transfer (SPEC §6): the blocks that crossed, their token bytes, one `moved` event last.
  const uint32_t used = r->grid.numBlocks;
  const uint32_t copied = used > r->cachedBlocks ? used - r->cachedBlocks : 0;
  double bytes = 0;
  for (uint32_t b = r->cachedBlocks; b < used; ++b) bytes += double(r->grid.tokensInBlock(b)) * plan.bytesPerToken;
  m.bytesMovedByLink[int(plan.link)] += bytes;
  ++m.transfers;
  KvEvent& e = m.events.push(EventKind::Moved, Location{Tier::Device, plan.sourceGpu});
  e.destination = seq.location;
  e.seqId = seq.id;
  e.mode = plan.mode == 1 ? TransferMode::Copy : TransferMode::Move;
  e.blocks = copied;
  e.bytes = bytes;

  out = HandoffCommit{seq.id, gpu, seq.numTokens, uint32_t(seq.blocks.size()), r->cachedBlocks, copied, bytes,
                      plan.link};
  m.handoffCounters.reservedBlocks -= r->blocks.size();
  --m.handoffCounters.liveDestinations;
  ++m.handoffCounters.committed;
  m.handoffs.erase(ticketId);
  return Status::Ok();
}

}  // namespace nvl
