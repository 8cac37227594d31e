// Randomized differential test: the core against the naive Model (model.h), operation by operation, on three
// shapes: 12 GPUs (one mask word), 130 GPUs with 5 per tray (trays straddle mask words) and 1,040 GPUs (beyond
// PrefixIndex::kMaxGpus, so matchPrefix walks per GPU). Every op compares codes and results and drains both event
// logs; every few ops, stats, snapshot, block tables and matchPrefix are compared too. Fixed seeds: reproducible.
#include <random>
#include <string>
#include <vector>

#include "fixture.h"
#include "model.h"

using nvl::Code;
using nvl::Location;
using nvl::Tier;

namespace {

struct Driver {
  nvl::KvConfig config;
  std::unique_ptr<nvl::KvManager> kv;
  std::unique_ptr<nvltest::Model> model;
  std::mt19937_64 rng;
  uint32_t numGpus, numTrays, bs;
  int failuresAtStart = nvltest::failures();

  Driver(const nvl::KvConfig& c, uint64_t seed) : config(c), rng(seed) {
    kv = nvltest::make(c);
    model = std::make_unique<nvltest::Model>(c, kv->blockBytes());
    numGpus = c.topology.numGpus();
    numTrays = c.topology.numTrays();
    bs = c.tokensPerBlock;
  }

  uint32_t below(uint32_t n) { return uint32_t(rng() % n); }
  bool chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng) < p; }

  // Hash chains from a few families so that prefixes collide across sequences; 0 and duplicates included.
  std::vector<uint64_t> chain(uint32_t family, uint32_t start, uint32_t length) {
    std::vector<uint64_t> h;
    for (uint32_t i = 0; i < length; ++i) {
      uint64_t x = uint64_t(family) * 1000 + start + i;
      if (chance(0.03) && !h.empty()) x = h[below(uint32_t(h.size()))];  // a repeated hash
      if (chance(0.02)) x = 0x8000000000000000ULL | rng() % 64;          // a stray one
      h.push_back(x);
    }
    return h;
  }

  uint32_t pickId() {
    const uint32_t issued = uint32_t(model->seqs_.size());
    if (chance(0.05)) return below(issued + 2);  // includes 0 and not-yet-issued ids
    for (int tries = 0; tries < 8; ++tries) {
      const uint32_t id = 1 + below(issued > 1 ? issued - 1 : 1);
      if (id < issued && model->seqs_[id].live) return id;
    }
    return 1 + below(issued);
  }

  Location pickLocation(Location from) {
    if (chance(0.6)) {
      // Mostly reachable places: a GPU of the same tray, the tray's host / disk, or any GPU.
      const uint32_t tray = from.tier == Tier::Device ? from.index / config.topology.gpusPerTray : from.index;
      const uint32_t r = below(4);
      if (r == 0) return {Tier::Host, tray};
      if (r == 1) return {Tier::Disk, tray};
      if (r == 2) return {Tier::Device, tray * config.topology.gpusPerTray + below(config.topology.gpusPerTray)};
      return {Tier::Device, below(numGpus)};
    }
    const Tier tier = Tier(below(3));
    const uint32_t limit = tier == Tier::Device ? numGpus : numTrays;
    return {tier, below(limit + 1)};  // sometimes out of range
  }

  void compareCode(Code a, Code b, const char* op) {
    if (a != b) nvltest::fail(__FILE__, __LINE__, std::string(op) + ": core " + nvl::codeName(a) + ", model " + nvl::codeName(b));
  }

  void step() {
    const uint32_t r = below(100);
    if (r < 30) {
      const uint32_t gpu = chance(0.02) ? numGpus : below(numGpus);
      const uint32_t numTokens = chance(0.02) ? 0 : 1 + below(bs * 6);
      uint32_t numHashes = numTokens / bs;
      if (numHashes > 0 && chance(0.3)) numHashes = below(numHashes + 1);
      if (chance(0.02)) numHashes += 1;
      const std::vector<uint64_t> h = chain(below(5), chance(0.8) ? 0 : below(3), numHashes);
      const uint32_t reserve = chance(0.3) ? below(bs * 2) : 0;
      nvl::AllocateResult a{}, b{};
      const Code ca = kv->allocate(gpu, numTokens, h.data(), h.size(), reserve, a).code;
      compareCode(ca, model->allocate(gpu, numTokens, h, reserve, b), "allocate");
      if (ca == Code::Ok) {
        CHECK(a.seqId == b.seqId && a.numBlocks == b.numBlocks && a.cachedBlocks == b.cachedBlocks &&
              a.newBlocks == b.newBlocks);
      }
    } else if (r < 48) {
      const uint32_t id = pickId();
      const uint32_t numTokens = chance(0.02) ? 0 : 1 + below(bs * 3);
      std::vector<uint64_t> h;
      if (id > 0 && id < model->seqs_.size() && model->seqs_[id].live) {
        const nvltest::Model::Seq& s = model->seqs_[id];
        const uint32_t fills = (s.numTokens + numTokens) / bs - s.numTokens / bs;
        const uint32_t n = chance(0.7) ? fills : below(fills + 2);
        h = chain(below(5), uint32_t(s.hashes.size()), n);
      }
      nvl::AppendResult a{}, b{};
      const Code ca = kv->append(id, numTokens, h.data(), h.size(), a).code;
      compareCode(ca, model->append(id, numTokens, h, b), "append");
      if (ca == Code::Ok) CHECK(a.numTokens == b.numTokens && a.numBlocks == b.numBlocks && a.newBlocks == b.newBlocks);
    } else if (r < 68) {
      const uint32_t id = pickId();
      compareCode(kv->free(id).code, model->free(id), "free");
    } else if (r < 74) {
      const uint32_t gpu = chance(0.02) ? numGpus : below(numGpus);
      const std::vector<uint64_t> h = chain(below(5), 0, below(5));
      uint32_t a = 0, b = 0;
      const Code ca = kv->pin(gpu, h.data(), h.size(), a).code;
      compareCode(ca, model->pin(gpu, h, b), "pin");
      CHECK_EQ(a, b);
    } else if (r < 80) {
      const uint32_t gpu = below(numGpus);
      std::vector<uint64_t> h = chain(below(5), 0, below(4));
      uint32_t a = 0, b = 0;
      const Code ca = kv->unpin(gpu, h.data(), h.size(), a).code;
      compareCode(ca, model->unpin(gpu, h, b), "unpin");
      CHECK_EQ(a, b);
    } else if (r < 95) {
      const uint32_t id = pickId();
      Location from{Tier::Device, 0};
      if (id > 0 && id < model->seqs_.size()) from = model->seqs_[id].loc;
      const Location to = pickLocation(from);
      const nvl::TransferMode mode = chance(0.3) ? nvl::TransferMode::Copy : nvl::TransferMode::Move;
      nvl::TransferPlan a, b;
      const Code ca = kv->transfer(id, to, mode, a).code;
      compareCode(ca, model->transfer(id, to, mode, b), "transfer");
      if (ca == Code::Ok) {
        CHECK(a.seqId == b.seqId && a.blocksCopied == b.blocksCopied && a.blocksShared == b.blocksShared &&
              a.bytes == b.bytes && a.path == b.path && a.estimatedSeconds == b.estimatedSeconds &&
              a.hops.size() == b.hops.size());
      }
    } else {
      compareMatches(chain(below(5), 0, below(8)));
    }
    compareEvents();
  }

  void compareEvents() {
    std::vector<nvl::KvEvent> got = nvltest::drainAll(*kv);
    std::vector<nvl::KvEvent>& want = model->events_;
    CHECK_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size() && i < want.size(); ++i) {
      const nvl::KvEvent &a = got[i], &b = want[i];
      bool same = a.eventId == b.eventId && a.kind == b.kind && a.location == b.location;
      if (a.kind == nvl::EventKind::Moved) {
        same = same && a.destination == b.destination && a.seqId == b.seqId && a.mode == b.mode &&
               a.blocks == b.blocks && a.bytes == b.bytes;
      } else {
        same = same && a.hash == b.hash && (a.kind == nvl::EventKind::Removed || a.parentHash == b.parentHash);
      }
      if (!same) nvltest::fail(__FILE__, __LINE__, "event " + std::to_string(b.eventId) + " differs");
    }
    want.clear();
  }

  void compareMatches(const std::vector<uint64_t>& h) {
    std::vector<nvl::PrefixMatch> got;
    kv->matchPrefix(h.data(), h.size(), got);
    std::vector<nvl::PrefixMatch> want;
    for (uint32_t g = 0; g < numGpus && !h.empty(); ++g) {
      nvl::PrefixMatch m = model->match(g, h);
      if (m.deviceBlocks + m.hostBlocks + m.diskBlocks > 0) want.push_back(m);
    }
    CHECK_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size() && i < want.size(); ++i) {
      const nvl::PrefixMatch &a = got[i], &b = want[i];
      if (!(a.gpu == b.gpu && a.deviceBlocks == b.deviceBlocks && a.hostBlocks == b.hostBlocks &&
            a.diskBlocks == b.diskBlocks)) {
        nvltest::fail(__FILE__, __LINE__, "matchPrefix differs at GPU " + std::to_string(b.gpu));
      }
    }
    const uint32_t g = below(numGpus);
    nvl::PrefixMatch one;
    CHECK_OK(kv->matchPrefixOnGpu(g, h.data(), h.size(), one));
    const nvl::PrefixMatch ref = model->match(g, h);
    CHECK(one.deviceBlocks == ref.deviceBlocks && one.hostBlocks == ref.hostBlocks && one.diskBlocks == ref.diskBlocks);
  }

  void compareState() {
    nvl::KvStats st;
    kv->stats(st);
    CHECK_EQ(st.pools.size(), model->pools_.size());
    for (uint32_t p = 0; p < st.pools.size(); ++p) {
      uint32_t used, cached, freeN, pinned;
      model->counts(p, used, cached, freeN, pinned);
      const nvl::PoolStats& s = st.pools[p];
      const nvltest::Model::Pool& m = model->pools_[p];
      if (!(s.usedBlocks == used && s.cachedBlocks == cached && s.freeBlocks == freeN && s.pinnedBlocks == pinned &&
            s.hits == m.hits && s.misses == m.misses && s.evictions == m.evictions &&
            s.location == model->locOf(p))) {
        nvltest::fail(__FILE__, __LINE__, "stats differ for pool " + std::to_string(p));
      }
      if (uint64_t(s.usedBlocks) + s.cachedBlocks + s.freeBlocks != s.totalBlocks) {
        nvltest::fail(__FILE__, __LINE__, "used + cached + free != total for pool " + std::to_string(p));
      }
    }
    uint64_t live = 0;
    for (const nvltest::Model::Seq& s : model->seqs_) live += s.live;
    CHECK_EQ(st.liveSequences, live);
    CHECK_EQ(st.transfers, model->transfers_);
    for (int k = 0; k < nvl::kNumLinkKinds; ++k) CHECK_EQ(st.bytesMovedByLink[k], model->linkBytes_[k]);
    CHECK_EQ(st.lastEventId, model->lastEventId_);

    nvl::Snapshot snap;
    kv->snapshot(snap);
    size_t next = 0;
    for (uint32_t p = 0; p < model->pools_.size(); ++p) {
      const auto& map = model->pools_[p].map;
      if (map.empty()) continue;
      std::vector<uint64_t> hashes;
      for (const auto& kvp : map) hashes.push_back(kvp.first);
      if (next >= snap.locations.size() || !(snap.locations[next].location == model->locOf(p)) ||
          snap.locations[next].hashes != hashes) {
        nvltest::fail(__FILE__, __LINE__, "snapshot differs at pool " + std::to_string(p));
      }
      ++next;
    }
    CHECK_EQ(next, snap.locations.size());

    for (uint32_t id = 1; id < model->seqs_.size(); ++id) {
      const nvltest::Model::Seq& s = model->seqs_[id];
      nvl::SequenceInfo info;
      const Code c = kv->sequenceInfo(id, info).code;
      CHECK(c == (s.live ? Code::Ok : Code::SequenceFreed));
      if (!s.live) continue;
      std::vector<int32_t> t = nvltest::table(*kv, id);
      if (t != std::vector<int32_t>(s.blocks.begin(), s.blocks.end()) || !(info.location == s.loc) ||
          info.numTokens != s.numTokens || info.hashedBlocks != s.hashes.size() || info.homeGpu != s.homeGpu ||
          info.lastHash != (s.hashes.empty() ? 0 : s.hashes.back())) {
        nvltest::fail(__FILE__, __LINE__, "sequence " + std::to_string(id) + " differs");
      }
    }
  }

  void run(int numOps, int compareEvery) {
    for (int i = 0; i < numOps && nvltest::failures() == failuresAtStart; ++i) {
      step();
      if (i % compareEvery == 0) compareState();
    }
    compareState();
  }
};

}  // namespace

int main() {
  {
    Driver d(nvltest::smallConfig(2, 2, 3, 12, 16, 16), 1);  // 12 GPUs
    d.run(20000, 10);
  }
  {
    Driver d(nvltest::smallConfig(2, 13, 5, 6, 8, 8), 2);  // 130 GPUs, 5 per tray
    d.run(6000, 25);
  }
  {
    nvl::KvConfig c = nvltest::smallConfig(1, 260, 4, 4, 4, 4);  // 1,040 GPUs: no PrefixIndex
    c.tokensPerBlock = 2;
    Driver d(c, 3);
    d.run(1500, 100);
  }
  return nvltest::finish("random_test");
}
