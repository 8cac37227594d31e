#include "kv_wrap.h"

#include <cstring>

#include "args.h"
#include "convert.h"

namespace nvlb {

namespace {

// Waits off the JS thread for the backend fence of one transfer, then resolves with the plan.
class TransferWorker : public Napi::AsyncWorker {
 public:
  TransferWorker(Napi::Env env, KvWrap* owner, nvl::KvManager* manager, nvl::TransferPlan plan)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), owner_(owner), manager_(manager),
        plan_(std::move(plan)) {
    owner_->Ref();  // keep the JS object (and so the manager) alive until we settle
  }
  Napi::Promise promise() { return deferred_.Promise(); }

  void Execute() override {
    status_ = manager_->waitTransfer(plan_.fenceTicket);
  }
  void OnOK() override { settle(); }
  void OnError(const Napi::Error&) override { settle(); }

 private:
  void settle() {
    Napi::Env env = Env();
    if (status_.ok()) {
      deferred_.Resolve(toJs(env, plan_));
    } else {
      deferred_.Reject(makeError(env, status_).Value());
    }
    owner_->transferSettled();
    owner_->Unref();
  }

  Napi::Promise::Deferred deferred_;
  KvWrap* owner_;
  nvl::KvManager* manager_;
  nvl::TransferPlan plan_;
  nvl::Status status_;
};

}  // namespace

Napi::Function KvWrap::define(Napi::Env env) {
  return DefineClass(env, "NativeKvManager",
                     {
                         InstanceMethod<&KvWrap::info>("info"),
                         InstanceMethod<&KvWrap::topology>("topology"),
                         InstanceMethod<&KvWrap::backendInfo>("backendInfo"),
                         InstanceMethod<&KvWrap::allocate>("allocate"),
                         InstanceMethod<&KvWrap::append>("append"),
                         InstanceMethod<&KvWrap::free>("free"),
                         InstanceMethod<&KvWrap::sequenceInfo>("sequenceInfo"),
                         InstanceMethod<&KvWrap::blockTable>("blockTable"),
                         InstanceMethod<&KvWrap::matchPrefixPacked>("matchPrefixPacked"),
                         InstanceMethod<&KvWrap::matchPrefixOnGpu>("matchPrefixOnGpu"),
                         InstanceMethod<&KvWrap::pin>("pin"),
                         InstanceMethod<&KvWrap::unpin>("unpin"),
                         InstanceMethod<&KvWrap::transfer>("transfer"),
                         InstanceMethod<&KvWrap::estimateTransfer>("estimateTransfer"),
                         InstanceMethod<&KvWrap::write>("write"),
                         InstanceMethod<&KvWrap::read>("read"),
                         InstanceMethod<&KvWrap::drainEventsPacked>("drainEventsPacked"),
                         InstanceMethod<&KvWrap::setResultBuffer>("setResultBuffer"),
                         InstanceMethod<&KvWrap::snapshot>("snapshot"),
                         InstanceMethod<&KvWrap::stats>("stats"),
                         InstanceMethod<&KvWrap::close>("close"),
                     });
}

KvWrap::KvWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<KvWrap>(info) {
  nvl::KvConfig config = configFromJs(info.Env(), info[0]);
  nvl::Status status;
  manager_ = nvl::KvManager::create(config, status);
  check(info.Env(), status);
  if (!manager_) throwCode(info.Env(), nvl::Code::Internal, "KvManager::create returned nothing");
}

nvl::KvManager& KvWrap::live(Napi::Env env) {
  if (closed_ || !manager_) throwCode(env, nvl::Code::Closed, "the KV manager is closed");
  return *manager_;
}

void KvWrap::transferSettled() {
  pendingTransfers_--;
  if (closed_ && pendingTransfers_ == 0) manager_.reset();
}

Napi::Value KvWrap::info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  nvl::KvManager& kv = live(env);
  Napi::Object obj = Napi::Object::New(env);
  obj.Set("numGpus", kv.numGpus());
  obj.Set("numTrays", kv.numTrays());
  obj.Set("tokensPerBlock", kv.tokensPerBlock());
  obj.Set("bytesPerToken", static_cast<double>(kv.bytesPerToken()));
  obj.Set("blockBytes", static_cast<double>(kv.blockBytes()));
  return obj;
}

Napi::Value KvWrap::topology(const Napi::CallbackInfo& info) { return toJs(info.Env(), live(info.Env()).topology()); }

Napi::Value KvWrap::backendInfo(const Napi::CallbackInfo& info) {
  return toJs(info.Env(), live(info.Env()).backendInfo());
}

// allocate(gpu, numTokens, blockHashes?, reserveTokens?)
Napi::Value KvWrap::allocate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  nvl::KvManager& kv = live(env);
  uint32_t gpu = static_cast<uint32_t>(intArg(env, info[0], "gpu", 0, int64_t(kv.numGpus()) - 1));
  uint32_t numTokens = u32Arg(env, info[1], "numTokens");
  HashSpan hashes = hashesArg(env, info[2], "blockHashes");
  uint32_t reserveTokens = info[3].IsUndefined() ? 0 : u32Arg(env, info[3], "reserveTokens");
  nvl::AllocateResult result;
  uint32_t* slots = resultSlots(env);
  check(env, kv.allocate(gpu, numTokens, hashes.data, hashes.size, reserveTokens, result));
  slots[0] = result.numBlocks;
  slots[1] = result.cachedBlocks;
  slots[2] = result.newBlocks;
  return Napi::Number::New(env, result.seqId);
}

// append(seqId, numTokens, blockHashes?)
Napi::Value KvWrap::append(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  nvl::KvManager& kv = live(env);
  uint32_t seqId = seqArg(env, info[0]);
  uint32_t numTokens = u32Arg(env, info[1], "numTokens");
  HashSpan hashes = hashesArg(env, info[2], "blockHashes");
  nvl::AppendResult result;
  uint32_t* slots = resultSlots(env);
  check(env, kv.append(seqId, numTokens, hashes.data, hashes.size, result));
  slots[0] = result.numBlocks;
  slots[1] = result.newBlocks;
  return Napi::Number::New(env, result.numTokens);
}

Napi::Value KvWrap::free(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  check(env, live(env).free(seqArg(env, info[0])));
  return env.Undefined();
}

Napi::Value KvWrap::sequenceInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  nvl::SequenceInfo out;
  check(env, live(env).sequenceInfo(seqArg(env, info[0]), out));
  return toJs(env, out);
}

Napi::Value KvWrap::blockTable(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<int32_t> table;
  check(env, live(env).blockTable(seqArg(env, info[0]), table));
  auto array = Napi::Int32Array::New(env, table.size());
  if (!table.empty()) std::memcpy(array.Data(), table.data(), table.size() * sizeof(int32_t));
  return array;
}

// The router's fast path: [gpu, deviceBlocks, hostBlocks, diskBlocks] x matches written into the caller's
// Uint32Array (at least 4 x numGpus long, so any answer fits); returns the number of matches. No object per GPU
// and no ArrayBuffer per call (a shared system prompt can be resident on most of a rack's 72 GPUs).
Napi::Value KvWrap::matchPrefixPacked(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  nvl::KvManager& kv = live(env);
  HashSpan hashes = hashesArg(env, info[0], "blockHashes");
  if (!info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array ||
      info[1].As<Napi::Uint32Array>().ElementLength() < size_t(kv.numGpus()) * 4) {
    throwCode(env, nvl::Code::InvalidArgument, "out must be a Uint32Array of at least 4 x numGpus elements");
  }
  uint32_t* data = info[1].As<Napi::Uint32Array>().Data();
  kv.matchPrefix(hashes.data, hashes.size, matchScratch_);
  for (const nvl::PrefixMatch& m : matchScratch_) {
    *data++ = m.gpu;
    *data++ = m.deviceBlocks;
    *data++ = m.hostBlocks;
    *data++ = m.diskBlocks;
  }
  return Napi::Number::New(env, static_cast<double>(matchScratch_.size()));
}

Napi::Value KvWrap::matchPrefixOnGpu(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  nvl::KvManager& kv = live(env);
  uint32_t gpu = static_cast<uint32_t>(intArg(env, info[0], "gpu", 0, int64_t(kv.numGpus()) - 1));
  HashSpan hashes = hashesArg(env, info[1], "blockHashes");
  nvl::PrefixMatch match;
  uint32_t* slots = resultSlots(env);
  check(env, kv.matchPrefixOnGpu(gpu, hashes.data, hashes.size, match));
  slots[0] = match.deviceBlocks;
  slots[1] = match.hostBlocks;
  slots[2] = match.diskBlocks;
  return env.Undefined();
}

Napi::Value KvWrap::pin(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  nvl::KvManager& kv = live(env);
  uint32_t gpu = static_cast<uint32_t>(intArg(env, info[0], "gpu", 0, int64_t(kv.numGpus()) - 1));
  HashSpan hashes = hashesArg(env, info[1], "blockHashes");
  uint32_t count = 0;
  check(env, kv.pin(gpu, hashes.data, hashes.size, count));
  return Napi::Number::New(env, count);
}

Napi::Value KvWrap::unpin(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  nvl::KvManager& kv = live(env);
  uint32_t gpu = static_cast<uint32_t>(intArg(env, info[0], "gpu", 0, int64_t(kv.numGpus()) - 1));
  HashSpan hashes = hashesArg(env, info[1], "blockHashes");
  uint32_t count = 0;
  check(env, kv.unpin(gpu, hashes.data, hashes.size, count));
  return Napi::Number::New(env, count);
}

// transfer(seqId, destination {tier, index}, mode 'move'|'copy') → Promise<plan>. The metadata change is
// immediate (visible to the next synchronous call); the Promise settles when the copies are done.
Napi::Value KvWrap::transfer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  nvl::KvManager& kv = live(env);
  uint32_t seqId = seqArg(env, info[0]);
  nvl::Location destination = locationFromJs(env, info[1], "destination");
  std::string mode = info[2].IsUndefined() ? "move" : stringArg(env, info[2], "mode");
  if (mode != "move" && mode != "copy") {
    throwCode(env, nvl::Code::InvalidArgument, "mode must be 'move' or 'copy', got '" + mode + "'");
  }
  nvl::TransferPlan plan;
  check(env, kv.transfer(seqId, destination, mode == "copy" ? nvl::TransferMode::Copy : nvl::TransferMode::Move, plan));
  if (plan.fenceTicket == 0) {
    auto deferred = Napi::Promise::Deferred::New(env);
    deferred.Resolve(toJs(env, plan));
    return deferred.Promise();
  }
  auto* worker = new TransferWorker(env, this, manager_.get(), std::move(plan));
  pendingTransfers_++;
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

Napi::Value KvWrap::estimateTransfer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  nvl::KvManager& kv = live(env);
  nvl::Location source = locationFromJs(env, info[0], "source");
  nvl::Location destination = locationFromJs(env, info[1], "destination");
  double bytes = numberArg(env, info[2], "bytes", 0, 9007199254740992.0);
  nvl::TransferPlan plan;
  check(env, kv.estimateTransfer(source, destination, bytes, plan));
  Napi::Object obj = Napi::Object::New(env);
  obj.Set("path", plan.path);
  obj.Set("seconds", plan.estimatedSeconds);
  return obj;
}

// write(seqId, tokenOffset, Uint8Array)
Napi::Value KvWrap::write(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  nvl::KvManager& kv = live(env);
  uint32_t seqId = seqArg(env, info[0]);
  uint32_t tokenOffset = u32Arg(env, info[1], "tokenOffset");
  if (!info[2].IsTypedArray() || info[2].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    throwCode(env, nvl::Code::InvalidArgument, "data must be a Uint8Array");
  }
  auto data = info[2].As<Napi::Uint8Array>();
  check(env, kv.write(seqId, tokenOffset, data.Data(), data.ElementLength()));
  return env.Undefined();
}

// read(seqId, tokenOffset, numTokens) → Uint8Array (a copy)
Napi::Value KvWrap::read(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  nvl::KvManager& kv = live(env);
  uint32_t seqId = seqArg(env, info[0]);
  uint32_t tokenOffset = u32Arg(env, info[1], "tokenOffset");
  uint32_t numTokens = u32Arg(env, info[2], "numTokens");
  std::vector<uint8_t> bytes;
  check(env, kv.read(seqId, tokenOffset, numTokens, bytes));
  auto out = Napi::Uint8Array::New(env, bytes.size());
  if (!bytes.empty()) std::memcpy(out.Data(), bytes.data(), bytes.size());
  return out;
}

// Events in columns (KvEventBatch in scheduler/kv/types.ts) packed into ONE ArrayBuffer; the facade lays the typed
// array views over it (creating a dozen ArrayBuffers here cost ~10 µs per drain). Layout for n events, widest
// columns first so every view is aligned: eventIds f64, hashes u64, parentHashes u64, bytes f64, indexes u32,
// dstIndexes u32, seqIds u32, blocks u32, kinds u8, tiers u8, dstTiers u8, modes u8 (52 bytes per event).
Napi::Value KvWrap::drainEventsPacked(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  nvl::KvManager& kv = live(env);
  size_t maxEvents = info[0].IsUndefined() ? SIZE_MAX
                                           : static_cast<size_t>(intArg(env, info[0], "maxEvents", 0, 1LL << 40));
  kv.drainEvents(maxEvents, eventScratch_);
  const size_t n = eventScratch_.size();
  Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(env, n * 52);
  if (n == 0) return buffer;  // Data() is null for an empty buffer
  uint8_t* base = static_cast<uint8_t*>(buffer.Data());
  std::memset(base, 0, n * 52);  // fields that do not apply to a kind read 0
  auto* eventIds = reinterpret_cast<double*>(base);
  auto* hashes = reinterpret_cast<uint64_t*>(base + 8 * n);
  auto* parents = reinterpret_cast<uint64_t*>(base + 16 * n);
  auto* bytes = reinterpret_cast<double*>(base + 24 * n);
  auto* indexes = reinterpret_cast<uint32_t*>(base + 32 * n);
  auto* dstIndexes = reinterpret_cast<uint32_t*>(base + 36 * n);
  auto* seqIds = reinterpret_cast<uint32_t*>(base + 40 * n);
  auto* blocks = reinterpret_cast<uint32_t*>(base + 44 * n);
  uint8_t* kinds = base + 48 * n;
  uint8_t* tiers = kinds + n;
  uint8_t* dstTiers = tiers + n;
  uint8_t* modes = dstTiers + n;
  for (size_t i = 0; i < n; i++) {
    const nvl::KvEvent& e = eventScratch_[i];
    eventIds[i] = static_cast<double>(e.eventId);
    kinds[i] = static_cast<uint8_t>(e.kind);
    tiers[i] = static_cast<uint8_t>(e.location.tier);
    indexes[i] = e.location.index;
    if (e.kind == nvl::EventKind::Moved) {
      dstTiers[i] = static_cast<uint8_t>(e.destination.tier);
      dstIndexes[i] = e.destination.index;
      seqIds[i] = e.seqId;
      modes[i] = e.mode == nvl::TransferMode::Copy ? 1 : 0;
      blocks[i] = e.blocks;
      bytes[i] = e.bytes;
    } else {
      hashes[i] = e.hash;
      if (e.kind == nvl::EventKind::Stored) parents[i] = e.parentHash;
    }
  }
  return buffer;
}

Napi::Value KvWrap::setResultBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array ||
      info[0].As<Napi::Uint32Array>().ElementLength() < 4) {
    throwCode(env, nvl::Code::InvalidArgument, "result buffer must be a Uint32Array of at least 4 elements");
  }
  auto buffer = info[0].As<Napi::Uint32Array>();
  resultRef_ = Napi::Persistent(buffer);
  result_ = buffer.Data();
  return env.Undefined();
}

uint32_t* KvWrap::resultSlots(Napi::Env env) {
  if (!result_) throwCode(env, nvl::Code::Internal, "setResultBuffer() was not called");
  return result_;
}

Napi::Value KvWrap::snapshot(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  nvl::Snapshot snap;
  live(env).snapshot(snap);
  return toJs(env, snap);
}

Napi::Value KvWrap::stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  nvl::KvStats stats;
  live(env).stats(stats);
  return toJs(env, stats);
}

Napi::Value KvWrap::close(const Napi::CallbackInfo& info) {
  if (!closed_) {
    closed_ = true;
    if (pendingTransfers_ == 0) manager_.reset();
  }
  return info.Env().Undefined();
}

}  // namespace nvlb
