// KV hand-off over a device link (SPEC §11; handoff_nccl.h): the same chunks as handoffExport / handoffImport,
// packed into a staging buffer on the GPU and moved by NCCL send / recv on the pool's stream, so the bytes never
// touch host memory. UNTESTED ON A DEVICE: compiled in every build; without the CUDA backend or NCCL the calls
// answer E_BACKEND_UNAVAILABLE (metadata mode: E_INVALID_ARGUMENT, there are no bytes).
#include <string>

#include "handoff_nccl.h"
#include "kv_impl.h"

namespace nvl {
namespace {

Status needsBytes(const KvManager::Impl& m, const char* call) {
  if (m.backend) return Status::Ok();
  return Status::Error(Code::InvalidArgument, std::string(call) + " needs dataMode 'bytes'; dataMode is metadata");
}

Status chunkRange(const HandoffRecord& r, uint32_t chunkIndex) {
  if (chunkIndex < r.plan.numChunks) return Status::Ok();
  return Status::Error(Code::InvalidArgument, "chunkIndex must be an integer in [0, " +
                                                  std::to_string(r.plan.numChunks - 1) + "], got " +
                                                  std::to_string(chunkIndex));
}

// The chunk's pieces from block `from` on, and the bytes of the blocks before it (they lead the chunk's bytes).
std::vector<StridedPiece> piecesOf(const HandoffRecord& r, const ChunkGrid::Chunk& c, uint32_t from, uint64_t& skip) {
  std::vector<StridedPiece> pieces;
  skip = 0;
  for (uint32_t b = c.firstBlock; b < c.firstBlock + c.numBlocks; ++b) {
    const uint32_t rows = r.grid.tokensInBlock(b);
    if (b < from) {
      skip += uint64_t(rows) * c.sliceBytes;
      continue;
    }
    pieces.push_back(StridedPiece{uint32_t(r.blocks[b]), c.sliceOffset, c.sliceBytes, r.grid.bytesPerToken, rows});
  }
  return pieces;
}

}  // namespace

Status KvManager::handoffOpenLink(uint32_t gpu, const ncclUniqueId& id, int rank,
                                  std::unique_ptr<NcclHandoffLink>& out) {
  Impl& m = *impl_;
  Status s = m.checkGpu(gpu, "gpu");
  if (!s.ok() || !(s = needsBytes(m, "handoffOpenLink")).ok()) return s;
  void* stream = nullptr;
  if (!(s = m.backend->poolStream(m.poolOf(Location{Tier::Device, gpu}), &stream)).ok()) return s;  // sets device
  return NcclHandoffLink::create(id, rank, out);
}

Status KvManager::handoffSendChunk(uint32_t handoffId, uint32_t chunkIndex, NcclHandoffLink& link,
                                   HandoffChunk& out) {
  Impl& m = *impl_;
  HandoffRecord* r = nullptr;
  Status s = m.findHandoff(handoffId, true, "handoffSendChunk", r);
  if (!s.ok() || !(s = needsBytes(m, "handoffSendChunk")).ok() || !(s = chunkRange(*r, chunkIndex)).ok()) return s;
  const ChunkGrid::Chunk c = r->grid.chunk(chunkIndex);
  uint64_t skip = 0;
  const std::vector<StridedPiece> pieces = piecesOf(*r, c, 0, skip);
  void* staging = nullptr;
  void* stream = nullptr;
  if (!(s = m.backend->handoffStaging(r->pool, c.bytes, &staging)).ok()) return s;
  if (!(s = m.backend->packDevice(r->pool, pieces, staging)).ok()) return s;
  if (!(s = m.backend->poolStream(r->pool, &stream)).ok()) return s;
  if (!(s = link.send(staging, c.bytes, stream)).ok()) return s;
  out = HandoffChunk{chunkIndex, c.firstBlock, c.numBlocks, c.firstLayer, c.numLayers, c.bytes, 0};
  if (!r->done[chunkIndex]) {
    r->done[chunkIndex] = 1;
    ++r->doneChunks;
  }
  m.handoffCounters.bytesExported += double(c.bytes);
  return Status::Ok();
}

// The sender always sends the whole chunk (it does not know the destination's cached prefix); the blocks of
// that prefix are received into staging and not unpacked.
Status KvManager::handoffRecvChunk(uint32_t ticketId, uint32_t chunkIndex, NcclHandoffLink& link,
                                   HandoffProgress& out) {
  Impl& m = *impl_;
  HandoffRecord* r = nullptr;
  Status s = m.findHandoff(ticketId, false, "handoffRecvChunk", r);
  if (!s.ok() || !(s = needsBytes(m, "handoffRecvChunk")).ok() || !(s = chunkRange(*r, chunkIndex)).ok()) return s;
  const ChunkGrid::Chunk c = r->grid.chunk(chunkIndex);
  uint64_t skip = 0;
  const std::vector<StridedPiece> pieces = piecesOf(*r, c, r->cachedBlocks, skip);
  void* staging = nullptr;
  void* stream = nullptr;
  if (!(s = m.backend->handoffStaging(r->pool, c.bytes, &staging)).ok()) return s;
  if (!(s = m.backend->poolStream(r->pool, &stream)).ok()) return s;
  if (!(s = link.recv(staging, c.bytes, stream)).ok()) return s;
  if (!pieces.empty()) {
    const void* from = static_cast<const uint8_t*>(staging) + skip;
    if (!(s = m.backend->unpackDevice(r->pool, pieces, from)).ok()) return s;
  }
  r->devicePending = true;
  if (!r->done[chunkIndex]) {
    r->done[chunkIndex] = 1;
    ++r->doneChunks;
    ++r->groupDone[chunkIndex / r->grid.blockGroups];
  }
  m.handoffCounters.bytesImported += double(c.bytes);
  return handoffStatus(ticketId, out);
}

}  // namespace nvl
