// Where block bytes live and how they are copied. The core decides *what* moves (metadata, plans); a backend
// only executes copies and reads/writes. Metadata mode has no backend memory at all.
//
// Ordering invariant: a backend executes every call in submission order (the CPU backend synchronously; the CUDA
// backend on one stream), so a block released by a move and re-taken by a later call is never written before the
// copy out of it has happened. fence()/wait() let callers learn when submitted copies are complete.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "status.h"

namespace nvl {

// A pool's place in the location order (SPEC §2): device pools, then host pools, then disk pools.
struct PoolShape {
  uint32_t numBlocks = 0;
  bool onDevice = false;   // HBM of a GPU
  uint32_t gpu = 0;        // topology GPU index when onDevice
};

// `rows` runs of `widthBytes`, the first at `offsetBytes` inside one block and each next one `pitchBytes` further,
// packed back to back in a host buffer. A hand-off chunk's layer slice of a block's tokens is one piece.
struct StridedPiece {
  uint32_t block = 0;
  uint64_t offsetBytes = 0;
  uint64_t widthBytes = 0;
  uint64_t pitchBytes = 0;
  uint32_t rows = 0;
};

struct CopyOp {
  uint32_t srcPool = 0;
  uint32_t srcBlock = 0;
  uint32_t dstPool = 0;
  uint32_t dstBlock = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual const char* name() const = 0;  // "cpu" or "cuda"
  // Allocates memory for every pool (bytes mode). Called once.
  virtual Status init(const std::vector<PoolShape>& pools, uint64_t blockBytes) = 0;
  virtual Status copy(const std::vector<CopyOp>& ops) = 0;
  virtual Status write(uint32_t pool, uint32_t block, uint64_t offsetBytes, const uint8_t* data, uint64_t size) = 0;
  virtual Status read(uint32_t pool, uint32_t block, uint64_t offsetBytes, uint8_t* out, uint64_t size) = 0;
  // Packs / unpacks strided pieces of one pool to / from a host buffer, complete on return. The defaults go row by
  // row through read()/write() (fine for the CPU backend); the CUDA backend overrides them with one 2-D copy per
  // piece and a single synchronize. Inline so that the vtable needs no symbol of nvl_core (see nccl_loader.h).
  virtual Status gather(uint32_t pool, const std::vector<StridedPiece>& pieces, uint8_t* out) {
    for (const StridedPiece& p : pieces) {
      for (uint32_t r = 0; r < p.rows; ++r) {
        Status s = read(pool, p.block, p.offsetBytes + uint64_t(r) * p.pitchBytes, out, p.widthBytes);
        if (!s.ok()) return s;
        out += p.widthBytes;
      }
    }
    return Status::Ok();
  }
  virtual Status scatter(uint32_t pool, const std::vector<StridedPiece>& pieces, const uint8_t* in) {
    for (const StridedPiece& p : pieces) {
      for (uint32_t r = 0; r < p.rows; ++r) {
        Status s = write(pool, p.block, p.offsetBytes + uint64_t(r) * p.pitchBytes, in, p.widthBytes);
        if (!s.ok()) return s;
        in += p.widthBytes;
      }
    }
    return Status::Ok();
  }
  // --- device-side hand-off (CUDA backend; UNTESTED ON A DEVICE, see native/cuda/README.md "Hand-off") ---
  // A device buffer of at least `bytes` on the CUDA device of device pool `pool`, owned by the backend and reused
  // (grown on demand) by later calls for that device; work on the pool's stream is ordered before any reuse.
  virtual Status handoffStaging(uint32_t pool, uint64_t bytes, void** out) {
    (void)pool, (void)bytes, (void)out;
    return unsupported("handoffStaging");
  }
  // Asynchronous packs / unpacks between a device pool's blocks and device memory, on the pool's stream (ordered
  // after earlier work on the pool, like copy()).
  virtual Status packDevice(uint32_t pool, const std::vector<StridedPiece>& pieces, void* staging) {
    (void)pool, (void)pieces, (void)staging;
    return unsupported("packDevice");
  }
  virtual Status unpackDevice(uint32_t pool, const std::vector<StridedPiece>& pieces, const void* staging) {
    (void)pool, (void)pieces, (void)staging;
    return unsupported("unpackDevice");
  }
  // The stream (a cudaStream_t) the two calls above use for `pool`; makes its device current on this thread so
  // that NCCL calls enqueued next are ordered with them.
  virtual Status poolStream(uint32_t pool, void** stream) {
    (void)pool, (void)stream;
    return unsupported("poolStream");
  }
  // A ticket covering everything submitted so far; wait() blocks until it is done (safe off the JS thread).
  virtual uint64_t fence() = 0;
  virtual Status wait(uint64_t ticket) = 0;

 protected:
  Status unsupported(const char* call) const {
    return Status::Error(Code::BackendUnavailable,
                         std::string(call) + " needs the CUDA backend (device memory); this backend is " + name());
  }
};

std::unique_ptr<Backend> makeCpuBackend();

// What the machine offers; filled by probeCuda() (stub when built without CUDA) and probeNccl().
struct DeviceProbe {
  bool cudaCompiled = false;
  int cudaDeviceCount = 0;
  std::string cudaError;
  bool ncclLoaded = false;
  int ncclVersion = 0;
  std::string ncclError;
};
DeviceProbe probeDevices();

// Null with a status when CUDA was not compiled in or no device is usable.
std::unique_ptr<Backend> makeCudaBackend(Status& status);

}  // namespace nvl
