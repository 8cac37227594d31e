// Transfers between locations and their cost model (SPEC §6).
#include <cmath>
#include <string>

#include "kv_impl.h"

namespace nvl {
namespace {

Status invalid(const std::string& message) { return Status::Error(Code::InvalidArgument, message); }

struct Route {
  LinkKind hops[2];
  int numHops = 0;
  void add(LinkKind k) { hops[numHops++] = k; }
};

// The SPEC §6 table. False when the pair is not allowed.
bool findRoute(const KvManager::Impl& m, Location src, Location dst, Route& r) {
  const TopologySpec& t = m.config.topology;
  const LinkKind hostLink = t.hostLinkKind;
  switch (src.tier) {
    case Tier::Device:
      if (dst.tier == Tier::Device) {
        r.add(t.domainOfGpu(src.index) == t.domainOfGpu(dst.index) ? LinkKind::NvLink : LinkKind::ScaleOut);
        return true;
      }
      if (dst.index != t.trayOfGpu(src.index)) return false;
      r.add(hostLink);
      if (dst.tier == Tier::Disk) r.add(LinkKind::Disk);
      return true;
    case Tier::Host:
      if (dst.tier == Tier::Device) {
        r.add(hostLink);
        return t.trayOfGpu(dst.index) == src.index;
      }
      r.add(LinkKind::Disk);
      return dst.tier == Tier::Disk && dst.index == src.index;
    case Tier::Disk:
      r.add(LinkKind::Disk);
      if (dst.tier == Tier::Device) {
        r.add(hostLink);
        return t.trayOfGpu(dst.index) == src.index;
      }
      return dst.tier == Tier::Host && dst.index == src.index;
  }
  return false;
}

const LinkSpec& linkSpec(const TopologySpec& t, LinkKind kind) {
  switch (kind) {
    case LinkKind::NvLink: return t.nvlink;
    case LinkKind::C2C:
    case LinkKind::Pcie: return t.hostLink;
    case LinkKind::ScaleOut: return t.scaleOut;
    case LinkKind::Disk: return t.disk;
  }
  return t.nvlink;
}

// Every hop carries all the bytes; an empty transfer costs nothing, not even latency (SPEC §6).
void applyBytes(const TopologySpec& t, double bytes, TransferPlan& plan) {
  plan.bytes = bytes;
  plan.estimatedSeconds = 0;
  for (TransferHop& hop : plan.hops) {
    const LinkSpec& link = linkSpec(t, hop.link);
    hop.bytes = bytes;
    hop.seconds = bytes == 0 ? 0 : link.latencyS + bytes / link.bandwidthBytesPerS;
    plan.estimatedSeconds += hop.seconds;
  }
}

// Validates source -> destination and fills the plan's locations, hops, seconds and path for `bytes`.
Status planRoute(const KvManager::Impl& m, Location src, Location dst, double bytes, TransferPlan& plan) {
  Status s = m.checkLocation(dst, "destination");
  if (!s.ok()) return s;
  if (src == dst) {
    return invalid("destination must differ from the source, got " + locationText(dst) + " for both");
  }
  Route r;
  if (!findRoute(m, src, dst, r)) {
    return invalid("destination " + locationText(dst) + " is not reachable from " + locationText(src) +
                   ": allowed are another GPU, or the host / disk tier of the same tray (and back)");
  }
  plan.source = src;
  plan.destination = dst;
  plan.hops.clear();
  plan.path.clear();
  for (int i = 0; i < r.numHops; ++i) {
    plan.hops.push_back(TransferHop{r.hops[i], 0, 0});
    if (i > 0) plan.path += '+';
    plan.path += linkName(r.hops[i]);
  }
  applyBytes(m.config.topology, bytes, plan);
  return Status::Ok();
}

// Marks placed[i] with the destination block for every token-holding position whose hash is already resident
// there (SPEC §6 "shared"); returns how many positions must be copied.
uint32_t findShared(KvManager::Impl& m, const Sequence& seq, uint32_t dstPool, uint32_t used,
                    std::vector<int32_t>& placed) {
  const HashBlockMap& map = m.pools[dstPool].map();
  placed.assign(used, -1);
  uint32_t copied = 0;
  for (uint32_t i = 0; i < used; ++i) {
    uint32_t b;
    if (i < seq.hashedBlocks && map.find(seq.hashes[i], b)) {
      placed[i] = int32_t(b);
    } else {
      ++copied;
    }
  }
  return copied;
}

// Shared blocks are acquired first (so the takes below cannot evict them), then each copied position takes a
// block, registers its hash (parent = the previous position's hash) and gets a copy op.
void placeBlocks(KvManager::Impl& m, const Sequence& seq, uint32_t srcPool, uint32_t dstPool,
                 std::vector<int32_t>& placed, std::vector<CopyOp>& copies) {
  for (int32_t b : placed) {
    if (b >= 0) m.acquire(dstPool, uint32_t(b));
  }
  copies.clear();
  for (uint32_t i = 0; i < placed.size(); ++i) {
    if (placed[i] >= 0) continue;
    const uint32_t b = uint32_t(m.take(dstPool));
    if (i < seq.hashedBlocks) m.registerHash(dstPool, b, seq.hashes[i], i > 0 ? seq.hashes[i - 1] : 0);
    copies.push_back(CopyOp{srcPool, uint32_t(seq.blocks[i]), dstPool, b});
    placed[i] = int32_t(b);
  }
}

// Move: the sequence releases its source table (reserved blocks too, last first) and lives at the destination.
// Copy: a new sequence with a new id. Returns the id living at the destination.
uint32_t settleSequence(KvManager::Impl& m, uint32_t slot, uint32_t srcPool, Location destination,
                        TransferMode mode, const std::vector<int32_t>& placed) {
  if (mode == TransferMode::Move) {
    Sequence& moved = m.slots[slot];
    m.releaseTable(srcPool, moved.blocks);
    moved.blocks.assign(placed.begin(), placed.end());
    moved.location = destination;
    if (destination.tier == Tier::Device) moved.homeGpu = destination.index;
    return moved.id;
  }
  const uint32_t copySlot = m.newSequence();  // may reallocate `slots`: take references afterwards
  const Sequence& original = m.slots[slot];
  Sequence& copy = m.slots[copySlot];
  copy.location = destination;
  copy.numTokens = original.numTokens;
  copy.hashedBlocks = original.hashedBlocks;
  copy.lastHash = original.lastHash;
  copy.homeGpu = destination.tier == Tier::Device ? destination.index : original.homeGpu;
  copy.blocks.assign(placed.begin(), placed.end());
  copy.hashes.assign(original.hashes.begin(), original.hashes.end());
  return copy.id;
}

// Costs, link counters and the `moved` event (after the destination's stored / removed events).
void account(KvManager::Impl& m, uint32_t copied, uint32_t used, TransferPlan& plan) {
  const double bytes = double(copied) * double(m.sizing.blockBytes);
  plan.blocksCopied = copied;
  plan.blocksShared = used - copied;
  applyBytes(m.config.topology, bytes, plan);
  for (const TransferHop& hop : plan.hops) m.bytesMovedByLink[int(hop.link)] += bytes;
  ++m.transfers;
  KvEvent& e = m.events.push(EventKind::Moved, plan.source);
  e.destination = plan.destination;
  e.seqId = plan.seqId;
  e.mode = plan.mode;
  e.blocks = copied;
  e.bytes = bytes;
}

}  // namespace

Status KvManager::estimateTransfer(Location source, Location destination, double bytes, TransferPlan& out) const {
  const Impl& m = *impl_;
  Status s = m.checkLocation(source, "source");
  if (!s.ok()) return s;
  if (!(std::isfinite(bytes) && bytes >= 0)) {
    return invalid("bytes must be a finite number >= 0, got " + std::to_string(bytes));
  }
  out = TransferPlan{};
  return planRoute(m, source, destination, bytes, out);
}

Status KvManager::transfer(uint32_t seqId, Location destination, TransferMode mode, TransferPlan& out) {
  Impl& m = *impl_;
  uint32_t slot;
  Status s = m.lookup(seqId, slot);
  if (!s.ok()) return s;
  if (mode != TransferMode::Move && mode != TransferMode::Copy) return invalid("mode must be 'move' or 'copy'");
  TransferPlan plan;
  const Location source = m.slots[slot].location;
  if (!(s = planRoute(m, source, destination, 0, plan)).ok()) return s;

  const uint32_t srcPool = m.poolOf(source), dstPool = m.poolOf(destination);
  const BlockPool& dst = m.pools[dstPool];
  std::vector<int32_t>& placed = m.scratchBlocks;
  const uint32_t used = (m.slots[slot].numTokens + m.tokensPerBlock - 1) / m.tokensPerBlock;
  const uint32_t copied = findShared(m, m.slots[slot], dstPool, used, placed);
  const uint64_t available = uint64_t(dst.freeCount()) + dst.lruSize() - m.distinctInLru(dstPool, placed.data(), used);
  if (copied > available) {
    return Status::Error(Code::OutOfBlocks, "destination " + locationText(destination) + " needs " +
                                                std::to_string(copied) + " blocks but has " +
                                                std::to_string(available) + " (free + evictable)");
  }
  if (mode == TransferMode::Copy && !(s = m.checkCanIssueId()).ok()) return s;

  std::vector<CopyOp>& copies = m.scratchCopies;
  placeBlocks(m, m.slots[slot], srcPool, dstPool, placed, copies);
  Status copyStatus;
  if (m.backend) {
    // Submitted before the source is released: the backend runs calls in order, so a later take of a released
    // source block cannot overwrite it before this copy has read it.
    if (!copies.empty()) copyStatus = m.backend->copy(copies);
    plan.fenceTicket = m.backend->fence();
  }
  plan.seqId = settleSequence(m, slot, srcPool, destination, mode, placed);
  plan.mode = mode;
  account(m, copied, used, plan);
  out = std::move(plan);
  if (!copyStatus.ok()) {
    // Metadata cannot be rolled back once blocks were taken (evictions emitted events); say so plainly.
    return Status::Error(Code::Internal, "transfer metadata was applied but the backend copy failed: " +
                                             copyStatus.message);
  }
  return Status::Ok();
}

Status KvManager::waitTransfer(uint64_t ticket) {
  Impl& m = *impl_;
  if (!m.backend || ticket == 0) return Status::Ok();
  return m.backend->wait(ticket);
}

}  // namespace nvl
