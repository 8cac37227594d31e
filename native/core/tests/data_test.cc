// Bytes mode (SPEC §7): writes land in the right blocks and offsets, data survives demote -> promote -> migrate
// byte for byte, shared blocks refuse writes, and the argument checks.
#include <vector>

#include "fixture.h"

using nvl::Code;
using nvl::Location;
using nvl::Tier;
using nvl::TransferMode;
using nvl::TransferPlan;
using Bytes = std::vector<uint8_t>;

namespace {

nvl::KvConfig bytesConfig() {
  nvl::KvConfig c = nvltest::smallConfig(2, 2, 2, 8, 8, 8);  // 4 bytes per token, 16 bytes per block
  c.dataMode = nvl::DataMode::Bytes;
  c.backend = nvl::BackendChoice::Cpu;
  return c;
}

Bytes pattern(size_t size, uint8_t seed) {
  Bytes b(size);
  for (size_t i = 0; i < size; ++i) b[i] = uint8_t(seed + i * 7);
  return b;
}

Bytes readAll(const nvl::KvManager& kv, uint32_t seqId, uint32_t numTokens) {
  Bytes out;
  CHECK_OK(kv.read(seqId, 0, numTokens, out));
  return out;
}

void checkRoundTrip() {
  auto kv = nvltest::make(bytesConfig());
  CHECK_EQ(kv->backendInfo().backend, std::string("cpu"));
  nvl::AllocateResult r;
  const uint64_t hashes[2] = {0xd1, 0xd2};
  CHECK_OK(kv->allocate(0, 10, hashes, 2, 6, r));  // 10 tokens in 3 blocks (+1 reserved)
  const uint32_t s = r.seqId;
  CHECK(readAll(*kv, s, 10) == Bytes(40, 0));  // fresh memory reads as zeros
  const Bytes data = pattern(40, 3);
  CHECK_OK(kv->write(s, 0, data.data(), data.size()));
  CHECK(readAll(*kv, s, 10) == data);
  // A write across a block boundary at an offset: tokens 3..5 (blocks 0 and 1).
  const Bytes patch = pattern(12, 100);
  CHECK_OK(kv->write(s, 3, patch.data(), patch.size()));
  Bytes expected = data;
  std::copy(patch.begin(), patch.end(), expected.begin() + 12);
  CHECK(readAll(*kv, s, 10) == expected);
  Bytes middle;
  CHECK_OK(kv->read(s, 4, 2, middle));
  CHECK(middle == Bytes(patch.begin() + 4, patch.end()));

  // demote -> promote (another GPU of the tray) -> migrate (other domain) -> disk -> back: identical each time.
  const Location path[] = {{Tier::Host, 0}, {Tier::Device, 1}, {Tier::Device, 6}, {Tier::Disk, 3},
                           {Tier::Host, 3}, {Tier::Device, 7}, {Tier::Device, 0}};
  for (const Location& to : path) {
    TransferPlan plan;
    CHECK_OK(kv->transfer(s, to, TransferMode::Move, plan));
    CHECK(plan.fenceTicket > 0);
    CHECK_OK(kv->waitTransfer(plan.fenceTicket));
    CHECK(readAll(*kv, s, 10) == expected);
  }
  // Copy: the copy has its own blocks; writing the copy's private last block leaves the source alone.
  TransferPlan plan;
  CHECK_OK(kv->transfer(s, Location{Tier::Device, 2}, TransferMode::Copy, plan));
  const uint32_t copy = plan.seqId;
  CHECK(readAll(*kv, copy, 10) == expected);
  const Bytes tail = pattern(8, 200);
  CHECK_OK(kv->write(copy, 8, tail.data(), tail.size()));
  CHECK(readAll(*kv, s, 10) == expected);
  Bytes copyExpected = expected;
  std::copy(tail.begin(), tail.end(), copyExpected.begin() + 32);
  CHECK(readAll(*kv, copy, 10) == copyExpected);
}

void checkSharedAndArguments() {
  auto kv = nvltest::make(bytesConfig());
  nvl::AllocateResult a, b;
  const uint64_t h = 0xe1;
  CHECK_OK(kv->allocate(0, 6, &h, 1, 0, a));
  CHECK_OK(kv->allocate(0, 6, &h, 1, 0, b));  // shares block 0 with a
  const Bytes token = pattern(4, 9);
  CHECK_CODE(kv->write(b.seqId, 0, token.data(), 4), Code::BlockShared);
  CHECK_CODE(kv->write(b.seqId, 3, token.data(), 8), Code::BlockShared);  // tokens 3..4 touch block 0
  CHECK_OK(kv->write(b.seqId, 4, token.data(), 4));                      // block 1 is b's own
  CHECK(readAll(*kv, a.seqId, 6) == Bytes(24, 0));                        // a saw nothing
  CHECK_CODE(kv->write(b.seqId, 0, token.data(), 3), Code::InvalidArgument);  // not a whole token
  CHECK_CODE(kv->write(b.seqId, 5, token.data(), 8), Code::InvalidArgument);  // tokens 5..6 of 6
  Bytes out;
  CHECK_CODE(kv->read(b.seqId, 6, 1, out), Code::InvalidArgument);
  CHECK_OK(kv->read(b.seqId, 6, 0, out));  // an empty range at the end is fine
  CHECK(out.empty());
  CHECK_CODE(kv->write(77, 0, token.data(), 4), Code::UnknownSequence);
  CHECK_OK(kv->free(a.seqId));
  CHECK_CODE(kv->read(a.seqId, 0, 1, out), Code::SequenceFreed);
  CHECK_OK(kv->write(b.seqId, 0, token.data(), 4));  // a freed: block 0 has one reference now

  auto meta = nvltest::make(nvltest::smallConfig(1, 1, 1, 8, 0, 0));
  nvl::AllocateResult m;
  CHECK_OK(meta->allocate(0, 4, nullptr, 0, 0, m));
  nvl::Status s = meta->write(m.seqId, 0, token.data(), 4);
  CHECK(s.code == Code::InvalidArgument);
  CHECK(s.message.find("dataMode is metadata") != std::string::npos);
  CHECK_CODE(meta->read(m.seqId, 0, 1, out), Code::InvalidArgument);
  CHECK_CODE(meta->write(55, 0, token.data(), 4), Code::InvalidArgument);  // the mode is checked first
}

}  // namespace

int main() {
  checkRoundTrip();
  checkSharedAndArguments();
  return nvltest::finish("data_test");
}
