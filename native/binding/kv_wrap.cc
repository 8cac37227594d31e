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
                         InstanceMethod<&KvWrap::handoffBegin>("handoffBegin"),
                         InstanceMethod<&KvWrap::handoffExport>("handoffExport"),
                         InstanceMethod<&KvWrap::handoffComplete>("handoffComplete"),
                         InstanceMethod<&KvWrap::handoffReserve>("handoffReserve"),
                         InstanceMethod<&KvWrap::handoffImport>("handoffImport"),
                         InstanceMethod<&KvWrap::handoffCommit>("handoffCommit"),
                         InstanceMethod<&KvWrap::handoffStatus>("handoffStatus"),
                         InstanceMethod<&KvWrap::handoffAbort>("handoffAbort"),
                         InstanceMethod<&KvWrap::handoffStats>("handoffStats"),
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
