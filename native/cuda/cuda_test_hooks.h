// Test hooks around the CUDA kernels in fill_kernel.cu, callable from plain C++ (no CUDA headers needed): fill a
// device buffer with a deterministic pattern, and verify it on the device, so a GPU test can check bytes without
// copying everything back. Each call synchronises the device before and after (it is for tests, not hot paths):
// fence()/wait() the backend first anyway, so the intent is explicit.
#pragma once
#include <cstdint>
#include <string>

#if defined(__CUDACC__)
#define NVL_HOST_DEVICE __host__ __device__
#else
#define NVL_HOST_DEVICE
#endif

namespace nvl {
namespace cudatest {

// Byte `i` of the pattern for `seed` (same function on host and device).
NVL_HOST_DEVICE inline uint8_t patternByte(uint64_t seed, uint64_t i) {
  uint64_t x = seed * 0x9e3779b97f4a7c15ull + (i >> 3) + 0x632be59bd9b4e019ull;
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  x ^= x >> 33;
  return static_cast<uint8_t>(x >> ((i & 7u) * 8u));
}

struct VerifyResult {
  uint64_t mismatches = 0;
  uint64_t firstMismatch = ~0ull;  // byte index of the first mismatch; ~0 when none
};

// All return "" on success, else "<step>: cudaErrorX: text". `device` is the CUDA device that owns the pointer.
std::string fillPattern(int device, void* devicePtr, uint64_t bytes, uint64_t seed);
std::string verifyPattern(int device, const void* devicePtr, uint64_t bytes, uint64_t seed, VerifyResult& out);
// Runs a kernel that reports __CUDA_ARCH__ of the code that actually ran (e.g. 900 for sm_90 SASS).
std::string kernelArch(int device, int& arch);
// The architectures this file was compiled for, from nvcc's __CUDA_ARCH_LIST__ (e.g. "900,1000,1030").
const char* compiledArchList();

}  // namespace cudatest
}  // namespace nvl
