#include "prefix_index.h"

#include <cstdlib>
#include <cstring>

#include <sys/mman.h>

namespace nvl {
namespace {
constexpr size_t kMinSlots = 64;
constexpr size_t kPrefetchAhead = 8;  // hashes whose slots are requested before the walk reaches them
constexpr size_t kHugePageBytes = size_t(2) << 20;

template <uint32_t W, class Fn>
inline void forEachBit(const uint64_t* words, Fn fn) {
  for (uint32_t w = 0; w < W; ++w) {
    for (uint64_t bits = words[w]; bits != 0; bits &= bits - 1) fn(w * 64 + uint32_t(__builtin_ctzll(bits)));
  }
}
}  // namespace

void PrefixIndex::FreeDeleter::operator()(uint64_t* p) const { std::free(p); }

void PrefixIndex::init(uint32_t numGpus) {
  numGpus_ = numGpus;
  words_ = (numGpus + 63) / 64;
  strideWords_ = (kMasksAt + 3 * words_ + 3) / 4 * 4;
  lastWordMask_ = (numGpus % 64 == 0) ? ~0ULL : ((1ULL << (numGpus % 64)) - 1);
  partial_.assign(size_t(3) * numGpus, 0);
  finished_.assign(size_t(3) * numGpus, 0);
  size_ = 0;
  resize(kMinSlots);
}

uint64_t* PrefixIndex::findOrInsert(uint64_t key) {
  // Load <= 1/2 (HashBlockMap allows 3/4): every eviction deletes here with a backward shift over the rest of
  // the run, and runs of 32-64 byte slots get long and cache-unfriendly above half load.
  if ((size_ + 1) * 2 > numSlots_) resize(numSlots_ * 2);
  for (size_t i = bucket(key);; i = (i + 1) & mask_) {
    uint64_t* s = slotAt(i);
    if (!occupied(s)) {
      // A fresh entry: the caller sets a mask bit right away, which keeps the flag truthful.
      s[0] = key;
      s[1] = 1;
      ++size_;
      return s;
    }
    if (s[0] == key) return s;
  }
}

void PrefixIndex::add(uint64_t key, MaskKind kind, uint32_t firstGpu, uint32_t count) {
  uint64_t* mask = findOrInsert(key) + kMasksAt + kind * words_;
  for (uint32_t g = firstGpu; g < firstGpu + count; ++g) mask[g / 64] |= 1ULL << (g % 64);
}

void PrefixIndex::remove(uint64_t key, MaskKind kind, uint32_t firstGpu, uint32_t count) {
  const size_t i = findIndex(key);
  if (i == numSlots_) return;
  uint64_t* slot = slotAt(i);
  uint64_t* mask = slot + kMasksAt + kind * words_;
  for (uint32_t g = firstGpu; g < firstGpu + count; ++g) mask[g / 64] &= ~(1ULL << (g % 64));
  uint64_t any = 0;
  for (uint32_t w = 0; w < 3 * words_; ++w) any |= slot[kMasksAt + w];
  if (any == 0) eraseAt(i);
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
  const size_t bytes = numSlots * strideBytes;
  const size_t align = bytes >= kHugePageBytes ? kHugePageBytes : 64;
  uint64_t* fresh = static_cast<uint64_t*>(std::aligned_alloc(align, (bytes + align - 1) / align * align));
  if (fresh == nullptr) std::abort();  // out of memory: nothing sensible to return from a hot-path insert
  // Lookups land on random slots: with 4 KiB pages nearly every one also misses the TLB, which under
  // virtualisation can cost more than the cache miss itself. Transparent huge pages cut that (a hint only).
  if (align == kHugePageBytes) madvise(fresh, bytes, MADV_HUGEPAGE);
  std::memset(fresh, 0, bytes);
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

template <uint32_t W>
void PrefixIndex::finalize(const uint64_t* gpus, const uint32_t uniform[3]) const {
  forEachBit<W>(gpus, [&](uint32_t g) {
    for (int c = 0; c < 3; ++c) finished_[3 * g + c] = partial_[3 * g + c] + uniform[c];
  });
}

// The walk keeps `candidates`, the GPUs whose run is still unbroken. A step where every surviving candidate
// finds the block in the same category only bumps `uniform[category]`: a GPU's count is its partial count plus
// the uniform counts accumulated while it was a candidate, so the common case (a prefix shared by all
// candidates on HBM) costs a few word operations per block whatever the number of candidates.
template <uint32_t W>
void PrefixIndex::matchWords(const uint64_t* hashes, size_t numHashes, std::vector<PrefixMatch>& out) const {
  constexpr size_t kStride = (kMasksAt + 3 * W + 3) / 4 * 4;  // == strideWords_ for this width
  uint64_t candidates[W], matched[W] = {};
  for (uint32_t w = 0; w < W; ++w) candidates[w] = (w + 1 == W) ? lastWordMask_ : ~0ULL;
  uint32_t uniform[3] = {0, 0, 0};
  for (size_t j = 0; j < numHashes && j < kPrefetchAhead; ++j) prefetch(hashes[j]);
  for (size_t i = 0; i < numHashes; ++i) {
    if (i + kPrefetchAhead < numHashes) prefetch(hashes[i + kPrefetchAhead]);
    const uint64_t key = hashes[i];
    const uint64_t* slot = table_.get() + bucket(key) * kStride;
    while (occupied(slot) && slot[0] != key) {
      slot += kStride;
      if (slot == table_.get() + numSlots_ * kStride) slot = table_.get();
    }
    if (!occupied(slot)) break;
    const uint64_t* dev = slot + kMasksAt;
    // Fast path: every candidate holds block i in HBM. Nothing drops out and the category is uniform.
    uint64_t notOnDevice = 0;
    for (uint32_t w = 0; w < W; ++w) notOnDevice |= candidates[w] & ~dev[w];
    if (notOnDevice == 0 && i > 0) {
      ++uniform[0];
      continue;
    }
    if (!step<W>(dev, i == 0, candidates, matched, uniform)) break;
  }
  for (uint32_t w = 0; w < W; ++w) candidates[w] &= matched[w];
  finalize<W>(candidates, uniform);
  forEachBit<W>(matched, [&](uint32_t g) {
    out.push_back(PrefixMatch{g, finished_[3 * g], finished_[3 * g + 1], finished_[3 * g + 2]});
  });
}

// One general walk step over the masks of block i (dev, then host and disk right after it). Returns false
// when no candidate is left.
template <uint32_t W>
bool PrefixIndex::step(const uint64_t* dev, bool first, uint64_t* candidates, uint64_t* matched,
                       uint32_t* uniform) const {
  const uint64_t* host = dev + W;
  const uint64_t* disk = host + W;
  uint64_t next[W], dropped[W], onDevice[W], onHost[W], onDisk[W];
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
  if (first) {
    // Only GPUs that match block 0 are reported; their partial counts start from zero.
    for (uint32_t w = 0; w < W; ++w) matched[w] = next[w];
    forEachBit<W>(next, [&](uint32_t g) { partial_[3 * g] = partial_[3 * g + 1] = partial_[3 * g + 2] = 0; });
  } else if (anyDropped != 0) {
    finalize<W>(dropped, uniform);  // their run ended before this block
  }
  for (uint32_t w = 0; w < W; ++w) candidates[w] = next[w];
  if (anyLeft == 0) return false;
  if (allDevice) {
    ++uniform[0];
  } else if (allHost) {
    ++uniform[1];
  } else if (allDisk) {
    ++uniform[2];
  } else {
    forEachBit<W>(onDevice, [&](uint32_t g) { ++partial_[3 * g]; });
    forEachBit<W>(onHost, [&](uint32_t g) { ++partial_[3 * g + 1]; });
    forEachBit<W>(onDisk, [&](uint32_t g) { ++partial_[3 * g + 2]; });
  }
  return true;
}

void PrefixIndex::match(const uint64_t* hashes, size_t numHashes, std::vector<PrefixMatch>& out) const {
  out.clear();
  if (numHashes == 0) return;
  // One instantiation per mask width keeps the word loops unrolled (no memcpy calls for 16-byte masks).
  switch (words_) {
    case 1: return matchWords<1>(hashes, numHashes, out);
    case 2: return matchWords<2>(hashes, numHashes, out);
    case 3: return matchWords<3>(hashes, numHashes, out);
    case 4: return matchWords<4>(hashes, numHashes, out);
    case 5: return matchWords<5>(hashes, numHashes, out);
    case 6: return matchWords<6>(hashes, numHashes, out);
    case 7: return matchWords<7>(hashes, numHashes, out);
    case 8: return matchWords<8>(hashes, numHashes, out);
    case 9: return matchWords<9>(hashes, numHashes, out);
    case 10: return matchWords<10>(hashes, numHashes, out);
    case 11: return matchWords<11>(hashes, numHashes, out);
    case 12: return matchWords<12>(hashes, numHashes, out);
    case 13: return matchWords<13>(hashes, numHashes, out);
    case 14: return matchWords<14>(hashes, numHashes, out);
    case 15: return matchWords<15>(hashes, numHashes, out);
    default: return matchWords<16>(hashes, numHashes, out);  // words_ <= kMaxWords == 16
  }
}

}  // namespace nvl
