// The NVML fabric reader against the stub library (nvml_stub.c, path compiled in as NVL_NVML_STUB_PATH): the
// parsed values, each struct-version fallback, the failure modes, and that inits and shutdowns balance.
#include <dlfcn.h>

#include <cstdlib>
#include <string>

#include "check.h"
#include "nvml_loader.h"

#ifndef NVL_NVML_STUB_PATH
#error "NVL_NVML_STUB_PATH must name the stub library (set by CMakeLists.txt)"
#endif

namespace {

const std::string kStub = NVL_NVML_STUB_PATH;
const std::string kCluster = "0a1b2c3d-4e5f-4061-8273-94a5b6c7d8e9";

int (*stubInitCount)() = nullptr;

nvl::NvmlFabricReport readWithMode(const char* mode) {
  setenv("NVLSCHED_NVML_STUB_MODE", mode, 1);
  nvl::NvmlFabricReport report = nvl::readNvmlFabric(kStub);
  unsetenv("NVLSCHED_NVML_STUB_MODE");
  if (stubInitCount != nullptr) CHECK_EQ(stubInitCount(), 0);  // every init was shut down again
  return report;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

void checkHelpers() {
  const unsigned char bytes[16] = {0x0a, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f, 0x40, 0x61,
                                   0x82, 0x73, 0x94, 0xa5, 0xb6, 0xc7, 0xd8, 0xe9};
  CHECK_EQ(nvl::canonicalUuid(bytes), kCluster);
  const unsigned char zeros[16] = {};
  CHECK_EQ(nvl::canonicalUuid(zeros), std::string("00000000-0000-0000-0000-000000000000"));
  CHECK_EQ(nvl::nvmlFabricStateName(nvl::kNvmlFabricStateCompleted), std::string("Completed"));
  CHECK_EQ(nvl::nvmlFabricStateName(nvl::kNvmlFabricStateInProgress), std::string("In Progress"));
  CHECK_EQ(nvl::nvmlFabricStateName(9), std::string("Unknown (9)"));
}

void checkAbsentAndForeign() {
  nvl::NvmlFabricReport absent = nvl::readNvmlFabric("/nonexistent/libnvidia-ml.so.1");
  CHECK(!absent.available);
  CHECK(contains(absent.reason, "/nonexistent/libnvidia-ml.so.1"));
  CHECK(absent.gpus.empty());
  CHECK(absent.errorCode.empty());

  // A real library that is not NVML: unusable, with the missing entry points named.
  nvl::NvmlFabricReport foreign = nvl::readNvmlFabric("libm.so.6");
  CHECK(!foreign.available);
  CHECK(contains(foreign.reason, "missing nvmlInit_v2"));
  CHECK(contains(foreign.reason, "nvmlDeviceGetGpuFabricInfoV or nvmlDeviceGetGpuFabricInfo"));
}

void checkTray() {
  nvl::NvmlFabricReport r = readWithMode("");
  CHECK(r.available);
  CHECK_EQ(r.library, kStub);
  CHECK_EQ(r.errorCode, std::string());
  CHECK_EQ(r.api, std::string("nvmlDeviceGetGpuFabricInfoV/v3"));
  CHECK_EQ(r.gpus.size(), size_t(4));
  for (size_t i = 0; i < r.gpus.size(); i++) {
    const nvl::NvmlGpuFabric& g = r.gpus[i];
    CHECK_EQ(g.index, uint32_t(i));
    CHECK_EQ(g.uuid, "GPU-5a5a5a5a-0000-4000-8000-00000000000" + std::to_string(i));
    CHECK(g.fabricSupported);
    CHECK_EQ(g.state, int(nvl::kNvmlFabricStateCompleted));
    CHECK_EQ(g.status, nvl::kNvmlSuccess);
    CHECK_EQ(g.statusText, std::string("Success"));
    CHECK_EQ(g.clusterUuid, kCluster);
    CHECK_EQ(g.cliqueId, 7u);
    CHECK(g.hasHealthMask);
    CHECK_EQ(g.healthMask, 5u);
  }
  nvl::NvmlFabricReport split = readWithMode("split");
  CHECK_EQ(split.gpus.size(), size_t(4));
  if (split.gpus.size() == 4) {
    CHECK_EQ(split.gpus[2].cliqueId, 7u);
    CHECK_EQ(split.gpus[3].cliqueId, 8u);
  }
}

void checkVersionFallbacks() {
  nvl::NvmlFabricReport v2 = readWithMode("v2-only");
  CHECK_EQ(v2.api, std::string("nvmlDeviceGetGpuFabricInfoV/v2"));
  CHECK_EQ(v2.gpus.size(), size_t(4));
  if (!v2.gpus.empty()) {
    CHECK_EQ(v2.gpus[0].healthMask, 2u);
    CHECK_EQ(v2.gpus[0].cliqueId, 7u);
    CHECK_EQ(v2.gpus[0].clusterUuid, kCluster);
  }
  nvl::NvmlFabricReport legacy = readWithMode("legacy-only");
  CHECK_EQ(legacy.api, std::string("nvmlDeviceGetGpuFabricInfo"));
  CHECK_EQ(legacy.gpus.size(), size_t(4));
  if (!legacy.gpus.empty()) {
    CHECK(!legacy.gpus[0].hasHealthMask);
    CHECK_EQ(legacy.gpus[0].cliqueId, 7u);
    CHECK_EQ(legacy.gpus[0].state, int(nvl::kNvmlFabricStateCompleted));
    CHECK_EQ(legacy.gpus[0].clusterUuid, kCluster);
  }
}

void checkStates() {
  nvl::NvmlFabricReport none = readWithMode("not-supported");
  CHECK(none.available);
  CHECK_EQ(none.errorCode, std::string());
  CHECK_EQ(none.gpus.size(), size_t(4));
  for (const auto& g : none.gpus) {
    CHECK(!g.fabricSupported);
    CHECK_EQ(g.state, int(nvl::kNvmlFabricStateNotSupported));
  }
  CHECK_EQ(none.api, std::string());

  nvl::NvmlFabricReport busy = readWithMode("in-progress");
  CHECK_EQ(busy.gpus.size(), size_t(4));
  for (const auto& g : busy.gpus) {
    CHECK_EQ(g.state, int(nvl::kNvmlFabricStateInProgress));
    CHECK_EQ(g.clusterUuid, std::string("00000000-0000-0000-0000-000000000000"));
  }
}

void checkErrors() {
  nvl::NvmlFabricReport init = readWithMode("init-fail");
  CHECK(init.available);
  CHECK_EQ(init.errorCode, std::string("E_NVML_INIT"));
  CHECK_EQ(init.errorCall, std::string("nvmlInit_v2"));
  CHECK_EQ(init.errorReturn, nvl::kNvmlErrorDriverNotLoaded);
  CHECK(contains(init.errorMessage, "Driver Not Loaded"));
  CHECK(init.gpus.empty());

  nvl::NvmlFabricReport count = readWithMode("count-fail");
  CHECK_EQ(count.errorCode, std::string("E_NVML_QUERY"));
  CHECK_EQ(count.errorCall, std::string("nvmlDeviceGetCount_v2"));
  CHECK_EQ(count.errorReturn, nvl::kNvmlErrorUnknown);
  CHECK(count.gpus.empty());
}

void checkEnvironmentOverride() {
  setenv("NVLSCHED_NVML_LIBRARY", kStub.c_str(), 1);
  CHECK_EQ(nvl::defaultNvmlLibrary(), kStub);
  nvl::NvmlFabricReport r = nvl::readNvmlFabric("");
  CHECK_EQ(r.library, kStub);
  CHECK_EQ(r.gpus.size(), size_t(4));
  unsetenv("NVLSCHED_NVML_LIBRARY");
  CHECK_EQ(nvl::defaultNvmlLibrary(), std::string("libnvidia-ml.so.1"));
}

}  // namespace

int main() {
  unsetenv("NVLSCHED_NVML_LIBRARY");
  void* stub = dlopen(kStub.c_str(), RTLD_NOW | RTLD_LOCAL);  // the same handle the loader gets
  CHECK(stub != nullptr);
  if (stub != nullptr) stubInitCount = reinterpret_cast<int (*)()>(dlsym(stub, "nvmlStubInitCount"));
  CHECK(stubInitCount != nullptr);
  checkHelpers();
  checkAbsentAndForeign();
  checkTray();
  checkVersionFallbacks();
  checkStates();
  checkErrors();
  checkEnvironmentOverride();
  return nvltest::finish("nvml_test");
}
