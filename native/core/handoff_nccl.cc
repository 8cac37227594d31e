// NcclHandoffLink (handoff_nccl.h). UNTESTED ON A DEVICE.
#include "handoff_nccl.h"

#include <string>

namespace nvl {
namespace {

Status unavailable(const NcclLibrary& lib) {
  return Status::Error(Code::BackendUnavailable, "NCCL is not loaded: " + lib.error);
}

Status fromNccl(ncclResult_t r, const std::string& what) {
  return Status::Error(r == ncclInvalidArgument || r == ncclInvalidUsage ? Code::InvalidArgument : Code::Internal,
                       "nccl hand-off link: " + what + " failed: " + ncclResultText(r));
}

}  // namespace

Status NcclHandoffLink::newUniqueId(ncclUniqueId& out) {
  const NcclLibrary& lib = ncclLibrary();
  if (!lib.loaded) return unavailable(lib);
  const ncclResult_t r = lib.api.getUniqueId(&out);
  return r == ncclSuccess ? Status::Ok() : fromNccl(r, "ncclGetUniqueId");
}

Status NcclHandoffLink::create(const ncclUniqueId& id, int rank, std::unique_ptr<NcclHandoffLink>& out) {
  const NcclLibrary& lib = ncclLibrary();
  if (!lib.loaded) return unavailable(lib);
  if (rank != 0 && rank != 1) {
    return Status::Error(Code::InvalidArgument, "rank must be 0 (source) or 1 (destination), got " + std::to_string(rank));
  }
  ncclComm_t comm = nullptr;
  const ncclResult_t r = lib.api.commInitRank(&comm, 2, id, rank);
  if (r != ncclSuccess) return fromNccl(r, "ncclCommInitRank");
  out.reset(new NcclHandoffLink(comm, rank));
  return Status::Ok();
}

NcclHandoffLink::~NcclHandoffLink() {
  if (comm_ != nullptr) (void)ncclLibrary().api.commDestroy(comm_);
}

Status NcclHandoffLink::send(const void* devicePtr, uint64_t bytes, void* stream) {
  const NcclLibrary& lib = ncclLibrary();
  if (comm_ == nullptr) return Status::Error(Code::Internal, "nccl hand-off link was aborted");
  const ncclResult_t r = lib.api.send(devicePtr, size_t(bytes), ncclUint8, 1 - rank_, comm_,
                                      static_cast<ncclStream_t>(stream));
  return r == ncclSuccess ? Status::Ok() : fromNccl(r, "ncclSend of " + std::to_string(bytes) + " bytes");
}

Status NcclHandoffLink::recv(void* devicePtr, uint64_t bytes, void* stream) {
  const NcclLibrary& lib = ncclLibrary();
  if (comm_ == nullptr) return Status::Error(Code::Internal, "nccl hand-off link was aborted");
  const ncclResult_t r = lib.api.recv(devicePtr, size_t(bytes), ncclUint8, 1 - rank_, comm_,
                                      static_cast<ncclStream_t>(stream));
  return r == ncclSuccess ? Status::Ok() : fromNccl(r, "ncclRecv of " + std::to_string(bytes) + " bytes");
}

void NcclHandoffLink::abort() {
  const NcclLibrary& lib = ncclLibrary();
  if (comm_ == nullptr) return;
  if (lib.api.commAbort != nullptr) {
    (void)lib.api.commAbort(comm_);
  } else {
    (void)lib.api.commDestroy(comm_);
  }
  comm_ = nullptr;
}

}  // namespace nvl
