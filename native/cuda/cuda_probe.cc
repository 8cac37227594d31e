// The CUDA build's half of probeDevices() (which is in native/core/nccl_loader.cc) and makeCudaBackend().
#include <cuda_runtime_api.h>

#include <memory>
#include <string>

#include "backend.h"
#include "cuda_backend.h"
#include "cuda_util.h"
#include "nccl_loader.h"

namespace nvl {

namespace {

struct CudaProbeResult {
  int deviceCount = 0;
  std::string error;  // empty when at least one device is usable
};

// cudaGetDeviceCount once per process. Any error means "no CUDA": on a machine without a driver it is
// cudaErrorInsufficientDriver (35), with a driver but no GPU cudaErrorNoDevice (100).
const CudaProbeResult& cudaProbeOnce() {
  static const CudaProbeResult result = [] {
    CudaProbeResult r;
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
      r.error = cudautil::errorText(e);
      (void)cudaGetLastError();  // clear the error slot so it does not surface on a later call
      r.deviceCount = 0;
    } else if (n <= 0) {
      r.error = "cudaGetDeviceCount reported 0 devices";
      r.deviceCount = 0;
    } else {
      r.deviceCount = n;
    }
    return r;
  }();
  return result;
}

}  // namespace

DeviceProbe probeCuda() {
  const CudaProbeResult& r = cudaProbeOnce();
  DeviceProbe probe;
  probe.cudaCompiled = true;
  probe.cudaDeviceCount = r.deviceCount;
  probe.cudaError = r.error;
  return probe;
}

std::unique_ptr<Backend> makeCudaBackend(Status& status) {
  const CudaProbeResult& r = cudaProbeOnce();
  if (r.deviceCount <= 0) {
    status = Status::Error(Code::BackendUnavailable, "no usable CUDA device (" + r.error + ")");
    return nullptr;
  }
  status = Status::Ok();
  return std::make_unique<CudaBackend>(r.deviceCount);
}

}  // namespace nvl
