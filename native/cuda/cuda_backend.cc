// CUDA backend (see cuda_backend.h). Every CUDA call is checked; a failure becomes a Status naming the operation
// and the CUDA error ("cuda backend: cudaMemcpyAsync (device->host, pool 0 -> pool 2) failed: cudaErrorX: text").
#include "cuda_backend.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <string>

#include "cuda_util.h"

namespace nvl {

using cudautil::DeviceGuard;
using cudautil::toStatus;

CudaBackend::FenceRecord::~FenceRecord() {
  for (cudaEvent_t ev : events) (void)cudaEventDestroy(ev);  // errors ignored (e.g. runtime unloading at exit)
}

CudaBackend::CudaBackend(int deviceCount) : deviceCount_(deviceCount > 0 ? deviceCount : 1) {}

CudaBackend::~CudaBackend() { releaseAll(); }

void CudaBackend::releaseAll() {
  // Finish whatever is still queued before freeing memory it may touch. Errors are ignored here: there is nobody
  // to report them to, and at process exit the static runtime may already be shutting down.
  DeviceGuard guard;
  for (Stream& s : streams_) {
    if (s.stream != nullptr) {
      (void)cudaSetDevice(s.device);
      (void)cudaStreamSynchronize(s.stream);
    }
  }
  {
    std::lock_guard<std::mutex> lock(fenceMutex_);
    fences_.clear();  // records destroy their events (a record still held by a waiting thread goes with it)
  }
  for (Pool& p : pools_) {
    if (p.base == nullptr) continue;
    if (p.onDevice) {
      (void)cudaSetDevice(p.device);
      (void)cudaFree(p.base);
    } else {
      (void)cudaFreeHost(p.base);
    }
    p.base = nullptr;
  }
  for (size_t i = 0; i < staging_.size() && i < streams_.size(); ++i) {  // hand-off staging (cuda_handoff.cc)
    if (staging_[i].base == nullptr) continue;
    (void)cudaSetDevice(streams_[i].device);
    (void)cudaFree(staging_[i].base);
  }
  staging_.clear();
  for (Stream& s : streams_) {
    (void)cudaSetDevice(s.device);
    if (s.marker != nullptr) (void)cudaEventDestroy(s.marker);
    if (s.stream != nullptr) (void)cudaStreamDestroy(s.stream);
  }
  streams_.clear();
  pools_.clear();
  slotOfDevice_.clear();
  peerEnabled_.clear();
  (void)cudaGetLastError();
}

std::string CudaBackend::describePool(uint32_t pool) const {
  if (pool >= pools_.size()) return "pool " + std::to_string(pool);
  const Pool& p = pools_[pool];
  if (p.onDevice) {
    return "pool " + std::to_string(pool) + " (device pool of GPU " + std::to_string(p.gpu) + " on CUDA device " +
           std::to_string(p.device) + ")";
  }
  return "pool " + std::to_string(pool) + " (host/disk pool, pinned host memory)";
}

int CudaBackend::slotOfDevice(int device) const {
  if (device < 0 || static_cast<size_t>(device) >= slotOfDevice_.size()) return -1;
  return slotOfDevice_[device];
}

int CudaBackend::cudaDeviceOfPool(uint32_t pool) const {
  if (pool >= pools_.size() || !pools_[pool].onDevice) return -1;
  return pools_[pool].device;
}

void* CudaBackend::blockPointer(uint32_t pool, uint32_t block) const {
  if (pool >= pools_.size()) return nullptr;
  const Pool& p = pools_[pool];
  if (p.base == nullptr || block >= p.numBlocks) return nullptr;
  return p.base + static_cast<uint64_t>(block) * blockBytes_;
}

bool CudaBackend::peerAccessEnabled(int fromDevice, int toDevice) const {
  if (fromDevice < 0 || toDevice < 0 || fromDevice >= deviceCount_ || toDevice >= deviceCount_) return false;
  size_t i = static_cast<size_t>(fromDevice) * deviceCount_ + toDevice;
  return i < peerEnabled_.size() && peerEnabled_[i] != 0;
}

Status CudaBackend::init(const std::vector<PoolShape>& shapes, uint64_t blockBytes) {
  if (initialized_) return Status::Error(Code::Internal, "cuda backend: init called twice");
  if (blockBytes == 0) return Status::Error(Code::InvalidArgument, "cuda backend: blockBytes must be >= 1, got 0");
  DeviceGuard guard;
  blockBytes_ = blockBytes;

  // Sizes and device mapping first (no CUDA calls yet).
  pools_.resize(shapes.size());
  std::vector<uint8_t> deviceUsed(deviceCount_, 0);
  deviceUsed[0] = 1;  // slot 0: device 0, also the host<->host copy stream
  for (size_t i = 0; i < shapes.size(); ++i) {
    Pool& p = pools_[i];
    p.numBlocks = shapes[i].numBlocks;
    p.onDevice = shapes[i].onDevice;
    p.gpu = shapes[i].gpu;
    if (p.numBlocks != 0 && blockBytes > std::numeric_limits<uint64_t>::max() / p.numBlocks) {
      Status st = Status::Error(Code::TooLarge, "cuda backend: pool " + std::to_string(i) + " needs " +
                                                    std::to_string(shapes[i].numBlocks) + " blocks x " +
                                                    std::to_string(blockBytes) + " bytes, which overflows 64 bits");
      pools_.clear();
      return st;
    }
    p.bytes = static_cast<uint64_t>(p.numBlocks) * blockBytes;
    if (p.onDevice) {
      p.device = static_cast<int>(p.gpu % static_cast<uint32_t>(deviceCount_));
      deviceUsed[p.device] = 1;
    }
  }

  // One non-blocking stream (and an ordering marker event) per CUDA device used; device 0 first.
  slotOfDevice_.assign(deviceCount_, -1);
  for (int d = 0; d < deviceCount_; ++d) {
    if (!deviceUsed[d]) continue;
    Stream s;
    s.device = d;
    cudaError_t e = cudaSetDevice(d);
    if (e == cudaSuccess) e = cudaStreamCreateWithFlags(&s.stream, cudaStreamNonBlocking);
    if (e == cudaSuccess) e = cudaEventCreateWithFlags(&s.marker, cudaEventDisableTiming);
    slotOfDevice_[d] = static_cast<int>(streams_.size());
    streams_.push_back(s);  // pushed even when partly created so releaseAll() frees what exists
    if (e != cudaSuccess) {
      Status st = toStatus(e, "creating the stream and event of CUDA device " + std::to_string(d));
      releaseAll();
      return st;
    }
  }

  // Peer access between every pair of devices used, where the hardware allows it (NVLink/PCIe P2P). Not fatal
  // when it cannot be enabled (e.g. cudaErrorTooManyPeers beyond 8 peers): cudaMemcpyPeerAsync still works, staged
  // through host memory.
  peerEnabled_.assign(static_cast<size_t>(deviceCount_) * deviceCount_, 0);
  for (const Stream& a : streams_) {
    for (const Stream& b : streams_) {
      if (a.device == b.device) continue;
      int can = 0;
      if (cudaDeviceCanAccessPeer(&can, a.device, b.device) != cudaSuccess || !can) {
        (void)cudaGetLastError();
        continue;
      }
      cudaError_t e = cudaSetDevice(a.device);
      if (e == cudaSuccess) e = cudaDeviceEnablePeerAccess(b.device, 0);
      if (e == cudaSuccess || e == cudaErrorPeerAccessAlreadyEnabled) {  // already: enabled earlier in this process
        peerEnabled_[static_cast<size_t>(a.device) * deviceCount_ + b.device] = 1;
      }
      (void)cudaGetLastError();
    }
  }

  // One allocation per pool, zero-filled like the CPU backend's memory.
  for (size_t i = 0; i < pools_.size(); ++i) {
    Pool& p = pools_[i];
    if (p.bytes == 0) continue;
    void* ptr = nullptr;
    cudaError_t e;
    std::string what;
    if (p.onDevice) {
      what = "cudaMalloc of " + std::to_string(p.bytes) + " bytes for " + describePool(static_cast<uint32_t>(i));
      e = cudaSetDevice(p.device);
      if (e == cudaSuccess) e = cudaMalloc(&ptr, p.bytes);
      if (e == cudaSuccess) {
        p.base = static_cast<uint8_t*>(ptr);
        e = cudaMemsetAsync(ptr, 0, p.bytes, streams_[slotOfDevice(p.device)].stream);
        if (e != cudaSuccess) what = "cudaMemsetAsync (zero fill) of " + describePool(static_cast<uint32_t>(i));
      }
    } else {
      // Host and disk pools: pinned host memory (cudaHostAlloc = cudaMallocHost plus the Portable flag, so it counts
      // as pinned for every device's context and DMA from any GPU runs at full speed). The disk tier is host memory
      // standing in for local SSD here; a real NVMe tier (GPUDirect Storage / io_uring) would replace this branch.
      what = "cudaHostAlloc (pinned) of " + std::to_string(p.bytes) + " bytes for " +
             describePool(static_cast<uint32_t>(i));
      e = cudaHostAlloc(&ptr, p.bytes, cudaHostAllocPortable);
      if (e == cudaSuccess) {
        p.base = static_cast<uint8_t*>(ptr);
        std::memset(ptr, 0, p.bytes);
      }
    }
    if (e != cudaSuccess) {
      Code code = e == cudaErrorMemoryAllocation ? Code::TooLarge : Code::Internal;
      Status st = toStatus(e, what, code);
      releaseAll();
      return st;
    }
  }
  for (const Stream& s : streams_) {
    cudaError_t e = cudaStreamSynchronize(s.stream);
    if (e != cudaSuccess) {
      Status st = toStatus(e, "cudaStreamSynchronize after zero-filling device pools");
      releaseAll();
      return st;
    }
  }
  initialized_ = true;
  return Status::Ok();
}

Status CudaBackend::checkBlock(uint32_t pool, uint32_t block, const char* what) const {
  if (!initialized_) return Status::Error(Code::Internal, std::string("cuda backend: ") + what + " before init");
  if (pool >= pools_.size()) {
    return Status::Error(Code::InvalidArgument, std::string("cuda backend: ") + what + ": pool must be in [0, " +
                                                    std::to_string(pools_.size()) + "), got " + std::to_string(pool));
  }
  const Pool& p = pools_[pool];
  if (block >= p.numBlocks) {
    return Status::Error(Code::InvalidArgument, std::string("cuda backend: ") + what + ": block of " +
                                                    describePool(pool) + " must be in [0, " +
                                                    std::to_string(p.numBlocks) + "), got " + std::to_string(block));
  }
  return Status::Ok();
}

Status CudaBackend::ensureMarker(int slot) {
  Stream& s = streams_[slot];
  if (s.markerCurrent) return Status::Ok();
  NVL_CUDA_TRY(cudaSetDevice(s.device), "cudaSetDevice(" + std::to_string(s.device) + ")");
  NVL_CUDA_TRY(cudaEventRecord(s.marker, s.stream),
               "cudaEventRecord (ordering marker, CUDA device " + std::to_string(s.device) + ")");
  s.markerCurrent = true;
  return Status::Ok();
}

Status CudaBackend::orderAfter(Pool& pool, int slot) {
  for (int other : pool.touchedBy) {
    if (other == slot) continue;
    Status st = ensureMarker(other);
    if (!st.ok()) return st;
    // The marker may be newer than this pool's last operation on `other`: waiting longer is safe, and it only
    // covers work already enqueued, so streams can never wait on each other in a cycle.
    NVL_CUDA_TRY(cudaStreamWaitEvent(streams_[slot].stream, streams_[other].marker, 0),
                 "cudaStreamWaitEvent (CUDA device " + std::to_string(streams_[slot].device) + " after device " +
                     std::to_string(streams_[other].device) + ")");
    ++stats_.crossStreamWaits;
  }
  return Status::Ok();
}

Status CudaBackend::drainPool(Pool& pool, const char* what) {
  for (int slot : pool.touchedBy) {
    NVL_CUDA_TRY(cudaStreamSynchronize(streams_[slot].stream),
                 std::string(what) + ": cudaStreamSynchronize (CUDA device " +
                     std::to_string(streams_[slot].device) + ")");
  }
  pool.touchedBy.clear();
  return Status::Ok();
}

Status CudaBackend::submitCopy(uint32_t srcPool, uint64_t srcBlock, uint32_t dstPool, uint64_t dstBlock,
                               uint64_t count) {
  Pool& S = pools_[srcPool];
  Pool& D = pools_[dstPool];
  const uint8_t* src = S.base + srcBlock * blockBytes_;
  uint8_t* dst = D.base + dstBlock * blockBytes_;
  const uint64_t bytes = count * blockBytes_;

  int slot;
  const char* kindName;
  cudaMemcpyKind kind = cudaMemcpyDefault;
  bool peer = false;
  if (S.onDevice && D.onDevice) {
    slot = slotOfDevice(S.device);  // peer copies run on the source device's stream (push)
    peer = S.device != D.device;
    kind = cudaMemcpyDeviceToDevice;
    kindName = peer ? "cudaMemcpyPeerAsync (device->device)" : "cudaMemcpyAsync (device->device)";
  } else if (S.onDevice) {
    slot = slotOfDevice(S.device);
    kind = cudaMemcpyDeviceToHost;
    kindName = "cudaMemcpyAsync (device->host)";
  } else if (D.onDevice) {
    slot = slotOfDevice(D.device);
    kind = cudaMemcpyHostToDevice;
    kindName = "cudaMemcpyAsync (host->device)";
  } else {
    slot = 0;
    kind = cudaMemcpyHostToHost;
    kindName = "cudaMemcpyAsync (host->host)";
  }

  Status st = orderAfter(S, slot);
  if (st.ok() && dstPool != srcPool) st = orderAfter(D, slot);
  if (!st.ok()) return st;

  Stream& s = streams_[slot];
  auto what = [&]() {
    return std::string(kindName) + " of " + std::to_string(count) + " block(s), " + std::to_string(bytes) +
           " bytes, " + describePool(srcPool) + " block " + std::to_string(srcBlock) + " -> " +
           describePool(dstPool) + " block " + std::to_string(dstBlock);
  };
  cudaError_t e = cudaSetDevice(s.device);
  if (e == cudaSuccess) {
    e = peer ? cudaMemcpyPeerAsync(dst, D.device, src, S.device, bytes, s.stream)
             : cudaMemcpyAsync(dst, src, bytes, kind, s.stream);
  }
  if (e != cudaSuccess) return toStatus(e, what());

  s.markerCurrent = false;
  s.workSinceFence = true;
  S.touchedBy.assign(1, slot);
  D.touchedBy.assign(1, slot);
  stats_.blocksCopied += count;
  ++stats_.memcpyCalls;
  if (peer) ++stats_.peerCopies;
  return Status::Ok();
}

Status CudaBackend::copy(const std::vector<CopyOp>& ops) {
  DeviceGuard guard;
  // Validate the whole batch first, so a bad op does not leave it half submitted.
  if (!initialized_) return Status::Error(Code::Internal, "cuda backend: copy before init");
  const size_t numPools = pools_.size();
  for (size_t i = 0; i < ops.size(); ++i) {
    const CopyOp& op = ops[i];
    if (op.srcPool < numPools && op.srcBlock < pools_[op.srcPool].numBlocks && op.dstPool < numPools &&
        op.dstBlock < pools_[op.dstPool].numBlocks) {
      continue;
    }
    std::string what = "copy op " + std::to_string(i) + " source";
    Status st = checkBlock(op.srcPool, op.srcBlock, what.c_str());
    if (st.ok()) {
      what = "copy op " + std::to_string(i) + " destination";
      st = checkBlock(op.dstPool, op.dstBlock, what.c_str());
    }
    return st;
  }
  // Coalesce runs of consecutive blocks (src and dst both contiguous, same pools) into one memcpy. Within one
  // pool, a run is only merged while its source and destination ranges stay disjoint, so the merged copy reads
  // exactly what the op-by-op sequence would have read.
  size_t i = 0;
  while (i < ops.size()) {
    const CopyOp& first = ops[i];
    if (first.srcPool == first.dstPool && first.srcBlock == first.dstBlock) {  // copying a block onto itself
      ++i;
      continue;
    }
    uint64_t n = 1;
    while (i + n < ops.size()) {
      const CopyOp& next = ops[i + n];
      if (next.srcPool != first.srcPool || next.dstPool != first.dstPool ||
          static_cast<uint64_t>(next.srcBlock) != first.srcBlock + n ||
          static_cast<uint64_t>(next.dstBlock) != first.dstBlock + n) {
        break;
      }
      if (first.srcPool == first.dstPool) {
        uint64_t s0 = first.srcBlock, d0 = first.dstBlock, len = n + 1;
        if (!(s0 + len <= d0 || d0 + len <= s0)) break;
      }
      ++n;
    }
    Status st = submitCopy(first.srcPool, first.srcBlock, first.dstPool, first.dstBlock, n);
    if (!st.ok()) return st;
    i += n;
  }
  return Status::Ok();
}

Status CudaBackend::write(uint32_t pool, uint32_t block, uint64_t offsetBytes, const uint8_t* data, uint64_t size) {
  Status st = checkBlock(pool, block, "write");
  if (!st.ok()) return st;
  if (offsetBytes > blockBytes_ || size > blockBytes_ - offsetBytes) {
    return Status::Error(Code::InvalidArgument, "cuda backend: write: offset " + std::to_string(offsetBytes) +
                                                    " + size " + std::to_string(size) + " exceeds blockBytes " +
                                                    std::to_string(blockBytes_));
  }
  if (size == 0) return Status::Ok();
  if (data == nullptr) return Status::Error(Code::InvalidArgument, "cuda backend: write: data is null");
  Pool& p = pools_[pool];
  uint8_t* dst = p.base + static_cast<uint64_t>(block) * blockBytes_ + offsetBytes;
  DeviceGuard guard;
  if (!p.onDevice) {
    st = drainPool(p, "write");
    if (!st.ok()) return st;
    std::memcpy(dst, data, size);
    return Status::Ok();
  }
  int slot = slotOfDevice(p.device);
  st = orderAfter(p, slot);
  if (!st.ok()) return st;
  Stream& s = streams_[slot];
  const std::string where = describePool(pool) + " block " + std::to_string(block);
  NVL_CUDA_TRY(cudaSetDevice(s.device), "write: cudaSetDevice(" + std::to_string(s.device) + ")");
  NVL_CUDA_TRY(cudaMemcpyAsync(dst, data, size, cudaMemcpyHostToDevice, s.stream),
               "write: cudaMemcpyAsync (host->device) of " + std::to_string(size) + " bytes to " + where);
  s.markerCurrent = false;
  s.workSinceFence = true;
  // `data` belongs to the caller: the copy must be complete before returning.
  NVL_CUDA_TRY(cudaStreamSynchronize(s.stream), "write: cudaStreamSynchronize after writing " + where);
  p.touchedBy.clear();  // that stream waited for every other stream's work on this pool, and it is idle now
  return Status::Ok();
}

Status CudaBackend::read(uint32_t pool, uint32_t block, uint64_t offsetBytes, uint8_t* out, uint64_t size) {
  Status st = checkBlock(pool, block, "read");
  if (!st.ok()) return st;
  if (offsetBytes > blockBytes_ || size > blockBytes_ - offsetBytes) {
    return Status::Error(Code::InvalidArgument, "cuda backend: read: offset " + std::to_string(offsetBytes) +
                                                    " + size " + std::to_string(size) + " exceeds blockBytes " +
                                                    std::to_string(blockBytes_));
  }
  if (size == 0) return Status::Ok();
  if (out == nullptr) return Status::Error(Code::InvalidArgument, "cuda backend: read: out is null");
  Pool& p = pools_[pool];
  const uint8_t* src = p.base + static_cast<uint64_t>(block) * blockBytes_ + offsetBytes;
  DeviceGuard guard;
  if (!p.onDevice) {
    st = drainPool(p, "read");
    if (!st.ok()) return st;
    std::memcpy(out, src, size);
    return Status::Ok();
  }
  int slot = slotOfDevice(p.device);
  st = orderAfter(p, slot);
  if (!st.ok()) return st;
  Stream& s = streams_[slot];
  const std::string where = describePool(pool) + " block " + std::to_string(block);
  NVL_CUDA_TRY(cudaSetDevice(s.device), "read: cudaSetDevice(" + std::to_string(s.device) + ")");
  NVL_CUDA_TRY(cudaMemcpyAsync(out, src, size, cudaMemcpyDeviceToHost, s.stream),
               "read: cudaMemcpyAsync (device->host) of " + std::to_string(size) + " bytes from " + where);
  s.markerCurrent = false;
  s.workSinceFence = true;
  NVL_CUDA_TRY(cudaStreamSynchronize(s.stream), "read: cudaStreamSynchronize after reading " + where);
  p.touchedBy.clear();
  return Status::Ok();
}

uint64_t CudaBackend::fence() {
  bool work = false;
  for (const Stream& s : streams_) work = work || s.workSinceFence;
  {
    std::lock_guard<std::mutex> lock(fenceMutex_);
    if (!work && lastTicket_ != 0) return lastTicket_;  // nothing new: the previous ticket covers everything
  }

  DeviceGuard guard;
  auto rec = std::make_shared<FenceRecord>();
  for (Stream& s : streams_) {
    cudaEvent_t ev = nullptr;
    // Blocking sync: a thread in wait() sleeps instead of spinning a CPU core.
    cudaError_t e = cudaSetDevice(s.device);
    if (e == cudaSuccess) e = cudaEventCreateWithFlags(&ev, cudaEventDisableTiming | cudaEventBlockingSync);
    if (e == cudaSuccess) {
      rec->events.push_back(ev);
      e = cudaEventRecord(ev, s.stream);
    }
    if (e != cudaSuccess) {
      rec->error = toStatus(e, "fence: recording an event on the stream of CUDA device " + std::to_string(s.device));
      break;
    }
    s.workSinceFence = false;
  }

  std::lock_guard<std::mutex> lock(fenceMutex_);
  rec->ticket = ++lastTicket_;
  if (!rec->error.ok()) {
    // Kept apart so it never blocks retiring the others; wait() on this ticket reports the error.
    failedFences_[rec->ticket] = rec->error;
    return rec->ticket;
  }
  fences_.push_back(rec);
  // Retire fences that have completed, oldest first, so a caller that never waits does not grow the list.
  while (!fences_.empty()) {
    bool done = true;
    for (cudaEvent_t ev : fences_.front()->events) {
      cudaError_t q = cudaEventQuery(ev);
      if (q != cudaSuccess) {
        if (q != cudaErrorNotReady) (void)cudaGetLastError();  // left for wait() to report
        done = false;
        break;
      }
    }
    if (!done) break;
    completedTicket_ = std::max(completedTicket_, fences_.front()->ticket);
    fences_.pop_front();
  }
  return rec->ticket;
}

Status CudaBackend::wait(uint64_t ticket) {
  if (ticket == 0) return Status::Ok();
  std::shared_ptr<FenceRecord> rec;
  {
    std::lock_guard<std::mutex> lock(fenceMutex_);
    if (ticket > lastTicket_) {
      return Status::Error(Code::InvalidArgument, "cuda backend: wait: unknown fence ticket " +
                                                      std::to_string(ticket) + " (last issued " +
                                                      std::to_string(lastTicket_) + ")");
    }
    auto failed = failedFences_.find(ticket);
    if (failed != failedFences_.end()) return failed->second;
    if (ticket <= completedTicket_) return Status::Ok();
    for (const auto& r : fences_) {
      if (r->ticket == ticket) {
        rec = r;
        break;
      }
    }
    if (!rec) return Status::Ok();  // already retired
  }
  for (cudaEvent_t ev : rec->events) {
    cudaError_t e = cudaEventSynchronize(ev);
    if (e != cudaSuccess) return toStatus(e, "wait(ticket " + std::to_string(ticket) + "): cudaEventSynchronize");
  }
  std::lock_guard<std::mutex> lock(fenceMutex_);
  completedTicket_ = std::max(completedTicket_, ticket);
  while (!fences_.empty() && fences_.front()->ticket <= completedTicket_) fences_.pop_front();
  return Status::Ok();
}

}  // namespace nvl
