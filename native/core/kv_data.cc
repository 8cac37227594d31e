// Block data in bytes mode (SPEC §7). Token t of a sequence lives in block table[t / tokensPerBlock] at byte
// offset (t % tokensPerBlock) * bytesPerToken, so a token range splits into at most one piece per block.
#include <string>

#include "kv_impl.h"

namespace nvl {
namespace {

Status invalid(const std::string& message) { return Status::Error(Code::InvalidArgument, message); }

Status checkBytesMode(const KvManager::Impl& m, const char* call) {
  if (m.backend) return Status::Ok();
  return invalid(std::string(call) + " needs dataMode 'bytes'; dataMode is metadata (no block memory exists)");
}

Status checkRange(const Sequence& seq, uint64_t tokenOffset, uint64_t numTokens) {
  if (tokenOffset + numTokens <= seq.numTokens) return Status::Ok();
  return invalid("tokens [" + std::to_string(tokenOffset) + ", " + std::to_string(tokenOffset + numTokens) +
                 ") must lie within the sequence's " + std::to_string(seq.numTokens) + " tokens (tokenOffset)");
}

// Calls fn(block, byteOffsetInBlock, byteOffsetInData, numBytes) for each block the token range touches.
template <class Fn>
Status forEachPiece(const KvManager::Impl& m, const Sequence& seq, uint32_t tokenOffset, uint32_t numTokens, Fn fn) {
  const uint32_t bs = m.tokensPerBlock;
  const uint64_t bpt = m.sizing.bytesPerToken;
  uint64_t done = 0;
  for (uint32_t t = tokenOffset; t < tokenOffset + numTokens;) {
    const uint32_t inBlock = t % bs;
    const uint32_t count = std::min<uint32_t>(bs - inBlock, tokenOffset + numTokens - t);
    Status s = fn(uint32_t(seq.blocks[t / bs]), inBlock * bpt, done, count * bpt);
    if (!s.ok()) return s;
    done += count * bpt;
    t += count;
  }
  return Status::Ok();
}

}  // namespace

Status KvManager::write(uint32_t seqId, uint32_t tokenOffset, const uint8_t* data, size_t size) {
  Impl& m = *impl_;
  Status s = checkBytesMode(m, "write");
  if (!s.ok()) return s;
  uint32_t slot;
  if (!(s = m.lookup(seqId, slot)).ok()) return s;
  const Sequence& seq = m.slots[slot];
  const uint64_t bpt = m.sizing.bytesPerToken;
  if (size % bpt != 0) {
    return invalid("data.length must be a multiple of bytesPerToken = " + std::to_string(bpt) + ", got " +
                   std::to_string(size));
  }
  const uint64_t numTokens = size / bpt;
  if (!(s = checkRange(seq, tokenOffset, numTokens)).ok()) return s;
  const uint32_t pool = m.poolOf(seq.location);
  const BlockPool& p = m.pools[pool];
  s = forEachPiece(m, seq, tokenOffset, uint32_t(numTokens), [&](uint32_t block, uint64_t, uint64_t, uint64_t) {
    if (p.meta(block).refCount == 1) return Status::Ok();
    return Status::Error(Code::BlockShared, "write would change block " + std::to_string(block) +
                                                ", which " + std::to_string(p.meta(block).refCount) +
                                                " sequences share; only blocks with one reference are writable");
  });
  if (!s.ok()) return s;
  return forEachPiece(m, seq, tokenOffset, uint32_t(numTokens),
                      [&](uint32_t block, uint64_t blockOffset, uint64_t dataOffset, uint64_t bytes) {
                        return m.backend->write(pool, block, blockOffset, data + dataOffset, bytes);
                      });
}

Status KvManager::read(uint32_t seqId, uint32_t tokenOffset, uint32_t numTokens, std::vector<uint8_t>& out) const {
  const Impl& m = *impl_;
  Status s = checkBytesMode(m, "read");
  if (!s.ok()) return s;
  uint32_t slot;
  if (!(s = m.lookup(seqId, slot)).ok()) return s;
  const Sequence& seq = m.slots[slot];
  if (!(s = checkRange(seq, tokenOffset, numTokens)).ok()) return s;
  out.assign(size_t(numTokens) * m.sizing.bytesPerToken, 0);
  const uint32_t pool = m.poolOf(seq.location);
  return forEachPiece(m, seq, tokenOffset, numTokens,
                      [&](uint32_t block, uint64_t blockOffset, uint64_t dataOffset, uint64_t bytes) {
                        return m.backend->read(pool, block, blockOffset, out.data() + dataOffset, bytes);
                      });
}

}  // namespace nvl
