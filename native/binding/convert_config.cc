// JS config object → nvl::KvConfig. Every field is type- and range-checked here; the core then checks the
// semantic rules (SPEC §1) and names the same fields.
#include <string>

#include "args.h"
#include "convert.h"

namespace nvlb {

static const double kMaxBytes = 9007199254740992.0;  // 2^53: byte counts must stay exact in JS numbers

static nvl::LinkSpec linkFromJs(Napi::Env env, const Napi::Object& parent, const char* key, const std::string& path,
                                const nvl::LinkSpec& fallback) {
  if (!hasField(parent, key)) return fallback;
  Napi::Value value = parent.Get(key);
  std::string here = path + "." + key;
  if (!value.IsObject()) throwCode(env, nvl::Code::InvalidArgument, here + " must be an object {bandwidthBytesPerS, latencyS}");
  Napi::Object obj = value.As<Napi::Object>();
  nvl::LinkSpec link;
  link.bandwidthBytesPerS =
      numberField(env, obj, "bandwidthBytesPerS", here + ".bandwidthBytesPerS", fallback.bandwidthBytesPerS, 0, 1e18);
  link.latencyS = numberField(env, obj, "latencyS", here + ".latencyS", fallback.latencyS, 0, 3600);
  return link;
}

nvl::TopologySpec topologyFromJs(Napi::Env env, const Napi::Object& obj, const std::string& path) {
  nvl::TopologySpec spec;
  spec.name = stringField(env, obj, "name", path + ".name", "custom");
  spec.numDomains = static_cast<uint32_t>(intField(env, obj, "numDomains", path + ".numDomains", 1, 1, 65536));
  spec.traysPerDomain = static_cast<uint32_t>(intField(env, obj, "traysPerDomain", path + ".traysPerDomain", 1, 1, 65536));
  spec.gpusPerTray = static_cast<uint32_t>(intField(env, obj, "gpusPerTray", path + ".gpusPerTray", 1, 1, 65536));
  spec.cpusPerTray = static_cast<uint32_t>(intField(env, obj, "cpusPerTray", path + ".cpusPerTray", 0, 0, 65536));
  spec.hbmBytesPerGpu = numberField(env, obj, "hbmBytesPerGpu", path + ".hbmBytesPerGpu", 0, 0, kMaxBytes);
  spec.hostBytesPerTray = numberField(env, obj, "hostBytesPerTray", path + ".hostBytesPerTray", 0, 0, kMaxBytes);
  spec.diskBytesPerTray = numberField(env, obj, "diskBytesPerTray", path + ".diskBytesPerTray", 0, 0, kMaxBytes);
  nvl::LinkSpec none;
  spec.nvlink = linkFromJs(env, obj, "nvlink", path, none);
  spec.hostLink = linkFromJs(env, obj, "hostLink", path, none);
  spec.scaleOut = linkFromJs(env, obj, "scaleOut", path, none);
  spec.disk = linkFromJs(env, obj, "disk", path, none);
  std::string kind = stringField(env, obj, "hostLinkKind", path + ".hostLinkKind", "c2c");
  if (kind == "c2c") {
    spec.hostLinkKind = nvl::LinkKind::C2C;
  } else if (kind == "pcie") {
    spec.hostLinkKind = nvl::LinkKind::Pcie;
  } else {
    throwCode(env, nvl::Code::InvalidArgument, path + ".hostLinkKind must be 'c2c' or 'pcie', got '" + kind + "'");
  }
  return spec;
}

static nvl::TopologySpec topologyArg(Napi::Env env, const Napi::Object& config) {
  if (!hasField(config, "topology")) {
    throwCode(env, nvl::Code::InvalidArgument, "topology is required: a preset name or a topology object");
  }
  Napi::Value value = config.Get("topology");
  if (value.IsString()) {
    std::string name = value.As<Napi::String>().Utf8Value();
    nvl::TopologySpec spec;
    if (!nvl::topologyPreset(name, spec)) {
      std::string names;
      for (const auto& preset : nvl::topologyPresetNames()) names += (names.empty() ? "" : ", ") + preset;
      throwCode(env, nvl::Code::InvalidArgument, "topology '" + name + "' is not a preset; presets: " + names);
    }
    return spec;
  }
  if (!value.IsObject()) throwCode(env, nvl::Code::InvalidArgument, "topology must be a preset name or an object");
  return topologyFromJs(env, value.As<Napi::Object>(), "topology");
}

static nvl::KvLayout layoutArg(Napi::Env env, const Napi::Object& config) {
  if (!hasField(config, "layout") || !config.Get("layout").IsObject()) {
    throwCode(env, nvl::Code::InvalidArgument,
              "layout must be an object {numLayers, numKvHeads, headDim, mlaLatentDim, bytesPerElement, tensorParallel}");
  }
  Napi::Object obj = config.Get("layout").As<Napi::Object>();
  nvl::KvLayout layout;
  layout.numLayers = static_cast<uint32_t>(intField(env, obj, "numLayers", "layout.numLayers", 0, 0, 100000));
  layout.numKvHeads = static_cast<uint32_t>(intField(env, obj, "numKvHeads", "layout.numKvHeads", 0, 0, 100000));
  layout.headDim = static_cast<uint32_t>(intField(env, obj, "headDim", "layout.headDim", 0, 0, 100000));
  layout.mlaLatentDim = static_cast<uint32_t>(intField(env, obj, "mlaLatentDim", "layout.mlaLatentDim", 0, 0, 1000000));
  layout.bytesPerElement = numberField(env, obj, "bytesPerElement", "layout.bytesPerElement", 2, 0, 16);
  layout.tensorParallel =
      static_cast<uint32_t>(intField(env, obj, "tensorParallel", "layout.tensorParallel", 1, 1, 65536));
  return layout;
}

nvl::KvConfig configFromJs(Napi::Env env, const Napi::Value& value) {
  if (!value.IsObject()) throwCode(env, nvl::Code::InvalidArgument, "config must be an object");
  Napi::Object config = value.As<Napi::Object>();
  nvl::KvConfig out;
  out.topology = topologyArg(env, config);
  if (hasField(config, "numDomains")) {
    int64_t factor = intField(env, config, "numDomains", "numDomains", 1, 1, 65536);
    out.topology.numDomains = static_cast<uint32_t>(std::min<int64_t>(65536, out.topology.numDomains * factor));
  }
  out.layout = layoutArg(env, config);
  out.tokensPerBlock = static_cast<uint32_t>(intField(env, config, "tokensPerBlock", "tokensPerBlock", 16, 1, 65536));
  out.deviceBlocksPerGpu = intField(env, config, "deviceBlocksPerGpu", "deviceBlocksPerGpu", -1, 0, INT32_MAX);
  out.weightsBytesPerGpu = numberField(env, config, "weightsBytesPerGpu", "weightsBytesPerGpu", 0, 0, kMaxBytes);
  out.deviceReserveFraction =
      numberField(env, config, "deviceReserveFraction", "deviceReserveFraction", 0.1, 0, 0.99);
  out.hostBlocksPerTray = intField(env, config, "hostBlocksPerTray", "hostBlocksPerTray", -1, 0, INT32_MAX);
  out.hostFraction = numberField(env, config, "hostFraction", "hostFraction", 0.5, 0, 1);
  out.diskBlocksPerTray = intField(env, config, "diskBlocksPerTray", "diskBlocksPerTray", -1, 0, INT32_MAX);
  std::string mode = stringField(env, config, "dataMode", "dataMode", "metadata");
  if (mode == "metadata") {
    out.dataMode = nvl::DataMode::Metadata;
  } else if (mode == "bytes") {
    out.dataMode = nvl::DataMode::Bytes;
  } else {
    throwCode(env, nvl::Code::InvalidArgument, "dataMode must be 'metadata' or 'bytes', got '" + mode + "'");
  }
  out.maxRealBytes = numberField(env, config, "maxRealBytes", "maxRealBytes", out.maxRealBytes, 0, kMaxBytes);
  out.eventLogCapacity =
      static_cast<uint32_t>(intField(env, config, "eventLogCapacity", "eventLogCapacity", 1 << 20, 1, 1 << 28));
  std::string backend = stringField(env, config, "backend", "backend", "auto");
  if (backend == "auto") {
    out.backend = nvl::BackendChoice::Auto;
  } else if (backend == "cpu") {
    out.backend = nvl::BackendChoice::Cpu;
  } else if (backend == "cuda") {
    out.backend = nvl::BackendChoice::Cuda;
  } else {
    throwCode(env, nvl::Code::InvalidArgument, "backend must be 'auto', 'cpu' or 'cuda', got '" + backend + "'");
  }
  return out;
}

nvl::Location locationFromJs(Napi::Env env, const Napi::Value& value, const char* field) {
  if (!value.IsObject()) {
    throwCode(env, nvl::Code::InvalidArgument, std::string(field) + " must be an object {tier, index}");
  }
  Napi::Object obj = value.As<Napi::Object>();
  std::string path(field);
  std::string tier = stringField(env, obj, "tier", path + ".tier", "");
  nvl::Location loc;
  if (tier == "device") {
    loc.tier = nvl::Tier::Device;
  } else if (tier == "host") {
    loc.tier = nvl::Tier::Host;
  } else if (tier == "disk") {
    loc.tier = nvl::Tier::Disk;
  } else {
    throwCode(env, nvl::Code::InvalidArgument, path + ".tier must be 'device', 'host' or 'disk', got '" + tier + "'");
  }
  if (!hasField(obj, "index")) throwCode(env, nvl::Code::InvalidArgument, path + ".index is required");
  loc.index = static_cast<uint32_t>(intArg(env, obj.Get("index"), (path + ".index").c_str(), 0, UINT32_MAX));
  return loc;
}

}  // namespace nvlb
