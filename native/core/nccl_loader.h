// Optional NCCL, loaded at run time. The addon never links NCCL and no nccl.h is needed to build it: the few C
// types and entry points used here are declared below with the same ABI as nccl.h (NCCL 2.x). The library is
// dlopen()ed once, on first use, from $NVL_NCCL_LIBRARY when set, else "libnccl.so.2" (the dynamic loader's
// search path). When it is absent or unusable nothing fails: ncclLibrary().loaded is false and `error` says why.
//
// This file also declares probeCuda(), the CUDA half of probeDevices() (backend.h). probeDevices() itself is
// defined in nccl_loader.cc, which is part of nvl_core in every build, and calls probeCuda(), which comes from
// nvl_cuda (native/cuda/cuda_probe.cc) or from native/core/nocuda/cuda_absent.cc. That keeps the static-library
// dependency one way (nvl_core -> nvl_cuda): nothing in nvl_cuda references a symbol of nvl_core, so the link
// works whatever order the linker sees the two archives in.
#pragma once
#include <cstddef>
#include <string>

#include "backend.h"

// Same tag as the CUDA headers' `typedef struct CUstream_st* cudaStream_t`, so a cudaStream_t passes as is.
struct CUstream_st;

namespace nvl {

// --- NCCL C ABI (subset), our own declarations ---
using ncclResult_t = int;  // enum ncclResult_t in nccl.h (int-sized)
constexpr ncclResult_t ncclSuccess = 0;
constexpr ncclResult_t ncclUnhandledCudaError = 1;
constexpr ncclResult_t ncclSystemError = 2;
constexpr ncclResult_t ncclInternalError = 3;
constexpr ncclResult_t ncclInvalidArgument = 4;
constexpr ncclResult_t ncclInvalidUsage = 5;
constexpr ncclResult_t ncclRemoteError = 6;
constexpr ncclResult_t ncclInProgress = 7;

using ncclDataType_t = int;  // enum ncclDataType_t in nccl.h
constexpr ncclDataType_t ncclInt8 = 0;
constexpr ncclDataType_t ncclChar = 0;
constexpr ncclDataType_t ncclUint8 = 1;
constexpr ncclDataType_t ncclInt32 = 2;
constexpr ncclDataType_t ncclUint32 = 3;
constexpr ncclDataType_t ncclInt64 = 4;
constexpr ncclDataType_t ncclUint64 = 5;
constexpr ncclDataType_t ncclFloat16 = 6;
constexpr ncclDataType_t ncclFloat32 = 7;
constexpr ncclDataType_t ncclFloat64 = 8;
constexpr ncclDataType_t ncclBfloat16 = 9;

struct ncclComm;                 // opaque
using ncclComm_t = ncclComm*;
constexpr size_t kNcclUniqueIdBytes = 128;  // NCCL_UNIQUE_ID_BYTES
struct ncclUniqueId {
  char internal[kNcclUniqueIdBytes];
};
static_assert(sizeof(ncclUniqueId) == 128, "ncclUniqueId must be 128 bytes (NCCL ABI)");

using ncclStream_t = CUstream_st*;  // cudaStream_t

// Entry points. Those marked optional may be null even when loaded (older NCCL).
struct NcclApi {
  ncclResult_t (*getVersion)(int* version) = nullptr;
  const char* (*getErrorString)(ncclResult_t result) = nullptr;
  ncclResult_t (*getUniqueId)(ncclUniqueId* uniqueId) = nullptr;
  ncclResult_t (*commInitRank)(ncclComm_t* comm, int nranks, ncclUniqueId commId, int rank) = nullptr;
  ncclResult_t (*commDestroy)(ncclComm_t comm) = nullptr;
  ncclResult_t (*send)(const void* sendbuff, size_t count, ncclDataType_t datatype, int peer, ncclComm_t comm,
                       ncclStream_t stream) = nullptr;
  ncclResult_t (*recv)(void* recvbuff, size_t count, ncclDataType_t datatype, int peer, ncclComm_t comm,
                       ncclStream_t stream) = nullptr;
  ncclResult_t (*groupStart)() = nullptr;
  ncclResult_t (*groupEnd)() = nullptr;
  // Optional (error handling for point-to-point hand-off).
  ncclResult_t (*commAbort)(ncclComm_t comm) = nullptr;
  ncclResult_t (*commGetAsyncError)(ncclComm_t comm, ncclResult_t* asyncError) = nullptr;
};

struct NcclLibrary {
  bool loaded = false;     // dlopen succeeded, every required symbol resolved and ncclGetVersion succeeded
  int version = 0;         // NCCL_VERSION_CODE, e.g. 22203 for 2.22.3 (0 when not loaded)
  std::string path;        // what was passed to dlopen
  std::string error;       // why not loaded (dlerror text, missing symbol, ncclGetVersion failure); empty when loaded
  NcclApi api;             // all null when not loaded
};

// Loads on the first call (thread-safe, once per process); later calls return the same object. Never throws,
// never crashes when NCCL is missing.
const NcclLibrary& ncclLibrary();

// "2.22.3" for 22203 (and the pre-2.9 encoding 2xyz); "" for 0.
std::string ncclVersionString(int versionCode);

// Text for an NCCL result code: the library's own when loaded, else a generic "ncclResult N".
std::string ncclResultText(ncclResult_t result);

// Fills the ncclLoaded/ncclVersion/ncclError fields of `probe`.
void fillNcclProbe(DeviceProbe& probe);

// The CUDA half of probeDevices(): fills cudaCompiled/cudaDeviceCount/cudaError, leaves the NCCL fields alone.
// Defined by native/cuda/cuda_probe.cc (CUDA build) or native/core/nocuda/cuda_absent.cc (no CUDA).
DeviceProbe probeCuda();

}  // namespace nvl
