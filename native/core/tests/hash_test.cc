// Hash helpers (SPEC §3): golden values pinned from an independent Python implementation of the SPEC formulas
// (arbitrary-precision integers masked to 64 bits), plus structural properties.
#include <cstdint>
#include <vector>

#include "check.h"
#include "kv_manager.h"

using nvl::chainHash;
using nvl::fmix64;

int main() {
  // Golden values: Python  fmix(1), fmix(0), chain(0, 1), chain(0, 0).
  CHECK_EQ(fmix64(1), 0xb456bcfc34c2cb2cULL);
  CHECK_EQ(fmix64(0), 0ULL);
  CHECK_EQ(chainHash(0, 1), 0x89a31d0114170d9dULL);
  CHECK_EQ(chainHash(0, 0), 0x155105a0563a073cULL);

  // hashTokens of tokens 1..32, 16 per block: two chained block hashes.
  std::vector<uint32_t> tokens;
  for (uint32_t t = 1; t <= 32; ++t) tokens.push_back(t);
  std::vector<uint64_t> h = nvl::hashTokens(tokens.data(), tokens.size(), 16, 0);
  CHECK_EQ(h.size(), size_t(2));
  CHECK_EQ(h[0], 0x3ce57ba645a66388ULL);
  CHECK_EQ(h[1], 0x6e6620d551abe74fULL);

  // A partial trailing block is not hashed.
  tokens.push_back(33);
  std::vector<uint64_t> h33 = nvl::hashTokens(tokens.data(), tokens.size(), 16, 0);
  CHECK(h33 == h);

  // Parent and token values >= 2^31 (treated as uint32), 2 per block.
  const uint32_t big[4] = {0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu};
  std::vector<uint64_t> hb = nvl::hashTokens(big, 4, 2, 0x1234);
  CHECK_EQ(hb.size(), size_t(2));
  CHECK_EQ(hb[0], 0xac89e6a4242c4344ULL);
  CHECK_EQ(hb[1], 0x006c8d23290ac5b1ULL);

  // chainHashes folds chainHash: [1, 2, 3] from parent 0.
  const uint64_t ids[3] = {1, 2, 3};
  std::vector<uint64_t> c = nvl::chainHashes(ids, 3, 0);
  CHECK_EQ(c.size(), size_t(3));
  CHECK_EQ(c[0], 0x89a31d0114170d9dULL);
  CHECK_EQ(c[1], 0x3bab45557c3366d5ULL);
  CHECK_EQ(c[2], 0x87fd02b3d82057a1ULL);
  CHECK_EQ(c[1], chainHash(c[0], 2));

  // Chaining from a parent equals the tail of the full chain (prefix property the router relies on).
  std::vector<uint64_t> tail = nvl::hashTokens(tokens.data() + 16, 16, 16, h[0]);
  CHECK_EQ(tail.size(), size_t(1));
  CHECK_EQ(tail[0], h[1]);
  CHECK(nvl::hashTokens(tokens.data(), 15, 16, 0).empty());
  return nvltest::finish("hash_test");
}
