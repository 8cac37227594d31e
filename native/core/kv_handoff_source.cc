// KV hand-off, the source side (SPEC §11): begin pins the sequence's token-holding blocks and returns the plan;
// export reads a chunk's bytes at call time (so chunks of finished layers can leave while prefill still writes
// later layers); complete releases the pins and, for a 'move', frees the source sequence.
#include <string>

#include "kv_impl.h"

namespace nvl {
namespace {

Status invalid(const std::string& message) { return Status::Error(Code::InvalidArgument, message); }

// Takes one hand-off pin per position (a table may list a block twice); on overflow of a block's 16-bit hand-off
// pin count, gives back what it took and fails, so nothing changed.
Status takePins(KvManager::Impl& m, uint32_t pool, const std::vector<int32_t>& blocks) {
  BlockPool& p = m.pools[pool];
  for (size_t i = 0; i < blocks.size(); ++i) {
    BlockMeta& meta = p.meta(uint32_t(blocks[i]));
    if (meta.handoffPins == 0xffff) {
      for (size_t k = 0; k < i; ++k) --p.meta(uint32_t(blocks[k])).handoffPins;
      return Status::Error(Code::TooLarge, "block " + std::to_string(blocks[i]) +
                                               " already carries 65535 hand-off pins; finish some hand-offs first");
    }
    ++meta.handoffPins;
  }
  for (int32_t b : blocks) {
    BlockMeta& meta = p.meta(uint32_t(b));
    if (p.inLru(uint32_t(b))) p.lruRemove(uint32_t(b));  // unreachable for a live table (refCount >= 1), kept safe
    if (meta.pinCount++ == 0) ++p.pinnedBlocks;
  }
  return Status::Ok();
}

}  // namespace

// Checks, in order: seqId, tier, destinationGpu (range, differs, domain), mode, chunking, ids left, pin room.
Status KvManager::handoffBegin(uint32_t seqId, const HandoffOptions& options, HandoffPlan& out) {
  Impl& m = *impl_;
  uint32_t slot;
  Status s = m.lookup(seqId, slot);
  if (!s.ok()) return s;
  const Sequence& seq = m.slots[slot];
  if (seq.location.tier != Tier::Device) {
    return Status::Error(Code::WrongTier, "handoffBegin needs a sequence on a device; seqId " +
                                              std::to_string(seqId) + " is at " + locationText(seq.location) +
                                              " (promote it first)");
  }
  HandoffPlan plan;
  if (!(s = checkHandoffRoute(m, seq.location.index, options.destinationGpu, options.crossDomain,
                              "destinationGpu", plan.link)).ok()) {
    return s;
  }
  if (options.mode > 1) return invalid("mode must be 'move' or 'copy'");
  ChunkGrid grid;
  if (!(s = checkChunking(m, seq.numTokens, options.blocksPerChunk, options.layersPerChunk, "", grid)).ok()) return s;
  if (m.nextHandoffId == 0xffffffffu) return Status::Error(Code::Internal, "hand-off ids are exhausted");

  HandoffRecord rec;
  rec.source = true;
  rec.pool = m.poolOf(seq.location);
  rec.blocks.assign(seq.blocks.begin(), seq.blocks.begin() + grid.numBlocks);
  if (!(s = takePins(m, rec.pool, rec.blocks)).ok()) return s;

  plan.handoffId = m.nextHandoffId++;
  plan.seqId = seqId;
  plan.sourceGpu = seq.location.index;
  plan.destinationGpu = options.destinationGpu;
  plan.mode = options.mode;
  plan.crossDomain = options.crossDomain;
  plan.bytesMode = m.backend != nullptr;
  plan.numTokens = seq.numTokens;
  plan.tokensPerBlock = m.tokensPerBlock;
  plan.bytesPerToken = m.sizing.bytesPerToken;
  plan.numLayers = grid.numLayers;
  plan.hashes = seq.hashes;
  fillPlanCosts(m, grid, plan);
  rec.plan = plan;
  rec.grid = grid;
  rec.done.assign(grid.numChunks, 0);
  m.handoffCounters.pinnedBlocks += rec.blocks.size();
  ++m.handoffCounters.liveSources;
  ++m.handoffCounters.begun;
  m.handoffs.emplace(plan.handoffId, std::move(rec));
  out = std::move(plan);
  return Status::Ok();
}

Status KvManager::handoffExport(uint32_t handoffId, uint32_t chunkIndex, std::vector<uint8_t>* data,
                                HandoffChunk& out) {
  Impl& m = *impl_;
  HandoffRecord* r = nullptr;
  Status s = m.findHandoff(handoffId, true, "handoffExport", r);
  if (!s.ok()) return s;
  if (chunkIndex >= r->plan.numChunks) {
    return invalid("chunkIndex must be an integer in [0, " + std::to_string(r->plan.numChunks - 1) + "], got " +
                   std::to_string(chunkIndex));
  }
  const ChunkGrid::Chunk c = r->grid.chunk(chunkIndex);
  out = HandoffChunk{chunkIndex, c.firstBlock, c.numBlocks, c.firstLayer, c.numLayers, c.bytes, 0};
  if (m.backend && data != nullptr) {
    std::vector<StridedPiece> pieces;
    pieces.reserve(c.numBlocks);
    for (uint32_t b = c.firstBlock; b < c.firstBlock + c.numBlocks; ++b) {
      pieces.push_back(StridedPiece{uint32_t(r->blocks[b]), c.sliceOffset, c.sliceBytes, r->grid.bytesPerToken,
                                    r->grid.tokensInBlock(b)});
    }
    data->assign(c.bytes, 0);
    if (!(s = m.backend->gather(r->pool, pieces, data->data())).ok()) return s;
    out.checksum = handoffChecksum(data->data(), data->size());
  } else if (data != nullptr) {
    data->clear();
  }
  if (!r->done[chunkIndex]) {
    r->done[chunkIndex] = 1;
    ++r->doneChunks;
  }
  m.handoffCounters.bytesExported += double(c.bytes);
  return Status::Ok();
}

Status KvManager::handoffComplete(uint32_t handoffId, bool& sourceFreed) {
  Impl& m = *impl_;
  HandoffRecord* r = nullptr;
  Status s = m.findHandoff(handoffId, true, "handoffComplete", r);
  if (!s.ok()) return s;
  sourceFreed = false;
  const uint32_t seqId = r->plan.seqId;
  const bool move = r->plan.mode == 0;
  m.releaseHandoffPins(*r);
  m.handoffs.erase(handoffId);
  ++m.handoffCounters.completed;
  // The sequence may have been freed (or moved to host, same id) meanwhile: free what still carries its id.
  uint32_t slot;
  if (move && m.lookup(seqId, slot).ok()) {
    sourceFreed = free(seqId).ok();
  }
  return Status::Ok();
}

}  // namespace nvl
