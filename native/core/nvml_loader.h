// Optional NVML, loaded at run time, read for one thing: each GPU's NVLink fabric identity (ClusterUUID and
// CliqueId), which names the NVLink domain (an NVL72 rack or an admin's partition of it) the GPU is in.
//
// Like NCCL (nccl_loader.h), NVML is never linked and no nvml.h is needed to build: the few types and entry
// points used are declared below with the ABI of NVIDIA's nvml.h. Sources for the layouts and constants:
// nvml.h as NVIDIA ships it in cuda-nvml-dev (vendored in NVIDIA/go-nvml, gen/nvml/nvml.h for NVML 12.2 and
// pkg/nvml/nvml.h for the later versioned structs): nvmlReturn_t values, NVML_GPU_FABRIC_UUID_LEN,
// NVML_GPU_FABRIC_STATE_*, nvmlGpuFabricInfo_t (v1, no version field), nvmlGpuFabricInfo_v2_t (version first,
// healthMask last), nvmlGpuFabricInfo_v3_t (v2 + healthSummary; nvmlGpuFabricInfoV_t is v3 in current headers)
// and NVML_STRUCT_VERSION(data, ver) = sizeof(nvml<data>_v<ver>_t) | ver << 24. The static_asserts in
// nvml_loader.cc pin the sizes those imply (28, 36 and 40 bytes).
//
// Unlike NCCL the library is opened per request path and may be any file (tests load a stub through
// $NVLSCHED_NVML_LIBRARY), and every read is nvmlInit_v2 → queries → nvmlShutdown, so nothing stays initialized.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace nvl {

// --- NVML C ABI (subset), our own declarations ---
using nvmlReturn_t = int;  // enum nvmlReturn_t in nvml.h (int-sized)
constexpr nvmlReturn_t kNvmlSuccess = 0;                     // NVML_SUCCESS
constexpr nvmlReturn_t kNvmlErrorUninitialized = 1;          // NVML_ERROR_UNINITIALIZED
constexpr nvmlReturn_t kNvmlErrorInvalidArgument = 2;        // NVML_ERROR_INVALID_ARGUMENT
constexpr nvmlReturn_t kNvmlErrorNotSupported = 3;           // NVML_ERROR_NOT_SUPPORTED
constexpr nvmlReturn_t kNvmlErrorDriverNotLoaded = 9;        // NVML_ERROR_DRIVER_NOT_LOADED
constexpr nvmlReturn_t kNvmlErrorFunctionNotFound = 13;      // NVML_ERROR_FUNCTION_NOT_FOUND
constexpr nvmlReturn_t kNvmlErrorArgumentVersionMismatch = 25;  // NVML_ERROR_ARGUMENT_VERSION_MISMATCH
constexpr nvmlReturn_t kNvmlErrorUnknown = 999;              // NVML_ERROR_UNKNOWN

struct nvmlDevice_st;  // opaque
using nvmlDevice_t = nvmlDevice_st*;

constexpr unsigned kNvmlGpuFabricUuidLen = 16;   // NVML_GPU_FABRIC_UUID_LEN
constexpr unsigned kNvmlDeviceUuidBufferSize = 96;  // NVML_DEVICE_UUID_V2_BUFFER_SIZE

using nvmlGpuFabricState_t = unsigned char;
constexpr nvmlGpuFabricState_t kNvmlFabricStateNotSupported = 0;  // NVML_GPU_FABRIC_STATE_NOT_SUPPORTED
constexpr nvmlGpuFabricState_t kNvmlFabricStateNotStarted = 1;    // NVML_GPU_FABRIC_STATE_NOT_STARTED
constexpr nvmlGpuFabricState_t kNvmlFabricStateInProgress = 2;    // NVML_GPU_FABRIC_STATE_IN_PROGRESS
constexpr nvmlGpuFabricState_t kNvmlFabricStateCompleted = 3;     // NVML_GPU_FABRIC_STATE_COMPLETED

// nvmlGpuFabricInfo_t (v1, for nvmlDeviceGetGpuFabricInfo)
struct nvmlGpuFabricInfo_v1 {
  unsigned char clusterUuid[kNvmlGpuFabricUuidLen];
  nvmlReturn_t status;  // meaningful only when state is COMPLETED
  unsigned int cliqueId;
  nvmlGpuFabricState_t state;
};

// nvmlGpuFabricInfo_v2_t / nvmlGpuFabricInfo_v3_t (for nvmlDeviceGetGpuFabricInfoV). v3 only appends
// healthSummary, so one struct with v3's size serves both; the version word says how much NVML may write.
struct nvmlGpuFabricInfo_v2 {
  unsigned int version;
  unsigned char clusterUuid[kNvmlGpuFabricUuidLen];
  nvmlReturn_t status;
  unsigned int cliqueId;
  nvmlGpuFabricState_t state;
  unsigned int healthMask;
};
struct nvmlGpuFabricInfo_v3 {
  unsigned int version;
  unsigned char clusterUuid[kNvmlGpuFabricUuidLen];
  nvmlReturn_t status;
  unsigned int cliqueId;
  nvmlGpuFabricState_t state;
  unsigned int healthMask;
  unsigned char healthSummary;
};

// NVML_STRUCT_VERSION(GpuFabricInfo, 2) and (GpuFabricInfo, 3).
constexpr unsigned int kNvmlGpuFabricInfoV2 = static_cast<unsigned int>(sizeof(nvmlGpuFabricInfo_v2)) | (2u << 24);
constexpr unsigned int kNvmlGpuFabricInfoV3 = static_cast<unsigned int>(sizeof(nvmlGpuFabricInfo_v3)) | (3u << 24);

// --- What a read returns ---
struct NvmlGpuFabric {
  uint32_t index = 0;           // NVML's enumeration index (PCI order; not CUDA_VISIBLE_DEVICES order)
  std::string uuid;             // "GPU-…" from nvmlDeviceGetUUID
  bool fabricSupported = true;  // false when the fabric query answered NVML_ERROR_NOT_SUPPORTED (no NVLink fabric)
  int state = kNvmlFabricStateNotSupported;  // NVML_GPU_FABRIC_STATE_*
  nvmlReturn_t status = kNvmlSuccess;        // the fabric's own status; meaningful only when state is COMPLETED
  std::string statusText;       // nvmlErrorString(status)
  std::string clusterUuid;      // canonical lowercase 8-4-4-4-12 form of the 16 bytes
  uint32_t cliqueId = 0;
  bool hasHealthMask = false;   // v2/v3 only
  uint32_t healthMask = 0;
};

struct NvmlFabricReport {
  // false: the library could not be opened or is not a usable NVML (reason says why). Not an error: most
  // machines (CPU-only, CI) have no NVML.
  bool available = false;
  std::string library;   // what was passed to dlopen
  std::string reason;    // why not available
  // Which entry point answered: "nvmlDeviceGetGpuFabricInfoV/v3", ".../v2" or "nvmlDeviceGetGpuFabricInfo".
  std::string api;
  std::vector<NvmlGpuFabric> gpus;
  // A failed NVML call once the library loaded: errorCode is "E_NVML_INIT" (nvmlInit_v2) or "E_NVML_QUERY"
  // (count, handle, UUID or fabric query); empty when every call succeeded.
  std::string errorCode;
  std::string errorMessage;  // names the call, the GPU index and NVML's own text
  std::string errorCall;     // "nvmlInit_v2", "nvmlDeviceGetCount_v2", ...
  nvmlReturn_t errorReturn = kNvmlSuccess;
};

// The library a read with an empty `library` opens: $NVLSCHED_NVML_LIBRARY when set, else "libnvidia-ml.so.1".
std::string defaultNvmlLibrary();

// Opens `library` (empty: defaultNvmlLibrary()), nvmlInit_v2, reads every GPU's UUID and fabric info, and
// nvmlShutdown. Never throws and never crashes when the library is missing. Thread-safe; blocking (NVML's
// init can take a while on a large node), so the binding calls it off the JS thread.
NvmlFabricReport readNvmlFabric(const std::string& library);

// "0a1b2c3d-4e5f-…" for 16 bytes.
std::string canonicalUuid(const unsigned char bytes[16]);

// "Completed", "In Progress", "Not Started", "Not Supported" (the words nvidia-smi -q prints), else "Unknown (n)".
std::string nvmlFabricStateName(int state);

}  // namespace nvl
