// dlopen reader of NVML's GPU fabric info (see nvml_loader.h for the ABI sources).
#include "nvml_loader.h"

#include <dlfcn.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <map>
#include <mutex>

namespace nvl {

// The layouts nvml.h implies on LP64 Linux; a mismatch would make NVML write past our struct.
static_assert(sizeof(nvmlGpuFabricInfo_v1) == 28, "nvmlGpuFabricInfo_t is 28 bytes");
static_assert(offsetof(nvmlGpuFabricInfo_v1, state) == 24, "nvmlGpuFabricInfo_t.state at 24");
static_assert(sizeof(nvmlGpuFabricInfo_v2) == 36, "nvmlGpuFabricInfo_v2_t is 36 bytes");
static_assert(sizeof(nvmlGpuFabricInfo_v3) == 40, "nvmlGpuFabricInfo_v3_t is 40 bytes");
static_assert(offsetof(nvmlGpuFabricInfo_v3, healthMask) == 32, "healthMask at 32");
static_assert(kNvmlGpuFabricInfoV2 == 0x02000024u, "nvmlGpuFabricInfo_v2");
static_assert(kNvmlGpuFabricInfoV3 == 0x03000028u, "nvmlGpuFabricInfo_v3");

namespace {

constexpr const char* kDefaultNvmlLibrary = "libnvidia-ml.so.1";
constexpr const char* kNvmlLibraryEnv = "NVLSCHED_NVML_LIBRARY";

struct NvmlApi {
  nvmlReturn_t (*init)() = nullptr;                                          // nvmlInit_v2
  nvmlReturn_t (*shutdown)() = nullptr;                                      // nvmlShutdown
  nvmlReturn_t (*getCount)(unsigned int*) = nullptr;                         // nvmlDeviceGetCount_v2
  nvmlReturn_t (*getHandleByIndex)(unsigned int, nvmlDevice_t*) = nullptr;   // nvmlDeviceGetHandleByIndex_v2
  nvmlReturn_t (*getUuid)(nvmlDevice_t, char*, unsigned int) = nullptr;      // nvmlDeviceGetUUID
  const char* (*errorString)(nvmlReturn_t) = nullptr;                        // nvmlErrorString
  // At least one of the two fabric queries (R550+ drivers have both; V is the versioned one).
  nvmlReturn_t (*getFabricInfoV)(nvmlDevice_t, void*) = nullptr;             // nvmlDeviceGetGpuFabricInfoV
  nvmlReturn_t (*getFabricInfo)(nvmlDevice_t, nvmlGpuFabricInfo_v1*) = nullptr;  // nvmlDeviceGetGpuFabricInfo
};

struct Loaded {
  bool ok = false;
  std::string error;
  NvmlApi api;
};

std::string lastDlError(const char* fallback) {
  const char* e = dlerror();
  return e != nullptr ? std::string(e) : std::string(fallback);
}

template <typename Fn>
void resolve(void* handle, const char* name, Fn& slot, bool required, std::string& missing) {
  dlerror();
  void* sym = dlsym(handle, name);
  if (sym == nullptr) {
    if (required) missing += (missing.empty() ? "" : ", ") + std::string(name);
    return;
  }
  slot = reinterpret_cast<Fn>(sym);
}

Loaded open(const std::string& path) {
  Loaded out;
  dlerror();
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    out.error = lastDlError("dlopen failed");
    if (out.error.find(path) == std::string::npos) out.error = path + ": " + out.error;
    return out;
  }
  NvmlApi api;
  std::string missing;
  resolve(handle, "nvmlInit_v2", api.init, true, missing);
  resolve(handle, "nvmlShutdown", api.shutdown, true, missing);
  resolve(handle, "nvmlDeviceGetCount_v2", api.getCount, true, missing);
  resolve(handle, "nvmlDeviceGetHandleByIndex_v2", api.getHandleByIndex, true, missing);
  resolve(handle, "nvmlDeviceGetUUID", api.getUuid, true, missing);
  resolve(handle, "nvmlErrorString", api.errorString, true, missing);
  resolve(handle, "nvmlDeviceGetGpuFabricInfoV", api.getFabricInfoV, false, missing);
  resolve(handle, "nvmlDeviceGetGpuFabricInfo", api.getFabricInfo, false, missing);
  if (api.getFabricInfoV == nullptr && api.getFabricInfo == nullptr) {
    missing += (missing.empty() ? "" : ", ") + std::string("nvmlDeviceGetGpuFabricInfoV or nvmlDeviceGetGpuFabricInfo");
  }
  if (!missing.empty()) {
    out.error = path + ": not an NVML with GPU fabric info (driver R530 or later), missing " + missing;
    dlclose(handle);
    return out;
  }
  // A usable handle stays open for the life of the process: NVML is not meant to be unloaded, and the
  // function pointers point into it.
  out.ok = true;
  out.api = api;
  return out;
}

// One open per distinct path (dlopen itself reference-counts, but the symbol lookups need not repeat). Returns
// a copy: a failed entry may be replaced by another thread's retry.
Loaded loadCached(const std::string& path) {
  static std::mutex mutex;
  static std::map<std::string, Loaded> cache;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = cache.find(path);
  if (it != cache.end() && it->second.ok) return it->second;
  // A failed open is retried next time (the file may appear, e.g. a driver installed after start).
  Loaded loaded = open(path);
  return cache[path] = std::move(loaded);
}

std::string errorText(const NvmlApi& api, nvmlReturn_t r) {
  const char* text = api.errorString != nullptr ? api.errorString(r) : nullptr;
  return text != nullptr ? std::string(text) : "nvmlReturn " + std::to_string(r);
}

void fail(NvmlFabricReport& report, const NvmlApi& api, const char* code, const char* call, nvmlReturn_t r,
          const std::string& where) {
  report.errorCode = code;
  report.errorCall = call;
  report.errorReturn = r;
  report.errorMessage = std::string(call) + where + " failed: " + errorText(api, r) + " (nvmlReturn " +
                        std::to_string(r) + ")";
}

// One GPU's fabric info: V with v3, then V with v2 (a driver that predates v3 answers VERSION_MISMATCH), then
// the unversioned call (drivers without V, or a V that says FUNCTION_NOT_FOUND). Returns NVML's answer.
nvmlReturn_t queryFabric(const NvmlApi& api, nvmlDevice_t device, NvmlGpuFabric& gpu, std::string& usedApi) {
  nvmlReturn_t r = kNvmlErrorFunctionNotFound;
  if (api.getFabricInfoV != nullptr) {
    for (unsigned int version : {kNvmlGpuFabricInfoV3, kNvmlGpuFabricInfoV2}) {
      nvmlGpuFabricInfo_v3 info;
      std::memset(&info, 0, sizeof(info));
      info.version = version;
      r = api.getFabricInfoV(device, &info);
      if (r == kNvmlErrorArgumentVersionMismatch) continue;
      if (r == kNvmlSuccess) {
        gpu.state = info.state;
        gpu.status = info.status;
        gpu.clusterUuid = canonicalUuid(info.clusterUuid);
        gpu.cliqueId = info.cliqueId;
        gpu.hasHealthMask = true;
        gpu.healthMask = info.healthMask;
        usedApi = version == kNvmlGpuFabricInfoV3 ? "nvmlDeviceGetGpuFabricInfoV/v3" : "nvmlDeviceGetGpuFabricInfoV/v2";
      }
      break;
    }
    if (r != kNvmlErrorArgumentVersionMismatch && r != kNvmlErrorFunctionNotFound) return r;
  }
  if (api.getFabricInfo == nullptr) return r;
  nvmlGpuFabricInfo_v1 info;
  std::memset(&info, 0, sizeof(info));
  r = api.getFabricInfo(device, &info);
  if (r == kNvmlSuccess) {
    gpu.state = info.state;
    gpu.status = info.status;
    gpu.clusterUuid = canonicalUuid(info.clusterUuid);
    gpu.cliqueId = info.cliqueId;
    usedApi = "nvmlDeviceGetGpuFabricInfo";
  }
  return r;
}

void readGpus(const NvmlApi& api, NvmlFabricReport& report) {
  unsigned int count = 0;
  nvmlReturn_t r = api.getCount(&count);
  if (r != kNvmlSuccess) return fail(report, api, "E_NVML_QUERY", "nvmlDeviceGetCount_v2", r, "");
  for (unsigned int i = 0; i < count; i++) {
    const std::string where = " (GPU " + std::to_string(i) + ")";
    nvmlDevice_t device = nullptr;
    r = api.getHandleByIndex(i, &device);
    if (r != kNvmlSuccess) return fail(report, api, "E_NVML_QUERY", "nvmlDeviceGetHandleByIndex_v2", r, where);
    NvmlGpuFabric gpu;
    gpu.index = i;
    char uuid[kNvmlDeviceUuidBufferSize] = {};
    r = api.getUuid(device, uuid, sizeof(uuid));
    if (r != kNvmlSuccess) return fail(report, api, "E_NVML_QUERY", "nvmlDeviceGetUUID", r, where);
    uuid[sizeof(uuid) - 1] = '\0';
    gpu.uuid = uuid;
    std::string usedApi;
    r = queryFabric(api, device, gpu, usedApi);
    if (r == kNvmlErrorNotSupported) {
      // Not an error: a GPU outside any NVLink fabric (H100 PCIe, a DGX without NVSwitch fabric manager).
      gpu.fabricSupported = false;
      gpu.state = kNvmlFabricStateNotSupported;
    } else if (r != kNvmlSuccess) {
      const char* call = api.getFabricInfoV != nullptr ? "nvmlDeviceGetGpuFabricInfoV" : "nvmlDeviceGetGpuFabricInfo";
      return fail(report, api, "E_NVML_QUERY", call, r, where);
    } else if (report.api.empty()) {
      report.api = usedApi;
    }
    gpu.statusText = errorText(api, gpu.status);
    report.gpus.push_back(std::move(gpu));
  }
}

}  // namespace

std::string defaultNvmlLibrary() {
  const char* env = std::getenv(kNvmlLibraryEnv);
  return (env != nullptr && env[0] != '\0') ? env : kDefaultNvmlLibrary;
}

NvmlFabricReport readNvmlFabric(const std::string& library) {
  NvmlFabricReport report;
  report.library = library.empty() ? defaultNvmlLibrary() : library;
  const Loaded loaded = loadCached(report.library);
  if (!loaded.ok) {
    report.reason = loaded.error;
    return report;
  }
  report.available = true;
  const NvmlApi& api = loaded.api;
  nvmlReturn_t r = api.init();
  if (r != kNvmlSuccess) {
    fail(report, api, "E_NVML_INIT", "nvmlInit_v2", r, "");
    return report;
  }
  readGpus(api, report);
  api.shutdown();  // balances our init; NVML counts inits, so another user in the process is not affected
  if (!report.errorCode.empty()) report.gpus.clear();
  return report;
}

std::string canonicalUuid(const unsigned char bytes[16]) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (int i = 0; i < 16; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += hex[bytes[i] >> 4];
    out += hex[bytes[i] & 0xf];
  }
  return out;
}

std::string nvmlFabricStateName(int state) {
  switch (state) {
    case kNvmlFabricStateNotSupported: return "Not Supported";
    case kNvmlFabricStateNotStarted: return "Not Started";
    case kNvmlFabricStateInProgress: return "In Progress";
    case kNvmlFabricStateCompleted: return "Completed";
    default: return "Unknown (" + std::to_string(state) + ")";
  }
}

}  // namespace nvl
