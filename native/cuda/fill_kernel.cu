// Device kernels for tests: fill a buffer with patternByte(seed, i) and count mismatches on the device. Compiled
// for every architecture in CMAKE_CUDA_ARCHITECTURES (sm_90, sm_100, sm_103 SASS + compute_103 PTX).
#include <cuda_runtime.h>

#include <string>

#include "cuda_test_hooks.h"

namespace nvl {
namespace cudatest {

namespace {

constexpr int kThreads = 256;
constexpr uint64_t kMaxBlocks = 4096;  // grid-stride beyond this

__global__ void fillKernel(uint8_t* dst, uint64_t bytes, uint64_t seed) {
  const uint64_t stride = static_cast<uint64_t>(gridDim.x) * blockDim.x;
  for (uint64_t i = static_cast<uint64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < bytes; i += stride) {
    dst[i] = patternByte(seed, i);
  }
}

__global__ void verifyKernel(const uint8_t* src, uint64_t bytes, uint64_t seed, unsigned long long* mismatches,
                             unsigned long long* firstMismatch) {
  const uint64_t stride = static_cast<uint64_t>(gridDim.x) * blockDim.x;
  unsigned long long local = 0;
  unsigned long long first = ~0ull;
  for (uint64_t i = static_cast<uint64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < bytes; i += stride) {
    if (src[i] != patternByte(seed, i)) {
      ++local;
      if (i < first) first = i;
    }
  }
  if (local != 0) {
    atomicAdd(mismatches, local);
    atomicMin(firstMismatch, first);
  }
}

__global__ void archKernel(int* out) {
#if defined(__CUDA_ARCH__)
  *out = __CUDA_ARCH__;
#else
  *out = -1;
#endif
}

std::string err(const char* step, cudaError_t e) {
  (void)cudaGetLastError();
  return std::string(step) + ": " + cudaGetErrorName(e) + ": " + cudaGetErrorString(e);
}

unsigned int gridFor(uint64_t bytes) {
  uint64_t blocks = (bytes + kThreads - 1) / kThreads;
  if (blocks > kMaxBlocks) blocks = kMaxBlocks;
  if (blocks == 0) blocks = 1;
  return static_cast<unsigned int>(blocks);
}

#define NVL_TEST_TRY(step, call)            \
  do {                                      \
    cudaError_t e_ = (call);                \
    if (e_ != cudaSuccess) return err(step, e_); \
  } while (0)

}  // namespace

std::string fillPattern(int device, void* devicePtr, uint64_t bytes, uint64_t seed) {
  NVL_TEST_TRY("cudaSetDevice", cudaSetDevice(device));
  NVL_TEST_TRY("cudaDeviceSynchronize (before fill)", cudaDeviceSynchronize());
  if (bytes == 0) return "";
  fillKernel<<<gridFor(bytes), kThreads>>>(static_cast<uint8_t*>(devicePtr), bytes, seed);
  NVL_TEST_TRY("fillKernel launch", cudaGetLastError());
  NVL_TEST_TRY("cudaDeviceSynchronize (after fill)", cudaDeviceSynchronize());
  return "";
}

std::string verifyPattern(int device, const void* devicePtr, uint64_t bytes, uint64_t seed, VerifyResult& out) {
  out = VerifyResult{};
  NVL_TEST_TRY("cudaSetDevice", cudaSetDevice(device));
  NVL_TEST_TRY("cudaDeviceSynchronize (before verify)", cudaDeviceSynchronize());
  if (bytes == 0) return "";
  unsigned long long* counters = nullptr;  // [0] mismatches, [1] first mismatch
  NVL_TEST_TRY("cudaMalloc (verify counters)", cudaMalloc(&counters, 2 * sizeof(unsigned long long)));
  unsigned long long init[2] = {0ull, ~0ull};
  std::string result;
  cudaError_t e = cudaMemcpy(counters, init, sizeof(init), cudaMemcpyHostToDevice);
  if (e != cudaSuccess) {
    result = err("cudaMemcpy (verify counters)", e);
  } else {
    verifyKernel<<<gridFor(bytes), kThreads>>>(static_cast<const uint8_t*>(devicePtr), bytes, seed, counters,
                                               counters + 1);
    e = cudaGetLastError();
    if (e != cudaSuccess) {
      result = err("verifyKernel launch", e);
    } else {
      unsigned long long host[2] = {0, 0};
      e = cudaMemcpy(host, counters, sizeof(host), cudaMemcpyDeviceToHost);  // synchronises with the kernel
      if (e != cudaSuccess) {
        result = err("verifyKernel / cudaMemcpy (counters)", e);
      } else {
        out.mismatches = host[0];
        out.firstMismatch = host[1];
      }
    }
  }
  cudaError_t f = cudaFree(counters);
  if (result.empty() && f != cudaSuccess) result = err("cudaFree (verify counters)", f);
  return result;
}

std::string kernelArch(int device, int& arch) {
  arch = 0;
  NVL_TEST_TRY("cudaSetDevice", cudaSetDevice(device));
  int* d = nullptr;
  NVL_TEST_TRY("cudaMalloc (arch)", cudaMalloc(&d, sizeof(int)));
  archKernel<<<1, 1>>>(d);
  cudaError_t e = cudaGetLastError();
  std::string result;
  if (e != cudaSuccess) {
    result = err("archKernel launch", e);
  } else {
    e = cudaMemcpy(&arch, d, sizeof(int), cudaMemcpyDeviceToHost);
    if (e != cudaSuccess) result = err("archKernel / cudaMemcpy", e);
  }
  (void)cudaFree(d);
  return result;
}

#define NVL_STR2(...) #__VA_ARGS__
#define NVL_STR(...) NVL_STR2(__VA_ARGS__)
const char* compiledArchList() {
#if defined(__CUDA_ARCH_LIST__)
  return NVL_STR(__CUDA_ARCH_LIST__);
#else
  return "unknown";
#endif
}

}  // namespace cudatest
}  // namespace nvl
