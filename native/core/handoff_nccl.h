// A point-to-point NCCL link for KV hand-off chunks between a prefill process and a decode process on GPUs of one
// NVLink domain (NCCL then moves the bytes over NVLink). UNTESTED ON A DEVICE: it compiles everywhere (NCCL is
// dlopen'ed, nccl_loader.h), but no session with GPUs has run it. Without NCCL every call is E_BACKEND_UNAVAILABLE.
//
// Set-up (the workers exchange 128 bytes over their gRPC channel):
//   rank 0 (source)       NcclHandoffLink::newUniqueId(id)  → send id to the destination worker
//   both                  KvManager::handoffOpenLink(gpu, id, rank, link)   (rank 0 source, 1 destination)
// Then per chunk, in the same order on both sides (NCCL point-to-point calls match in order):
//   source                KvManager::handoffSendChunk(handoffId, c, *link)
//   destination           KvManager::handoffRecvChunk(ticketId, c, *link)
// The destination's commit waits for the received chunks (a backend fence) before the sequence becomes runnable.
#pragma once
#include <memory>

#include "nccl_loader.h"
#include "status.h"

namespace nvl {

class NcclHandoffLink {
 public:
  static Status newUniqueId(ncclUniqueId& out);
  // Call with the CUDA device of the GPU current (handoffOpenLink does). Blocks until the peer joined.
  static Status create(const ncclUniqueId& id, int rank, std::unique_ptr<NcclHandoffLink>& out);
  ~NcclHandoffLink();
  NcclHandoffLink(const NcclHandoffLink&) = delete;
  NcclHandoffLink& operator=(const NcclHandoffLink&) = delete;

  int rank() const { return rank_; }
  // Enqueued on `stream` (a cudaStream_t): returns before the bytes moved.
  Status send(const void* devicePtr, uint64_t bytes, void* stream);
  Status recv(void* devicePtr, uint64_t bytes, void* stream);
  // After a failure: aborts the communicator (pending operations end), so both sides can fall back to recompute.
  void abort();

 private:
  NcclHandoffLink(ncclComm_t comm, int rank) : comm_(comm), rank_(rank) {}
  ncclComm_t comm_ = nullptr;
  int rank_ = 0;
};

}  // namespace nvl
