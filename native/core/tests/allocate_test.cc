// Sequences (SPEC §4): prefix reuse, block numbering from the free stack, LRU eviction tail-first, out-of-blocks
// rollback, duplicate hashes, append across blocks with hash registration.
#include <vector>

#include "fixture.h"

using nvl::AllocateResult;
using nvl::AppendResult;
using nvl::Code;
using nvl::EventKind;
using nvl::KvEvent;
using Table = std::vector<int32_t>;

namespace {

constexpr uint64_t H1 = 0x1001, H2 = 0x1002, H3 = 0x1003, H4 = 0x1004;

AllocateResult alloc(nvl::KvManager& kv, uint32_t gpu, uint32_t numTokens, std::vector<uint64_t> hashes,
                     uint32_t reserveTokens = 0) {
  AllocateResult r;
  CHECK_OK(kv.allocate(gpu, numTokens, hashes.data(), hashes.size(), reserveTokens, r));
  return r;
}

void checkStored(const KvEvent& e, uint64_t id, uint32_t gpu, uint64_t hash, uint64_t parent) {
  CHECK_EQ(e.eventId, id);
  CHECK(e.kind == EventKind::Stored);
  CHECK(e.location == (nvl::Location{nvl::Tier::Device, gpu}));
  CHECK_EQ(e.hash, hash);
  CHECK_EQ(e.parentHash, parent);
}

void checkPrefixReuseAndEviction() {
  auto kv = nvltest::make(nvltest::smallConfig(1, 1, 2, 8, 8, 8));
  AllocateResult a = alloc(*kv, 0, 12, {H1, H2, H3});
  CHECK_EQ(a.seqId, 1u);
  CHECK_EQ(a.numBlocks, 3u);
  CHECK_EQ(a.cachedBlocks, 0u);
  CHECK_EQ(a.newBlocks, 3u);
  CHECK_EQ(nvltest::table(*kv, 1), (Table{0, 1, 2}));  // the free stack pops 0, 1, 2, ...
  std::vector<KvEvent> ev = nvltest::drainAll(*kv);
  CHECK_EQ(ev.size(), size_t(3));
  checkStored(ev[0], 1, 0, H1, 0);
  checkStored(ev[1], 2, 0, H2, H1);
  checkStored(ev[2], 3, 0, H3, H2);

  AllocateResult b = alloc(*kv, 0, 10, {H1, H2});  // 10 tokens -> 3 blocks, 2 of them cached
  CHECK_EQ(b.seqId, 2u);
  CHECK_EQ(b.cachedBlocks, 2u);
  CHECK_EQ(b.newBlocks, 1u);
  CHECK_EQ(nvltest::table(*kv, 2), (Table{0, 1, 3}));
  CHECK(nvltest::drainAll(*kv).empty());  // reuse stores nothing
  nvl::PoolStats p = nvltest::poolStats(*kv, 0);
  CHECK_EQ(p.hits, uint64_t(2));
  CHECK_EQ(p.misses, uint64_t(3));
  CHECK_EQ(p.usedBlocks, 4u);
  CHECK_EQ(p.freeBlocks, 4u);

  // Another GPU has its own pool: no reuse there.
  AllocateResult c = alloc(*kv, 1, 4, {H1});
  CHECK_EQ(c.cachedBlocks, 0u);
  CHECK_EQ(nvltest::table(*kv, c.seqId), (Table{0}));
  ev = nvltest::drainAll(*kv);
  CHECK_EQ(ev.size(), size_t(1));
  checkStored(ev[0], 4, 1, H1, 0);

  nvl::PrefixMatch m;
  const uint64_t chain[4] = {H1, H2, H3, H4};
  CHECK_OK(kv->matchPrefixOnGpu(0, chain, 4, m));
  CHECK_EQ(m.deviceBlocks, 3u);

  // free(B): its unhashed block 3 goes back on the free stack; blocks 0, 1 are still held by A.
  CHECK_OK(kv->free(2));
  // free(A): last block first, so the LRU (evict end first) is 2 (H3), 1 (H2), 0 (H1).
  CHECK_OK(kv->free(1));
  p = nvltest::poolStats(*kv, 0);
  CHECK_EQ(p.cachedBlocks, 3u);
  CHECK_EQ(p.freeBlocks, 5u);
  CHECK_EQ(p.usedBlocks, 0u);
  CHECK_CODE(kv->free(1), Code::SequenceFreed);

  // 8 blocks: the free stack gives 3 (pushed last), then never-used 4..7, then evictions tail first.
  AllocateResult d = alloc(*kv, 0, 32, {});
  CHECK_EQ(nvltest::table(*kv, d.seqId), (Table{3, 4, 5, 6, 7, 2, 1, 0}));
  ev = nvltest::drainAll(*kv);
  CHECK_EQ(ev.size(), size_t(3));
  const uint64_t order[3] = {H3, H2, H1};
  for (int i = 0; i < 3; ++i) {
    CHECK(ev[i].kind == EventKind::Removed);
    CHECK_EQ(ev[i].hash, order[i]);
    CHECK_EQ(ev[i].eventId, uint64_t(5 + i));
  }
  p = nvltest::poolStats(*kv, 0);
  CHECK_EQ(p.evictions, uint64_t(3));
  CHECK_EQ(p.usedBlocks, 8u);
  CHECK_OK(kv->matchPrefixOnGpu(0, chain, 4, m));
  CHECK_EQ(m.deviceBlocks, 0u);
  CHECK(nvltest::poolsBalanced(*kv));
}

void checkOutOfBlocksRollback() {
  auto kv = nvltest::make(nvltest::smallConfig(1, 1, 2, 4, 4, 4));
  alloc(*kv, 0, 8, {H1, H2});  // blocks 0, 1
  alloc(*kv, 1, 4, {H1});
  CHECK_OK(kv->free(1));       // LRU: 1 (H2), 0 (H1)
  const nvltest::Capture before = nvltest::capture(*kv, {2});
  AllocateResult r;
  // 5 blocks with 2 cached: needs 3, but only 2 fresh + 2 LRU - 2 being reused = 2 are available.
  const uint64_t hashes[2] = {H1, H2};
  CHECK_CODE(kv->allocate(0, 20, hashes, 2, 0, r), Code::OutOfBlocks);
  CHECK_CODE(kv->allocate(0, 4, hashes, 1, 13, r), Code::OutOfBlocks);  // reserve counts too
  // A duplicate of a cached LRU block counts once: [H1, H1] + 4 new = 6 blocks; 2 + 2 - 1 = 3 available.
  const uint64_t dup[2] = {H1, H1};
  CHECK_CODE(kv->allocate(0, 24, dup, 2, 0, r), Code::OutOfBlocks);
  CHECK(nvltest::sameCapture(before, nvltest::capture(*kv, {2})));
  CHECK(nvltest::drainAll(*kv).size() == 3);  // only the three stored events of the successful allocations

  CHECK_OK(kv->allocate(0, 16, dup, 2, 0, r));  // [H1, H1] + 2 new: fits exactly (3 available, 2 needed)
  CHECK_EQ(r.cachedBlocks, 2u);
  CHECK_EQ(nvltest::table(*kv, r.seqId), (Table{0, 0, 2, 3}));
  CHECK_EQ(r.seqId, 3u);  // the failed calls issued no id
  nvl::PoolStats p = nvltest::poolStats(*kv, 0);
  CHECK_EQ(p.cachedBlocks, 1u);  // block 1 (H2) is still evictable
  CHECK_EQ(p.hits, uint64_t(2));
  CHECK_EQ(p.misses, uint64_t(2));
  CHECK_OK(kv->free(r.seqId));
  CHECK(nvltest::poolsBalanced(*kv));
  CHECK_EQ(nvltest::poolStats(*kv, 0).cachedBlocks, 2u);
}

void checkDuplicateHashes() {
  auto kv = nvltest::make(nvltest::smallConfig(1, 1, 1, 8, 0, 0));
  AllocateResult a = alloc(*kv, 0, 12, {H1, H1, H2});
  CHECK_EQ(a.cachedBlocks, 0u);
  std::vector<KvEvent> ev = nvltest::drainAll(*kv);
  CHECK_EQ(ev.size(), size_t(2));  // the second H1 stays unhashed: no event
  checkStored(ev[0], 1, 0, H1, 0);
  checkStored(ev[1], 2, 0, H2, H1);  // parent is the previous given hash, even though its block is unhashed
  nvl::Snapshot snap;
  kv->snapshot(snap);
  CHECK_EQ(snap.locations.size(), size_t(1));
  CHECK_EQ(snap.locations[0].hashes, (std::vector<uint64_t>{H1, H2}));
  nvl::SequenceInfo info;
  CHECK_OK(kv->sequenceInfo(a.seqId, info));
  CHECK_EQ(info.hashedBlocks, 3u);
  CHECK_EQ(info.lastHash, H2);

  // Resident H1 twice: both positions reuse block 0; H2 is not a leading match after position 1? It is resident,
  // but the run [H1, H1, H2] is all resident here, so all three are cached.
  AllocateResult b = alloc(*kv, 0, 12, {H1, H1, H2});
  CHECK_EQ(b.cachedBlocks, 3u);
  CHECK_EQ(nvltest::table(*kv, b.seqId), (Table{0, 0, 2}));
  CHECK_OK(kv->free(a.seqId));
  CHECK_OK(kv->free(b.seqId));
  nvl::PoolStats p = nvltest::poolStats(*kv, 0);
  CHECK_EQ(p.cachedBlocks, 2u);  // blocks 0 and 2
  CHECK_EQ(p.freeBlocks, 6u);    // block 1 (unhashed) plus 5 never used
  CHECK(nvltest::poolsBalanced(*kv));
}

void checkAppend() {
  auto kv = nvltest::make(nvltest::smallConfig(1, 1, 1, 8, 0, 0));
  AllocateResult a = alloc(*kv, 0, 3, {});
  AppendResult r;
  const uint64_t h1[1] = {H1};
  CHECK_OK(kv->append(a.seqId, 6, h1, 1, r));  // 3 -> 9 tokens: block 0 fills (H1), block 1 fills, block 2 opens
  CHECK_EQ(r.numTokens, 9u);
  CHECK_EQ(r.numBlocks, 3u);
  CHECK_EQ(r.newBlocks, 2u);
  std::vector<KvEvent> ev = nvltest::drainAll(*kv);
  CHECK_EQ(ev.size(), size_t(1));
  checkStored(ev[0], 1, 0, H1, 0);
  // Block 1 filled without a hash, so the chain is broken: later hashes are refused.
  const uint64_t h2[1] = {H2};
  CHECK_CODE(kv->append(a.seqId, 3, h2, 1, r), Code::InvalidArgument);
  CHECK_OK(kv->append(a.seqId, 3, nullptr, 0, r));  // 12 tokens fit in 3 blocks
  CHECK_EQ(r.newBlocks, 0u);
  CHECK_EQ(r.numBlocks, 3u);

  AllocateResult b = alloc(*kv, 0, 8, {H1, H2});  // reuses block 0 (H1 from seq a)
  CHECK_EQ(b.cachedBlocks, 1u);
  const uint64_t next[2] = {H3, H4};
  CHECK_CODE(kv->append(b.seqId, 7, next, 2, r), Code::InvalidArgument);  // 15 tokens fill only 1 more block
  CHECK_OK(kv->append(b.seqId, 8, next, 2, r));
  CHECK_EQ(r.numBlocks, 4u);
  CHECK_EQ(r.newBlocks, 2u);
  ev = nvltest::drainAll(*kv);
  CHECK_EQ(ev.size(), size_t(3));
  checkStored(ev[0], 2, 0, H2, H1);
  checkStored(ev[1], 3, 0, H3, H2);
  checkStored(ev[2], 4, 0, H4, H3);
  nvl::SequenceInfo info;
  CHECK_OK(kv->sequenceInfo(b.seqId, info));
  CHECK_EQ(info.hashedBlocks, 4u);
  CHECK_EQ(info.lastHash, H4);
  CHECK_EQ(info.numTokens, 16u);

  // Reserved blocks absorb appends.
  AllocateResult c = alloc(*kv, 0, 1, {}, 7);
  CHECK_EQ(c.numBlocks, 2u);
  CHECK_OK(kv->append(c.seqId, 3, nullptr, 0, r));
  CHECK_EQ(r.newBlocks, 0u);
  // Pool: a holds 3 blocks, b 4 (block 0 shared with a), c 2 = 8 of 8. A ninth is refused and changes nothing.
  CHECK_EQ(nvltest::poolStats(*kv, 0).freeBlocks, 0u);
  const nvltest::Capture before = nvltest::capture(*kv, {a.seqId, b.seqId, c.seqId});
  CHECK_CODE(kv->append(c.seqId, 5, nullptr, 0, r), Code::OutOfBlocks);
  CHECK(nvltest::sameCapture(before, nvltest::capture(*kv, {a.seqId, b.seqId, c.seqId})));
  CHECK(nvltest::drainAll(*kv).empty());

  // Registering a hash another block already holds here leaves the new block unhashed, but the chain counts.
  CHECK_OK(kv->free(c.seqId));
  AllocateResult d = alloc(*kv, 0, 2, {});
  const uint64_t dup[1] = {H1};
  CHECK_OK(kv->append(d.seqId, 2, dup, 1, r));
  CHECK(nvltest::drainAll(*kv).empty());
  CHECK_OK(kv->sequenceInfo(d.seqId, info));
  CHECK_EQ(info.hashedBlocks, 1u);
  CHECK_EQ(info.lastHash, H1);
}

}  // namespace

int main() {
  checkPrefixReuseAndEviction();
  checkOutOfBlocksRollback();
  checkDuplicateHashes();
  checkAppend();
  return nvltest::finish("allocate_test");
}
