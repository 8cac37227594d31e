// Standalone check of the CUDA backend on a real GPU (not a ctest: the build machines have no GPU). Build and run:
// see native/cuda/README.md. Prints PASS/FAIL lines, exits 1 on any failure; prints "SKIP: no CUDA device (...)"
// and exits 0 when the machine has no usable CUDA device.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "backend.h"
#include "cuda_backend.h"
#include "cuda_test_hooks.h"
#include "nccl_loader.h"

using nvl::Code;
using nvl::CopyOp;
using nvl::CudaBackend;
using nvl::PoolShape;
using nvl::Status;
namespace ct = nvl::cudatest;

namespace {

int failures = 0;

void check(bool ok, const std::string& what, const std::string& detail = "") {
  std::printf("%s: %s%s%s\n", ok ? "PASS" : "FAIL", what.c_str(), detail.empty() ? "" : " -- ", detail.c_str());
  if (!ok) ++failures;
}

bool checkStatus(const Status& st, const std::string& what) {
  check(st.ok(), what, st.ok() ? "" : st.message);
  return st.ok();
}

std::vector<uint8_t> pattern(uint64_t seed, uint64_t bytes) {
  std::vector<uint8_t> v(bytes);
  for (uint64_t i = 0; i < bytes; ++i) v[i] = ct::patternByte(seed, i);
  return v;
}

// Reads a whole block and compares it with the pattern of `seed`.
void expectBlock(CudaBackend& be, uint32_t pool, uint32_t block, uint64_t seed, const std::string& what) {
  const uint64_t n = be.blockBytes();
  std::vector<uint8_t> got(n, 0xEE);
  Status st = be.read(pool, block, 0, got.data(), n);
  if (!st.ok()) {
    check(false, what, "read failed: " + st.message);
    return;
  }
  std::vector<uint8_t> want = pattern(seed, n);
  uint64_t bad = 0, first = ~0ull;
  for (uint64_t i = 0; i < n; ++i) {
    if (got[i] != want[i]) {
      if (first == ~0ull) first = i;
      ++bad;
    }
  }
  check(bad == 0, what,
        bad == 0 ? "" : std::to_string(bad) + " bytes differ, first at " + std::to_string(first));
}

void expectDeviceBlock(CudaBackend& be, uint32_t pool, uint32_t block, uint64_t seed, const std::string& what) {
  ct::VerifyResult vr;
  std::string e = ct::verifyPattern(be.cudaDeviceOfPool(pool), be.blockPointer(pool, block), be.blockBytes(), seed, vr);
  if (!e.empty()) {
    check(false, what, e);
    return;
  }
  check(vr.mismatches == 0, what,
        vr.mismatches == 0 ? "" : std::to_string(vr.mismatches) + " bytes differ, first at " +
                                      std::to_string(vr.firstMismatch));
}

}  // namespace

int main() {
  nvl::DeviceProbe probe = nvl::probeDevices();
  const nvl::NcclLibrary& nccl = nvl::ncclLibrary();
  std::printf("probe: cudaCompiled=%d cudaDeviceCount=%d cudaError=\"%s\"\n", probe.cudaCompiled ? 1 : 0,
              probe.cudaDeviceCount, probe.cudaError.c_str());
  std::printf("probe: ncclLoaded=%d ncclVersion=%d (%s) ncclError=\"%s\" (dlopen path \"%s\")\n",
              probe.ncclLoaded ? 1 : 0, probe.ncclVersion, nvl::ncclVersionString(probe.ncclVersion).c_str(),
              probe.ncclError.c_str(), nccl.path.c_str());
  std::printf("kernels compiled for: %s\n", ct::compiledArchList());

  Status st;
  std::unique_ptr<nvl::Backend> made = nvl::makeCudaBackend(st);
  if (probe.cudaDeviceCount == 0) {
    // No GPU: the factory must refuse cleanly.
    bool refused = made == nullptr && st.code == Code::BackendUnavailable;
    if (!refused) {
      std::printf("FAIL: makeCudaBackend without a device returned %s (code %d: %s)\n",
                  made ? "a backend" : "null", static_cast<int>(st.code), st.message.c_str());
      return 1;
    }
    std::printf("makeCudaBackend: null, BackendUnavailable: %s\n", st.message.c_str());
    std::printf("SKIP: no CUDA device (%s)\n", probe.cudaError.c_str());
    return 0;
  }
  if (!made) {
    std::printf("FAIL: makeCudaBackend with %d device(s): %s\n", probe.cudaDeviceCount, st.message.c_str());
    return 1;
  }
  check(std::string(made->name()) == "cuda", "backend name is cuda");
  made.reset();

  // --- main scenario: 2 device pools (GPU 0 and GPU 1) + 1 host pool ---
  const uint32_t kBlocks = 16;
  const uint64_t kBlockBytes = 3 * 65536 + 40;  // not a power of two on purpose
  CudaBackend be(probe.cudaDeviceCount);
  std::vector<PoolShape> shapes = {{kBlocks, true, 0}, {kBlocks, true, 1}, {kBlocks, false, 0}};
  if (!checkStatus(be.init(shapes, kBlockBytes), "init 2 device pools + 1 host pool")) return 1;
  const uint32_t D0 = 0, D1 = 1, H = 2;
  std::printf("pool 0 -> CUDA device %d, pool 1 -> CUDA device %d, peer access 0->1: %d, 1->0: %d\n",
              be.cudaDeviceOfPool(D0), be.cudaDeviceOfPool(D1),
              be.peerAccessEnabled(be.cudaDeviceOfPool(D0), be.cudaDeviceOfPool(D1)) ? 1 : 0,
              be.peerAccessEnabled(be.cudaDeviceOfPool(D1), be.cudaDeviceOfPool(D0)) ? 1 : 0);

  {  // fresh memory is zero, like the CPU backend
    std::vector<uint8_t> got(kBlockBytes, 0xAB);
    bool ok = be.read(D1, 3, 0, got.data(), kBlockBytes).ok();
    for (uint8_t b : got) ok = ok && b == 0;
    std::vector<uint8_t> gotH(kBlockBytes, 0xAB);
    ok = ok && be.read(H, 15, 0, gotH.data(), kBlockBytes).ok();
    for (uint8_t b : gotH) ok = ok && b == 0;
    check(ok, "fresh device and host blocks read as zeros");
  }

  // Write seeds 100..103 into D0 blocks 0..3.
  for (uint32_t b = 0; b < 4; ++b) {
    std::vector<uint8_t> p = pattern(100 + b, kBlockBytes);
    checkStatus(be.write(D0, b, 0, p.data(), kBlockBytes), "write D0 block " + std::to_string(b));
  }
  for (uint32_t b = 0; b < 4; ++b) expectBlock(be, D0, b, 100 + b, "read back D0 block " + std::to_string(b));

  // Partial write at an offset, then read a sub-range.
  {
    std::vector<uint8_t> p = pattern(7, kBlockBytes);
    Status s1 = be.write(D0, 4, 0, p.data(), kBlockBytes);
    std::vector<uint8_t> patch(1000, 0x5A);
    Status s2 = be.write(D0, 4, 12345, patch.data(), patch.size());
    std::vector<uint8_t> got(3000);
    Status s3 = be.read(D0, 4, 11345, got.data(), got.size());
    bool ok = s1.ok() && s2.ok() && s3.ok();
    for (size_t i = 0; ok && i < got.size(); ++i) {
      uint64_t at = 11345 + i;
      uint8_t want = (at >= 12345 && at < 13345) ? 0x5A : p[at];
      ok = got[i] == want;
    }
    check(ok, "partial write/read at an offset", s1.message + s2.message + s3.message);
  }

  // device -> host (one coalesced run: D0 0..3 -> H 2..5)
  nvl::CudaBackend::CopyStats before = be.copyStats();
  std::vector<CopyOp> toHost;
  for (uint32_t i = 0; i < 4; ++i) toHost.push_back({D0, i, H, 2 + i});
  checkStatus(be.copy(toHost), "copy D0[0..3] -> H[2..5]");
  check(be.copyStats().memcpyCalls - before.memcpyCalls == 1, "4 contiguous blocks coalesced into 1 memcpy",
        std::to_string(be.copyStats().memcpyCalls - before.memcpyCalls) + " memcpy calls");

  // host -> device (H 2..5 -> D1 4..7), queued right behind the D2H without any wait in between
  std::vector<CopyOp> toDev;
  for (uint32_t i = 0; i < 4; ++i) toDev.push_back({H, 2 + i, D1, 4 + i});
  checkStatus(be.copy(toDev), "copy H[2..5] -> D1[4..7]");

  // device -> device, reversed order (no coalescing): D1 4..7 -> D0 12,11,10,9
  before = be.copyStats();
  std::vector<CopyOp> d2d;
  for (uint32_t i = 0; i < 4; ++i) d2d.push_back({D1, 4 + i, D0, 12 - i});
  checkStatus(be.copy(d2d), "copy D1[4..7] -> D0[12,11,10,9]");
  check(be.copyStats().memcpyCalls - before.memcpyCalls == 4, "non-contiguous blocks are 4 memcpys");
  bool crossDevice = be.cudaDeviceOfPool(D0) != be.cudaDeviceOfPool(D1);
  if (crossDevice) check(be.copyStats().peerCopies - before.peerCopies == 4, "cross-device copies use cudaMemcpyPeerAsync");

  // fence + wait on a worker thread
  uint64_t ticket = be.fence();
  Status waited;
  std::thread worker([&] { waited = be.wait(ticket); });
  worker.join();
  check(ticket > 0 && waited.ok(), "fence() then wait() on another thread", waited.message);
  check(be.fence() == ticket, "fence() with no new work returns the same ticket");
  check(be.wait(ticket).ok(), "wait() on a completed ticket");
  Status unknown = be.wait(ticket + 1000);
  check(!unknown.ok() && unknown.code == Code::InvalidArgument, "wait() on an unknown ticket -> InvalidArgument",
        unknown.message);

  for (uint32_t i = 0; i < 4; ++i) expectBlock(be, H, 2 + i, 100 + i, "host block " + std::to_string(2 + i));
  for (uint32_t i = 0; i < 4; ++i) expectBlock(be, D1, 4 + i, 100 + i, "D1 block " + std::to_string(4 + i));
  for (uint32_t i = 0; i < 4; ++i) {
    expectBlock(be, D0, 12 - i, 100 + i, "D0 block " + std::to_string(12 - i) + " (read back)");
    expectDeviceBlock(be, D0, 12 - i, 100 + i, "D0 block " + std::to_string(12 - i) + " (verify kernel)");
  }

  // Ordering invariant: copy out of a block, then immediately overwrite the source; the copy must see old bytes.
  {
    std::vector<CopyOp> out = {{D0, 0, H, 8}, {D0, 1, D1, 8}};
    Status s1 = be.copy(out);
    std::vector<uint8_t> fresh = pattern(999, kBlockBytes);
    Status s2 = be.write(D0, 0, 0, fresh.data(), kBlockBytes);
    Status s3 = be.write(D0, 1, 0, fresh.data(), kBlockBytes);
    check(s1.ok() && s2.ok() && s3.ok(), "copy then overwrite the source blocks", s1.message + s2.message + s3.message);
    expectBlock(be, H, 8, 100, "host copy holds the bytes from before the overwrite");
    expectBlock(be, D1, 8, 101, "device copy holds the bytes from before the overwrite");
    expectBlock(be, D0, 0, 999, "overwritten source block");
  }

  // Host write then device copy of it, and a chain across streams (D1 -> H -> D0) without waits in between.
  {
    std::vector<uint8_t> p = pattern(555, kBlockBytes);
    Status s1 = be.write(H, 12, 0, p.data(), kBlockBytes);
    Status s2 = be.copy({{H, 12, D1, 12}});
    Status s3 = be.copy({{D1, 12, H, 13}});
    Status s4 = be.copy({{H, 13, D0, 13}});
    Status s5 = be.wait(be.fence());
    check(s1.ok() && s2.ok() && s3.ok() && s4.ok() && s5.ok(), "chain H -> D1 -> H -> D0",
          s1.message + s2.message + s3.message + s4.message + s5.message);
    expectDeviceBlock(be, D0, 13, 555, "chain result on D0 (verify kernel)");
    expectBlock(be, H, 13, 555, "chain intermediate on host");
  }

  // Host-pool access waits for queued copies on any stream: read right after a copy into the host pool, and
  // overwrite a host block right after a copy out of it (no fence in between).
  {
    std::vector<uint8_t> p = pattern(31, kBlockBytes);
    Status s1 = be.write(D1, 14, 0, p.data(), kBlockBytes);
    Status s2 = be.copy({{D1, 14, H, 14}});
    check(s1.ok() && s2.ok(), "copy D1[14] -> H[14]", s1.message + s2.message);
    expectBlock(be, H, 14, 31, "host read right after a device->host copy sees the copied bytes");
    Status s3 = be.copy({{H, 14, D1, 15}});
    std::vector<uint8_t> q = pattern(32, kBlockBytes);
    Status s4 = be.write(H, 14, 0, q.data(), kBlockBytes);
    check(s3.ok() && s4.ok(), "copy H[14] -> D1[15], then overwrite H[14]", s3.message + s4.message);
    expectBlock(be, D1, 15, 31, "device copy holds the host bytes from before the overwrite");
  }

  // Copies within one pool keep op-by-op semantics: an overlapping shifted run is not merged into one memcpy.
  {
    std::vector<uint8_t> p = pattern(77, kBlockBytes);
    Status s1 = be.write(H, 0, 0, p.data(), kBlockBytes);
    Status s2 = be.copy({{H, 0, H, 1}, {H, 1, H, 2}, {H, 2, H, 3}});  // each reads what the previous wrote
    Status s3 = be.copy({{D0, 9, D0, 1}, {D0, 10, D0, 2}});           // disjoint run: merged
    check(s1.ok() && s2.ok() && s3.ok(), "copies within one pool", s1.message + s2.message + s3.message);
    for (uint32_t b = 1; b <= 3; ++b) expectBlock(be, H, b, 77, "shifted run, host block " + std::to_string(b));
    expectBlock(be, D0, 1, 103, "within-device run, block 1");
    expectBlock(be, D0, 2, 102, "within-device run, block 2");
  }

  // Kernel fill on device, copy it around, verify on the other side.
  {
    std::string e = ct::fillPattern(be.cudaDeviceOfPool(D1), be.blockPointer(D1, 10), kBlockBytes, 4242);
    check(e.empty(), "fill kernel on D1 block 10", e);
    Status s1 = be.copy({{D1, 10, H, 10}, {H, 10, D0, 14}});
    Status s2 = be.wait(be.fence());
    check(s1.ok() && s2.ok(), "copy D1[10] -> H[10] -> D0[14]", s1.message + s2.message);
    expectBlock(be, H, 10, 4242, "host block 10 matches the kernel-filled pattern");
    expectDeviceBlock(be, D0, 14, 4242, "D0 block 14 matches (verify kernel)");
    ct::VerifyResult vr;
    e = ct::verifyPattern(be.cudaDeviceOfPool(D0), be.blockPointer(D0, 14), kBlockBytes, 4243, vr);
    check(e.empty() && vr.mismatches > 0, "verify kernel detects a wrong pattern",
          e + " mismatches=" + std::to_string(vr.mismatches));
    int arch = 0;
    e = ct::kernelArch(be.cudaDeviceOfPool(D0), arch);
    check(e.empty() && arch > 0, "kernel ran, __CUDA_ARCH__=" + std::to_string(arch), e);
  }

  // Bad arguments are refused without touching anything.
  {
    Status a = be.copy({{D0, 0, 7, 0}});
    Status b = be.copy({{D0, kBlocks, H, 0}});
    uint8_t buf[16];
    Status c = be.read(D0, 0, kBlockBytes - 8, buf, 16);
    check(a.code == Code::InvalidArgument && b.code == Code::InvalidArgument && c.code == Code::InvalidArgument,
          "bad pool / block / range -> InvalidArgument", a.message + " | " + b.message + " | " + c.message);
  }

  // A large coalesced transfer, timed (informational).
  {
    const uint32_t n = 64;
    const uint64_t bb = 4ull << 20;  // 4 MiB blocks, 256 MiB per pool
    CudaBackend big(probe.cudaDeviceCount);
    Status s = big.init({{n, true, 0}, {n, true, 1}, {n, false, 0}}, bb);
    if (checkStatus(s, "init 3 x 256 MiB pools")) {
      std::vector<CopyOp> run, scattered;
      for (uint32_t i = 0; i < n; ++i) run.push_back({0, i, 2, i});
      for (uint32_t i = 0; i < n; ++i) scattered.push_back({0, i, 2, n - 1 - i});
      for (int rep = 0; rep < 2; ++rep) {  // first round warms up
        auto t0 = std::chrono::steady_clock::now();
        Status c1 = big.copy(run);
        Status w1 = big.wait(big.fence());
        auto t1 = std::chrono::steady_clock::now();
        Status c2 = big.copy(scattered);
        Status w2 = big.wait(big.fence());
        auto t2 = std::chrono::steady_clock::now();
        if (rep == 1) {
          double gb = n * bb / 1e9;
          double sa = std::chrono::duration<double>(t1 - t0).count(), sb = std::chrono::duration<double>(t2 - t1).count();
          check(c1.ok() && w1.ok() && c2.ok() && w2.ok(), "256 MiB device->host", c1.message + w1.message);
          std::printf("info: 256 MiB D2H coalesced %.2f ms (%.1f GB/s), 64 separate memcpys %.2f ms (%.1f GB/s)\n",
                      sa * 1e3, gb / sa, sb * 1e3, gb / sb);
        }
      }
    }
  }

  // Allocation failure: clean TooLarge naming the pool, nothing leaked (a second init of a normal size works).
  {
    CudaBackend huge(probe.cudaDeviceCount);
    Status s = huge.init({{1u << 20, true, 0}}, 1ull << 30);  // 1 PiB
    check(s.code == Code::TooLarge && s.message.find("pool 0") != std::string::npos,
          "1 PiB device pool -> TooLarge naming the pool", s.message);
    CudaBackend after(probe.cudaDeviceCount);
    checkStatus(after.init({{4, true, 0}, {4, false, 0}}, 1 << 20), "init works after a failed init");
  }

  std::printf("%s: %d failure(s)\n", failures == 0 ? "ALL PASS" : "FAILED", failures);
  return failures == 0 ? 0 : 1;
}
