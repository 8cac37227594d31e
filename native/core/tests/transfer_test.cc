// Transfers (SPEC §6): the allowed source -> destination table with its hops, plan bytes and seconds, sharing at
// the destination, move vs copy ids, homeGpu, link accounting, and rollback when the destination is full.
#include <string>
#include <vector>

#include "fixture.h"

using nvl::Code;
using nvl::Location;
using nvl::Tier;
using nvl::TransferMode;
using nvl::TransferPlan;

namespace {

// 2 domains x 2 trays x 2 GPUs: GPUs 0-3 in domain 0 (trays 0, 1), GPUs 4-7 in domain 1 (trays 2, 3).
nvl::KvConfig cluster(int64_t device, int64_t host, int64_t disk) {
  return nvltest::smallConfig(2, 2, 2, device, host, disk);
}

Location dev(uint32_t g) { return Location{Tier::Device, g}; }
Location host(uint32_t t) { return Location{Tier::Host, t}; }
Location disk(uint32_t t) { return Location{Tier::Disk, t}; }

void expectPath(const nvl::KvManager& kv, Location src, Location dst, const std::string& path) {
  TransferPlan plan;
  nvl::Status s = kv.estimateTransfer(src, dst, 1e6, plan);
  if (!s.ok() || plan.path != path) {
    nvltest::fail(__FILE__, __LINE__, nvltest::where(src) + " -> " + nvltest::where(dst) + ": got '" +
                                          plan.path + "' (" + s.message + "), want '" + path + "'");
  }
}

void expectRefused(const nvl::KvManager& kv, Location src, Location dst) {
  TransferPlan plan;
  nvl::Status s = kv.estimateTransfer(src, dst, 1e6, plan);
  if (s.code != Code::InvalidArgument || s.message.find("destination") == std::string::npos) {
    nvltest::fail(__FILE__, __LINE__, nvltest::where(src) + " -> " + nvltest::where(dst) +
                                          " should be refused naming destination, got " + s.message);
  }
}

void checkRouteTable() {
  auto kv = nvltest::make(cluster(4, 4, 4));
  expectPath(*kv, dev(0), dev(1), "nvlink");
  expectPath(*kv, dev(0), dev(3), "nvlink");  // other tray, same domain
  expectPath(*kv, dev(0), dev(4), "scaleout");
  expectPath(*kv, dev(5), dev(2), "scaleout");
  expectPath(*kv, dev(3), host(1), "c2c");
  expectPath(*kv, dev(3), disk(1), "c2c+disk");
  expectPath(*kv, host(1), dev(2), "c2c");
  expectPath(*kv, host(1), disk(1), "disk");
  expectPath(*kv, disk(1), host(1), "disk");
  expectPath(*kv, disk(1), dev(3), "disk+c2c");
  expectRefused(*kv, dev(0), dev(0));
  expectRefused(*kv, host(0), host(0));
  expectRefused(*kv, dev(0), host(1));
  expectRefused(*kv, dev(2), disk(0));
  expectRefused(*kv, host(0), dev(2));
  expectRefused(*kv, host(0), host(1));
  expectRefused(*kv, host(0), disk(1));
  expectRefused(*kv, disk(0), disk(1));
  expectRefused(*kv, disk(0), dev(2));
  expectRefused(*kv, disk(0), host(1));
  expectRefused(*kv, dev(0), dev(8));
  expectRefused(*kv, dev(0), host(4));
  TransferPlan plan;
  CHECK_CODE(kv->estimateTransfer(host(4), host(0), 1, plan), Code::InvalidArgument);
  CHECK_CODE(kv->estimateTransfer(dev(0), dev(1), -1, plan), Code::InvalidArgument);

  // Seconds per hop: latency + bytes / bandwidth (gb200 figures); zero bytes cost nothing.
  CHECK_OK(kv->estimateTransfer(dev(0), disk(0), 9e9, plan));
  CHECK_EQ(plan.hops.size(), size_t(2));
  CHECK_EQ(plan.hops[0].seconds, 1e-6 + 9e9 / 450e9);
  CHECK_EQ(plan.hops[1].seconds, 20e-6 + 9e9 / 7e9);
  CHECK_EQ(plan.hops[1].bytes, 9e9);
  CHECK_EQ(plan.estimatedSeconds, (1e-6 + 9e9 / 450e9) + (20e-6 + 9e9 / 7e9));
  CHECK_OK(kv->estimateTransfer(dev(0), dev(4), 0, plan));
  CHECK_EQ(plan.estimatedSeconds, 0.0);

  nvl::KvConfig pcie = cluster(4, 4, 4);
  pcie.topology.hostLinkKind = nvl::LinkKind::Pcie;
  auto kvPcie = nvltest::make(pcie);
  expectPath(*kvPcie, disk(0), dev(1), "disk+pcie");
}

uint32_t allocate(nvl::KvManager& kv, uint32_t gpu, uint32_t numTokens, std::vector<uint64_t> hashes,
                  uint32_t reserve = 0) {
  nvl::AllocateResult r;
  CHECK_OK(kv.allocate(gpu, numTokens, hashes.data(), hashes.size(), reserve, r));
  return r.seqId;
}

void checkMoveAndShare() {
  auto kv = nvltest::make(cluster(8, 8, 8));
  // 10 tokens = 2 full hashed blocks + 1 partial, plus 8 reserved tokens: 5 blocks on GPU 0.
  const uint32_t s = allocate(*kv, 0, 10, {0xa1, 0xa2}, 8);
  CHECK_EQ(nvltest::table(*kv, s).size(), size_t(5));
  nvltest::drainAll(*kv);
  TransferPlan plan;
  CHECK_OK(kv->transfer(s, host(0), TransferMode::Move, plan));
  CHECK_EQ(plan.seqId, s);
  CHECK_EQ(plan.blocksCopied, 3u);  // reserved blocks do not travel
  CHECK_EQ(plan.blocksShared, 0u);
  CHECK_EQ(plan.bytes, 48.0);
  CHECK_EQ(plan.path, std::string("c2c"));
  CHECK_EQ(plan.estimatedSeconds, 1e-6 + 48 / 450e9);
  CHECK_EQ(plan.fenceTicket, uint64_t(0));  // metadata mode
  CHECK_EQ(nvltest::table(*kv, s), (std::vector<int32_t>{0, 1, 2}));
  nvl::SequenceInfo info;
  CHECK_OK(kv->sequenceInfo(s, info));
  CHECK(info.location == host(0));
  CHECK_EQ(info.numBlocks, 3u);
  CHECK_EQ(info.homeGpu, 0u);  // demotion keeps the home GPU
  CHECK_EQ(info.hashedBlocks, 2u);
  CHECK_EQ(info.lastHash, uint64_t(0xa2));
  nvl::PoolStats gpu0 = nvltest::poolStats(*kv, 0);
  CHECK_EQ(gpu0.usedBlocks, 0u);
  CHECK_EQ(gpu0.cachedBlocks, 2u);  // the hashed blocks stay cached on the GPU
  CHECK_EQ(gpu0.freeBlocks, 6u);
  nvl::AppendResult ar;
  CHECK_CODE(kv->append(s, 1, nullptr, 0, ar), Code::WrongTier);

  // Promote to GPU 1, where 0xa1 is already resident (another sequence): shared, not copied.
  const uint32_t other = allocate(*kv, 1, 4, {0xa1});
  nvltest::drainAll(*kv);
  CHECK_OK(kv->transfer(s, dev(1), TransferMode::Move, plan));
  CHECK_EQ(plan.blocksShared, 1u);
  CHECK_EQ(plan.blocksCopied, 2u);
  CHECK_EQ(plan.bytes, 32.0);
  CHECK_EQ(nvltest::table(*kv, s), (std::vector<int32_t>{0, 1, 2}));
  CHECK_EQ(nvltest::table(*kv, other), (std::vector<int32_t>{0}));
  CHECK_OK(kv->sequenceInfo(s, info));
  CHECK_EQ(info.homeGpu, 1u);
  std::vector<nvl::KvEvent> ev = nvltest::drainAll(*kv);
  CHECK_EQ(ev.size(), size_t(2));  // stored 0xa2 on GPU 1, then moved
  CHECK_EQ(ev[0].hash, uint64_t(0xa2));
  CHECK_EQ(ev[0].parentHash, uint64_t(0xa1));
  CHECK(ev[1].kind == nvl::EventKind::Moved);
  CHECK_EQ(ev[1].blocks, 2u);
  CHECK(nvltest::poolStats(*kv, 1).usedBlocks == 3u);

  // Across domains: scale-out. Link accounting sums per hop.
  CHECK_OK(kv->transfer(s, dev(4), TransferMode::Move, plan));
  CHECK_EQ(plan.path, std::string("scaleout"));
  CHECK_OK(kv->transfer(s, disk(2), TransferMode::Move, plan));
  CHECK_EQ(plan.path, std::string("c2c+disk"));
  nvl::KvStats st;
  kv->stats(st);
  CHECK_EQ(st.transfers, uint64_t(4));
  CHECK_EQ(st.bytesMovedByLink[int(nvl::LinkKind::C2C)], 48.0 + 32.0 + 48.0);
  CHECK_EQ(st.bytesMovedByLink[int(nvl::LinkKind::ScaleOut)], 48.0);
  CHECK_EQ(st.bytesMovedByLink[int(nvl::LinkKind::Disk)], 48.0);
  CHECK_EQ(st.bytesMovedByLink[int(nvl::LinkKind::NvLink)], 0.0);
  CHECK_EQ(st.liveSequences, uint64_t(2));
  CHECK(nvltest::poolsBalanced(*kv));
}

void checkCopy() {
  auto kv = nvltest::make(cluster(8, 8, 8));
  const uint32_t s = allocate(*kv, 2, 8, {0xb1, 0xb2});
  TransferPlan plan;
  CHECK_OK(kv->transfer(s, dev(3), TransferMode::Copy, plan));
  CHECK_EQ(plan.seqId, s + 1);
  CHECK(plan.mode == TransferMode::Copy);
  nvl::SequenceInfo info;
  CHECK_OK(kv->sequenceInfo(s, info));
  CHECK(info.location == dev(2));  // the source stays
  CHECK_OK(kv->sequenceInfo(plan.seqId, info));
  CHECK(info.location == dev(3));
  CHECK_EQ(info.homeGpu, 3u);
  CHECK_EQ(info.hashedBlocks, 2u);
  CHECK_OK(kv->transfer(s, host(1), TransferMode::Copy, plan));
  CHECK_OK(kv->sequenceInfo(plan.seqId, info));
  CHECK_EQ(info.homeGpu, 2u);  // a host copy keeps the source's home GPU
  // A second copy to the same host shares everything.
  CHECK_OK(kv->transfer(s, host(1), TransferMode::Copy, plan));
  CHECK_EQ(plan.blocksShared, 2u);
  CHECK_EQ(plan.blocksCopied, 0u);
  CHECK_EQ(plan.bytes, 0.0);
  CHECK_EQ(plan.estimatedSeconds, 0.0);
  nvl::KvStats st;
  kv->stats(st);
  CHECK_EQ(st.liveSequences, uint64_t(4));
  CHECK_EQ(st.transfers, uint64_t(3));
  CHECK_OK(kv->free(s));
  CHECK_CODE(kv->transfer(s, dev(0), TransferMode::Move, plan), Code::SequenceFreed);
  CHECK_CODE(kv->transfer(99, dev(0), TransferMode::Move, plan), Code::UnknownSequence);
}

void checkDestinationFull() {
  auto kv = nvltest::make(cluster(8, 2, 0));
  const uint32_t s = allocate(*kv, 0, 12, {0xc1});
  const uint32_t t = allocate(*kv, 0, 4, {});
  const nvltest::Capture before = nvltest::capture(*kv, {s, t});
  TransferPlan plan;
  CHECK_CODE(kv->transfer(s, host(0), TransferMode::Move, plan), Code::OutOfBlocks);
  CHECK_CODE(kv->transfer(s, disk(0), TransferMode::Copy, plan), Code::OutOfBlocks);  // disk pool has 0 blocks
  CHECK_CODE(kv->transfer(s, host(1), TransferMode::Move, plan), Code::InvalidArgument);
  CHECK_CODE(kv->transfer(s, dev(0), TransferMode::Move, plan), Code::InvalidArgument);
  CHECK(nvltest::sameCapture(before, nvltest::capture(*kv, {s, t})));
  CHECK_OK(kv->transfer(t, host(0), TransferMode::Move, plan));
}

}  // namespace

int main() {
  checkRouteTable();
  checkMoveAndShare();
  checkCopy();
  checkDestinationFull();
  return nvltest::finish("transfer_test");
}
