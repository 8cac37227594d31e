// PrefixIndex: one table for the whole cluster, `hash -> {GPUs holding it in HBM, GPUs whose tray's host tier
// holds it, GPUs whose tray's disk tier holds it}`, so matchPrefix over every GPU is a walk of word ANDs instead
// of numGpus separate map walks (SPEC §5).
//
// Invariants (kept by KvManager::Impl, which updates the index exactly when a pool map gains or loses a hash):
// - bit g of `device` is set iff GPU g's device pool map holds the hash;
// - bits of tray t's GPUs in `host` (`disk`) are set iff tray t's host (disk) pool map holds the hash;
// - a slot is occupied iff its flag word is 1, which holds iff one of its mask bits is set (an entry whose masks
//   empty is deleted at once), so the key 0 needs no special case.
// Open addressing, linear probing, load <= 1/2, backward-shift deletion.
// Slot layout, in 64-bit words: key, flag, device mask, host mask, disk mask (W words each), padded to 32 bytes.
// Only built for numGpus <= kMaxGpus; larger clusters walk the pool maps per GPU.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "kv_manager.h"

namespace nvl {

class PrefixIndex {
 public:
  static constexpr uint32_t kMaxGpus = 1024;
  enum MaskKind : uint32_t { kDevice = 0, kHost = 1, kDisk = 2 };

  void init(uint32_t numGpus);
  size_t size() const { return size_; }

  // Sets / clears bits [firstGpu, firstGpu + count) of one mask of `key`'s entry.
  void add(uint64_t key, MaskKind kind, uint32_t firstGpu, uint32_t count);
  void remove(uint64_t key, MaskKind kind, uint32_t firstGpu, uint32_t count);

  // Starts loading the slot `key` hashes to (callers about to touch it hide the memory latency).
  void prefetch(uint64_t key) const { __builtin_prefetch(slotAt(bucket(key))); }

  // SPEC §5 matchPrefix: every GPU with a matched length >= 1, GPU ascending. Reuses internal scratch.
  void match(const uint64_t* hashes, size_t numHashes, std::vector<PrefixMatch>& out) const;

 private:
  static constexpr uint32_t kMaxWords = kMaxGpus / 64;  // match() instantiates a walk for each width 1..16
  struct FreeDeleter {
    void operator()(uint64_t* p) const;
  };

  static constexpr uint32_t kMasksAt = 2;  // word index of the device mask

  // Defined here, not in the .cc: the core is compiled with -fPIC, where out-of-line members are interposable
  // and so never inlined, and these run once per probe.
  uint64_t* slotAt(size_t i) const { return table_.get() + i * strideWords_; }
  size_t bucket(uint64_t key) const { return size_t((key * kSpread) >> shift_); }
  static bool occupied(const uint64_t* slot) { return slot[1] != 0; }
  size_t findIndex(uint64_t key) const {  // numSlots_ when absent
    for (size_t i = bucket(key);; i = (i + 1) & mask_) {
      const uint64_t* s = slotAt(i);
      if (!occupied(s)) return numSlots_;
      if (s[0] == key) return i;
    }
  }
  const uint64_t* find(uint64_t key) const {
    const size_t i = findIndex(key);
    return i == numSlots_ ? nullptr : slotAt(i);
  }
  uint64_t* findOrInsert(uint64_t key);
  void eraseAt(size_t hole);
  void resize(size_t numSlots);
  template <uint32_t W>
  void matchWords(const uint64_t* hashes, size_t numHashes, std::vector<PrefixMatch>& out) const;
  template <uint32_t W>
  bool step(const uint64_t* dev, bool first, uint64_t* candidates, uint64_t* matched, uint32_t* uniform) const;
  template <uint32_t W>
  void finalize(const uint64_t* gpus, const uint32_t uniform[3]) const;

  static constexpr uint64_t kSpread = 0x9e3779b97f4a7c15ULL;

  uint32_t numGpus_ = 0;
  uint32_t words_ = 0;        // 64-bit words per mask
  uint32_t strideWords_ = 0;  // key + 3 masks, rounded up to 32 bytes
  std::unique_ptr<uint64_t, FreeDeleter> table_;
  size_t numSlots_ = 0;
  size_t mask_ = 0;
  unsigned shift_ = 64;
  size_t size_ = 0;
  uint64_t lastWordMask_ = 0;
  // match() scratch: per-GPU category counts from non-uniform steps and the finished counts, 3 per GPU.
  mutable std::vector<uint32_t> partial_;
  mutable std::vector<uint32_t> finished_;
};

}  // namespace nvl
