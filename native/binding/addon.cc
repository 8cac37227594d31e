// Module entry: the KV manager class and the stateless helpers (presets, hashes, device probe, NVML fabric info).
#include <napi.h>

#include <cstring>

#include "args.h"
#include "convert.h"
#include "kv_wrap.h"
#include "nvml_wrap.h"

namespace nvlb {
namespace {

Napi::Value topologyPreset(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = stringArg(env, info[0], "name");
  nvl::TopologySpec spec;
  if (!nvl::topologyPreset(name, spec)) {
    std::string names;
    for (const auto& preset : nvl::topologyPresetNames()) names += (names.empty() ? "" : ", ") + preset;
    throwCode(env, nvl::Code::InvalidArgument, "topology '" + name + "' is not a preset; presets: " + names);
  }
  return toJs(env, spec);
}

Napi::Value topologyPresetNames(const Napi::CallbackInfo& info) {
  auto names = nvl::topologyPresetNames();
  Napi::Array out = Napi::Array::New(info.Env(), names.size());
  for (size_t i = 0; i < names.size(); i++) out.Set(static_cast<uint32_t>(i), names[i]);
  return out;
}

Napi::Value toBigUint64Array(Napi::Env env, const std::vector<uint64_t>& values) {
  auto out = Napi::TypedArrayOf<uint64_t>::New(env, values.size(), napi_biguint64_array);
  if (!values.empty()) std::memcpy(out.Data(), values.data(), values.size() * sizeof(uint64_t));
  return out;
}

// hashTokens(Uint32Array tokens, tokensPerBlock, parent?: bigint) → BigUint64Array
Napi::Value hashTokens(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array) {
    throwCode(env, nvl::Code::InvalidArgument, "tokens must be a Uint32Array");
  }
  auto tokens = info[0].As<Napi::Uint32Array>();
  uint32_t tokensPerBlock = static_cast<uint32_t>(intArg(env, info[1], "tokensPerBlock", 1, 65536));
  uint64_t parent = bigintArg(env, info[2], "parent");
  return toBigUint64Array(env, nvl::hashTokens(tokens.Data(), tokens.ElementLength(), tokensPerBlock, parent));
}

// chainHashes(BigUint64Array ids, parent?: bigint) → BigUint64Array
Napi::Value chainHashes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  HashSpan ids = hashesArg(env, info[0], "ids");
  uint64_t parent = bigintArg(env, info[1], "parent");
  return toBigUint64Array(env, nvl::chainHashes(ids.data, ids.size, parent));
}

Napi::Value probeDevices(const Napi::CallbackInfo& info) { return probeToJs(info.Env(), nvl::probeDevices()); }

}  // namespace

Napi::Object init(Napi::Env env, Napi::Object exports) {
  exports.Set("NativeKvManager", KvWrap::define(env));
  exports.Set("topologyPreset", Napi::Function::New(env, topologyPreset, "topologyPreset"));
  exports.Set("topologyPresetNames", Napi::Function::New(env, topologyPresetNames, "topologyPresetNames"));
  exports.Set("hashTokens", Napi::Function::New(env, hashTokens, "hashTokens"));
  exports.Set("chainHashes", Napi::Function::New(env, chainHashes, "chainHashes"));
  exports.Set("probeDevices", Napi::Function::New(env, probeDevices, "probeDevices"));
  exports.Set("nvmlFabricInfo", Napi::Function::New(env, nvmlFabricInfo, "nvmlFabricInfo"));
  return exports;
}

}  // namespace nvlb

// NODE_API_MODULE pastes the function name into identifiers, so it needs an unqualified name.
static Napi::Object InitNvlsched(Napi::Env env, Napi::Object exports) { return nvlb::init(env, exports); }
NODE_API_MODULE(nvlsched_native, InitNvlsched)
