// The CUDA backend's KV hand-off paths (native/SPEC.md §11). UNTESTED ON A DEVICE: written against the CUDA runtime
// API and compiled by the CUDA build, but no session with a GPU has run it yet (native/cuda/README.md "Hand-off").
//
// - gather / scatter (host staging, used by handoffExport / handoffImport): one cudaMemcpy2DAsync per strided piece
//   (a chunk's layer slice of one block: rows = tokens, width = the slice, pitch = bytesPerToken) on the pool's
//   stream, then one synchronize, instead of the base class's read()/write() per row.
// - handoffStaging / packDevice / unpackDevice / poolStream (device path, used by KvManager::handoffSendChunk /
//   handoffRecvChunk with an NCCL link): the chunk is packed device-to-device into a staging buffer on the pool's
//   stream and handed to ncclSend / ncclRecv on that same stream, so no host round trip and no extra sync.
#include <string>

#include "cuda_backend.h"
#include "cuda_util.h"

namespace nvl {

using cudautil::DeviceGuard;
using cudautil::toStatus;

Status CudaBackend::strided(uint32_t pool, const std::vector<StridedPiece>& pieces, uint8_t* other, bool toPool,
                            cudaMemcpyKind kind, const char* what) {
  Pool& p = pools_[pool];
  const int slot = slotOfDevice(p.device);
  Status st = orderAfter(p, slot);
  if (!st.ok()) return st;
  Stream& s = streams_[slot];
  NVL_CUDA_TRY(cudaSetDevice(s.device), std::string(what) + ": cudaSetDevice(" + std::to_string(s.device) + ")");
  uint64_t pos = 0;
  for (const StridedPiece& piece : pieces) {
    if (piece.rows == 0 || piece.widthBytes == 0) continue;
    uint8_t* blockBase = p.base + uint64_t(piece.block) * blockBytes_ + piece.offsetBytes;
    const cudaError_t e =
        toPool ? cudaMemcpy2DAsync(blockBase, piece.pitchBytes, other + pos, piece.widthBytes, piece.widthBytes,
                                   piece.rows, kind, s.stream)
               : cudaMemcpy2DAsync(other + pos, piece.widthBytes, blockBase, piece.pitchBytes, piece.widthBytes,
                                   piece.rows, kind, s.stream);
    if (e != cudaSuccess) {
      return toStatus(e, std::string(what) + ": cudaMemcpy2DAsync of " + std::to_string(piece.rows) + " x " +
                             std::to_string(piece.widthBytes) + " bytes, " + describePool(pool) + " block " +
                             std::to_string(piece.block));
    }
    pos += uint64_t(piece.rows) * piece.widthBytes;
    ++stats_.memcpyCalls;
  }
  s.markerCurrent = false;
  s.workSinceFence = true;
  p.touchedBy.assign(1, slot);
  return Status::Ok();
}

// Checks every piece lies inside its block, so a bad plan cannot address memory outside the pool.
static Status checkPieces(const std::vector<StridedPiece>& pieces, uint32_t numBlocks, uint64_t blockBytes,
                          const char* what) {
  for (const StridedPiece& p : pieces) {
    const bool inside = p.block < numBlocks && p.widthBytes <= p.pitchBytes &&
                        (p.rows == 0 || p.offsetBytes + uint64_t(p.rows - 1) * p.pitchBytes + p.widthBytes <= blockBytes);
    if (!inside) {
      return Status::Error(Code::InvalidArgument, std::string("cuda backend: ") + what + ": a piece of block " +
                                                      std::to_string(p.block) + " lies outside the block");
    }
  }
  return Status::Ok();
}

Status CudaBackend::gather(uint32_t pool, const std::vector<StridedPiece>& pieces, uint8_t* out) {
  if (pool >= pools_.size() || !pools_[pool].onDevice) return Backend::gather(pool, pieces, out);  // host: memcpy
  Status st = checkPieces(pieces, pools_[pool].numBlocks, blockBytes_, "gather");
  if (!st.ok()) return st;
  DeviceGuard guard;
  if (!(st = strided(pool, pieces, out, false, cudaMemcpyDeviceToHost, "gather")).ok()) return st;
  Stream& s = streams_[slotOfDevice(pools_[pool].device)];
  NVL_CUDA_TRY(cudaStreamSynchronize(s.stream), "gather: cudaStreamSynchronize");  // `out` is the caller's
  pools_[pool].touchedBy.clear();
  return Status::Ok();
}

Status CudaBackend::scatter(uint32_t pool, const std::vector<StridedPiece>& pieces, const uint8_t* in) {
  if (pool >= pools_.size() || !pools_[pool].onDevice) return Backend::scatter(pool, pieces, in);
  Status st = checkPieces(pieces, pools_[pool].numBlocks, blockBytes_, "scatter");
  if (!st.ok()) return st;
  DeviceGuard guard;
  if (!(st = strided(pool, pieces, const_cast<uint8_t*>(in), true, cudaMemcpyHostToDevice, "scatter")).ok()) return st;
  Stream& s = streams_[slotOfDevice(pools_[pool].device)];
  NVL_CUDA_TRY(cudaStreamSynchronize(s.stream), "scatter: cudaStreamSynchronize");  // `in` is the caller's
  pools_[pool].touchedBy.clear();
  return Status::Ok();
}

Status CudaBackend::handoffStaging(uint32_t pool, uint64_t bytes, void** out) {
  if (pool >= pools_.size() || !pools_[pool].onDevice) {
    return Status::Error(Code::InvalidArgument, "cuda backend: handoffStaging needs a device pool");
  }
  const int slot = slotOfDevice(pools_[pool].device);
  if (staging_.size() < streams_.size()) staging_.resize(streams_.size());
  Staging& st = staging_[size_t(slot)];
  if (st.bytes < bytes) {
    DeviceGuard guard;
    Stream& s = streams_[slot];
    NVL_CUDA_TRY(cudaSetDevice(s.device), "handoffStaging: cudaSetDevice");
    // Work already enqueued may still read or write the old buffer.
    NVL_CUDA_TRY(cudaStreamSynchronize(s.stream), "handoffStaging: cudaStreamSynchronize before growing");
    if (st.base != nullptr) NVL_CUDA_TRY(cudaFree(st.base), "handoffStaging: cudaFree");
    st.base = nullptr;
    st.bytes = 0;
    void* base = nullptr;
    const cudaError_t e = cudaMalloc(&base, bytes);
    if (e != cudaSuccess) {
      return toStatus(e, "handoffStaging: cudaMalloc of " + std::to_string(bytes) + " bytes",
                      e == cudaErrorMemoryAllocation ? Code::TooLarge : Code::Internal);
    }
    st.base = base;
    st.bytes = bytes;
  }
  *out = st.base;
  return Status::Ok();
}

Status CudaBackend::packDevice(uint32_t pool, const std::vector<StridedPiece>& pieces, void* staging) {
  if (pool >= pools_.size() || !pools_[pool].onDevice) {
    return Status::Error(Code::InvalidArgument, "cuda backend: packDevice needs a device pool");
  }
  Status st = checkPieces(pieces, pools_[pool].numBlocks, blockBytes_, "packDevice");
  if (!st.ok()) return st;
  DeviceGuard guard;
  return strided(pool, pieces, static_cast<uint8_t*>(staging), false, cudaMemcpyDeviceToDevice, "packDevice");
}

Status CudaBackend::unpackDevice(uint32_t pool, const std::vector<StridedPiece>& pieces, const void* staging) {
  if (pool >= pools_.size() || !pools_[pool].onDevice) {
    return Status::Error(Code::InvalidArgument, "cuda backend: unpackDevice needs a device pool");
  }
  Status st = checkPieces(pieces, pools_[pool].numBlocks, blockBytes_, "unpackDevice");
  if (!st.ok()) return st;
  DeviceGuard guard;
  return strided(pool, pieces, static_cast<uint8_t*>(const_cast<void*>(staging)), true, cudaMemcpyDeviceToDevice,
                 "unpackDevice");
}

Status CudaBackend::poolStream(uint32_t pool, void** stream) {
  if (pool >= pools_.size() || !pools_[pool].onDevice) {
    return Status::Error(Code::InvalidArgument, "cuda backend: poolStream needs a device pool");
  }
  Stream& s = streams_[slotOfDevice(pools_[pool].device)];
  NVL_CUDA_TRY(cudaSetDevice(s.device), "poolStream: cudaSetDevice");  // left current on purpose (NCCL follows)
  *stream = s.stream;
  return Status::Ok();
}

}  // namespace nvl
