/* A stand-in libnvidia-ml for tests (built as libnvml_stub.so by the root CMakeLists.txt): the entry points
 * native/core/nvml_loader.cc resolves, with nvml.h's signatures, answering a fixed GB200-like tray: 4 GPUs, all
 * in one NVLink domain (ClusterUUID 0a1b2c3d-4e5f-4061-8273-94a5b6c7d8e9, CliqueId 7), fabric state Completed.
 *
 * $NVLSCHED_NVML_STUB_MODE, read on every call, selects a failure:
 *   not-supported  the fabric queries answer NVML_ERROR_NOT_SUPPORTED (a GPU outside any NVLink fabric)
 *   init-fail      nvmlInit_v2 answers NVML_ERROR_DRIVER_NOT_LOADED
 *   count-fail     nvmlDeviceGetCount_v2 answers NVML_ERROR_UNKNOWN
 *   in-progress    state In Progress, zero ClusterUUID (fabric manager has not finished registering the GPUs)
 *   split          GPU 3 is in CliqueId 8 (one node's GPUs in two domains)
 *   v2-only        nvmlDeviceGetGpuFabricInfoV refuses the v3 struct (a driver that predates it)
 *   legacy-only    nvmlDeviceGetGpuFabricInfoV answers NVML_ERROR_FUNCTION_NOT_FOUND
 * Like NVML, every query before nvmlInit_v2 (or after the matching nvmlShutdown) answers
 * NVML_ERROR_UNINITIALIZED; nvmlStubInitCount() (not NVML) lets a test check that inits and shutdowns balance.
 * Struct layouts: see native/core/nvml_loader.h (NVIDIA's nvml.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STUB_GPUS 4u
#define FABRIC_UUID_LEN 16

enum {
  NVML_SUCCESS = 0,
  NVML_ERROR_UNINITIALIZED = 1,
  NVML_ERROR_INVALID_ARGUMENT = 2,
  NVML_ERROR_NOT_SUPPORTED = 3,
  NVML_ERROR_INSUFFICIENT_SIZE = 7,
  NVML_ERROR_DRIVER_NOT_LOADED = 9,
  NVML_ERROR_FUNCTION_NOT_FOUND = 13,
  NVML_ERROR_ARGUMENT_VERSION_MISMATCH = 25,
  NVML_ERROR_UNKNOWN = 999,
};
typedef int nvmlReturn_t;
typedef struct stubDevice { unsigned int index; } *nvmlDevice_t;

typedef struct {
  unsigned char clusterUuid[FABRIC_UUID_LEN];
  nvmlReturn_t status;
  unsigned int cliqueId;
  unsigned char state;
} nvmlGpuFabricInfo_t;

typedef struct {
  unsigned int version;
  unsigned char clusterUuid[FABRIC_UUID_LEN];
  nvmlReturn_t status;
  unsigned int cliqueId;
  unsigned char state;
  unsigned int healthMask;
} nvmlGpuFabricInfo_v2_t;

typedef struct {
  unsigned int version;
  unsigned char clusterUuid[FABRIC_UUID_LEN];
  nvmlReturn_t status;
  unsigned int cliqueId;
  unsigned char state;
  unsigned int healthMask;
  unsigned char healthSummary;
} nvmlGpuFabricInfo_v3_t;

#define VERSION_V2 ((unsigned int)sizeof(nvmlGpuFabricInfo_v2_t) | (2u << 24))
#define VERSION_V3 ((unsigned int)sizeof(nvmlGpuFabricInfo_v3_t) | (3u << 24))

static struct stubDevice devices[STUB_GPUS] = {{0}, {1}, {2}, {3}};
static int initCount = 0;
static const unsigned char kClusterUuid[FABRIC_UUID_LEN] = {0x0a, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f, 0x40, 0x61,
                                                            0x82, 0x73, 0x94, 0xa5, 0xb6, 0xc7, 0xd8, 0xe9};

static int mode(const char* name) {
  const char* m = getenv("NVLSCHED_NVML_STUB_MODE");
  return m != NULL && strcmp(m, name) == 0;
}

static int initialized(void) { return __atomic_load_n(&initCount, __ATOMIC_SEQ_CST) > 0; }

int nvmlStubInitCount(void) { return __atomic_load_n(&initCount, __ATOMIC_SEQ_CST); }

nvmlReturn_t nvmlInit_v2(void) {
  if (mode("init-fail")) return NVML_ERROR_DRIVER_NOT_LOADED;
  __atomic_add_fetch(&initCount, 1, __ATOMIC_SEQ_CST);
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlShutdown(void) {
  if (!initialized()) return NVML_ERROR_UNINITIALIZED;
  __atomic_sub_fetch(&initCount, 1, __ATOMIC_SEQ_CST);
  return NVML_SUCCESS;
}

const char* nvmlErrorString(nvmlReturn_t result) {
  switch (result) {
    case NVML_SUCCESS: return "Success";
    case NVML_ERROR_UNINITIALIZED: return "Uninitialized";
    case NVML_ERROR_INVALID_ARGUMENT: return "Invalid Argument";
    case NVML_ERROR_NOT_SUPPORTED: return "Not Supported";
    case NVML_ERROR_INSUFFICIENT_SIZE: return "Insufficient Size";
    case NVML_ERROR_DRIVER_NOT_LOADED: return "Driver Not Loaded";
    case NVML_ERROR_FUNCTION_NOT_FOUND: return "Function Not Found";
    case NVML_ERROR_ARGUMENT_VERSION_MISMATCH: return "Argument version mismatch";
    default: return "Unknown Error";
  }
}

nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int* count) {
  if (!initialized()) return NVML_ERROR_UNINITIALIZED;
  if (count == NULL) return NVML_ERROR_INVALID_ARGUMENT;
  if (mode("count-fail")) return NVML_ERROR_UNKNOWN;
  *count = STUB_GPUS;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t* device) {
  if (!initialized()) return NVML_ERROR_UNINITIALIZED;
  if (device == NULL || index >= STUB_GPUS) return NVML_ERROR_INVALID_ARGUMENT;
  *device = &devices[index];
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t device, char* uuid, unsigned int length) {
  char text[64];
  if (!initialized()) return NVML_ERROR_UNINITIALIZED;
  if (device == NULL || uuid == NULL) return NVML_ERROR_INVALID_ARGUMENT;
  snprintf(text, sizeof(text), "GPU-5a5a5a5a-0000-4000-8000-%012u", device->index);
  if (strlen(text) + 1 > length) return NVML_ERROR_INSUFFICIENT_SIZE;
  memcpy(uuid, text, strlen(text) + 1);
  return NVML_SUCCESS;
}

/* The fabric fields every struct version shares. */
static nvmlReturn_t fill(nvmlDevice_t device, unsigned char* clusterUuid, nvmlReturn_t* status, unsigned int* cliqueId,
                         unsigned char* state) {
  if (!initialized()) return NVML_ERROR_UNINITIALIZED;
  if (device == NULL) return NVML_ERROR_INVALID_ARGUMENT;
  if (mode("not-supported")) return NVML_ERROR_NOT_SUPPORTED;
  if (mode("in-progress")) {
    memset(clusterUuid, 0, FABRIC_UUID_LEN);
    *status = NVML_SUCCESS;
    *cliqueId = 0;
    *state = 2; /* NVML_GPU_FABRIC_STATE_IN_PROGRESS */
    return NVML_SUCCESS;
  }
  memcpy(clusterUuid, kClusterUuid, FABRIC_UUID_LEN);
  *status = NVML_SUCCESS;
  *cliqueId = (mode("split") && device->index == 3) ? 8 : 7;
  *state = 3; /* NVML_GPU_FABRIC_STATE_COMPLETED */
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetGpuFabricInfo(nvmlDevice_t device, nvmlGpuFabricInfo_t* info) {
  if (info == NULL) return NVML_ERROR_INVALID_ARGUMENT;
  return fill(device, info->clusterUuid, &info->status, &info->cliqueId, &info->state);
}

nvmlReturn_t nvmlDeviceGetGpuFabricInfoV(nvmlDevice_t device, void* info) {
  unsigned int version;
  if (info == NULL) return NVML_ERROR_INVALID_ARGUMENT;
  if (mode("legacy-only")) return NVML_ERROR_FUNCTION_NOT_FOUND;
  memcpy(&version, info, sizeof(version));
  if (version == VERSION_V3 && !mode("v2-only")) {
    nvmlGpuFabricInfo_v3_t* v3 = (nvmlGpuFabricInfo_v3_t*)info;
    v3->healthMask = 0x5; /* arbitrary bits a test can see come through */
    v3->healthSummary = 0;
    return fill(device, v3->clusterUuid, &v3->status, &v3->cliqueId, &v3->state);
  }
  if (version == VERSION_V2) {
    nvmlGpuFabricInfo_v2_t* v2 = (nvmlGpuFabricInfo_v2_t*)info;
    v2->healthMask = 0x2;
    return fill(device, v2->clusterUuid, &v2->status, &v2->cliqueId, &v2->state);
  }
  return NVML_ERROR_ARGUMENT_VERSION_MISMATCH;
}
