// HashBlockMap: a pool's `hash -> block` map (SPEC §2), open addressing with linear probing and backward-shift
// deletion (no tombstones, so probe lengths never degrade under churn).
//
// Invariants: `valuePlusOne == 0` marks an empty slot, so every 64-bit key, 0 included, is storable; blocks are
// < 2^31 so block + 1 never wraps. The load factor stays <= 3/4: a probe always meets an empty slot.
// Keys are multiplied by a 64-bit odd constant and the top bits pick the bucket, so caller-chosen hashes
// (1, 2, 3, ... in tests) spread as well as the already mixed chained hashes do.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace nvl {

class HashBlockMap {
 public:
  HashBlockMap() { rehash(kMinSlots); }

  size_t size() const { return size_; }

  bool find(uint64_t key, uint32_t& block) const {
    for (size_t i = bucket(key);; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.valuePlusOne == 0) return false;
      if (s.key == key) {
        block = s.valuePlusOne - 1;
        return true;
      }
    }
  }

  bool contains(uint64_t key) const {
    uint32_t ignored;
    return find(key, ignored);
  }

  // Inserts key -> block when the key is absent; false (and no change) when it is present.
  bool insert(uint64_t key, uint32_t block) {
    if ((size_ + 1) * 4 > slots_.size() * 3) rehash(slots_.size() * 2);
    size_t i = bucket(key);
    for (; slots_[i].valuePlusOne != 0; i = (i + 1) & mask_) {
      if (slots_[i].key == key) return false;
    }
    slots_[i] = Slot{key, block + 1};
    ++size_;
    return true;
  }

  bool erase(uint64_t key) {
    size_t i = bucket(key);
    for (; slots_[i].valuePlusOne != 0; i = (i + 1) & mask_) {
      if (slots_[i].key == key) {
        eraseAt(i);
        return true;
      }
    }
    return false;
  }

  void prefetch(uint64_t key) const { __builtin_prefetch(&slots_[bucket(key)]); }

  template <class Fn>
  void forEachKey(Fn fn) const {
    for (const Slot& s : slots_) {
      if (s.valuePlusOne != 0) fn(s.key);
    }
  }

 private:
  struct Slot {
    uint64_t key = 0;
    uint32_t valuePlusOne = 0;
  };
  static constexpr size_t kMinSlots = 16;
  static constexpr uint64_t kSpread = 0x9e3779b97f4a7c15ULL;

  size_t bucket(uint64_t key) const { return size_t((key * kSpread) >> shift_); }

  // Backward shift: pull later entries of the same run into the hole while that does not move an entry before
  // its home bucket, so every remaining key stays reachable from its home without tombstones.
  void eraseAt(size_t hole) {
    for (size_t j = (hole + 1) & mask_; slots_[j].valuePlusOne != 0; j = (j + 1) & mask_) {
      const size_t home = bucket(slots_[j].key);
      if (((j - home) & mask_) >= ((j - hole) & mask_)) {
        slots_[hole] = slots_[j];
        hole = j;
      }
    }
    slots_[hole] = Slot{};
    --size_;
  }

  void rehash(size_t numSlots) {
    std::vector<Slot> old;
    old.swap(slots_);
    slots_.assign(numSlots, Slot{});
    mask_ = numSlots - 1;
    shift_ = 64;
    for (size_t n = numSlots; n > 1; n >>= 1) --shift_;
    size_ = 0;
    for (const Slot& s : old) {
      if (s.valuePlusOne == 0) continue;
      size_t i = bucket(s.key);
      while (slots_[i].valuePlusOne != 0) i = (i + 1) & mask_;
      slots_[i] = s;
      ++size_;
    }
  }

  std::vector<Slot> slots_;
  size_t mask_ = 0;
  unsigned shift_ = 64;
  size_t size_ = 0;
};

}  // namespace nvl
