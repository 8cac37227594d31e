// The JS class around nvl::KvManager. Synchronous methods for µs-scale work; transfer() returns a Promise that
// settles when the backend's copies are done. Lifetime: close() releases the manager at once unless transfers
// are in flight, in which case the last one to settle releases it (a worker thread never sees freed memory).
#pragma once
#include <napi.h>

#include <memory>

#include "kv_manager.h"

namespace nvlb {

class KvWrap : public Napi::ObjectWrap<KvWrap> {
 public:
  static Napi::Function define(Napi::Env env);
  explicit KvWrap(const Napi::CallbackInfo& info);

  // Called by a settling transfer worker.
  void transferSettled();

 private:
  nvl::KvManager& live(Napi::Env env);

  Napi::Value info(const Napi::CallbackInfo& info);
  Napi::Value topology(const Napi::CallbackInfo& info);
  Napi::Value backendInfo(const Napi::CallbackInfo& info);
  Napi::Value allocate(const Napi::CallbackInfo& info);
  Napi::Value append(const Napi::CallbackInfo& info);
  Napi::Value free(const Napi::CallbackInfo& info);
  Napi::Value sequenceInfo(const Napi::CallbackInfo& info);
  Napi::Value blockTable(const Napi::CallbackInfo& info);
  Napi::Value matchPrefixPacked(const Napi::CallbackInfo& info);
  Napi::Value matchPrefixOnGpu(const Napi::CallbackInfo& info);
  Napi::Value pin(const Napi::CallbackInfo& info);
  Napi::Value unpin(const Napi::CallbackInfo& info);
  Napi::Value transfer(const Napi::CallbackInfo& info);
  Napi::Value estimateTransfer(const Napi::CallbackInfo& info);
  Napi::Value handoffBegin(const Napi::CallbackInfo& info);
  Napi::Value handoffExport(const Napi::CallbackInfo& info);
  Napi::Value handoffComplete(const Napi::CallbackInfo& info);
  Napi::Value handoffReserve(const Napi::CallbackInfo& info);
  Napi::Value handoffImport(const Napi::CallbackInfo& info);
  Napi::Value handoffCommit(const Napi::CallbackInfo& info);
  Napi::Value handoffStatus(const Napi::CallbackInfo& info);
  Napi::Value handoffAbort(const Napi::CallbackInfo& info);
  Napi::Value handoffStats(const Napi::CallbackInfo& info);
  Napi::Value write(const Napi::CallbackInfo& info);
  Napi::Value read(const Napi::CallbackInfo& info);
  Napi::Value drainEventsPacked(const Napi::CallbackInfo& info);
  Napi::Value setResultBuffer(const Napi::CallbackInfo& info);
  uint32_t* resultSlots(Napi::Env env);
  Napi::Value snapshot(const Napi::CallbackInfo& info);
  Napi::Value stats(const Napi::CallbackInfo& info);
  Napi::Value close(const Napi::CallbackInfo& info);

  std::unique_ptr<nvl::KvManager> manager_;
  bool closed_ = false;
  int pendingTransfers_ = 0;
  std::vector<nvl::PrefixMatch> matchScratch_;
  std::vector<nvl::KvEvent> eventScratch_;
  // Hot calls (allocate, append, matchPrefixOnGpu) write their small results here and the facade builds the JS
  // object: building it in C++ costs ~0.3 µs per property, in JS a few ns.
  Napi::Reference<Napi::Uint32Array> resultRef_;
  uint32_t* result_ = nullptr;
};

}  // namespace nvlb
