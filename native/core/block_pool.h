// BlockPool: the blocks of one location (a GPU's HBM, a tray's host memory or disk) and their bookkeeping
// (SPEC §2). Pure data structure: events, the cluster-wide PrefixIndex and stats policy live in KvManager::Impl.
//
// Invariants between manager calls, for every block b < numBlocks:
//   exactly one of  (a) on the free stack      : refCount == 0, pinCount == 0, unhashed
//                   (b) in the LRU list        : refCount == 0, pinCount == 0, hashed
//                   (c) used                   : refCount >= 1 or pinCount >= 1
// so usedBlocks = numBlocks - freeCount() - lruSize always, and "in the LRU" can be read off the counts.
// A hashed block's hash is in `map` (and only that block's); an unhashed block's hash field is meaningless.
//
// The free stack is virtual below its explicit part: blocks [nextFresh, numBlocks) were never taken and sit
// beneath the pushed ones in the order 0, 1, 2, ... (SPEC: "initially it pops 0, 1, 2, ..."). Block metadata
// exists only for taken-at-least-once blocks, so a pool of millions of blocks costs nothing until used.
#pragma once
#include <cstdint>
#include <vector>

#include "hash_map.h"

namespace nvl {

struct BlockMeta {
  uint64_t hash = 0;
  uint32_t refCount = 0;
  uint32_t pinCount = 0;
  int32_t lruPrev = -1;  // towards the LRU (evict) end
  int32_t lruNext = -1;  // towards the MRU end
  uint32_t mark = 0;     // scratch for "seen in this call" (compared with the manager's epoch)
  uint8_t hashed = 0;
  uint16_t handoffPins = 0;  // of pinCount, the pins held by KV hand-offs (unpin() may not take those); fits padding
};
static_assert(sizeof(BlockMeta) == 32, "BlockMeta stays 32 bytes (native/core/GUARDRAILS.md)");

class BlockPool {
 public:
  explicit BlockPool(uint32_t numBlocks) : numBlocks_(numBlocks) {}

  uint32_t numBlocks() const { return numBlocks_; }
  uint32_t freeCount() const { return uint32_t(freeStack_.size()) + (numBlocks_ - nextFresh_); }
  uint32_t lruSize() const { return lruSize_; }
  uint32_t usedCount() const { return numBlocks_ - freeCount() - lruSize_; }

  BlockMeta& meta(uint32_t block) { return blocks_[block]; }
  const BlockMeta& meta(uint32_t block) const { return blocks_[block]; }
  bool inLru(uint32_t block) const {
    const BlockMeta& m = blocks_[block];
    return m.hashed && m.refCount == 0 && m.pinCount == 0;
  }

  // Pops the free stack; -1 when it is empty.
  int32_t popFree() {
    if (!freeStack_.empty()) {
      const int32_t b = freeStack_.back();
      freeStack_.pop_back();
      return b;
    }
    if (nextFresh_ == numBlocks_) return -1;
    blocks_.emplace_back();
    return int32_t(nextFresh_++);
  }
  void pushFree(uint32_t block) { freeStack_.push_back(int32_t(block)); }
  void clearMarks() {
    for (BlockMeta& m : blocks_) m.mark = 0;
  }

  int32_t lruFront() const { return lruHead_; }  // the LRU end, -1 when empty
  void lruPushBack(uint32_t block);               // the MRU end
  void lruRemove(uint32_t block);

  HashBlockMap& map() { return map_; }
  const HashBlockMap& map() const { return map_; }

  uint32_t pinnedBlocks = 0;  // blocks with pinCount >= 1
  uint64_t hits = 0;
  uint64_t misses = 0;
  uint64_t evictions = 0;

 private:
  uint32_t numBlocks_;
  uint32_t nextFresh_ = 0;
  std::vector<BlockMeta> blocks_;  // size() == nextFresh_
  std::vector<int32_t> freeStack_;
  int32_t lruHead_ = -1;
  int32_t lruTail_ = -1;
  uint32_t lruSize_ = 0;
  HashBlockMap map_;
};

}  // namespace nvl
