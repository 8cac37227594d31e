// nvmlFabricInfo: the binding half of native/core/nvml_loader.h.
#include "nvml_wrap.h"

#include <string>

#include "args.h"
#include "nvml_loader.h"

namespace nvlb {

namespace {

Napi::Object gpuToJs(Napi::Env env, const nvl::NvmlGpuFabric& g) {
  Napi::Object obj = Napi::Object::New(env);
  obj.Set("index", g.index);
  obj.Set("uuid", g.uuid);
  obj.Set("fabricSupported", g.fabricSupported);
  obj.Set("state", g.state);
  obj.Set("stateName", nvl::nvmlFabricStateName(g.state));
  obj.Set("status", g.status);
  obj.Set("statusText", g.statusText);
  obj.Set("clusterUuid", g.clusterUuid);
  obj.Set("cliqueId", g.cliqueId);
  if (g.hasHealthMask) obj.Set("healthMask", g.healthMask);
  return obj;
}

// Runs readNvmlFabric on a libuv worker thread; settles the Promise on the JS thread.
class NvmlWorker : public Napi::AsyncWorker {
 public:
  NvmlWorker(Napi::Env env, std::string library)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), library_(std::move(library)) {}
  Napi::Promise promise() { return deferred_.Promise(); }

  void Execute() override { report_ = nvl::readNvmlFabric(library_); }
  void OnOK() override { settle(); }
  void OnError(const Napi::Error&) override { settle(); }

 private:
  void settle() {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    const nvl::NvmlFabricReport& r = report_;
    if (!r.errorCode.empty()) {
      Napi::Error error = Napi::Error::New(env, r.library + ": " + r.errorMessage);
      error.Set("code", Napi::String::New(env, r.errorCode));
      error.Set("nvmlCall", Napi::String::New(env, r.errorCall));
      error.Set("nvmlReturn", Napi::Number::New(env, r.errorReturn));
      deferred_.Reject(error.Value());
      return;
    }
    Napi::Object out = Napi::Object::New(env);
    out.Set("available", r.available);
    out.Set("library", r.library);
    if (!r.available) {
      out.Set("reason", r.reason);
    } else {
      out.Set("api", r.api);
      Napi::Array gpus = Napi::Array::New(env, r.gpus.size());
      for (size_t i = 0; i < r.gpus.size(); i++) gpus.Set(static_cast<uint32_t>(i), gpuToJs(env, r.gpus[i]));
      out.Set("gpus", gpus);
    }
    deferred_.Resolve(out);
  }

  Napi::Promise::Deferred deferred_;
  std::string library_;
  nvl::NvmlFabricReport report_;
};

}  // namespace

Napi::Value nvmlFabricInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string library;
  if (!info[0].IsUndefined() && !info[0].IsNull()) {
    if (!info[0].IsObject()) throwCode(env, nvl::Code::InvalidArgument, "nvmlFabricInfo: options must be an object");
    library = stringField(env, info[0].As<Napi::Object>(), "library", "options.library", "");
    if (hasField(info[0].As<Napi::Object>(), "library") && library.empty()) {
      throwCode(env, nvl::Code::InvalidArgument, "options.library must be a non-empty path");
    }
  }
  auto* worker = new NvmlWorker(env, std::move(library));
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

}  // namespace nvlb
