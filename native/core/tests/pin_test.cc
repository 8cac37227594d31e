// Pins (SPEC §5): pinned blocks leave the LRU and cannot be evicted, unpin is all-or-nothing (E_NOT_PINNED names
// the index and changes nothing), and unpinned blocks rejoin the LRU last entry first.
#include <vector>

#include "fixture.h"

using nvl::Code;
using nvl::EventKind;

namespace {

constexpr uint64_t H1 = 11, H2 = 12, H3 = 13, HX = 99;

uint32_t allocate(nvl::KvManager& kv, uint32_t numTokens, std::vector<uint64_t> hashes) {
  nvl::AllocateResult r;
  CHECK_OK(kv.allocate(0, numTokens, hashes.data(), hashes.size(), 0, r));
  return r.seqId;
}

uint32_t pin(nvl::KvManager& kv, std::vector<uint64_t> hashes) {
  uint32_t n = 0;
  CHECK_OK(kv.pin(0, hashes.data(), hashes.size(), n));
  return n;
}

std::vector<uint64_t> removedHashes(nvl::KvManager& kv) {
  std::vector<uint64_t> out;
  for (const nvl::KvEvent& e : nvltest::drainAll(kv)) {
    if (e.kind == EventKind::Removed) out.push_back(e.hash);
  }
  return out;
}

void checkPinBlocksEviction() {
  auto kv = nvltest::make(nvltest::smallConfig(1, 1, 1, 4, 0, 0));
  const uint32_t a = allocate(*kv, 8, {H1, H2});
  CHECK_OK(kv->free(a));  // LRU: block 1 (H2), block 0 (H1)
  CHECK_EQ(pin(*kv, {H1, HX, H2}), 1u);  // leading resident run only
  nvl::PoolStats p = nvltest::poolStats(*kv, 0);
  CHECK_EQ(p.pinnedBlocks, 1u);
  CHECK_EQ(p.usedBlocks, 1u);  // pinned counts as used, never cached
  CHECK_EQ(p.cachedBlocks, 1u);
  nvl::AllocateResult r;
  CHECK_CODE(kv->allocate(0, 16, nullptr, 0, 0, r), Code::OutOfBlocks);  // 2 fresh + 1 evictable < 4
  nvltest::drainAll(*kv);
  const uint32_t b = allocate(*kv, 12, {});
  CHECK_EQ(nvltest::table(*kv, b), (std::vector<int32_t>{2, 3, 1}));
  CHECK_EQ(removedHashes(*kv), (std::vector<uint64_t>{H2}));
  nvl::PrefixMatch m;
  const uint64_t h1[1] = {H1};
  CHECK_OK(kv->matchPrefixOnGpu(0, h1, 1, m));
  CHECK_EQ(m.deviceBlocks, 1u);  // survived because pinned

  // Pinning a referenced block, then freeing its sequence: the block stays used until unpinned.
  CHECK_OK(kv->free(b));
  const uint32_t c = allocate(*kv, 4, {H1});
  CHECK_EQ(nvltest::table(*kv, c), (std::vector<int32_t>{0}));
  CHECK_OK(kv->free(c));
  p = nvltest::poolStats(*kv, 0);
  CHECK_EQ(p.usedBlocks, 1u);
  CHECK_EQ(p.cachedBlocks, 0u);
  uint32_t n = 0;
  CHECK_OK(kv->unpin(0, h1, 1, n));
  CHECK_EQ(n, 1u);
  p = nvltest::poolStats(*kv, 0);
  CHECK_EQ(p.pinnedBlocks, 0u);
  CHECK_EQ(p.cachedBlocks, 1u);
  CHECK(nvltest::poolsBalanced(*kv));
}

void checkUnpinErrors() {
  auto kv = nvltest::make(nvltest::smallConfig(1, 1, 1, 8, 0, 0));
  const uint32_t a = allocate(*kv, 8, {H1, H2});
  CHECK_OK(kv->free(a));
  CHECK_EQ(pin(*kv, {H1}), 1u);
  const nvltest::Capture before = nvltest::capture(*kv, {});
  uint32_t n = 7;
  const uint64_t notResident[2] = {H1, HX};
  nvl::Status s = kv->unpin(0, notResident, 2, n);
  CHECK(s.code == Code::NotPinned);
  CHECK(s.message.find("blockHashes[1]") != std::string::npos);
  const uint64_t notPinned[2] = {H1, H2};  // H2 resident but never pinned
  CHECK_CODE(kv->unpin(0, notPinned, 2, n), Code::NotPinned);
  const uint64_t twice[2] = {H1, H1};  // one pin cannot be taken away twice
  CHECK_CODE(kv->unpin(0, twice, 2, n), Code::NotPinned);
  CHECK_CODE(kv->unpin(1, twice, 1, n), Code::InvalidArgument);
  CHECK_EQ(n, 7u);
  CHECK(nvltest::sameCapture(before, nvltest::capture(*kv, {})));
  CHECK_EQ(nvltest::poolStats(*kv, 0).pinnedBlocks, 1u);

  CHECK_EQ(pin(*kv, {H1}), 1u);  // pinCount 2
  CHECK_OK(kv->unpin(0, twice, 2, n));
  CHECK_EQ(n, 2u);
  CHECK_EQ(nvltest::poolStats(*kv, 0).pinnedBlocks, 0u);
  CHECK_CODE(kv->unpin(0, twice, 1, n), Code::NotPinned);
  CHECK_OK(kv->unpin(0, nullptr, 0, n));  // nothing to unpin is fine
  CHECK_EQ(n, 0u);
}

void checkUnpinOrder() {
  auto kv = nvltest::make(nvltest::smallConfig(1, 1, 1, 3, 0, 0));
  const uint32_t a = allocate(*kv, 12, {H1, H2, H3});
  CHECK_OK(kv->free(a));
  CHECK_EQ(pin(*kv, {H1, H2, H3}), 3u);
  uint32_t n = 0;
  const uint64_t all[3] = {H1, H2, H3};
  CHECK_OK(kv->unpin(0, all, 3, n));  // rejoin last first: LRU becomes H3, H2, H1
  nvltest::drainAll(*kv);
  allocate(*kv, 12, {});
  CHECK_EQ(removedHashes(*kv), (std::vector<uint64_t>{H3, H2, H1}));
}

}  // namespace

int main() {
  checkPinBlocksEviction();
  checkUnpinErrors();
  checkUnpinOrder();
  return nvltest::finish("pin_test");
}
