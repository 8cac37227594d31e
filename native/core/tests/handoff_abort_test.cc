// KV hand-off failure paths (SPEC §11): abort at every stage on both sides leaves both managers as they were
// (blocks used, pinned, sequences, live hand-offs); a corrupted chunk is refused, the hand-off aborted and the
// prompt recomputed on the decode side with nothing leaked; the source sequence freed mid-hand-off stays readable
// through the pins; user unpin() cannot take hand-off pins; the domain rule; coded errors that change nothing.
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

nvl::KvConfig config() {
  nvl::KvConfig c = nvltest::smallConfig(2, 2, 2, 16, 4, 0);  // GPUs 0-3 domain 0, 4-7 domain 1
  c.layout.numLayers = 4;
  c.layout.headDim = 2;  // 32 bytes per token
  c.dataMode = nvl::DataMode::Bytes;
  c.backend = nvl::BackendChoice::Cpu;
  return c;
}

const uint64_t kHashes[3] = {0xb1, 0xb2, 0xb3};

uint32_t prompt(nvl::KvManager& kv) {
  nvl::AllocateResult r;
  CHECK_OK(kv.allocate(0, 14, kHashes, 3, 0, r));
  Bytes data(14 * 32);
  for (size_t i = 0; i < data.size(); ++i) data[i] = uint8_t(i * 13 + 1);
  CHECK_OK(kv.write(r.seqId, 0, data.data(), data.size()));
  return r.seqId;
}

HandoffOptions to(uint32_t gpu) {
  HandoffOptions o;
  o.destinationGpu = gpu;
  o.blocksPerChunk = 2;
  return o;
}

// The observable state that a finished (aborted) hand-off must give back: per pool used / pinned, sequences,
// live hand-offs and the blocks they hold.
struct Held {
  std::vector<uint32_t> used, pinned;
  uint64_t sequences = 0, live = 0, heldBlocks = 0;
  bool operator==(const Held& o) const {
    return used == o.used && pinned == o.pinned && sequences == o.sequences && live == o.live &&
           heldBlocks == o.heldBlocks;
  }
};
std::ostream& operator<<(std::ostream& os, const Held& h) {
  return os << "{sequences " << h.sequences << ", live " << h.live << ", held " << h.heldBlocks << ", used "
            << nvltest::show(h.used) << ", pinned " << nvltest::show(h.pinned) << "}";
}

Held held(const nvl::KvManager& kv) {
  Held h;
  nvl::KvStats s;
  kv.stats(s);
  for (const nvl::PoolStats& p : s.pools) {
    h.used.push_back(p.usedBlocks);
    h.pinned.push_back(p.pinnedBlocks);
  }
  nvl::HandoffStats hs;
  kv.handoffStats(hs);
  h.sequences = s.liveSequences;
  h.live = hs.liveSources + hs.liveDestinations;
  h.heldBlocks = hs.pinnedBlocks + hs.reservedBlocks;
  return h;
}

// Stages: 0 after begin, 1 after reserve, 2 after half the chunks, 3 after all chunks (before commit).
// `sourceFirst` picks which side aborts first; both must end where they started.
void abortAt(int stage, bool sourceFirst) {
  auto src = nvltest::make(config());
  auto dst = nvltest::make(config());
  const uint32_t seq = prompt(*src);
  const Held srcBase = held(*src), dstBase = held(*dst);
  HandoffPlan plan;
  CHECK_OK(src->handoffBegin(seq, to(1), plan));
  CHECK(!(held(*src) == srcBase));
  HandoffTicket ticket{};
  if (stage >= 1) {
    CHECK_OK(dst->handoffReserve(plan, HandoffReserveOptions{-1, 4}, ticket));
    CHECK(!(held(*dst) == dstBase));
  }
  const uint32_t chunks = stage == 2 ? plan.numChunks / 2 : stage == 3 ? plan.numChunks : 0;
  for (uint32_t c = 0; c < chunks; ++c) {
    Bytes bytes;
    HandoffChunk chunk;
    HandoffProgress p;
    CHECK_OK(src->handoffExport(plan.handoffId, c, &bytes, chunk));
    CHECK_OK(dst->handoffImport(ticket.ticketId, c, bytes.data(), bytes.size(), &chunk.checksum, p));
  }
  bool released = false;
  if (stage >= 1 && !sourceFirst) {
    CHECK_OK(dst->handoffAbort(ticket.ticketId, released));
    CHECK(released);
  }
  CHECK_OK(src->handoffAbort(plan.handoffId, released));
  CHECK(released);
  if (stage >= 1 && sourceFirst) {
    CHECK_OK(dst->handoffAbort(ticket.ticketId, released));
    CHECK(released);
  }
  CHECK_EQ(held(*src), srcBase);
  CHECK_EQ(held(*dst), dstBase);
  // Aborting again is harmless; the ended ids refuse every other call.
  CHECK_OK(src->handoffAbort(plan.handoffId, released));
  CHECK(!released);
  Bytes bytes;
  HandoffChunk chunk;
  CHECK_CODE(src->handoffExport(plan.handoffId, 0, &bytes, chunk), Code::HandoffState);
  bool freed;
  CHECK_CODE(src->handoffComplete(plan.handoffId, freed), Code::HandoffState);
  if (stage >= 1) {
    HandoffCommit commit;
    CHECK_CODE(dst->handoffCommit(ticket.ticketId, commit), Code::HandoffState);
  }
  // The source sequence is intact after an abort (the request can still be served or recomputed).
  Bytes back;
  CHECK_OK(src->read(seq, 0, 14, back));
  CHECK_EQ(back.size(), size_t(14 * 32));
  CHECK_EQ(unsigned(back[5]), unsigned(uint8_t(5 * 13 + 1)));
  CHECK(nvltest::poolsBalanced(*src) && nvltest::poolsBalanced(*dst));
}

// A chunk torn in flight: import refuses it by checksum and changes nothing; both sides abort; the decode side
// recomputes the prompt (allocate + write, as prefill would) and frees it: no block stays held anywhere.
void checkFailedChunkFallsBackToRecompute() {
  auto src = nvltest::make(config());
  auto dst = nvltest::make(config());
  const uint32_t seq = prompt(*src);
  const Held srcBase = held(*src), dstBase = held(*dst);
  HandoffPlan plan;
  CHECK_OK(src->handoffBegin(seq, to(3), plan));
  HandoffTicket ticket;
  CHECK_OK(dst->handoffReserve(plan, HandoffReserveOptions{}, ticket));
  Bytes bytes;
  HandoffChunk chunk;
  HandoffProgress p;
  CHECK_OK(src->handoffExport(plan.handoffId, 1, &bytes, chunk));
  bytes[3] ^= 0x40;
  const nvltest::Capture before = nvltest::capture(*dst, {});
  CHECK_CODE(dst->handoffImport(ticket.ticketId, 1, bytes.data(), bytes.size(), &chunk.checksum, p),
             Code::InvalidArgument);
  CHECK(nvltest::sameCapture(before, nvltest::capture(*dst, {})));
  CHECK_OK(dst->handoffStatus(ticket.ticketId, p));
  CHECK_EQ(p.doneChunks, 0u);
  bool released;
  CHECK_OK(dst->handoffAbort(ticket.ticketId, released));
  CHECK_OK(src->handoffAbort(plan.handoffId, released));
  // Recompute on the decode GPU.
  nvl::AllocateResult r;
  CHECK_OK(dst->allocate(3, 14, kHashes, 3, 0, r));
  Bytes recomputed(14 * 32, 7);
  CHECK_OK(dst->write(r.seqId, 0, recomputed.data(), recomputed.size()));
  CHECK_OK(dst->free(r.seqId));
  CHECK_EQ(held(*dst), dstBase);
  CHECK_EQ(held(*src), srcBase);
}

// The worker may free the source (request cancelled) mid-hand-off: the pins keep the blocks, export still reads
// them, complete releases them.
void checkSourceFreedMidHandoff() {
  auto src = nvltest::make(config());
  const uint32_t seq = prompt(*src);
  HandoffPlan plan;
  CHECK_OK(src->handoffBegin(seq, to(1), plan));
  CHECK_OK(src->free(seq));
  CHECK_EQ(nvltest::poolStats(*src, 0).usedBlocks, 4u);  // pinned, not freed
  Bytes bytes;
  HandoffChunk chunk;
  CHECK_OK(src->handoffExport(plan.handoffId, 0, &bytes, chunk));
  CHECK_EQ(unsigned(bytes[1]), unsigned(uint8_t(1 * 13 + 1)));  // token 0, layer 0, byte 1
  // User unpin() cannot take the hand-off's pins.
  uint32_t n = 0;
  CHECK_CODE(src->unpin(0, kHashes, 1, n), Code::NotPinned);
  bool freed = true;
  CHECK_OK(src->handoffComplete(plan.handoffId, freed));
  CHECK(!freed);  // already gone
  const nvl::PoolStats p = nvltest::poolStats(*src, 0);
  CHECK_EQ(p.usedBlocks, 0u);
  CHECK_EQ(p.pinnedBlocks, 0u);
  CHECK_EQ(p.cachedBlocks, 3u);  // the hashed blocks stay cached, the partial one is free
}

void checkDomainsAndErrors() {
  auto src = nvltest::make(config());
  auto dst = nvltest::make(config());
  const uint32_t seq = prompt(*src);
  const nvltest::Capture base = nvltest::capture(*src, {seq});
  HandoffPlan plan;
  CHECK_CODE(src->handoffBegin(seq, to(4), plan), Code::CrossDomain);
  CHECK_CODE(src->handoffBegin(seq, to(0), plan), Code::InvalidArgument);  // its own GPU
  CHECK_CODE(src->handoffBegin(seq, to(8), plan), Code::InvalidArgument);
  CHECK_CODE(src->handoffBegin(99, to(1), plan), Code::UnknownSequence);
  HandoffOptions o = to(1);
  o.layersPerChunk = 5;
  CHECK_CODE(src->handoffBegin(seq, o, plan), Code::InvalidArgument);
  o.layersPerChunk = 0;
  CHECK_CODE(src->handoffBegin(seq, o, plan), Code::InvalidArgument);
  o = to(1);
  o.mode = 2;
  CHECK_CODE(src->handoffBegin(seq, o, plan), Code::InvalidArgument);
  CHECK(nvltest::sameCapture(base, nvltest::capture(*src, {seq})));
  HandoffProgress p;
  CHECK_CODE(src->handoffStatus(1, p), Code::UnknownHandoff);
  bool released;
  CHECK_CODE(src->handoffAbort(0, released), Code::UnknownHandoff);

  o = to(5);
  o.crossDomain = true;
  CHECK_OK(src->handoffBegin(seq, o, plan));
  CHECK(plan.link == nvl::LinkKind::ScaleOut);
  HandoffTicket ticket;
  HandoffPlan tampered = plan;
  tampered.crossDomain = false;
  CHECK_CODE(dst->handoffReserve(tampered, HandoffReserveOptions{}, ticket), Code::CrossDomain);
  CHECK_CODE(dst->handoffReserve(plan, HandoffReserveOptions{0, 0}, ticket), Code::InvalidArgument);  // source GPU
  tampered = plan;
  tampered.bytesPerToken = 64;
  CHECK_CODE(dst->handoffReserve(tampered, HandoffReserveOptions{}, ticket), Code::InvalidArgument);
  tampered = plan;
  tampered.numChunks += 1;
  CHECK_CODE(dst->handoffReserve(tampered, HandoffReserveOptions{}, ticket), Code::InvalidArgument);
  tampered = plan;
  tampered.hashes.assign(4, 1);
  CHECK_CODE(dst->handoffReserve(tampered, HandoffReserveOptions{}, ticket), Code::InvalidArgument);
  CHECK_CODE(dst->handoffReserve(plan, HandoffReserveOptions{-1, 100}, ticket), Code::OutOfBlocks);
  CHECK_EQ(held(*dst).live, 0u);
  CHECK_EQ(nvltest::poolStats(*dst, 5).usedBlocks, 0u);

  CHECK_OK(dst->handoffReserve(plan, HandoffReserveOptions{}, ticket));
  Bytes bytes;
  HandoffChunk chunk;
  CHECK_CODE(dst->handoffExport(ticket.ticketId, 0, &bytes, chunk), Code::HandoffState);  // wrong side
  CHECK_CODE(src->handoffImport(plan.handoffId, 0, nullptr, 0, nullptr, p), Code::HandoffState);
  CHECK_CODE(src->handoffExport(plan.handoffId, plan.numChunks, &bytes, chunk), Code::InvalidArgument);
  CHECK_OK(src->handoffExport(plan.handoffId, 0, &bytes, chunk));
  CHECK_CODE(dst->handoffImport(ticket.ticketId, 0, bytes.data(), bytes.size() - 1, nullptr, p),
             Code::InvalidArgument);
  CHECK_CODE(dst->handoffImport(ticket.ticketId, 1, bytes.data(), bytes.size(), nullptr, p), Code::InvalidArgument);
  CHECK_OK(dst->handoffStatus(ticket.ticketId, p));
  CHECK_EQ(p.doneChunks, 0u);
  CHECK_CODE(dst->handoffImport(99, 0, nullptr, 0, nullptr, p), Code::UnknownHandoff);
  CHECK_OK(dst->handoffAbort(ticket.ticketId, released));
  CHECK_OK(src->handoffAbort(plan.handoffId, released));
  CHECK_EQ(held(*src).live, 0u);
  CHECK_EQ(nvltest::poolStats(*src, 0).pinnedBlocks, 0u);
}

// One manager as both sides (two instances of one worker process): the same calls, different GPUs.
void checkSameManager() {
  auto kv = nvltest::make(config());
  const uint32_t seq = prompt(*kv);
  Bytes original;
  CHECK_OK(kv->read(seq, 0, 14, original));
  HandoffPlan plan;
  CHECK_OK(kv->handoffBegin(seq, to(2), plan));
  HandoffTicket ticket;
  CHECK_OK(kv->handoffReserve(plan, HandoffReserveOptions{}, ticket));
  for (uint32_t c = 0; c < plan.numChunks; ++c) {
    Bytes bytes;
    HandoffChunk chunk;
    HandoffProgress p;
    CHECK_OK(kv->handoffExport(plan.handoffId, c, &bytes, chunk));
    CHECK_OK(kv->handoffImport(ticket.ticketId, c, bytes.data(), bytes.size(), &chunk.checksum, p));
  }
  HandoffCommit commit;
  CHECK_OK(kv->handoffCommit(ticket.ticketId, commit));
  bool freed;
  CHECK_OK(kv->handoffComplete(plan.handoffId, freed));
  CHECK(freed);
  Bytes back;
  CHECK_OK(kv->read(commit.seqId, 0, 14, back));
  CHECK(back == original);
  CHECK_OK(kv->free(commit.seqId));
  CHECK_EQ(held(*kv).live, 0u);
  CHECK_EQ(nvltest::poolStats(*kv, 0).usedBlocks + nvltest::poolStats(*kv, 2).usedBlocks, 0u);
}

}  // namespace

int main() {
  for (int stage = 0; stage <= 3; ++stage) {
    abortAt(stage, true);
    abortAt(stage, false);
  }
  checkFailedChunkFallsBackToRecompute();
  checkSourceFreedMidHandoff();
  checkDomainsAndErrors();
  checkSameManager();
  return nvltest::finish("handoff_abort_test");
}
