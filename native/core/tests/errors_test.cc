// Bad input for every call: the right code, a message naming the argument, and no change to any state.
#include <string>
#include <vector>

#include "fixture.h"

using nvl::Code;
using nvl::Location;
using nvl::Tier;
using nvl::TransferMode;

namespace {

void expectError(const nvl::Status& s, Code code, const char* text, int line) {
  if (s.code != code) {
    nvltest::fail(__FILE__, line, std::string("got ") + nvl::codeName(s.code) + " (" + s.message + "), want " +
                                      nvl::codeName(code));
  } else if (s.message.find(text) == std::string::npos) {
    nvltest::fail(__FILE__, line, "message '" + s.message + "' lacks '" + text + "'");
  }
}
#define EXPECT_ERROR(expr, code, text) expectError((expr), (code), (text), __LINE__)

void checkAll() {
  auto kv = nvltest::make(nvltest::smallConfig(1, 2, 2, 8, 4, 4));  // GPUs 0-3, trays 0-1
  nvl::AllocateResult r;
  const uint64_t hashes[3] = {1, 2, 3};
  CHECK_OK(kv->allocate(0, 8, hashes, 2, 0, r));
  const uint32_t live = r.seqId;
  CHECK_OK(kv->allocate(1, 4, nullptr, 0, 0, r));
  const uint32_t freed = r.seqId;
  CHECK_OK(kv->free(freed));
  nvl::TransferPlan plan;
  CHECK_OK(kv->allocate(2, 4, nullptr, 0, 0, r));
  const uint32_t onHost = r.seqId;
  CHECK_OK(kv->transfer(onHost, Location{Tier::Host, 1}, TransferMode::Move, plan));
  const std::vector<uint32_t> ids = {live, onHost};
  const nvltest::Capture before = nvltest::capture(*kv, ids);

  // allocate
  EXPECT_ERROR(kv->allocate(4, 4, nullptr, 0, 0, r), Code::InvalidArgument, "gpu must be an integer in [0, 3], got 4");
  EXPECT_ERROR(kv->allocate(0, 0, nullptr, 0, 0, r), Code::InvalidArgument, "numTokens");
  EXPECT_ERROR(kv->allocate(0, 0x80000000u, nullptr, 0, 0, r), Code::InvalidArgument, "numTokens");
  EXPECT_ERROR(kv->allocate(0, 0x7fffffffu, nullptr, 0, 1, r), Code::InvalidArgument, "reserveTokens");
  EXPECT_ERROR(kv->allocate(0, 11, hashes, 3, 0, r), Code::InvalidArgument, "blockHashes.length");
  EXPECT_ERROR(kv->allocate(0, 64, nullptr, 0, 0, r), Code::OutOfBlocks, "device");

  // append
  nvl::AppendResult ar;
  EXPECT_ERROR(kv->append(0, 1, nullptr, 0, ar), Code::UnknownSequence, "seqId");
  EXPECT_ERROR(kv->append(99, 1, nullptr, 0, ar), Code::UnknownSequence, "seqId");
  EXPECT_ERROR(kv->append(freed, 1, nullptr, 0, ar), Code::SequenceFreed, "freed");
  EXPECT_ERROR(kv->append(onHost, 1, nullptr, 0, ar), Code::WrongTier, "device");
  EXPECT_ERROR(kv->append(live, 0, nullptr, 0, ar), Code::InvalidArgument, "numTokens");
  EXPECT_ERROR(kv->append(live, 0x7ffffff8u, nullptr, 0, ar), Code::InvalidArgument, "numTokens");
  EXPECT_ERROR(kv->append(live, 3, hashes, 1, ar), Code::InvalidArgument, "blockHashes");  // fills no block
  EXPECT_ERROR(kv->append(live, 100, nullptr, 0, ar), Code::OutOfBlocks, "needs");

  // free / queries
  EXPECT_ERROR(kv->free(freed), Code::SequenceFreed, "freed");
  EXPECT_ERROR(kv->free(1000), Code::UnknownSequence, "seqId");
  nvl::SequenceInfo info;
  EXPECT_ERROR(kv->sequenceInfo(freed, info), Code::SequenceFreed, "freed");
  std::vector<int32_t> table;
  EXPECT_ERROR(kv->blockTable(0, table), Code::UnknownSequence, "seqId");

  // prefix and pins
  nvl::PrefixMatch m;
  EXPECT_ERROR(kv->matchPrefixOnGpu(9, hashes, 1, m), Code::InvalidArgument, "gpu");
  uint32_t n = 0;
  EXPECT_ERROR(kv->pin(4, hashes, 1, n), Code::InvalidArgument, "gpu");
  EXPECT_ERROR(kv->unpin(4, hashes, 1, n), Code::InvalidArgument, "gpu");
  EXPECT_ERROR(kv->unpin(0, hashes, 1, n), Code::NotPinned, "blockHashes[0]");

  // transfers
  EXPECT_ERROR(kv->transfer(freed, Location{Tier::Device, 2}, TransferMode::Move, plan), Code::SequenceFreed, "freed");
  EXPECT_ERROR(kv->transfer(live, Location{Tier::Device, 4}, TransferMode::Move, plan), Code::InvalidArgument,
               "destination.index must be an integer in [0, 3]");
  EXPECT_ERROR(kv->transfer(live, Location{Tier::Host, 2}, TransferMode::Move, plan), Code::InvalidArgument,
               "destination.index must be an integer in [0, 1]");
  EXPECT_ERROR(kv->transfer(live, Location{Tier(7), 0}, TransferMode::Move, plan), Code::InvalidArgument,
               "destination.tier");
  EXPECT_ERROR(kv->transfer(live, Location{Tier::Device, 1}, TransferMode(5), plan), Code::InvalidArgument, "mode");
  EXPECT_ERROR(kv->transfer(live, Location{Tier::Host, 1}, TransferMode::Move, plan), Code::InvalidArgument,
               "destination");
  EXPECT_ERROR(kv->checkLocation(Location{Tier::Disk, 2}, "where"), Code::InvalidArgument, "where.index");
  CHECK_OK(kv->checkLocation(Location{Tier::Disk, 1}, "where"));

  // data calls in metadata mode
  const uint8_t bytes[4] = {0, 1, 2, 3};
  EXPECT_ERROR(kv->write(live, 0, bytes, 4), Code::InvalidArgument, "dataMode is metadata");

  CHECK(nvltest::sameCapture(before, nvltest::capture(*kv, ids)));
  CHECK(nvltest::drainAll(*kv).size() == 3);  // the setup's 2 stored + 1 moved; the failures emitted nothing
}

}  // namespace

int main() {
  checkAll();
  return nvltest::finish("errors_test");
}
