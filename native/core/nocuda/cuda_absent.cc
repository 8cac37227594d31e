// Compiled instead of native/cuda/ when the build has no CUDA (nvcc not found, or NVL_CUDA=OFF): the CUDA half of
// probeDevices() reports "not compiled" and makeCudaBackend() is unavailable. probeDevices() itself (CUDA half +
// NCCL fields from the run-time loader) is in nccl_loader.cc.
#include <memory>

#include "../backend.h"
#include "../nccl_loader.h"

namespace nvl {

namespace {
constexpr const char* kNotCompiled = "built without CUDA (nvcc not found at build time)";
}

DeviceProbe probeCuda() {
  DeviceProbe probe;
  probe.cudaCompiled = false;
  probe.cudaDeviceCount = 0;
  probe.cudaError = kNotCompiled;
  return probe;
}

std::unique_ptr<Backend> makeCudaBackend(Status& status) {
  status = Status::Error(Code::BackendUnavailable, kNotCompiled);
  return nullptr;
}

}  // namespace nvl
