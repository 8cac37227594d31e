// nvmlFabricInfo(options?: { library?: string }) → Promise<NvmlFabricInfo>: each GPU's NVLink fabric identity,
// read from NVML off the JS thread (nvmlInit can take a while). Typed in scheduler/deploy/nvml.ts.
#pragma once
#include <napi.h>

namespace nvlb {

Napi::Value nvmlFabricInfo(const Napi::CallbackInfo& info);

}  // namespace nvlb
