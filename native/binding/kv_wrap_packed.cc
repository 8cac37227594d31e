// The hot paths of KvWrap that hand data to JavaScript in bulk instead of as objects: packed prefix matches,
// packed event drains, and the shared result buffer (building a JS object through N-API costs ~0.3 µs per
// property; typed arrays and a few numbers cost almost nothing, and the facade builds objects in JS).
#include <cstring>

#include "args.h"
#include "kv_wrap.h"

namespace nvlb {

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
  if (resultRef_.IsEmpty()) throwCode(env, nvl::Code::Internal, "setResultBuffer() was not called");
  // Re-read the array on every call rather than trusting a pointer taken once: the caller may have transferred or
  // detached its ArrayBuffer since (structuredClone with transfer), which frees the memory under a cached pointer.
  Napi::Uint32Array buffer = resultRef_.Value();
  if (buffer.ElementLength() < 4 || buffer.Data() == nullptr) {
    throwCode(env, nvl::Code::InvalidArgument, "result buffer is detached or shorter than 4 elements: call setResultBuffer() again");
  }
  result_ = buffer.Data();
  return result_;
}

}  // namespace nvlb
