// KV hand-off between two managers (SPEC §11): byte-exact layer-wise hand-off, export overlapping prefill writes,
// metadata mode, a cached prefix at the destination, abort at every stage on both sides with the stats back to
// baseline, a corrupted chunk -> abort -> recompute with nothing leaked, the domain rule, and coded errors that
// change nothing.
#include <vector>

#include "fixture.h"

using nvl::Code;
using nvl::HandoffChunk;
using nvl::HandoffCommit;
using nvl::HandoffOptions;
using nvl::HandoffPlan;
using nvl::HandoffProgress;
using nvl::HandoffReserveOptions;
using nvl::HandoffTicket;
using Bytes = std::vector<uint8_t>;

namespace {

// 2 domains x 2 trays x 2 GPUs (GPUs 0-3 domain 0, 4-7 domain 1); 4 layers, 32 bytes per token, 4 tokens/block.
nvl::KvConfig config(bool bytes) {
  nvl::KvConfig c = nvltest::smallConfig(2, 2, 2, 16, 4, 0);
  c.layout.numLayers = 4;
  c.layout.headDim = 2;
  if (bytes) {
    c.dataMode = nvl::DataMode::Bytes;
    c.backend = nvl::BackendChoice::Cpu;
  }
  return c;
}

Bytes pattern(size_t size, uint8_t seed) {
  Bytes b(size);
  for (size_t i = 0; i < size; ++i) b[i] = uint8_t(seed * 31 + i * 7 + (i >> 8));
  return b;
}

const uint64_t kHashes[3] = {0xa1, 0xa2, 0xa3};

// A source sequence of 14 tokens (3 full hashed blocks + 2 tokens) on GPU 0, written with `data` when given.
uint32_t prompt(nvl::KvManager& kv, const Bytes* data) {
  nvl::AllocateResult r;
  CHECK_OK(kv.allocate(0, 14, kHashes, 3, 0, r));
  if (data != nullptr) CHECK_OK(kv.write(r.seqId, 0, data->data(), data->size()));
  return r.seqId;
}

HandoffOptions to(uint32_t gpu, uint32_t blocksPerChunk = 2, uint32_t layersPerChunk = 1) {
  HandoffOptions o;
  o.destinationGpu = gpu;
  o.blocksPerChunk = blocksPerChunk;
  o.layersPerChunk = layersPerChunk;
  return o;
}

// Every chunk from source to destination; returns the destination's last progress.
HandoffProgress ship(nvl::KvManager& src, nvl::KvManager& dst, const HandoffPlan& plan, uint32_t ticket) {
  HandoffProgress p;
  for (uint32_t c = 0; c < plan.numChunks; ++c) {
    Bytes bytes;
    HandoffChunk chunk;
    CHECK_OK(src.handoffExport(plan.handoffId, c, &bytes, chunk));
    CHECK_OK(dst.handoffImport(ticket, c, bytes.data(), bytes.size(), plan.bytesMode ? &chunk.checksum : nullptr, p));
  }
  return p;
}

// Nothing held: no used or pinned block, no sequence, no live hand-off.
void expectIdle(const nvl::KvManager& kv, int line) {
  nvl::KvStats s;
  kv.stats(s);
  nvl::HandoffStats h;
  kv.handoffStats(h);
  bool ok = s.liveSequences == 0 && h.liveSources == 0 && h.liveDestinations == 0 && h.pinnedBlocks == 0 &&
            h.reservedBlocks == 0;
  for (const nvl::PoolStats& p : s.pools) ok = ok && p.usedBlocks == 0 && p.pinnedBlocks == 0;
  if (!ok || !nvltest::poolsBalanced(kv)) nvltest::fail(__FILE__, line, "manager is not idle (leak)");
}

void checkByteExactLayerWise() {
  auto src = nvltest::make(config(true));
  auto dst = nvltest::make(config(true));
  const Bytes data = pattern(14 * 32, 5);
  const uint32_t seq = prompt(*src, &data);
  HandoffPlan plan;
  CHECK_OK(src->handoffBegin(seq, to(2), plan));
  CHECK_EQ(plan.numBlocks, 4u);
  CHECK_EQ(plan.numLayers, 4u);
  CHECK_EQ(plan.numChunks, 8u);  // 2 block groups x 4 layers
  CHECK_EQ(plan.totalBytes, 14.0 * 32);
  CHECK_EQ(plan.maxChunkBytes, 8.0 * 8);  // 8 tokens x one layer's 8 bytes
  CHECK(plan.link == nvl::LinkKind::NvLink);
  CHECK_EQ(plan.hashes.size(), size_t(3));
  // Cost model: each chunk pays the NVLink latency, bytes at its bandwidth (gb200 figures in the fixture).
  const nvl::LinkSpec nvlink = src->topology().nvlink;
  CHECK_EQ(plan.estimatedSeconds, 8 * nvlink.latencyS + 448.0 / nvlink.bandwidthBytesPerS);
  CHECK_EQ(plan.firstLayerSeconds, 2 * nvlink.latencyS + 112.0 / nvlink.bandwidthBytesPerS);
  CHECK_EQ(nvltest::poolStats(*src, 0).pinnedBlocks, 4u);

  HandoffTicket ticket;
  CHECK_OK(dst->handoffReserve(plan, HandoffReserveOptions{-1, 6}, ticket));
  CHECK_EQ(ticket.gpu, 2u);
  CHECK_EQ(ticket.numBlocks, 5u);  // 20 tokens with the reserve
  CHECK_EQ(ticket.cachedBlocks, 0u);
  CHECK_EQ(ticket.neededChunks, 8u);
  CHECK_EQ(nvltest::poolStats(*dst, 2).usedBlocks, 5u);
  nvl::KvStats before;
  dst->stats(before);
  CHECK_EQ(before.liveSequences, 0u);  // not runnable before commit

  // Layer 0's two chunks first: the decode side may start layer 0 before the rest arrives.
  HandoffProgress p;
  for (uint32_t c = 0; c < 2; ++c) {
    Bytes bytes;
    HandoffChunk chunk;
    CHECK_OK(src->handoffExport(plan.handoffId, c, &bytes, chunk));
    CHECK_EQ(chunk.firstLayer, 0u);
    CHECK_EQ(chunk.firstBlock, c * 2);
    CHECK_EQ(bytes.size(), size_t(chunk.bytes));
    CHECK_OK(dst->handoffImport(ticket.ticketId, c, bytes.data(), bytes.size(), &chunk.checksum, p));
  }
  CHECK_EQ(p.readyLayers, 1u);
  CHECK(!p.complete);
  HandoffCommit commit;
  CHECK_CODE(dst->handoffCommit(ticket.ticketId, commit), Code::HandoffState);
  p = ship(*src, *dst, plan, ticket.ticketId);  // every chunk (the first two again: import is idempotent)
  CHECK(p.complete);
  CHECK_EQ(p.readyLayers, 4u);
  nvltest::drainAll(*dst);
  CHECK_OK(dst->handoffCommit(ticket.ticketId, commit));
  CHECK_EQ(commit.numTokens, 14u);
  CHECK_EQ(commit.numBlocks, 5u);
  CHECK_EQ(commit.blocksCopied, 4u);
  CHECK_EQ(commit.bytes, 14.0 * 32);
  Bytes back;
  CHECK_OK(dst->read(commit.seqId, 0, 14, back));
  CHECK(back == data);
  // Hashes registered at commit (3 stored events), then one `moved` event from GPU 0 to GPU 2.
  const std::vector<nvl::KvEvent> events = nvltest::drainAll(*dst);
  CHECK_EQ(events.size(), size_t(4));
  CHECK(events[3].kind == nvl::EventKind::Moved && events[3].location.index == 0 && events[3].destination.index == 2);
  nvl::KvStats after;
  dst->stats(after);
  CHECK_EQ(after.transfers, 1u);
  CHECK_EQ(after.bytesMovedByLink[int(nvl::LinkKind::NvLink)], 14.0 * 32);
  nvl::AppendResult ar;
  CHECK_OK(dst->append(commit.seqId, 1, nullptr, 0, ar));  // runnable: decode appends

  bool freed = false;
  CHECK_OK(src->handoffComplete(plan.handoffId, freed));
  CHECK(freed);  // 'move': the prefill copy goes
  expectIdle(*src, __LINE__);
  CHECK_OK(dst->free(commit.seqId));
  expectIdle(*dst, __LINE__);
}

// Prefill writes layer by layer; each layer's chunks leave right after (export reads at call time).
void checkOverlapWithPrefill() {
  auto src = nvltest::make(config(true));
  auto dst = nvltest::make(config(true));
  const uint32_t seq = prompt(*src, nullptr);
  HandoffPlan plan;
  CHECK_OK(src->handoffBegin(seq, to(1, 0, 1), plan));  // one chunk per layer
  CHECK_EQ(plan.numChunks, 4u);
  HandoffTicket ticket;
  CHECK_OK(dst->handoffReserve(plan, HandoffReserveOptions{}, ticket));
  const Bytes final = pattern(14 * 32, 9);
  Bytes current(14 * 32, 0);
  for (uint32_t layer = 0; layer < 4; ++layer) {
    for (uint32_t t = 0; t < 14; ++t) {
      for (uint32_t k = layer * 8; k < layer * 8 + 8; ++k) current[t * 32 + k] = final[t * 32 + k];
    }
    CHECK_OK(src->write(seq, 0, current.data(), current.size()));
    Bytes bytes;
    HandoffChunk chunk;
    HandoffProgress p;
    CHECK_OK(src->handoffExport(plan.handoffId, layer, &bytes, chunk));
    CHECK_OK(dst->handoffImport(ticket.ticketId, layer, bytes.data(), bytes.size(), &chunk.checksum, p));
    CHECK_EQ(p.readyLayers, layer + 1);
  }
  HandoffCommit commit;
  CHECK_OK(dst->handoffCommit(ticket.ticketId, commit));
  Bytes back;
  CHECK_OK(dst->read(commit.seqId, 0, 14, back));
  CHECK(back == final);
  bool freed = false;
  CHECK_OK(src->handoffComplete(plan.handoffId, freed));
  expectIdle(*src, __LINE__);
}

// A destination that already holds the first two hashed blocks shares them; chunks inside them are skipped.
void checkCachedPrefixAtDestination() {
  auto src = nvltest::make(config(true));
  auto dst = nvltest::make(config(true));
  const Bytes data = pattern(14 * 32, 3);
  const uint32_t seq = prompt(*src, &data);
  nvl::AllocateResult warm;
  CHECK_OK(dst->allocate(3, 8, kHashes, 2, 0, warm));
  CHECK_OK(dst->write(warm.seqId, 0, data.data(), 8 * 32));
  CHECK_OK(dst->free(warm.seqId));  // blocks stay cached (LRU)
  HandoffPlan plan;
  CHECK_OK(src->handoffBegin(seq, to(3, 1, 2), plan));  // 4 block groups x 2 layer groups
  HandoffTicket ticket;
  CHECK_OK(dst->handoffReserve(plan, HandoffReserveOptions{}, ticket));
  CHECK_EQ(ticket.cachedBlocks, 2u);
  CHECK_EQ(ticket.newBlocks, 2u);
  CHECK_EQ(ticket.neededChunks, 4u);  // block groups 2 and 3, both layer groups
  for (uint32_t c = 0; c < plan.numChunks; ++c) {
    if (c % 4 < 2) continue;  // inside the cached prefix
    Bytes bytes;
    HandoffChunk chunk;
    HandoffProgress p;
    CHECK_OK(src->handoffExport(plan.handoffId, c, &bytes, chunk));
    CHECK_OK(dst->handoffImport(ticket.ticketId, c, bytes.data(), bytes.size(), &chunk.checksum, p));
  }
  HandoffCommit commit;
  CHECK_OK(dst->handoffCommit(ticket.ticketId, commit));
  CHECK_EQ(commit.blocksCopied, 2u);
  CHECK_EQ(commit.bytes, 6.0 * 32);
  Bytes back;
  CHECK_OK(dst->read(commit.seqId, 0, 14, back));
  CHECK(back == data);
  CHECK_OK(dst->free(commit.seqId));
  expectIdle(*dst, __LINE__);
  bool freed = false;
  CHECK_OK(src->handoffComplete(plan.handoffId, freed));
  expectIdle(*src, __LINE__);
}

void checkMetadataModeAndCopy() {
  auto src = nvltest::make(config(false));
  auto dst = nvltest::make(config(false));
  const uint32_t seq = prompt(*src, nullptr);
  HandoffOptions o = to(1, 1, 4);
  o.mode = 1;  // copy: the source keeps its sequence
  HandoffPlan plan;
  CHECK_OK(src->handoffBegin(seq, o, plan));
  CHECK(!plan.bytesMode);
  CHECK_EQ(plan.numChunks, 4u);
  HandoffTicket ticket;
  CHECK_OK(dst->handoffReserve(plan, HandoffReserveOptions{}, ticket));
  Bytes junk(4, 1);
  HandoffProgress p;
  CHECK_CODE(dst->handoffImport(ticket.ticketId, 0, junk.data(), junk.size(), nullptr, p), Code::InvalidArgument);
  p = ship(*src, *dst, plan, ticket.ticketId);
  CHECK(p.complete);
  HandoffCommit commit;
  CHECK_OK(dst->handoffCommit(ticket.ticketId, commit));
  nvl::SequenceInfo info;
  CHECK_OK(dst->sequenceInfo(commit.seqId, info));
  CHECK_EQ(info.numTokens, 14u);
  CHECK_EQ(info.hashedBlocks, 3u);
  CHECK_EQ(info.lastHash, uint64_t(0xa3));
  bool freed = true;
  CHECK_OK(src->handoffComplete(plan.handoffId, freed));
  CHECK(!freed);
  CHECK_OK(src->sequenceInfo(seq, info));  // still there
  CHECK_EQ(nvltest::poolStats(*src, 0).pinnedBlocks, 0u);
}

}  // namespace

int main() {
  checkByteExactLayerWise();
  checkOverlapWithPrefill();
  checkCachedPrefixAtDestination();
  checkMetadataModeAndCopy();
  return nvltest::finish("handoff_test");
}
