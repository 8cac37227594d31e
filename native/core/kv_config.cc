// Config validation and pool sizing (SPEC §1). Floating-point steps mirror the TypeScript reference operation
// for operation so both derive the same block counts.
#include <cmath>
#include <cstdio>
#include <string>

#include "kv_impl.h"

namespace nvl {
namespace {

constexpr double kMaxExactDouble = 9007199254740992.0;  // 2^53
constexpr double kMaxPoolBlocks = 2147483647.0;         // 2^31 - 1

std::string num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

Status invalid(const std::string& message) { return Status::Error(Code::InvalidArgument, message); }

// JS evaluates a * b - c as two rounded operations; a fused multiply-add (which GCC emits on aarch64 by
// default) would round once and could shift a block count by one. The volatile store forces the rounding.
double roundedProduct(double a, double b) {
  volatile double p = a * b;
  return p;
}

Status checkLayout(const KvLayout& l) {
  if (l.numLayers < 1) return invalid("layout.numLayers must be an integer >= 1, got " + num(l.numLayers));
  const double e = l.bytesPerElement;
  if (!(e == 0.5 || e == 1 || e == 2 || e == 4)) {
    return invalid("layout.bytesPerElement must be one of 0.5, 1, 2, 4, got " + num(e));
  }
  if (l.tensorParallel < 1) {
    return invalid("layout.tensorParallel must be an integer >= 1, got " + num(l.tensorParallel));
  }
  if (l.mlaLatentDim > 0) return Status::Ok();  // MLA ignores numKvHeads / headDim
  if (l.numKvHeads < 1) {
    return invalid("layout.numKvHeads must be an integer >= 1 (or set mlaLatentDim for MLA), got " +
                   num(l.numKvHeads));
  }
  if (l.headDim < 1) return invalid("layout.headDim must be an integer >= 1, got " + num(l.headDim));
  return Status::Ok();
}

double bytesPerTokenOf(const KvLayout& l) {
  if (l.mlaLatentDim > 0) return std::ceil(double(l.numLayers) * l.mlaLatentDim * l.bytesPerElement);
  const double headsPerGpu = std::ceil(double(l.numKvHeads) / l.tensorParallel);
  return std::ceil(2.0 * l.numLayers * headsPerGpu * l.headDim * l.bytesPerElement);
}

Status checkFraction(const char* field, double v, bool allowOne) {
  const bool ok = std::isfinite(v) && v >= 0 && (allowOne ? v <= 1 : v < 1);
  if (ok) return Status::Ok();
  return invalid(std::string(field) + " must be a number in [0, 1" + (allowOne ? "]" : ")") + ", got " + num(v));
}

Status checkExplicitBlocks(const char* field, int64_t v, int64_t minimum) {
  if (v < 0 || (v >= minimum && v <= int64_t(kMaxPoolBlocks))) return Status::Ok();
  return invalid(std::string(field) + " must be an integer in [" + std::to_string(minimum) + ", 2147483647], got " +
                 std::to_string(v));
}

Status checkScalars(const KvConfig& c) {
  Status s;
  if (c.tokensPerBlock < 1 || c.tokensPerBlock > 65536) {
    return invalid("tokensPerBlock must be an integer in [1, 65536], got " + std::to_string(c.tokensPerBlock));
  }
  if (!(s = checkExplicitBlocks("deviceBlocksPerGpu", c.deviceBlocksPerGpu, 1)).ok()) return s;
  if (!(std::isfinite(c.weightsBytesPerGpu) && c.weightsBytesPerGpu >= 0 && c.weightsBytesPerGpu <= kMaxExactDouble)) {
    return invalid("weightsBytesPerGpu must be a number of bytes in [0, 2^53], got " + num(c.weightsBytesPerGpu));
  }
  if (!(s = checkFraction("deviceReserveFraction", c.deviceReserveFraction, false)).ok()) return s;
  if (!(s = checkExplicitBlocks("hostBlocksPerTray", c.hostBlocksPerTray, 0)).ok()) return s;
  if (!(s = checkFraction("hostFraction", c.hostFraction, true)).ok()) return s;
  if (!(s = checkExplicitBlocks("diskBlocksPerTray", c.diskBlocksPerTray, 0)).ok()) return s;
  if (c.dataMode != DataMode::Metadata && c.dataMode != DataMode::Bytes) {
    return invalid("dataMode must be 'metadata' or 'bytes'");
  }
  if (!(std::isfinite(c.maxRealBytes) && c.maxRealBytes >= 0)) {
    return invalid("maxRealBytes must be a finite number >= 0, got " + num(c.maxRealBytes));
  }
  if (c.eventLogCapacity < 1) return invalid("eventLogCapacity must be an integer in [1, 4294967295], got 0");
  if (c.backend != BackendChoice::Auto && c.backend != BackendChoice::Cpu && c.backend != BackendChoice::Cuda) {
    return invalid("backend must be 'auto', 'cpu' or 'cuda'");
  }
  return Status::Ok();
}

// floor(bytes / blockBytes) as a pool size, or an error naming `field` when it does not fit.
Status derivedBlocks(const char* field, const char* cause, double bytes, double blockBytes, double minimum,
                     uint32_t& out) {
  const double blocks = std::floor(bytes / blockBytes);
  if (blocks < minimum) {
    return invalid(std::string(cause) + " leaves no room for KV blocks: derived " + field + " = " + num(blocks) +
                   " (needs >= 1 block of " + num(blockBytes) + " bytes)");
  }
  if (blocks > kMaxPoolBlocks) {
    return invalid(std::string("derived ") + field + " = " + num(blocks) + " exceeds 2147483647 blocks; set " +
                   field + " explicitly or use larger blocks");
  }
  out = uint32_t(blocks);
  return Status::Ok();
}

}  // namespace

Status computeSizing(const KvConfig& c, Sizing& out) {
  Status s;
  if (!(s = validateTopology(c.topology)).ok()) return s;
  if (!(s = checkLayout(c.layout)).ok()) return s;
  if (!(s = checkScalars(c)).ok()) return s;
  const double bytesPerToken = bytesPerTokenOf(c.layout);
  const double blockBytes = bytesPerToken * c.tokensPerBlock;
  if (!(blockBytes <= kMaxExactDouble)) {
    return invalid("layout gives " + num(blockBytes) + " bytes per block; blocks must be <= 2^53 bytes");
  }
  out.bytesPerToken = uint64_t(bytesPerToken);
  out.blockBytes = uint64_t(blockBytes);
  const TopologySpec& t = c.topology;
  if (c.deviceBlocksPerGpu >= 0) {
    out.deviceBlocksPerGpu = uint32_t(c.deviceBlocksPerGpu);
  } else {
    const double kvBytes = roundedProduct(t.hbmBytesPerGpu, 1 - c.deviceReserveFraction) - c.weightsBytesPerGpu;
    s = derivedBlocks("deviceBlocksPerGpu", "weightsBytesPerGpu", kvBytes, blockBytes, 1, out.deviceBlocksPerGpu);
    if (!s.ok()) return s;
  }
  if (c.hostBlocksPerTray >= 0) {
    out.hostBlocksPerTray = uint32_t(c.hostBlocksPerTray);
  } else {
    s = derivedBlocks("hostBlocksPerTray", "hostFraction", t.hostBytesPerTray * c.hostFraction, blockBytes, 0,
                      out.hostBlocksPerTray);
    if (!s.ok()) return s;
  }
  if (c.diskBlocksPerTray >= 0) {
    out.diskBlocksPerTray = uint32_t(c.diskBlocksPerTray);
  } else {
    s = derivedBlocks("diskBlocksPerTray", "diskBytesPerTray", t.diskBytesPerTray, blockBytes, 0,
                      out.diskBlocksPerTray);
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

}  // namespace nvl
