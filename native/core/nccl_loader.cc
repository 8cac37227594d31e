// dlopen loader for the optional NCCL library (see nccl_loader.h), and probeDevices().
#include "nccl_loader.h"

#include <dlfcn.h>

#include <cstdlib>
#include <string>

namespace nvl {

namespace {

constexpr const char* kDefaultNcclLibrary = "libnccl.so.2";

std::string lastDlError(const char* fallback) {
  const char* e = dlerror();
  return e != nullptr ? std::string(e) : std::string(fallback);
}

// Resolves `name` into `slot`; a required one that is missing is appended to `missing` (the first dlerror text
// is kept in `firstError`).
template <typename Fn>
void resolve(void* handle, const char* name, Fn& slot, bool required, std::string& missing, std::string& firstError) {
  dlerror();  // clear
  void* sym = dlsym(handle, name);
  if (sym == nullptr) {
    if (required) {
      if (!missing.empty()) missing += ", ";
      missing += name;
      if (firstError.empty()) firstError = lastDlError(name);
    }
    return;
  }
  slot = reinterpret_cast<Fn>(sym);
}

NcclLibrary loadNccl() {
  NcclLibrary lib;
  const char* env = std::getenv("NVL_NCCL_LIBRARY");
  lib.path = (env != nullptr && env[0] != '\0') ? env : kDefaultNcclLibrary;

  dlerror();
  void* handle = dlopen(lib.path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    lib.error = lastDlError("dlopen failed");
    if (lib.error.find(lib.path) == std::string::npos) lib.error = lib.path + ": " + lib.error;
    return lib;
  }

  NcclApi api;
  std::string missing, firstError;
  resolve(handle, "ncclGetVersion", api.getVersion, true, missing, firstError);
  resolve(handle, "ncclGetErrorString", api.getErrorString, true, missing, firstError);
  resolve(handle, "ncclGetUniqueId", api.getUniqueId, true, missing, firstError);
  resolve(handle, "ncclCommInitRank", api.commInitRank, true, missing, firstError);
  resolve(handle, "ncclCommDestroy", api.commDestroy, true, missing, firstError);
  resolve(handle, "ncclSend", api.send, true, missing, firstError);
  resolve(handle, "ncclRecv", api.recv, true, missing, firstError);
  resolve(handle, "ncclGroupStart", api.groupStart, true, missing, firstError);
  resolve(handle, "ncclGroupEnd", api.groupEnd, true, missing, firstError);
  resolve(handle, "ncclCommAbort", api.commAbort, false, missing, firstError);
  resolve(handle, "ncclCommGetAsyncError", api.commGetAsyncError, false, missing, firstError);
  if (!missing.empty()) {
    lib.error = lib.path + ": not a usable NCCL library, missing " + missing + " (" + firstError + ")";
    dlclose(handle);
    return lib;
  }

  int version = 0;
  ncclResult_t r = api.getVersion(&version);
  if (r != ncclSuccess) {
    const char* text = api.getErrorString(r);
    lib.error = lib.path + ": ncclGetVersion failed: " + (text != nullptr ? text : "ncclResult " + std::to_string(r));
    dlclose(handle);
    return lib;
  }
  // The handle stays open for the life of the process (function pointers point into it).
  lib.loaded = true;
  lib.version = version;
  lib.api = api;
  return lib;
}

}  // namespace

const NcclLibrary& ncclLibrary() {
  static const NcclLibrary lib = loadNccl();  // C++11 magic static: loaded once, thread-safe
  return lib;
}

std::string ncclVersionString(int code) {
  if (code <= 0) return "";
  int major, minor, patch;
  if (code < 10000) {  // NCCL_VERSION(X,Y,Z) = X*1000+Y*100+Z before 2.9
    major = code / 1000;
    minor = (code % 1000) / 100;
    patch = code % 100;
  } else {             // X*10000+Y*100+Z since 2.9
    major = code / 10000;
    minor = (code % 10000) / 100;
    patch = code % 100;
  }
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
}

std::string ncclResultText(ncclResult_t result) {
  const NcclLibrary& lib = ncclLibrary();
  if (lib.loaded && lib.api.getErrorString != nullptr) {
    const char* text = lib.api.getErrorString(result);
    if (text != nullptr) return text;
  }
  return "ncclResult " + std::to_string(result);
}

void fillNcclProbe(DeviceProbe& probe) {
  const NcclLibrary& lib = ncclLibrary();
  probe.ncclLoaded = lib.loaded;
  probe.ncclVersion = lib.version;
  probe.ncclError = lib.error;
}

// Declared in backend.h. Lives here (nvl_core, every build); see the note at the top of nccl_loader.h.
DeviceProbe probeDevices() {
  DeviceProbe probe = probeCuda();
  fillNcclProbe(probe);
  return probe;
}

}  // namespace nvl
