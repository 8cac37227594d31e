// The CUDA backend: block memory in GPU HBM (device pools) and pinned host memory (host and disk pools), copies on
// CUDA streams. Created through makeCudaBackend() (backend.h); the class is visible here for the GPU check program
// (native/cuda/tests/cuda_backend_check.cc), which also inspects pointers and copy statistics.
//
// Device mapping: pool with PoolShape{onDevice, gpu} lives on CUDA device `gpu % cudaDeviceCount`; a topology with
// more GPUs than this process sees (an NVL72 rack model on one 4-GPU tray or on a single test GPU) wraps around.
// Host and disk pools are pinned host memory; the disk tier is host memory standing in for local SSD here.
//
// Streams and ordering: one non-blocking stream per CUDA device used (device 0's stream also runs host<->host
// copies). Calls execute in submission order per pool: every pool remembers which streams touched it last, and an
// operation on another stream first waits (cudaStreamWaitEvent) on those streams' latest work. So a block released
// by a move and re-taken by a later call is never written before the copy out of it has happened, even when the
// two operations run on different devices' streams (the ordering invariant of backend.h).
//
// Threads: init/copy/write/read/fence belong to one owner thread (the core is not thread-safe); wait() may be called
// from any thread, concurrently with the owner.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "backend.h"

namespace nvl {

class CudaBackend final : public Backend {
 public:
  // `deviceCount` > 0: the number of CUDA devices cudaGetDeviceCount reported.
  explicit CudaBackend(int deviceCount);
  ~CudaBackend() override;
  CudaBackend(const CudaBackend&) = delete;
  CudaBackend& operator=(const CudaBackend&) = delete;

  const char* name() const override { return "cuda"; }
  Status init(const std::vector<PoolShape>& pools, uint64_t blockBytes) override;
  Status copy(const std::vector<CopyOp>& ops) override;
  Status write(uint32_t pool, uint32_t block, uint64_t offsetBytes, const uint8_t* data, uint64_t size) override;
  Status read(uint32_t pool, uint32_t block, uint64_t offsetBytes, uint8_t* out, uint64_t size) override;
  // Hand-off (native/cuda/cuda_handoff.cc; UNTESTED ON A DEVICE): one cudaMemcpy2DAsync per strided piece.
  Status gather(uint32_t pool, const std::vector<StridedPiece>& pieces, uint8_t* out) override;
  Status scatter(uint32_t pool, const std::vector<StridedPiece>& pieces, const uint8_t* in) override;
  Status handoffStaging(uint32_t pool, uint64_t bytes, void** out) override;
  Status packDevice(uint32_t pool, const std::vector<StridedPiece>& pieces, void* staging) override;
  Status unpackDevice(uint32_t pool, const std::vector<StridedPiece>& pieces, const void* staging) override;
  Status poolStream(uint32_t pool, void** stream) override;
  uint64_t fence() override;
  Status wait(uint64_t ticket) override;

  // --- introspection (tests, diagnostics) ---
  int deviceCount() const { return deviceCount_; }
  uint64_t blockBytes() const { return blockBytes_; }
  // CUDA device of a device pool; -1 for a host/disk pool or a bad index.
  int cudaDeviceOfPool(uint32_t pool) const;
  // Device pointer (device pool) or pinned host pointer (host/disk pool) of a block; null when out of range.
  void* blockPointer(uint32_t pool, uint32_t block) const;
  bool peerAccessEnabled(int fromDevice, int toDevice) const;
  struct CopyStats {
    uint64_t blocksCopied = 0;      // CopyOps executed (no-op self copies excluded)
    uint64_t memcpyCalls = 0;       // cudaMemcpyAsync / cudaMemcpyPeerAsync calls issued by copy()
    uint64_t peerCopies = 0;        // of which cudaMemcpyPeerAsync
    uint64_t crossStreamWaits = 0;  // cudaStreamWaitEvent calls made for ordering
  };
  CopyStats copyStats() const { return stats_; }

 private:
  struct Pool {
    uint8_t* base = nullptr;
    uint64_t bytes = 0;
    uint32_t numBlocks = 0;
    bool onDevice = false;
    uint32_t gpu = 0;             // topology GPU index (device pools)
    int device = -1;              // CUDA device (device pools)
    std::vector<int> touchedBy;   // stream slots with work on this pool not yet ordered before / synchronized
  };
  struct Stream {
    int device = 0;
    cudaStream_t stream = nullptr;
    cudaEvent_t marker = nullptr;  // re-recorded on demand; other streams wait on it
    bool markerCurrent = true;     // no work enqueued since the marker was last recorded
    bool workSinceFence = false;
  };
  struct FenceRecord {
    uint64_t ticket = 0;
    std::vector<cudaEvent_t> events;
    Status error;  // set when the fence could not be recorded
    ~FenceRecord();
  };

  Status checkBlock(uint32_t pool, uint32_t block, const char* what) const;
  std::string describePool(uint32_t pool) const;
  int slotOfDevice(int device) const;
  Status ensureMarker(int slot);
  // Makes stream `slot` wait for the other streams' pending work on `pool`.
  Status orderAfter(Pool& pool, int slot);
  // Waits on the host until no stream has pending work on `pool`.
  Status drainPool(Pool& pool, const char* what);
  Status submitCopy(uint32_t srcPool, uint64_t srcBlock, uint32_t dstPool, uint64_t dstBlock, uint64_t count);
  void releaseAll();
  // 2-D copies between one pool's blocks and `other` (host or device memory) on the pool's stream; toPool picks
  // the direction. Leaves the work enqueued (callers synchronize when `other` is caller-owned host memory).
  Status strided(uint32_t pool, const std::vector<StridedPiece>& pieces, uint8_t* other, bool toPool,
                 cudaMemcpyKind kind, const char* what);

  const int deviceCount_;
  bool initialized_ = false;
  uint64_t blockBytes_ = 0;
  std::vector<Pool> pools_;
  std::vector<Stream> streams_;      // slot 0 is CUDA device 0 (also used for host<->host copies)
  std::vector<int> slotOfDevice_;    // CUDA device -> slot, -1 when unused
  std::vector<uint8_t> peerEnabled_; // deviceCount x deviceCount
  CopyStats stats_;
  struct Staging {
    void* base = nullptr;
    uint64_t bytes = 0;
  };
  std::vector<Staging> staging_;     // per stream slot (hand-off staging buffers)

  mutable std::mutex fenceMutex_;    // guards the fields below (wait() runs on other threads)
  uint64_t lastTicket_ = 0;
  uint64_t completedTicket_ = 0;
  std::deque<std::shared_ptr<FenceRecord>> fences_;  // pending fences, ticket ascending
  std::map<uint64_t, Status> failedFences_;           // fences that could not be recorded
};

}  // namespace nvl
