// The core's private tables against std::map: HashBlockMap (per-pool hash -> block) and PrefixIndex (cluster-wide
// hash -> GPU masks), under heavy insert / erase churn with clustered keys, key 0 and growth.
#include <map>
#include <random>
#include <set>
#include <vector>

#include "check.h"
#include "hash_map.h"
#include "prefix_index.h"

namespace {

void checkHashBlockMap() {
  nvl::HashBlockMap map;
  std::map<uint64_t, uint32_t> ref;
  std::mt19937_64 rng(7);
  uint32_t block = 0;
  CHECK(!map.contains(0));
  CHECK(map.insert(0, 5));
  CHECK(!map.insert(0, 6));  // present: no change
  uint32_t got = 99;
  CHECK(map.find(0, got));
  CHECK_EQ(got, 5u);
  ref[0] = 5;
  for (int i = 0; i < 200000; ++i) {
    // Keys from a small range in steps of 2^40 (poor low bits) and a dense range: collisions and long runs.
    const uint64_t key = (rng() % 2 == 0) ? (rng() % 3000) << 40 : rng() % 3000;
    if (rng() % 3 == 0) {
      CHECK_EQ(map.erase(key), ref.erase(key) == 1);
    } else {
      const bool fresh = ref.count(key) == 0;
      CHECK_EQ(map.insert(key, block), fresh);
      if (fresh) ref[key] = block;
      block = (block + 1) & 0x7fffffff;
    }
  }
  CHECK_EQ(map.size(), ref.size());
  for (const auto& kv : ref) {
    uint32_t b = 0;
    CHECK(map.find(kv.first, b));
    CHECK_EQ(b, kv.second);
  }
  size_t visited = 0;
  map.forEachKey([&](uint64_t k) { visited += ref.count(k); });
  CHECK_EQ(visited, ref.size());
}

void checkPrefixIndex() {
  // 130 GPUs, trays of 5: tray masks straddle 64-bit words. The reference: per key, per kind, a set of GPUs.
  nvl::PrefixIndex index;
  index.init(130);
  std::map<uint64_t, std::set<uint32_t>> ref[3];
  std::mt19937_64 rng(11);
  for (int i = 0; i < 100000; ++i) {
    const uint64_t key = rng() % 500;
    const auto kind = nvl::PrefixIndex::MaskKind(rng() % 3);
    const uint32_t first = kind == nvl::PrefixIndex::kDevice ? uint32_t(rng() % 130) : uint32_t(rng() % 26) * 5;
    const uint32_t count = kind == nvl::PrefixIndex::kDevice ? 1 : 5;
    std::set<uint32_t>& gpus = ref[kind][key];
    if (rng() % 2 == 0) {
      index.add(key, kind, first, count);
      for (uint32_t g = first; g < first + count; ++g) gpus.insert(g);
    } else {
      index.remove(key, kind, first, count);
      for (uint32_t g = first; g < first + count; ++g) gpus.erase(g);
    }
  }
  size_t live = 0;
  for (uint64_t key = 0; key < 500; ++key) {
    bool any = false;
    for (int k = 0; k < 3; ++k) any = any || !ref[k][key].empty();
    live += any;
    // A one-hash walk reports, per GPU, the first kind that holds the key (device, then host, then disk).
    std::vector<nvl::PrefixMatch> out;
    index.match(&key, 1, out);
    std::vector<nvl::PrefixMatch> want;
    for (uint32_t g = 0; g < 130; ++g) {
      nvl::PrefixMatch m{g, 0, 0, 0};
      if (ref[0][key].count(g)) {
        m.deviceBlocks = 1;
      } else if (ref[1][key].count(g)) {
        m.hostBlocks = 1;
      } else if (ref[2][key].count(g)) {
        m.diskBlocks = 1;
      } else {
        continue;
      }
      want.push_back(m);
    }
    CHECK_EQ(out.size(), want.size());
    for (size_t i = 0; i < out.size() && i < want.size(); ++i) {
      CHECK(out[i].gpu == want[i].gpu && out[i].deviceBlocks == want[i].deviceBlocks &&
            out[i].hostBlocks == want[i].hostBlocks && out[i].diskBlocks == want[i].diskBlocks);
    }
  }
  CHECK_EQ(index.size(), live);  // entries whose masks emptied were deleted
}

}  // namespace

int main() {
  checkHashBlockMap();
  checkPrefixIndex();
  return nvltest::finish("index_test");
}
