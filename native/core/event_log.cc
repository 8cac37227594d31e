#include "event_log.h"

#include <algorithm>

namespace nvl {

void EventLog::grow() {
  const size_t newSize = std::min<size_t>(capacity_, std::max<size_t>(64, ring_.size() * 2));
  std::vector<KvEvent> fresh(newSize);
  for (size_t i = 0; i < count_; ++i) fresh[i] = ring_[(head_ + i) % ring_.size()];
  ring_.swap(fresh);
  head_ = 0;
}

KvEvent& EventLog::push(EventKind kind, Location location) {
  if (count_ == ring_.size() && ring_.size() < capacity_) grow();
  if (count_ == capacity_) {
    // Full: the oldest event goes. capacity_ >= 1 (validated at create), so the ring is non-empty here.
    head_ = (head_ + 1 == ring_.size()) ? 0 : head_ + 1;
    --count_;
    ++dropped_;
  }
  size_t slot = head_ + count_;
  if (slot >= ring_.size()) slot -= ring_.size();
  ++count_;
  KvEvent& e = ring_[slot];
  e = KvEvent{};
  e.eventId = ++lastEventId_;
  e.kind = kind;
  e.location = location;
  return e;
}

void EventLog::drain(size_t maxEvents, std::vector<KvEvent>& out) {
  out.clear();
  const size_t n = std::min(maxEvents, count_);
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(ring_[head_]);
    head_ = (head_ + 1 == ring_.size()) ? 0 : head_ + 1;
  }
  count_ -= n;
  if (count_ == 0) head_ = 0;
}

}  // namespace nvl
