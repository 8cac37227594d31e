// Plain-data conversions between the core's structs and JS objects (SPEC types in scheduler/kv/types.ts).
#pragma once
#include <napi.h>

#include "kv_manager.h"

namespace nvlb {

nvl::KvConfig configFromJs(Napi::Env env, const Napi::Value& value);
nvl::TopologySpec topologyFromJs(Napi::Env env, const Napi::Object& obj, const std::string& path);
nvl::Location locationFromJs(Napi::Env env, const Napi::Value& value, const char* field);

Napi::Object toJs(Napi::Env env, const nvl::TopologySpec& spec);
Napi::Object toJs(Napi::Env env, const nvl::Location& loc);
Napi::Object toJs(Napi::Env env, const nvl::TransferPlan& plan);
Napi::Object toJs(Napi::Env env, const nvl::KvStats& stats);
Napi::Object toJs(Napi::Env env, const nvl::Snapshot& snapshot);
Napi::Object toJs(Napi::Env env, const nvl::BackendInfo& info);
Napi::Object toJs(Napi::Env env, const nvl::SequenceInfo& info);
Napi::Object probeToJs(Napi::Env env, const nvl::DeviceProbe& probe);

}  // namespace nvlb
