// Small helpers shared by the CUDA backend files: CUDA error text and conversion to Status.
#pragma once
#include <cuda_runtime_api.h>

#include <string>

#include "status.h"

namespace nvl {
namespace cudautil {

// "cudaErrorInsufficientDriver: CUDA driver version is insufficient for CUDA runtime version"
inline std::string errorText(cudaError_t e) {
  const char* name = cudaGetErrorName(e);
  const char* text = cudaGetErrorString(e);
  return std::string(name != nullptr ? name : "cudaError") + ": " + (text != nullptr ? text : "unknown error");
}

// A failed CUDA call as a Status: "cuda backend: <what> failed: cudaErrorX: text". Also resets the runtime's
// last-error slot so a non-sticky error does not show up again on an unrelated later call (sticky errors, e.g. an
// illegal address, stay: every later call then fails and is reported the same way).
inline Status toStatus(cudaError_t e, const std::string& what, Code code = Code::Internal) {
  (void)cudaGetLastError();
  return Status::Error(code, "cuda backend: " + what + " failed: " + errorText(e));
}

// Restores the calling thread's current CUDA device on scope exit, so the backend's cudaSetDevice calls do not
// leak into other code running on the same thread.
class DeviceGuard {
 public:
  DeviceGuard() {
    if (cudaGetDevice(&previous_) != cudaSuccess) {
      previous_ = -1;
      (void)cudaGetLastError();
    }
  }
  ~DeviceGuard() {
    if (previous_ >= 0) (void)cudaSetDevice(previous_);
  }
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int previous_ = -1;
};

}  // namespace cudautil
}  // namespace nvl

// Evaluates a CUDA runtime call; on failure returns a Status from the enclosing function naming the call.
#define NVL_CUDA_TRY(call, what)                                   \
  do {                                                             \
    cudaError_t nvl_cuda_err_ = (call);                            \
    if (nvl_cuda_err_ != cudaSuccess) {                            \
      return ::nvl::cudautil::toStatus(nvl_cuda_err_, (what));     \
    }                                                              \
  } while (0)
