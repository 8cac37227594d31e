// Hash helpers of SPEC §3. Everything is uint64_t, so the wrapping arithmetic the SPEC asks for is what C++
// unsigned arithmetic does anyway; the TypeScript side reproduces it with BigInt.asUintN(64, ...).
#include <cstdint>
#include <vector>

#include "kv_manager.h"

namespace nvl {
namespace {
constexpr uint64_t kFmixMul1 = 0xff51afd7ed558ccdULL;    // MurmurHash3 fmix64 constants
constexpr uint64_t kFmixMul2 = 0xc4ceb9fe1a85ec53ULL;
constexpr uint64_t kGoldenRatio = 0x9e3779b97f4a7c15ULL;  // 2^64 / phi: spreads the parent before mixing
constexpr uint64_t kChainSalt = 0x632be59bd9b4e019ULL;    // keeps chainHash(0, 0) away from 0
constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ULL;    // FNV-1a 64-bit
constexpr uint64_t kFnvPrime = 0x100000001b3ULL;
}  // namespace

uint64_t fmix64(uint64_t x) {
  x ^= x >> 33;
  x *= kFmixMul1;
  x ^= x >> 33;
  x *= kFmixMul2;
  x ^= x >> 33;
  return x;
}

uint64_t chainHash(uint64_t parent, uint64_t localId) {
  return fmix64(parent * kGoldenRatio + localId + kChainSalt);
}

std::vector<uint64_t> hashTokens(const uint32_t* tokens, size_t numTokens, uint32_t tokensPerBlock,
                                 uint64_t parent) {
  std::vector<uint64_t> out;
  if (tokensPerBlock == 0) return out;  // no full block can exist; callers validate tokensPerBlock anyway
  const size_t numFullBlocks = numTokens / tokensPerBlock;
  out.reserve(numFullBlocks);
  for (size_t block = 0; block < numFullBlocks; ++block) {
    uint64_t h = kFnvOffset;
    const uint32_t* blockTokens = tokens + block * tokensPerBlock;
    for (uint32_t i = 0; i < tokensPerBlock; ++i) h = (h ^ blockTokens[i]) * kFnvPrime;
    parent = chainHash(parent, fmix64(h));
    out.push_back(parent);
  }
  return out;
}

std::vector<uint64_t> chainHashes(const uint64_t* localIds, size_t count, uint64_t parent) {
  std::vector<uint64_t> out(count);
  for (size_t i = 0; i < count; ++i) {
    parent = chainHash(parent, localIds[i]);
    out[i] = parent;
  }
  return out;
}

}  // namespace nvl
