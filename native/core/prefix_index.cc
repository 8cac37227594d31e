#include "prefix_index.h"

#include <cstdlib>
#include <cstring>

namespace nvl {
namespace {
constexpr uint64_t kSpread = 0x9e3779b97f4a7c15ULL;
constexpr size_t kMinSlots = 64;
constexpr size_t kPrefetchAhead = 8;  // hashes whose slots are requested before the walk reaches them

template <class Fn>
void forEachBit(const uint64_t* words, uint32_t numWords, Fn fn) {
  for (uint32_t w = 0; w < numWords; ++w) {
    for (uint64_t bits = words[w]; bits != 0; bits &= bits - 1) fn(w * 64 + uint32_t(__builtin_ctzll(bits)));
  }
}
}  // namespace

void PrefixIndex::FreeDeleter::operator()(uint64_t* p) const { std::free(p); }

void PrefixIndex::init(uint32_t numGpus) {
  numGpus_ = numGpus;
  words_ = (numGpus + 63) / 64;
  strideWords_ = (1 + 3 * words_ + 3) / 4 * 4;
  lastWordMask_ = (numGpus % 64 == 0) ? ~0ULL : ((1ULL << (numGpus % 64)) - 1);
  partial_.assign(size_t(3) * numGpus, 0);
  finished_.assign(size_t(3) * numGpus, 0);
  size_ = 0;
  resize(kMinSlots);
}

size_t PrefixIndex::bucket(uint64_t key) const { return size_t((key * kSpread) >> shift_); }

bool PrefixIndex::occupied(const uint64_t* slot) const {
  uint64_t any = 0;
  for (uint32_t w = 1; w <= 3 * words_; ++w) any |= slot[w];
  return any != 0;
}

size_t PrefixIndex::findIndex(uint64_t key) const {
  for (size_t i = bucket(key);; i = (i + 1) & mask_) {
    const uint64_t* s = slotAt(i);
    if (!occupied(s)) return numSlots_;
    if (s[0] == key) return i;
  }
}

const uint64_t* PrefixIndex::find(uint64_t key) const {
  const size_t i = findIndex(key);
  return i == numSlots_ ? nullptr : slotAt(i);
}

uint64_t* PrefixIndex::findOrInsert(uint64_t key) {
  if ((size_ + 1) * 4 > numSlots_ * 3) resize(numSlots_ * 2);
  for (size_t i = bucket(key);; i = (i + 1) & mask_) {
    uint64_t* s = slotAt(i);
    if (!occupied(s)) {
      // A fresh slot: the caller sets a bit right away, which is what makes it occupied.
      s[0] = key;
      ++size_;
      return s;
    }
    if (s[0] == key) return s;
  }
}

void PrefixIndex::add(uint64_t key, MaskKind kind, uint32_t firstGpu, uint32_t count) {
  uint64_t* mask = findOrInsert(key) + 1 + kind * words_;
  for (uint32_t g = firstGpu; g < firstGpu + count; ++g) mask[g / 64] |= 1ULL << (g % 64);
}

void PrefixIndex::remove(uint64_t key, MaskKind kind, uint32_t firstGpu, uint32_t count) {
  const size_t i = findIndex(key);
  if (i == numSlots_) return;
  uint64_t* mask = slotAt(i) + 1 + kind * words_;
  for (uint32_t g = firstGpu; g < firstGpu + count; ++g) mask[g / 64] &= ~(1ULL << (g % 64));
  if (!occupied(slotAt(i))) eraseAt(i);
}

// Backward-shift deletion, as in HashBlockMap: keeps every run contiguous so lookups stop at the first hole.
void PrefixIndex::eraseAt(size_t hole) {
  const size_t strideBytes = strideWords_ * sizeof(uint64_t);
  for (size_t j = (hole + 1) & mask_; occupied(slotAt(j)); j = (j + 1) & mask_) {
    const size_t home = bucket(slotAt(j)[0]);
    if (((j - home) & mask_) >= ((j - hole) & mask_)) {
      std::memcpy(slotAt(hole), slotAt(j), strideBytes);
      hole = j;
    }
  }
  std::memset(slotAt(hole), 0, strideBytes);
  --size_;
}

void PrefixIndex::resize(size_t numSlots) {
  const size_t strideBytes = strideWords_ * sizeof(uint64_t);
  // strideBytes is a multiple of 32 and numSlots a power of two >= 64, so the size is a multiple of 64.
  uint64_t* fresh = static_cast<uint64_t*>(std::aligned_alloc(64, numSlots * strideBytes));
  if (fresh == nullptr) std::abort();  // out of memory: nothing sensible to return from a hot-path insert
  std::memset(fresh, 0, numSlots * strideBytes);
  std::unique_ptr<uint64_t, FreeDeleter> old(fresh);
  old.swap(table_);
  const size_t oldSlots = numSlots_;
  numSlots_ = numSlots;
  mask_ = numSlots - 1;
  shift_ = 64;
  for (size_t n = numSlots; n > 1; n >>= 1) --shift_;
  for (size_t k = 0; k < oldSlots; ++k) {
    const uint64_t* s = old.get() + k * strideWords_;
    if (!occupied(s)) continue;
    size_t i = bucket(s[0]);
    while (occupied(slotAt(i))) i = (i + 1) & mask_;
    std::memcpy(slotAt(i), s, strideBytes);
  }
}

void PrefixIndex::finalize(const uint64_t* gpus, const uint32_t uniform[3]) const {
  forEachBit(gpus, words_, [&](uint32_t g) {
    for (int c = 0; c < 3; ++c) finished_[3 * g + c] = partial_[3 * g + c] + uniform[c];
  });
}

// The walk keeps `candidates`, the GPUs whose run is still unbroken. A step where every surviving candidate
// finds the block in the same category only bumps `uniform[category]`: a GPU's count is its partial count plus
// the uniform counts accumulated while it was a candidate, so the common case (a prefix shared by all
// candidates on HBM) costs a few word operations per block whatever the number of candidates.
void PrefixIndex::match(const uint64_t* hashes, size_t numHashes, std::vector<PrefixMatch>& out) const {
  out.clear();
  if (numHashes == 0) return;
  const uint32_t W = words_;
  uint64_t candidates[kMaxWords], matched[kMaxWords], next[kMaxWords], dropped[kMaxWords];
  uint64_t onDevice[kMaxWords], onHost[kMaxWords], onDisk[kMaxWords];
  for (uint32_t w = 0; w < W; ++w) {
    candidates[w] = (w + 1 == W) ? lastWordMask_ : ~0ULL;
    matched[w] = 0;
  }
  uint32_t uniform[3] = {0, 0, 0};
  for (size_t j = 0; j < numHashes && j < kPrefetchAhead; ++j) __builtin_prefetch(slotAt(bucket(hashes[j])));
  for (size_t i = 0; i < numHashes; ++i) {
    if (i + kPrefetchAhead < numHashes) __builtin_prefetch(slotAt(bucket(hashes[i + kPrefetchAhead])));
    const uint64_t* slot = find(hashes[i]);
    if (slot == nullptr) break;
    const uint64_t* dev = slot + 1;
    const uint64_t* host = dev + W;
    const uint64_t* disk = host + W;
    uint64_t anyLeft = 0, anyDropped = 0;
    bool allDevice = true, allHost = true, allDisk = true;
    for (uint32_t w = 0; w < W; ++w) {
      onDevice[w] = candidates[w] & dev[w];
      onHost[w] = candidates[w] & host[w] & ~dev[w];
      onDisk[w] = candidates[w] & disk[w] & ~(dev[w] | host[w]);
      next[w] = onDevice[w] | onHost[w] | onDisk[w];
      dropped[w] = candidates[w] & ~next[w];
      anyLeft |= next[w];
      anyDropped |= dropped[w];
      allDevice &= onDevice[w] == next[w];
      allHost &= onHost[w] == next[w];
      allDisk &= onDisk[w] == next[w];
    }
    if (i == 0) {
      // Only GPUs that match block 0 are reported; their partial counts start from zero.
      for (uint32_t w = 0; w < W; ++w) matched[w] = next[w];
      forEachBit(next, W, [&](uint32_t g) { partial_[3 * g] = partial_[3 * g + 1] = partial_[3 * g + 2] = 0; });
    } else if (anyDropped != 0) {
      finalize(dropped, uniform);  // their run ended before block i
    }
    for (uint32_t w = 0; w < W; ++w) candidates[w] = next[w];
    if (anyLeft == 0) break;
    if (allDevice) {
      ++uniform[0];
    } else if (allHost) {
      ++uniform[1];
    } else if (allDisk) {
      ++uniform[2];
    } else {
      forEachBit(onDevice, W, [&](uint32_t g) { ++partial_[3 * g]; });
      forEachBit(onHost, W, [&](uint32_t g) { ++partial_[3 * g + 1]; });
      forEachBit(onDisk, W, [&](uint32_t g) { ++partial_[3 * g + 2]; });
    }
  }
  for (uint32_t w = 0; w < W; ++w) candidates[w] &= matched[w];
  finalize(candidates, uniform);
  forEachBit(matched, W, [&](uint32_t g) {
    out.push_back(PrefixMatch{g, finished_[3 * g], finished_[3 * g + 1], finished_[3 * g + 2]});
  });
}

}  // namespace nvl
