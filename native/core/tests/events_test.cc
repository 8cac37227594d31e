// Event log and snapshot (SPEC §8): ids 1, 2, 3, ..., oldest dropped when full, partial drains, snapshot
// contents in location order with ascending hashes.
#include <vector>

#include "fixture.h"

using nvl::EventKind;
using nvl::KvEvent;
using nvl::Location;
using nvl::Tier;

namespace {

void allocate(nvl::KvManager& kv, uint32_t gpu, std::vector<uint64_t> hashes) {
  nvl::AllocateResult r;
  CHECK_OK(kv.allocate(gpu, uint32_t(hashes.size()) * 4, hashes.data(), hashes.size(), 0, r));
}

void checkOverflowAndDrain() {
  nvl::KvConfig c = nvltest::smallConfig(1, 1, 2, 16, 0, 0);
  c.eventLogCapacity = 3;
  auto kv = nvltest::make(c);
  allocate(*kv, 0, {10, 20, 30, 40, 50});  // events 1..5, the first two dropped
  nvl::KvStats s;
  kv->stats(s);
  CHECK_EQ(s.lastEventId, uint64_t(5));
  CHECK_EQ(s.droppedEvents, uint64_t(2));
  std::vector<KvEvent> ev;
  kv->drainEvents(2, ev);
  CHECK_EQ(ev.size(), size_t(2));
  CHECK_EQ(ev[0].eventId, uint64_t(3));
  CHECK_EQ(ev[0].hash, uint64_t(30));
  CHECK_EQ(ev[0].parentHash, uint64_t(20));
  CHECK_EQ(ev[1].eventId, uint64_t(4));
  allocate(*kv, 1, {60, 70});  // log holds 5, 6, 7 now: nothing dropped
  kv->drainEvents(0, ev);
  CHECK(ev.empty());
  ev = nvltest::drainAll(*kv);
  CHECK_EQ(ev.size(), size_t(3));
  CHECK_EQ(ev[0].eventId, uint64_t(5));
  CHECK_EQ(ev[2].eventId, uint64_t(7));
  CHECK(ev[2].location == (Location{Tier::Device, 1}));
  kv->stats(s);
  CHECK_EQ(s.droppedEvents, uint64_t(2));
  CHECK(nvltest::drainAll(*kv).empty());
  // The ring keeps working after wrapping many times (allocate + free: stored, later removed events).
  for (uint64_t h = 100; h < 200; ++h) {
    nvl::AllocateResult r;
    CHECK_OK(kv->allocate(0, 4, &h, 1, 0, r));
    CHECK_OK(kv->free(r.seqId));
  }
  ev = nvltest::drainAll(*kv);
  kv->stats(s);
  CHECK_EQ(ev.size(), size_t(3));
  CHECK_EQ(ev[0].eventId + 2, s.lastEventId);
  CHECK_EQ(ev[2].eventId, s.lastEventId);
  // 100 stored; GPU 0 keeps 5 blocks for the first sequence, so 11 fill up and 89 evictions follow.
  CHECK_EQ(s.lastEventId, uint64_t(7 + 100 + 89));
  CHECK_EQ(s.droppedEvents, s.lastEventId - 3 - 5);  // all but the 3 kept now and the 5 drained before
}

void checkSnapshot() {
  auto kv = nvltest::make(nvltest::smallConfig(1, 2, 2, 8, 8, 8));
  nvl::Snapshot snap;
  kv->snapshot(snap);
  CHECK_EQ(snap.lastEventId, uint64_t(0));
  CHECK(snap.locations.empty());
  allocate(*kv, 3, {0xfffffffffffffff0ULL, 5, 0});  // hash 0 is a valid key
  allocate(*kv, 1, {9, 7});
  nvl::AllocateResult r;
  const uint64_t h[2] = {42, 41};
  CHECK_OK(kv->allocate(2, 8, h, 2, 0, r));
  nvl::TransferPlan plan;
  CHECK_OK(kv->transfer(r.seqId, Location{Tier::Host, 1}, nvl::TransferMode::Move, plan));
  kv->snapshot(snap);
  CHECK_EQ(snap.lastEventId, uint64_t(10));  // 3 + 2 + 2 stored, 2 stored at the host, 1 moved
  CHECK_EQ(snap.locations.size(), size_t(4));
  CHECK(snap.locations[0].location == (Location{Tier::Device, 1}));
  CHECK_EQ(snap.locations[0].hashes, (std::vector<uint64_t>{7, 9}));
  CHECK(snap.locations[1].location == (Location{Tier::Device, 2}));
  CHECK_EQ(snap.locations[1].hashes, (std::vector<uint64_t>{41, 42}));  // still cached in the LRU after the move
  CHECK(snap.locations[2].location == (Location{Tier::Device, 3}));
  CHECK_EQ(snap.locations[2].hashes, (std::vector<uint64_t>{0, 5, 0xfffffffffffffff0ULL}));
  CHECK(snap.locations[3].location == (Location{Tier::Host, 1}));
  CHECK_EQ(snap.locations[3].hashes, (std::vector<uint64_t>{41, 42}));

  std::vector<KvEvent> ev = nvltest::drainAll(*kv);
  CHECK_EQ(ev.size(), size_t(10));
  for (size_t i = 0; i < ev.size(); ++i) CHECK_EQ(ev[i].eventId, uint64_t(i + 1));
  CHECK(ev[7].kind == EventKind::Stored);
  CHECK(ev[7].location == (Location{Tier::Host, 1}));
  CHECK_EQ(ev[7].hash, uint64_t(42));
  CHECK_EQ(ev[8].parentHash, uint64_t(42));
  CHECK(ev[9].kind == EventKind::Moved);  // after the destination's stored events
  CHECK(ev[9].location == (Location{Tier::Device, 2}));
  CHECK(ev[9].destination == (Location{Tier::Host, 1}));
  CHECK_EQ(ev[9].seqId, r.seqId);
  CHECK_EQ(ev[9].blocks, 2u);
  CHECK_EQ(ev[9].bytes, 32.0);
  CHECK(ev[9].mode == nvl::TransferMode::Move);
}

}  // namespace

int main() {
  checkOverflowAndDrain();
  checkSnapshot();
  return nvltest::finish("events_test");
}
