// KV hand-off, the parts both sides share (SPEC §11): chunk geometry, checksum, the route rule, plan costs, and
// the calls that work on either side (status, abort, stats). Source calls: kv_handoff_source.cc; destination
// calls: kv_handoff_dest.cc.
#include <algorithm>
#include <cstring>
#include <string>

#include "kv_impl.h"

namespace nvl {
namespace {

Status invalid(const std::string& message) { return Status::Error(Code::InvalidArgument, message); }

uint64_t rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

}  // namespace

// --- geometry ---

void ChunkGrid::init(uint32_t tokens, uint32_t bs, uint64_t bpt, uint32_t layers, uint32_t bpc, uint32_t lpc) {
  numTokens = tokens;
  tokensPerBlock = bs;
  bytesPerToken = bpt;
  numLayers = std::max<uint32_t>(layers, 1);
  numBlocks = uint32_t((uint64_t(tokens) + bs - 1) / bs);
  blocksPerChunk = bpc == 0 ? numBlocks : std::min(bpc, std::max<uint32_t>(numBlocks, 1));
  layersPerChunk = std::min(std::max<uint32_t>(lpc, 1), numLayers);
  blockGroups = numBlocks == 0 ? 0 : (numBlocks + blocksPerChunk - 1) / blocksPerChunk;
  layerGroups = (numLayers + layersPerChunk - 1) / layersPerChunk;
  numChunks = uint64_t(blockGroups) * layerGroups;
}

uint64_t ChunkGrid::layerOffset(uint32_t layer) const {
  // floor(layer * B / L) without overflow: B < 2^53 and layer < 2^32.
  return uint64_t((unsigned __int128)layer * bytesPerToken / numLayers);
}

uint32_t ChunkGrid::tokensInBlock(uint32_t block) const {
  const uint64_t first = uint64_t(block) * tokensPerBlock;
  return first >= numTokens ? 0 : uint32_t(std::min<uint64_t>(tokensPerBlock, numTokens - first));
}

ChunkGrid::Chunk ChunkGrid::chunk(uint32_t index) const {
  Chunk c;
  const uint32_t layerGroup = index / blockGroups, blockGroup = index % blockGroups;
  c.firstBlock = blockGroup * blocksPerChunk;
  c.numBlocks = std::min(blocksPerChunk, numBlocks - c.firstBlock);
  c.firstLayer = layerGroup * layersPerChunk;
  c.numLayers = std::min(layersPerChunk, numLayers - c.firstLayer);
  c.sliceOffset = layerOffset(c.firstLayer);
  c.sliceBytes = layerOffset(c.firstLayer + c.numLayers) - c.sliceOffset;
  const uint64_t start = uint64_t(c.firstBlock) * tokensPerBlock;
  c.tokens = std::min<uint64_t>(numTokens, start + uint64_t(c.numBlocks) * tokensPerBlock) - start;
  c.bytes = c.tokens * c.sliceBytes;
  return c;
}

uint64_t handoffChecksum(const uint8_t* data, size_t size) {
  uint64_t h = 0x243f6a8885a308d3ULL;
  size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    uint64_t w;
    std::memcpy(&w, data + i, 8);
    h = rotl((h ^ w) * 0x9e3779b97f4a7c15ULL, 29);
  }
  uint64_t tail = 0;
  for (size_t k = 0; i + k < size; ++k) tail |= uint64_t(data[i + k]) << (8 * k);
  h = rotl((h ^ tail) * 0x9e3779b97f4a7c15ULL, 29);
  return fmix64(h ^ uint64_t(size));
}

// --- rules shared by begin and reserve ---

Status checkHandoffRoute(const KvManager::Impl& m, uint32_t sourceGpu, uint32_t destinationGpu, bool crossDomain,
                         const char* field, LinkKind& link) {
  Status s = m.checkGpu(destinationGpu, field);
  if (!s.ok()) return s;
  if (sourceGpu == destinationGpu) {
    return invalid(std::string(field) + " must differ from the source GPU " + std::to_string(sourceGpu) +
                   " (a hand-off moves KV to another instance's GPU)");
  }
  const TopologySpec& t = m.config.topology;
  const uint32_t srcDomain = t.domainOfGpu(sourceGpu), dstDomain = t.domainOfGpu(destinationGpu);
  if (srcDomain != dstDomain && !crossDomain) {
    return Status::Error(Code::CrossDomain,
                         "GPU " + std::to_string(sourceGpu) + " (NVLink domain " + std::to_string(srcDomain) +
                             ") and " + field + " " + std::to_string(destinationGpu) + " (domain " +
                             std::to_string(dstDomain) +
                             ") are in different NVLink domains; pass crossDomain: true to hand off over scale-out");
  }
  link = srcDomain == dstDomain ? LinkKind::NvLink : LinkKind::ScaleOut;
  return Status::Ok();
}

Status checkChunking(const KvManager::Impl& m, uint32_t numTokens, uint32_t blocksPerChunk, uint32_t layersPerChunk,
                     const char* prefix, ChunkGrid& grid) {
  const uint32_t numLayers = m.config.layout.numLayers;
  if (layersPerChunk < 1 || layersPerChunk > numLayers) {
    return invalid(std::string(prefix) + "layersPerChunk must be an integer in [1, " + std::to_string(numLayers) +
                   "] (layout.numLayers), got " + std::to_string(layersPerChunk));
  }
  grid.init(numTokens, m.tokensPerBlock, m.sizing.bytesPerToken, numLayers, blocksPerChunk, layersPerChunk);
  if (grid.numChunks > kMaxHandoffChunks) {
    return invalid(std::string(prefix) + "blocksPerChunk and " + prefix + "layersPerChunk make " +
                   std::to_string(grid.numChunks) + " chunks; at most " + std::to_string(kMaxHandoffChunks) +
                   " are allowed (use larger chunks)");
  }
  return Status::Ok();
}

// Every chunk pays the link's latency once; bytes go at its bandwidth (the SPEC §6 cost model per chunk).
void fillPlanCosts(const KvManager::Impl& m, const ChunkGrid& grid, HandoffPlan& plan) {
  const LinkSpec& link = plan.link == LinkKind::NvLink ? m.config.topology.nvlink : m.config.topology.scaleOut;
  plan.numBlocks = grid.numBlocks;
  plan.blocksPerChunk = grid.blocksPerChunk;
  plan.layersPerChunk = grid.layersPerChunk;
  plan.numChunks = uint32_t(grid.numChunks);
  plan.totalBytes = double(grid.numTokens) * double(grid.bytesPerToken);
  plan.maxChunkBytes = 0;
  double firstGroupBytes = 0;
  for (uint32_t g = 0; g < grid.layerGroups; ++g) {
    const ChunkGrid::Chunk c = grid.chunk(g * grid.blockGroups);  // block group 0 holds the most tokens
    plan.maxChunkBytes = std::max(plan.maxChunkBytes, double(c.bytes));
    if (g == 0) firstGroupBytes = double(grid.numTokens) * double(c.sliceBytes);
  }
  const auto seconds = [&](double chunks, double bytes) {
    return bytes == 0 ? 0 : chunks * link.latencyS + bytes / link.bandwidthBytesPerS;
  };
  plan.estimatedSeconds = seconds(double(grid.numChunks), plan.totalBytes);
  plan.firstLayerSeconds = seconds(double(grid.blockGroups), firstGroupBytes);
}

// --- records ---

Status KvManager::Impl::findHandoff(uint32_t id, bool wantSource, const char* call, HandoffRecord*& out) {
  if (id == 0 || id >= nextHandoffId) {
    return Status::Error(Code::UnknownHandoff, "handoffId must be an id issued by this manager (1.." +
                                                   std::to_string(nextHandoffId - 1) + "), got " + std::to_string(id));
  }
  auto it = handoffs.find(id);
  if (it == handoffs.end()) {
    return Status::Error(Code::HandoffState, "hand-off " + std::to_string(id) +
                                                 " has ended (completed, committed or aborted); " + call +
                                                 " needs a live one");
  }
  if (it->second.source != wantSource) {
    return Status::Error(Code::HandoffState,
                         "hand-off " + std::to_string(id) + " is a " + (wantSource ? "destination ticket" : "source hand-off") +
                             " of this manager; " + call + " works on the " + (wantSource ? "source" : "destination") +
                             " side only");
  }
  out = &it->second;
  return Status::Ok();
}

// Last position first, like free: a released chain's tail reaches the LRU before its head.
void KvManager::Impl::releaseHandoffPins(HandoffRecord& r) {
  BlockPool& p = pools[r.pool];
  for (size_t i = r.blocks.size(); i-- > 0;) {
    const uint32_t b = uint32_t(r.blocks[i]);
    BlockMeta& meta = p.meta(b);
    --meta.handoffPins;
    if (--meta.pinCount != 0) continue;
    --p.pinnedBlocks;
    if (meta.refCount != 0) continue;
    if (meta.hashed) {
      p.lruPushBack(b);
    } else {
      p.pushFree(b);
    }
  }
  handoffCounters.pinnedBlocks -= r.blocks.size();
  --handoffCounters.liveSources;
}

// --- either side ---

Status KvManager::handoffStatus(uint32_t handoffId, HandoffProgress& out) const {
  Impl& m = *impl_;
  auto it = m.handoffs.find(handoffId);
  HandoffRecord* r = nullptr;
  if (it == m.handoffs.end()) {
    Status s = m.findHandoff(handoffId, true, "handoffStatus", r);  // the unknown / ended error
    if (!s.ok()) return s;
  }
  const HandoffRecord& rec = it->second;
  out = HandoffProgress{};
  out.id = handoffId;
  out.source = rec.source;
  out.numChunks = rec.plan.numChunks;
  out.neededChunks = rec.plan.numChunks - rec.skippedChunks;
  out.doneChunks = rec.doneChunks - rec.skippedChunks;
  if (!rec.source) {
    uint32_t groups = 0;
    while (groups < rec.grid.layerGroups && rec.groupDone[groups] == rec.grid.blockGroups) ++groups;
    out.readyLayers = std::min(rec.grid.numLayers, groups * rec.grid.layersPerChunk);
    out.complete = rec.doneChunks == rec.plan.numChunks;
  }
  return Status::Ok();
}

Status KvManager::handoffAbort(uint32_t handoffId, bool& released) {
  Impl& m = *impl_;
  released = false;
  if (handoffId == 0 || handoffId >= m.nextHandoffId) {
    HandoffRecord* r = nullptr;
    return m.findHandoff(handoffId, true, "handoffAbort", r);
  }
  auto it = m.handoffs.find(handoffId);
  if (it == m.handoffs.end()) return Status::Ok();  // ended already: aborting twice is harmless
  HandoffRecord& r = it->second;
  if (r.source) {
    m.releaseHandoffPins(r);
  } else {
    m.releaseTable(r.pool, r.blocks);
    m.handoffCounters.reservedBlocks -= r.blocks.size();
    --m.handoffCounters.liveDestinations;
  }
  m.handoffs.erase(it);
  ++m.handoffCounters.aborted;
  released = true;
  return Status::Ok();
}

void KvManager::handoffStats(HandoffStats& out) const { out = impl_->handoffCounters; }

}  // namespace nvl
