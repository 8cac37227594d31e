#include "block_pool.h"

namespace nvl {

void BlockPool::lruPushBack(uint32_t block) {
  BlockMeta& m = blocks_[block];
  m.lruPrev = lruTail_;
  m.lruNext = -1;
  if (lruTail_ >= 0) {
    blocks_[lruTail_].lruNext = int32_t(block);
  } else {
    lruHead_ = int32_t(block);
  }
  lruTail_ = int32_t(block);
  ++lruSize_;
}

void BlockPool::lruRemove(uint32_t block) {
  BlockMeta& m = blocks_[block];
  if (m.lruPrev >= 0) {
    blocks_[m.lruPrev].lruNext = m.lruNext;
  } else {
    lruHead_ = m.lruNext;
  }
  if (m.lruNext >= 0) {
    blocks_[m.lruNext].lruPrev = m.lruPrev;
  } else {
    lruTail_ = m.lruPrev;
  }
  m.lruPrev = m.lruNext = -1;
  --lruSize_;
}

}  // namespace nvl
