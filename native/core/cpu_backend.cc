// The CPU backend: one zero-filled host allocation per pool (bytes mode), copies done synchronously, so every
// submitted call is complete when it returns and fence()/wait() have nothing to wait for.
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "backend.h"

namespace nvl {
namespace {

struct FreeDeleter {
  void operator()(uint8_t* p) const { std::free(p); }
};

class CpuBackend final : public Backend {
 public:
  const char* name() const override { return "cpu"; }

  Status init(const std::vector<PoolShape>& pools, uint64_t blockBytes) override {
    blockBytes_ = blockBytes;
    for (const PoolShape& shape : pools) {
      const uint64_t bytes = uint64_t(shape.numBlocks) * blockBytes;
      // calloc: pages stay untouched (and free) until a block is written, and reads of fresh blocks give zeros.
      uint8_t* memory = bytes == 0 ? nullptr : static_cast<uint8_t*>(std::calloc(bytes, 1));
      if (bytes != 0 && memory == nullptr) {
        pools_.clear();
        return Status::Error(Code::TooLarge, "cpu backend could not allocate " + std::to_string(bytes) +
                                                 " bytes for a pool");
      }
      pools_.push_back(Pool{std::unique_ptr<uint8_t, FreeDeleter>(memory), shape.numBlocks});
    }
    return Status::Ok();
  }

  Status copy(const std::vector<CopyOp>& ops) override {
    for (const CopyOp& op : ops) {
      uint8_t* src = blockAt(op.srcPool, op.srcBlock);
      uint8_t* dst = blockAt(op.dstPool, op.dstBlock);
      if (src == nullptr || dst == nullptr) return outOfRange("copy");
      std::memmove(dst, src, blockBytes_);
    }
    return Status::Ok();
  }

  Status write(uint32_t pool, uint32_t block, uint64_t offsetBytes, const uint8_t* data, uint64_t size) override {
    uint8_t* base = blockAt(pool, block);
    if (base == nullptr || offsetBytes + size > blockBytes_) return outOfRange("write");
    if (size != 0) std::memcpy(base + offsetBytes, data, size);
    return Status::Ok();
  }

  Status read(uint32_t pool, uint32_t block, uint64_t offsetBytes, uint8_t* out, uint64_t size) override {
    const uint8_t* base = blockAt(pool, block);
    if (base == nullptr || offsetBytes + size > blockBytes_) return outOfRange("read");
    if (size != 0) std::memcpy(out, base + offsetBytes, size);
    return Status::Ok();
  }

  uint64_t fence() override { return ++lastTicket_; }
  Status wait(uint64_t) override { return Status::Ok(); }

 private:
  struct Pool {
    std::unique_ptr<uint8_t, FreeDeleter> memory;
    uint32_t numBlocks = 0;
  };

  uint8_t* blockAt(uint32_t pool, uint32_t block) const {
    if (pool >= pools_.size() || block >= pools_[pool].numBlocks) return nullptr;
    return pools_[pool].memory.get() + uint64_t(block) * blockBytes_;
  }

  static Status outOfRange(const char* call) {
    return Status::Error(Code::Internal, std::string("cpu backend ") + call + ": pool/block/offset out of range");
  }

  std::vector<Pool> pools_;
  uint64_t blockBytes_ = 0;
  uint64_t lastTicket_ = 0;
};

}  // namespace

std::unique_ptr<Backend> makeCpuBackend() { return std::make_unique<CpuBackend>(); }

}  // namespace nvl
