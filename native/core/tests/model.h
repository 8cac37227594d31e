// A deliberately naive second implementation of native/SPEC.md (std::map, std::list, linear scans) for the
// randomized differential test: it shares no code with the core, so a bug in the core's flat maps, intrusive
// LRU, virtual free stack or PrefixIndex shows up as a mismatch. Metadata mode only.
#pragma once
#include <algorithm>
#include <cstdint>
#include <list>
#include <map>
#include <set>
#include <vector>

#include "kv_manager.h"

namespace nvltest {

class Model {
 public:
  using Code = nvl::Code;
  using Location = nvl::Location;
  using Tier = nvl::Tier;

  explicit Model(const nvl::KvConfig& c, uint64_t blockBytes) : topo_(c.topology), bs_(c.tokensPerBlock) {
    blockBytes_ = double(blockBytes);
    numGpus_ = topo_.numGpus();
    numTrays_ = topo_.numTrays();
    for (uint32_t g = 0; g < numGpus_; ++g) pools_.emplace_back(uint32_t(c.deviceBlocksPerGpu));
    for (uint32_t t = 0; t < numTrays_; ++t) pools_.emplace_back(uint32_t(c.hostBlocksPerTray));
    for (uint32_t t = 0; t < numTrays_; ++t) pools_.emplace_back(uint32_t(c.diskBlocksPerTray));
    seqs_.emplace_back();  // id 0 is never issued
  }

  struct Block {
    uint64_t hash = 0;
    bool hashed = false;
    int ref = 0, pin = 0;
  };
  struct Pool {
    explicit Pool(uint32_t n) : blocks(n) {
      for (uint32_t b = n; b-- > 0;) freeStack.push_back(int(b));
    }
    std::vector<Block> blocks;
    std::vector<int> freeStack;  // back() pops first
    std::list<int> lru;          // front() is the LRU end
    std::map<uint64_t, int> map;
    uint64_t hits = 0, misses = 0, evictions = 0;
    bool inLru(int b) const { return std::find(lru.begin(), lru.end(), b) != lru.end(); }
  };
  struct Seq {
    bool live = false;
    uint32_t id = 0;
    Location loc;
    uint32_t numTokens = 0;
    std::vector<int> blocks;
    std::vector<uint64_t> hashes;
    uint32_t homeGpu = 0;
  };

  std::vector<Pool> pools_;
  std::vector<Seq> seqs_;
  std::vector<nvl::KvEvent> events_;
  uint64_t lastEventId_ = 0;
  uint64_t transfers_ = 0;
  double linkBytes_[nvl::kNumLinkKinds] = {0, 0, 0, 0, 0};

  uint32_t poolOf(Location l) const {
    return l.tier == Tier::Device ? l.index : l.tier == Tier::Host ? numGpus_ + l.index : numGpus_ + numTrays_ + l.index;
  }
  Location locOf(uint32_t p) const {
    if (p < numGpus_) return {Tier::Device, p};
    if (p < numGpus_ + numTrays_) return {Tier::Host, p - numGpus_};
    return {Tier::Disk, p - numGpus_ - numTrays_};
  }

  Code lookup(uint32_t id) const {
    if (id == 0 || id >= seqs_.size()) return Code::UnknownSequence;
    return seqs_[id].live ? Code::Ok : Code::SequenceFreed;
  }

  Code allocate(uint32_t gpu, uint32_t numTokens, const std::vector<uint64_t>& h, uint32_t reserve,
                nvl::AllocateResult& out) {
    if (gpu >= numGpus_ || numTokens < 1 || numTokens > kMax) return Code::InvalidArgument;
    if (uint64_t(numTokens) + reserve > kMax || h.size() > numTokens / bs_) return Code::InvalidArgument;
    Pool& p = pools_[gpu];
    const uint32_t numBlocks = uint32_t((uint64_t(numTokens) + reserve + bs_ - 1) / bs_);
    std::vector<int> cached;
    while (cached.size() < h.size() && p.map.count(h[cached.size()])) cached.push_back(p.map[h[cached.size()]]);
    std::set<int> lruCached;
    for (int b : cached) {
      if (p.inLru(b)) lruCached.insert(b);
    }
    const uint64_t needed = numBlocks - cached.size();
    if (needed > p.freeStack.size() + p.lru.size() - lruCached.size()) return Code::OutOfBlocks;
    Seq s;
    s.live = true;
    s.id = uint32_t(seqs_.size());
    s.loc = {Tier::Device, gpu};
    s.numTokens = numTokens;
    s.homeGpu = gpu;
    for (int b : cached) {
      acquire(gpu, b);
      s.blocks.push_back(b);
    }
    for (uint32_t i = uint32_t(cached.size()); i < numBlocks; ++i) {
      const int b = take(gpu);
      s.blocks.push_back(b);
      if (i < h.size()) reg(gpu, b, h[i], i ? h[i - 1] : 0);
    }
    s.hashes = h;
    p.hits += cached.size();
    p.misses += h.size() - cached.size();
    out = {s.id, numBlocks, uint32_t(cached.size()), uint32_t(needed)};
    seqs_.push_back(s);
    return Code::Ok;
  }

  Code append(uint32_t id, uint32_t numTokens, const std::vector<uint64_t>& h, nvl::AppendResult& out) {
    Code c = lookup(id);
    if (c != Code::Ok) return c;
    Seq& s = seqs_[id];
    if (s.loc.tier != Tier::Device) return Code::WrongTier;
    if (numTokens < 1 || numTokens > kMax) return Code::InvalidArgument;
    const uint64_t newLen = uint64_t(s.numTokens) + numTokens;
    if (newLen > kMax) return Code::InvalidArgument;
    const uint32_t oldFull = s.numTokens / bs_;
    if (h.size() > newLen / bs_ - oldFull) return Code::InvalidArgument;
    if (!h.empty() && s.hashes.size() != oldFull) return Code::InvalidArgument;
    const uint32_t gpu = s.loc.index;
    Pool& p = pools_[gpu];
    const uint64_t want = (newLen + bs_ - 1) / bs_;
    const uint64_t needed = want > s.blocks.size() ? want - s.blocks.size() : 0;
    if (needed > p.freeStack.size() + p.lru.size()) return Code::OutOfBlocks;
    for (uint64_t i = 0; i < needed; ++i) s.blocks.push_back(take(gpu));
    for (size_t k = 0; k < h.size(); ++k) {
      const uint64_t parent = k > 0 ? h[k - 1] : (s.hashes.empty() ? 0 : s.hashes.back());
      reg(gpu, s.blocks[oldFull + k], h[k], parent);
    }
    s.hashes.insert(s.hashes.end(), h.begin(), h.end());
    s.numTokens = uint32_t(newLen);
    out = {s.numTokens, uint32_t(s.blocks.size()), uint32_t(needed)};
    return Code::Ok;
  }

  Code free(uint32_t id) {
    Code c = lookup(id);
    if (c != Code::Ok) return c;
    Seq& s = seqs_[id];
    for (size_t i = s.blocks.size(); i-- > 0;) release(poolOf(s.loc), s.blocks[i]);
    s.live = false;
    return Code::Ok;
  }

  nvl::PrefixMatch match(uint32_t gpu, const std::vector<uint64_t>& h) const {
    nvl::PrefixMatch m{gpu, 0, 0, 0};
    const uint32_t tray = gpu / topo_.gpusPerTray;
    for (uint64_t x : h) {
      if (pools_[gpu].map.count(x)) {
        ++m.deviceBlocks;
      } else if (pools_[numGpus_ + tray].map.count(x)) {
        ++m.hostBlocks;
      } else if (pools_[numGpus_ + numTrays_ + tray].map.count(x)) {
        ++m.diskBlocks;
      } else {
        break;
      }
    }
    return m;
  }

  Code pin(uint32_t gpu, const std::vector<uint64_t>& h, uint32_t& n) {
    if (gpu >= numGpus_) return Code::InvalidArgument;
    Pool& p = pools_[gpu];
    n = 0;
    while (n < h.size() && p.map.count(h[n])) {
      const int b = p.map[h[n]];
      if (p.inLru(b)) p.lru.remove(b);
      ++p.blocks[b].pin;
      ++n;
    }
    return Code::Ok;
  }

  Code unpin(uint32_t gpu, const std::vector<uint64_t>& h, uint32_t& n) {
    if (gpu >= numGpus_) return Code::InvalidArgument;
    Pool& p = pools_[gpu];
    std::map<int, int> uses;
    for (uint64_t x : h) {
      if (!p.map.count(x)) return Code::NotPinned;
      const int b = p.map[x];
      if (++uses[b] > p.blocks[b].pin) return Code::NotPinned;
    }
    for (size_t i = h.size(); i-- > 0;) {
      const int b = p.map[h[i]];
      if (--p.blocks[b].pin == 0 && p.blocks[b].ref == 0) p.lru.push_back(b);
    }
    n = uint32_t(h.size());
    return Code::Ok;
  }

  Code transfer(uint32_t id, Location dst, nvl::TransferMode mode, nvl::TransferPlan& out) {
    Code c = lookup(id);
    if (c != Code::Ok) return c;
    const uint32_t limit = dst.tier == Tier::Device ? numGpus_ : numTrays_;
    if (dst.index >= limit) return Code::InvalidArgument;
    const Location src = seqs_[id].loc;
    if (src == dst) return Code::InvalidArgument;
    std::vector<nvl::LinkKind> hops;
    if (!route(src, dst, hops)) return Code::InvalidArgument;
    const uint32_t dp = poolOf(dst), sp = poolOf(src);
    Pool& d = pools_[dp];
    const Seq s = seqs_[id];
    const uint32_t used = (s.numTokens + bs_ - 1) / bs_;
    std::vector<int> placed(used, -1);
    std::set<int> lruShared;
    uint32_t copied = 0;
    for (uint32_t i = 0; i < used; ++i) {
      if (i < s.hashes.size() && d.map.count(s.hashes[i])) {
        placed[i] = d.map[s.hashes[i]];
        if (d.inLru(placed[i])) lruShared.insert(placed[i]);
      } else {
        ++copied;
      }
    }
    if (copied > d.freeStack.size() + d.lru.size() - lruShared.size()) return Code::OutOfBlocks;
    for (uint32_t i = 0; i < used; ++i) {
      if (placed[i] >= 0) acquire(dp, placed[i]);
    }
    for (uint32_t i = 0; i < used; ++i) {
      if (placed[i] >= 0) continue;
      placed[i] = take(dp);
      if (i < s.hashes.size()) reg(dp, placed[i], s.hashes[i], i ? s.hashes[i - 1] : 0);
    }
    uint32_t resultId = id;
    if (mode == nvl::TransferMode::Move) {
      for (size_t i = s.blocks.size(); i-- > 0;) release(sp, s.blocks[i]);
      Seq& m = seqs_[id];
      m.blocks = placed;
      m.loc = dst;
      if (dst.tier == Tier::Device) m.homeGpu = dst.index;
    } else {
      Seq copy = s;
      copy.id = resultId = uint32_t(seqs_.size());
      copy.blocks = placed;
      copy.loc = dst;
      if (dst.tier == Tier::Device) copy.homeGpu = dst.index;
      seqs_.push_back(copy);
    }
    const double bytes = copied * blockBytes_;
    out = nvl::TransferPlan{};
    out.seqId = resultId;
    out.source = src;
    out.destination = dst;
    out.mode = mode;
    out.blocksCopied = copied;
    out.blocksShared = used - copied;
    out.bytes = bytes;
    for (nvl::LinkKind k : hops) {
      const nvl::LinkSpec& l = k == nvl::LinkKind::NvLink     ? topo_.nvlink
                               : k == nvl::LinkKind::ScaleOut ? topo_.scaleOut
                               : k == nvl::LinkKind::Disk     ? topo_.disk
                                                              : topo_.hostLink;
      const double sec = bytes == 0 ? 0 : l.latencyS + bytes / l.bandwidthBytesPerS;
      out.hops.push_back({k, bytes, sec});
      out.estimatedSeconds += sec;
      if (!out.path.empty()) out.path += "+";
      out.path += nvl::linkName(k);
      linkBytes_[int(k)] += bytes;
    }
    ++transfers_;
    nvl::KvEvent e;
    e.eventId = ++lastEventId_;
    e.kind = nvl::EventKind::Moved;
    e.location = src;
    e.destination = dst;
    e.seqId = resultId;
    e.mode = mode;
    e.blocks = copied;
    e.bytes = bytes;
    events_.push_back(e);
    return Code::Ok;
  }

  // used / cached / free / pinned for a pool
  void counts(uint32_t p, uint32_t& used, uint32_t& cached, uint32_t& freeN, uint32_t& pinned) const {
    const Pool& q = pools_[p];
    used = pinned = 0;
    for (const Block& b : q.blocks) {
      used += (b.ref > 0 || b.pin > 0);
      pinned += b.pin > 0;
    }
    cached = uint32_t(q.lru.size());
    freeN = uint32_t(q.freeStack.size());
  }

 private:
  static constexpr uint64_t kMax = 0x7fffffff;

  bool route(Location s, Location d, std::vector<nvl::LinkKind>& hops) const {
    const nvl::LinkKind hl = topo_.hostLinkKind;
    auto tray = [&](uint32_t g) { return g / topo_.gpusPerTray; };
    auto domain = [&](uint32_t g) { return g / (topo_.gpusPerTray * topo_.traysPerDomain); };
    if (s.tier == Tier::Device && d.tier == Tier::Device) {
      hops = {domain(s.index) == domain(d.index) ? nvl::LinkKind::NvLink : nvl::LinkKind::ScaleOut};
      return true;
    }
    if (s.tier == Tier::Device) {
      if (d.index != tray(s.index)) return false;
      hops = {hl};
      if (d.tier == Tier::Disk) hops.push_back(nvl::LinkKind::Disk);
      return true;
    }
    if (d.tier == Tier::Device) {
      if (tray(d.index) != s.index) return false;
      hops = s.tier == Tier::Host ? std::vector<nvl::LinkKind>{hl} : std::vector<nvl::LinkKind>{nvl::LinkKind::Disk, hl};
      return true;
    }
    if (d.index != s.index) return false;  // host <-> disk of the same tray
    hops = {nvl::LinkKind::Disk};
    return true;
  }

  void emit(nvl::EventKind kind, uint32_t pool, uint64_t hash, uint64_t parent) {
    nvl::KvEvent e;
    e.eventId = ++lastEventId_;
    e.kind = kind;
    e.location = locOf(pool);
    e.hash = hash;
    e.parentHash = parent;
    events_.push_back(e);
  }

  int take(uint32_t pool) {
    Pool& p = pools_[pool];
    int b;
    if (!p.freeStack.empty()) {
      b = p.freeStack.back();
      p.freeStack.pop_back();
    } else {
      b = p.lru.front();
      p.lru.pop_front();
      p.map.erase(p.blocks[b].hash);
      p.blocks[b].hashed = false;
      ++p.evictions;
      emit(nvl::EventKind::Removed, pool, p.blocks[b].hash, 0);
    }
    p.blocks[b].ref = 1;
    return b;
  }

  void reg(uint32_t pool, int b, uint64_t hash, uint64_t parent) {
    Pool& p = pools_[pool];
    if (p.map.count(hash)) return;
    p.map[hash] = b;
    p.blocks[b].hash = hash;
    p.blocks[b].hashed = true;
    emit(nvl::EventKind::Stored, pool, hash, parent);
  }

  void acquire(uint32_t pool, int b) {
    Pool& p = pools_[pool];
    if (p.inLru(b)) p.lru.remove(b);
    ++p.blocks[b].ref;
  }

  void release(uint32_t pool, int b) {
    Pool& p = pools_[pool];
    Block& k = p.blocks[b];
    if (--k.ref == 0 && k.pin == 0) {
      if (k.hashed) {
        p.lru.push_back(b);
      } else {
        p.freeStack.push_back(b);
      }
    }
  }

  nvl::TopologySpec topo_;
  uint32_t bs_;
  double blockBytes_ = 0;
  uint32_t numGpus_ = 0, numTrays_ = 0;
};

}  // namespace nvltest
