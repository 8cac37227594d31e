// EventLog: the ordered KV event log (SPEC §8). Ids are 1, 2, 3, ... with no reuse; when `capacity` events are
// held the oldest is dropped on the next push (`droppedEvents` counts them), so consumers see a gap in ids and
// resynchronise from a snapshot. The ring grows by doubling up to capacity, so a large capacity costs memory only
// when the events actually pile up.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "kv_manager.h"

namespace nvl {

class EventLog {
 public:
  explicit EventLog(uint32_t capacity) : capacity_(capacity) {}

  // Assigns the next id and appends; returns the event to fill in.
  KvEvent& push(EventKind kind, Location location);
  void drain(size_t maxEvents, std::vector<KvEvent>& out);

  uint64_t lastEventId() const { return lastEventId_; }
  uint64_t droppedEvents() const { return dropped_; }
  size_t size() const { return count_; }

 private:
  void grow();

  uint32_t capacity_;
  std::vector<KvEvent> ring_;
  size_t head_ = 0;  // oldest
  size_t count_ = 0;
  uint64_t lastEventId_ = 0;
  uint64_t dropped_ = 0;
};

}  // namespace nvl
