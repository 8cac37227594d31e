// nvl structs → plain JS objects (no class instances cross N-API).
#include <algorithm>
#include <cstring>

#include "convert.h"

namespace nvlb {

static const char* modeName(nvl::TransferMode mode) { return mode == nvl::TransferMode::Copy ? "copy" : "move"; }

static Napi::Object linkToJs(Napi::Env env, const nvl::LinkSpec& link) {
  Napi::Object obj = Napi::Object::New(env);
  obj.Set("bandwidthBytesPerS", link.bandwidthBytesPerS);
  obj.Set("latencyS", link.latencyS);
  return obj;
}

Napi::Object toJs(Napi::Env env, const nvl::TopologySpec& spec) {
  Napi::Object obj = Napi::Object::New(env);
  obj.Set("name", spec.name);
  obj.Set("numDomains", spec.numDomains);
  obj.Set("traysPerDomain", spec.traysPerDomain);
  obj.Set("gpusPerTray", spec.gpusPerTray);
  obj.Set("cpusPerTray", spec.cpusPerTray);
  obj.Set("hbmBytesPerGpu", spec.hbmBytesPerGpu);
  obj.Set("hostBytesPerTray", spec.hostBytesPerTray);
  obj.Set("diskBytesPerTray", spec.diskBytesPerTray);
  obj.Set("nvlink", linkToJs(env, spec.nvlink));
  obj.Set("hostLink", linkToJs(env, spec.hostLink));
  obj.Set("hostLinkKind", nvl::linkName(spec.hostLinkKind));
  obj.Set("scaleOut", linkToJs(env, spec.scaleOut));
  obj.Set("disk", linkToJs(env, spec.disk));
  return obj;
}

Napi::Object toJs(Napi::Env env, const nvl::Location& loc) {
  Napi::Object obj = Napi::Object::New(env);
  obj.Set("tier", nvl::tierName(loc.tier));
  obj.Set("index", loc.index);
  return obj;
}

Napi::Object toJs(Napi::Env env, const nvl::TransferPlan& plan) {
  Napi::Object obj = Napi::Object::New(env);
  obj.Set("seqId", plan.seqId);
  obj.Set("source", toJs(env, plan.source));
  obj.Set("destination", toJs(env, plan.destination));
  obj.Set("mode", modeName(plan.mode));
  obj.Set("blocksCopied", plan.blocksCopied);
  obj.Set("blocksShared", plan.blocksShared);
  obj.Set("bytes", plan.bytes);
  Napi::Array hops = Napi::Array::New(env, plan.hops.size());
  for (size_t i = 0; i < plan.hops.size(); i++) {
    Napi::Object hop = Napi::Object::New(env);
    hop.Set("link", nvl::linkName(plan.hops[i].link));
    hop.Set("bytes", plan.hops[i].bytes);
    hop.Set("seconds", plan.hops[i].seconds);
    hops.Set(static_cast<uint32_t>(i), hop);
  }
  obj.Set("hops", hops);
  obj.Set("estimatedSeconds", plan.estimatedSeconds);
  obj.Set("path", plan.path);
  return obj;
}

Napi::Object toJs(Napi::Env env, const nvl::KvStats& stats) {
  Napi::Object obj = Napi::Object::New(env);
  obj.Set("blockBytes", static_cast<double>(stats.blockBytes));
  obj.Set("bytesPerToken", static_cast<double>(stats.bytesPerToken));
  obj.Set("tokensPerBlock", stats.tokensPerBlock);
  Napi::Array pools = Napi::Array::New(env, stats.pools.size());
  for (size_t i = 0; i < stats.pools.size(); i++) {
    const nvl::PoolStats& pool = stats.pools[i];
    Napi::Object p = Napi::Object::New(env);
    p.Set("location", toJs(env, pool.location));
    p.Set("totalBlocks", pool.totalBlocks);
    p.Set("usedBlocks", pool.usedBlocks);
    p.Set("cachedBlocks", pool.cachedBlocks);
    p.Set("freeBlocks", pool.freeBlocks);
    p.Set("pinnedBlocks", pool.pinnedBlocks);
    p.Set("hits", static_cast<double>(pool.hits));
    p.Set("misses", static_cast<double>(pool.misses));
    p.Set("evictions", static_cast<double>(pool.evictions));
    pools.Set(static_cast<uint32_t>(i), p);
  }
  obj.Set("pools", pools);
  Napi::Object links = Napi::Object::New(env);
  for (int k = 0; k < nvl::kNumLinkKinds; k++) {
    links.Set(nvl::linkName(static_cast<nvl::LinkKind>(k)), stats.bytesMovedByLink[k]);
  }
  obj.Set("bytesMovedByLink", links);
  obj.Set("transfers", static_cast<double>(stats.transfers));
  obj.Set("liveSequences", static_cast<double>(stats.liveSequences));
  obj.Set("droppedEvents", static_cast<double>(stats.droppedEvents));
  obj.Set("lastEventId", static_cast<double>(stats.lastEventId));
  return obj;
}

Napi::Object toJs(Napi::Env env, const nvl::Snapshot& snapshot) {
  Napi::Object obj = Napi::Object::New(env);
  obj.Set("lastEventId", static_cast<double>(snapshot.lastEventId));
  Napi::Array locations = Napi::Array::New(env, snapshot.locations.size());
  for (size_t i = 0; i < snapshot.locations.size(); i++) {
    const nvl::SnapshotLocation& entry = snapshot.locations[i];
    Napi::Object item = Napi::Object::New(env);
    item.Set("location", toJs(env, entry.location));
    auto hashes = Napi::TypedArrayOf<uint64_t>::New(env, entry.hashes.size(), napi_biguint64_array);
    if (!entry.hashes.empty()) std::memcpy(hashes.Data(), entry.hashes.data(), entry.hashes.size() * sizeof(uint64_t));
    item.Set("hashes", hashes);
    locations.Set(static_cast<uint32_t>(i), item);
  }
  obj.Set("locations", locations);
  return obj;
}

Napi::Object probeToJs(Napi::Env env, const nvl::DeviceProbe& probe) {
  Napi::Object obj = Napi::Object::New(env);
  obj.Set("cudaCompiled", probe.cudaCompiled);
  obj.Set("cudaDeviceCount", probe.cudaDeviceCount);
  obj.Set("cudaError", probe.cudaError);
  obj.Set("ncclLoaded", probe.ncclLoaded);
  obj.Set("ncclVersion", probe.ncclVersion);
  obj.Set("ncclError", probe.ncclError);
  return obj;
}

Napi::Object toJs(Napi::Env env, const nvl::BackendInfo& info) {
  Napi::Object obj = probeToJs(env, info.probe);
  obj.Set("backend", info.backend);
  obj.Set("dataMode", info.dataMode == nvl::DataMode::Bytes ? "bytes" : "metadata");
  return obj;
}

Napi::Object toJs(Napi::Env env, const nvl::SequenceInfo& info) {
  Napi::Object obj = Napi::Object::New(env);
  obj.Set("seqId", info.seqId);
  obj.Set("location", toJs(env, info.location));
  obj.Set("numTokens", info.numTokens);
  obj.Set("numBlocks", info.numBlocks);
  obj.Set("hashedBlocks", info.hashedBlocks);
  obj.Set("lastHash", Napi::BigInt::New(env, info.lastHash));
  obj.Set("homeGpu", info.homeGpu);
  return obj;
}

}  // namespace nvlb
