// The KV hand-off calls of KvWrap (SPEC §11, native/core/handoff.h). Plans and tickets are plain objects so a
// worker can send them over gRPC; chunk bytes travel as a Node Buffer. Every argument is type- and range-checked
// here; the core checks the semantic rules again (same fields, same codes).
#include <cmath>
#include <memory>

#include "args.h"
#include "convert.h"
#include "kv_wrap.h"

namespace nvlb {
namespace {

// Like seqArg: a non-number is E_INVALID_ARGUMENT; a number that cannot be an id is E_UNKNOWN_HANDOFF.
uint32_t handoffIdArg(Napi::Env env, const Napi::Value& value, const char* field) {
  if (!value.IsNumber()) throwCode(env, nvl::Code::InvalidArgument, std::string(field) + " must be a number");
  const double n = value.As<Napi::Number>().DoubleValue();
  if (!(std::isfinite(n) && std::floor(n) == n && n >= 1 && n <= UINT32_MAX)) {
    throwCode(env, nvl::Code::UnknownHandoff, std::string(field) + " is not a hand-off id (ids are integers from 1)");
  }
  return static_cast<uint32_t>(n);
}

bool boolField(Napi::Env env, const Napi::Object& obj, const char* key, const std::string& path, bool fallback) {
  if (!hasField(obj, key)) return fallback;
  Napi::Value v = obj.Get(key);
  if (!v.IsBoolean()) throwCode(env, nvl::Code::InvalidArgument, path + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

Napi::Object objectArg(Napi::Env env, const Napi::Value& value, const char* field, const char* shape) {
  if (!value.IsObject() || value.IsArray() || value.IsTypedArray() || value.IsFunction()) {
    throwCode(env, nvl::Code::InvalidArgument, std::string(field) + " must be an object " + shape);
  }
  return value.As<Napi::Object>();
}

uint8_t modeField(Napi::Env env, const Napi::Object& obj, const std::string& path) {
  const std::string mode = stringField(env, obj, "mode", path, "move");
  if (mode != "move" && mode != "copy") {
    throwCode(env, nvl::Code::InvalidArgument, path + " must be 'move' or 'copy', got '" + mode + "'");
  }
  return mode == "copy" ? 1 : 0;
}

int64_t requiredInt(Napi::Env env, const Napi::Object& obj, const char* key, int64_t min, int64_t max) {
  const std::string path = std::string("plan.") + key;
  if (!hasField(obj, key)) throwCode(env, nvl::Code::InvalidArgument, path + " is required");
  return intArg(env, obj.Get(key), path.c_str(), min, max);
}

// A plan as handoffBegin returned it (possibly after a trip through gRPC). Derived fields are checked again by
// the core against this manager's layout.
nvl::HandoffPlan planFromJs(Napi::Env env, const Napi::Value& value) {
  Napi::Object obj = objectArg(env, value, "plan", "(the result of handoffBegin on the source)");
  nvl::HandoffPlan plan;
  plan.handoffId = uint32_t(requiredInt(env, obj, "handoffId", 1, UINT32_MAX));
  plan.seqId = uint32_t(requiredInt(env, obj, "seqId", 1, UINT32_MAX));
  plan.sourceGpu = uint32_t(requiredInt(env, obj, "sourceGpu", 0, UINT32_MAX));
  plan.destinationGpu = uint32_t(requiredInt(env, obj, "destinationGpu", 0, UINT32_MAX));
  plan.mode = modeField(env, obj, "plan.mode");
  plan.crossDomain = boolField(env, obj, "crossDomain", "plan.crossDomain", false);
  const std::string dataMode = stringField(env, obj, "dataMode", "plan.dataMode", "");
  if (dataMode != "metadata" && dataMode != "bytes") {
    throwCode(env, nvl::Code::InvalidArgument, "plan.dataMode must be 'metadata' or 'bytes', got '" + dataMode + "'");
  }
  plan.bytesMode = dataMode == "bytes";
  plan.numTokens = uint32_t(requiredInt(env, obj, "numTokens", 1, 2147483647));
  plan.numBlocks = uint32_t(requiredInt(env, obj, "numBlocks", 1, 2147483647));
  plan.tokensPerBlock = uint32_t(requiredInt(env, obj, "tokensPerBlock", 1, 65536));
  plan.bytesPerToken = uint64_t(requiredInt(env, obj, "bytesPerToken", 1, 9007199254740992LL));
  plan.numLayers = uint32_t(requiredInt(env, obj, "numLayers", 1, UINT32_MAX));
  HashSpan hashes = hashesArg(env, obj.Get("blockHashes"), "plan.blockHashes");
  plan.hashes.assign(hashes.data, hashes.data + hashes.size);
  plan.blocksPerChunk = uint32_t(requiredInt(env, obj, "blocksPerChunk", 1, UINT32_MAX));
  plan.layersPerChunk = uint32_t(requiredInt(env, obj, "layersPerChunk", 1, UINT32_MAX));
  plan.numChunks = uint32_t(requiredInt(env, obj, "numChunks", 1, UINT32_MAX));
  return plan;
}

Napi::Object planToJs(Napi::Env env, const nvl::HandoffPlan& plan) {
  Napi::Object obj = Napi::Object::New(env);
  obj.Set("handoffId", plan.handoffId);
  obj.Set("seqId", plan.seqId);
  obj.Set("sourceGpu", plan.sourceGpu);
  obj.Set("destinationGpu", plan.destinationGpu);
  obj.Set("mode", plan.mode == 1 ? "copy" : "move");
  obj.Set("crossDomain", plan.crossDomain);
  obj.Set("link", nvl::linkName(plan.link));
  obj.Set("dataMode", plan.bytesMode ? "bytes" : "metadata");
  obj.Set("numTokens", plan.numTokens);
  obj.Set("numBlocks", plan.numBlocks);
  obj.Set("tokensPerBlock", plan.tokensPerBlock);
  obj.Set("bytesPerToken", static_cast<double>(plan.bytesPerToken));
  obj.Set("numLayers", plan.numLayers);
  auto hashes = Napi::TypedArrayOf<uint64_t>::New(env, plan.hashes.size(), napi_biguint64_array);
  for (size_t i = 0; i < plan.hashes.size(); i++) hashes[i] = plan.hashes[i];
  obj.Set("blockHashes", hashes);
  obj.Set("blocksPerChunk", plan.blocksPerChunk);
  obj.Set("layersPerChunk", plan.layersPerChunk);
  obj.Set("numChunks", plan.numChunks);
  obj.Set("totalBytes", plan.totalBytes);
  obj.Set("maxChunkBytes", plan.maxChunkBytes);
  obj.Set("estimatedSeconds", plan.estimatedSeconds);
  obj.Set("firstLayerSeconds", plan.firstLayerSeconds);
  return obj;
}

Napi::Object progressToJs(Napi::Env env, const nvl::HandoffProgress& p) {
  Napi::Object obj = Napi::Object::New(env);
  obj.Set("handoffId", p.id);
  obj.Set("side", p.source ? "source" : "destination");
  obj.Set("numChunks", p.numChunks);
  obj.Set("neededChunks", p.neededChunks);
  obj.Set("doneChunks", p.doneChunks);
  obj.Set("readyLayers", p.readyLayers);
  obj.Set("complete", p.complete);
  return obj;
}

}  // namespace

// handoffBegin(seqId, {destinationGpu, crossDomain?, mode?, blocksPerChunk?, layersPerChunk?}) → plan
Napi::Value KvWrap::handoffBegin(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  nvl::KvManager& kv = live(env);
  const uint32_t seqId = seqArg(env, info[0]);
  Napi::Object o = objectArg(env, info[1], "options", "{destinationGpu, crossDomain?, mode?, blocksPerChunk?, layersPerChunk?}");
  nvl::HandoffOptions options;
  if (!hasField(o, "destinationGpu")) throwCode(env, nvl::Code::InvalidArgument, "options.destinationGpu is required");
  options.destinationGpu =
      uint32_t(intArg(env, o.Get("destinationGpu"), "options.destinationGpu", 0, int64_t(kv.numGpus()) - 1));
  options.crossDomain = boolField(env, o, "crossDomain", "options.crossDomain", false);
  options.mode = modeField(env, o, "options.mode");
  options.blocksPerChunk = uint32_t(intField(env, o, "blocksPerChunk", "options.blocksPerChunk", 0, 0, 2147483647));
  options.layersPerChunk = uint32_t(intField(env, o, "layersPerChunk", "options.layersPerChunk", 1, 1, UINT32_MAX));
  nvl::HandoffPlan plan;
  check(env, kv.handoffBegin(seqId, options, plan));
  return planToJs(env, plan);
}

// handoffExport(handoffId, chunkIndex) → {chunkIndex, firstBlock, numBlocks, firstLayer, numLayers, bytes,
// checksum, data}; data is a Buffer in bytes mode, null in metadata mode.
Napi::Value KvWrap::handoffExport(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  nvl::KvManager& kv = live(env);
  const uint32_t id = handoffIdArg(env, info[0], "handoffId");
  const uint32_t chunkIndex = u32Arg(env, info[1], "chunkIndex");
  auto bytes = std::make_unique<std::vector<uint8_t>>();
  nvl::HandoffChunk chunk;
  check(env, kv.handoffExport(id, chunkIndex, bytes.get(), chunk));
  const bool bytesMode = kv.dataMode() == nvl::DataMode::Bytes;
  Napi::Object obj = Napi::Object::New(env);
  obj.Set("chunkIndex", chunk.index);
  obj.Set("firstBlock", chunk.firstBlock);
  obj.Set("numBlocks", chunk.numBlocks);
  obj.Set("firstLayer", chunk.firstLayer);
  obj.Set("numLayers", chunk.numLayers);
  obj.Set("bytes", static_cast<double>(chunk.bytes));
  obj.Set("checksum", Napi::BigInt::New(env, chunk.checksum));
  if (!bytesMode) {
    obj.Set("data", env.Null());
  } else if (bytes->empty()) {
    obj.Set("data", Napi::Buffer<uint8_t>::New(env, 0));
  } else {
    // The vector's memory becomes the Buffer's (no second copy of a chunk that may be hundreds of MB).
    std::vector<uint8_t>* owned = bytes.release();
    obj.Set("data", Napi::Buffer<uint8_t>::NewOrCopy(env, owned->data(), owned->size(),
                                                     [](Napi::Env, uint8_t*, std::vector<uint8_t>* v) { delete v; },
                                                     owned));
  }
  return obj;
}

// handoffComplete(handoffId) → {sourceFreed}
Napi::Value KvWrap::handoffComplete(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  nvl::KvManager& kv = live(env);
  bool freed = false;
  check(env, kv.handoffComplete(handoffIdArg(env, info[0], "handoffId"), freed));
  Napi::Object obj = Napi::Object::New(env);
  obj.Set("sourceFreed", freed);
  return obj;
}

// handoffReserve(plan, {gpu?, reserveTokens?}) → ticket
Napi::Value KvWrap::handoffReserve(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  nvl::KvManager& kv = live(env);
  nvl::HandoffPlan plan = planFromJs(env, info[0]);
  nvl::HandoffReserveOptions options;
  if (!info[1].IsUndefined()) {
    Napi::Object o = objectArg(env, info[1], "options", "{gpu?, reserveTokens?}");
    options.gpu = intField(env, o, "gpu", "options.gpu", -1, -1, int64_t(kv.numGpus()) - 1);
    options.reserveTokens = uint32_t(intField(env, o, "reserveTokens", "options.reserveTokens", 0, 0, 2147483647));
  }
  nvl::HandoffTicket t;
  check(env, kv.handoffReserve(plan, options, t));
  Napi::Object obj = Napi::Object::New(env);
  obj.Set("ticketId", t.ticketId);
  obj.Set("gpu", t.gpu);
  obj.Set("numBlocks", t.numBlocks);
  obj.Set("cachedBlocks", t.cachedBlocks);
  obj.Set("newBlocks", t.newBlocks);
  obj.Set("numChunks", t.numChunks);
  obj.Set("neededChunks", t.neededChunks);
  return obj;
}

// handoffImport(ticketId, chunkIndex, data?: Uint8Array | null, checksum?: bigint) → progress
Napi::Value KvWrap::handoffImport(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  nvl::KvManager& kv = live(env);
  const uint32_t id = handoffIdArg(env, info[0], "ticketId");
  const uint32_t chunkIndex = u32Arg(env, info[1], "chunkIndex");
  const uint8_t* data = nullptr;
  size_t size = 0;
  if (!info[2].IsUndefined() && !info[2].IsNull()) {
    if (!info[2].IsTypedArray() || info[2].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
      throwCode(env, nvl::Code::InvalidArgument, "data must be a Uint8Array (or Buffer), null or undefined");
    }
    auto array = info[2].As<Napi::Uint8Array>();
    data = array.Data();
    size = data == nullptr ? 0 : array.ElementLength();  // a detached buffer reads as empty
  }
  uint64_t checksum = 0;
  const bool checked = !info[3].IsUndefined();
  if (checked) checksum = bigintArg(env, info[3], "checksum");
  nvl::HandoffProgress p;
  check(env, kv.handoffImport(id, chunkIndex, data, size, checked ? &checksum : nullptr, p));
  return progressToJs(env, p);
}

// handoffCommit(ticketId) → {seqId, gpu, numTokens, numBlocks, cachedBlocks, blocksCopied, bytes, link}
Napi::Value KvWrap::handoffCommit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  nvl::KvManager& kv = live(env);
  nvl::HandoffCommit c;
  check(env, kv.handoffCommit(handoffIdArg(env, info[0], "ticketId"), c));
  Napi::Object obj = Napi::Object::New(env);
  obj.Set("seqId", c.seqId);
  obj.Set("gpu", c.gpu);
  obj.Set("numTokens", c.numTokens);
  obj.Set("numBlocks", c.numBlocks);
  obj.Set("cachedBlocks", c.cachedBlocks);
  obj.Set("blocksCopied", c.blocksCopied);
  obj.Set("bytes", c.bytes);
  obj.Set("link", nvl::linkName(c.link));
  return obj;
}

Napi::Value KvWrap::handoffStatus(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  nvl::KvManager& kv = live(env);
  nvl::HandoffProgress p;
  check(env, kv.handoffStatus(handoffIdArg(env, info[0], "handoffId"), p));
  return progressToJs(env, p);
}

// handoffAbort(id) → true when it released something, false when the hand-off had already ended.
Napi::Value KvWrap::handoffAbort(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  nvl::KvManager& kv = live(env);
  bool released = false;
  check(env, kv.handoffAbort(handoffIdArg(env, info[0], "handoffId"), released));
  return Napi::Boolean::New(env, released);
}

Napi::Value KvWrap::handoffStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  nvl::HandoffStats s;
  live(env).handoffStats(s);
  Napi::Object obj = Napi::Object::New(env);
  obj.Set("liveSources", static_cast<double>(s.liveSources));
  obj.Set("liveDestinations", static_cast<double>(s.liveDestinations));
  obj.Set("pinnedBlocks", static_cast<double>(s.pinnedBlocks));
  obj.Set("reservedBlocks", static_cast<double>(s.reservedBlocks));
  obj.Set("begun", static_cast<double>(s.begun));
  obj.Set("completed", static_cast<double>(s.completed));
  obj.Set("reserved", static_cast<double>(s.reserved));
  obj.Set("committed", static_cast<double>(s.committed));
  obj.Set("aborted", static_cast<double>(s.aborted));
  obj.Set("bytesExported", s.bytesExported);
  obj.Set("bytesImported", s.bytesImported);
  return obj;
}

}  // namespace nvlb
