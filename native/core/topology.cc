// Topology presets and validation (SPEC §1). Every figure carries its source; latencies are our own assumptions
// (no vendor publishes a per-transfer fixed cost) and say so. Bandwidths are one direction.
#include "topology.h"

#include <cmath>
#include <cstdio>

namespace nvl {

const char* linkName(LinkKind kind) {
  switch (kind) {
    case LinkKind::NvLink: return "nvlink";
    case LinkKind::C2C: return "c2c";
    case LinkKind::Pcie: return "pcie";
    case LinkKind::ScaleOut: return "scaleout";
    case LinkKind::Disk: return "disk";
  }
  return "unknown";
}

namespace {

// Local NVMe class storage behind the host: PCIe Gen5 x4 NVMe sustains ~7 GB/s sequential (assumption, typical
// Gen5 data-centre SSD); 20 us fixed cost per transfer (assumption).
constexpr LinkSpec kNvmeDisk{7e9, 20e-6};

// GB200 NVL72: 18 compute trays x (2 Grace + 4 B200) in one NVLink domain.
TopologySpec gb200Nvl72() {
  TopologySpec t;
  t.name = "gb200-nvl72";
  t.numDomains = 1;
  t.traysPerDomain = 18;  // NVIDIA GB200 NVL72: 18 compute trays x 4 GPUs
  t.gpusPerTray = 4;
  t.cpusPerTray = 2;      // 2 Grace per tray (MLPerf v5.1 GB200 host_processors_per_node = 2)
  t.hbmBytesPerGpu = 186e9;    // MLPerf v5.1 GB200 accelerator_memory_capacity 186 GB (72 x 186 GB = 13.4 TB)
  t.hostBytesPerTray = 960e9;  // 2 Grace x 480 GB LPDDR5X (NVIDIA GB200 NVL72 spec; MLPerf v5.1 GB200 tray)
  t.diskBytesPerTray = 0;      // no local KV disk tier by default; set diskBlocksPerTray to model one
  t.nvlink = {900e9, 2e-6};    // NVLink 5: 1.8 TB/s bidirectional = 900 GB/s per direction; 2 us assumed
  t.hostLink = {450e9, 1e-6};  // NVLink-C2C 900 GB/s bidirectional = 450 GB/s per direction; 1 us assumed
  t.hostLinkKind = LinkKind::C2C;
  t.scaleOut = {50e9, 5e-6};   // ConnectX-7 400 Gb/s per GPU = 50 GB/s; 5 us assumed
  t.disk = kNvmeDisk;
  return t;
}

// GB300 NVL72: the GB200 rack with B300 GPUs and ConnectX-8.
TopologySpec gb300Nvl72() {
  TopologySpec t = gb200Nvl72();
  t.name = "gb300-nvl72";
  t.hbmBytesPerGpu = 288e9;    // B300: 288 GB HBM3e (MLPerf v5.1 GB300; NVIDIA Blackwell Ultra)
  t.hostBytesPerTray = 944e9;  // 17 TB LPDDR5X per rack / 36 Grace ~ 472 GB each; 2 x 472 GB per tray
  t.scaleOut = {100e9, 5e-6};  // ConnectX-8 800 Gb/s per GPU = 100 GB/s; 5 us assumed
  return t;
}

// HGX / DGX H100 8-GPU node: one NVLink domain of one "tray" (the node), PCIe to the x86 host.
TopologySpec hgxH100x8() {
  TopologySpec t;
  t.name = "hgx-h100x8";
  t.numDomains = 1;
  t.traysPerDomain = 1;
  t.gpusPerTray = 8;
  t.cpusPerTray = 2;            // 2 x86 sockets (DGX H100)
  t.hbmBytesPerGpu = 80e9;      // H100 SXM 80 GB HBM3
  t.hostBytesPerTray = 2e12;    // DGX H100: 2 TB system memory
  t.diskBytesPerTray = 0;
  t.nvlink = {450e9, 2e-6};     // NVLink 4: 900 GB/s bidirectional = 450 GB/s per direction; 2 us assumed
  t.hostLink = {64e9, 5e-6};    // PCIe Gen5 x16: 64 GB/s per direction; 5 us assumed
  t.hostLinkKind = LinkKind::Pcie;
  t.scaleOut = {50e9, 5e-6};    // 400 Gb/s InfiniBand (ConnectX-7) per GPU = 50 GB/s; 5 us assumed
  t.disk = kNvmeDisk;
  return t;
}

TopologySpec hgxH200x8() {
  TopologySpec t = hgxH100x8();
  t.name = "hgx-h200x8";
  t.hbmBytesPerGpu = 141e9;  // H200 SXM 141 GB HBM3e
  return t;
}

TopologySpec hgxB200x8() {
  TopologySpec t = hgxH100x8();
  t.name = "hgx-b200x8";
  t.hbmBytesPerGpu = 180e9;     // MLPerf "B200-SXM-180GB"
  t.hostBytesPerTray = 4e12;    // DGX B200: 4 TB system memory
  t.nvlink = {900e9, 2e-6};     // NVLink 5: 1.8 TB/s bidirectional = 900 GB/s per direction; 2 us assumed
  return t;
}

struct Preset {
  const char* name;
  TopologySpec (*make)();
};
constexpr Preset kPresets[] = {
    {"gb200-nvl72", gb200Nvl72}, {"gb300-nvl72", gb300Nvl72}, {"hgx-h100x8", hgxH100x8},
    {"hgx-h200x8", hgxH200x8},   {"hgx-b200x8", hgxB200x8},
};

constexpr double kMaxBytes = 9007199254740992.0;  // 2^53: the largest integer a JS number holds exactly
constexpr uint64_t kMaxGpus = 65536;

std::string fmt(const char* format, const char* field, double value) {
  char buf[256];
  std::snprintf(buf, sizeof buf, format, field, value);
  return buf;
}

Status checkCount(const char* field, uint32_t value) {
  if (value >= 1) return Status::Ok();
  return Status::Error(Code::InvalidArgument, fmt("topology.%s must be an integer >= 1, got %.17g", field, value));
}

Status checkBytes(const char* field, double value) {
  if (std::isfinite(value) && value >= 0 && value <= kMaxBytes) return Status::Ok();
  return Status::Error(Code::InvalidArgument,
                       fmt("topology.%s must be a number of bytes in [0, 2^53], got %.17g", field, value));
}

Status checkLink(const char* field, const LinkSpec& link) {
  const double bw = link.bandwidthBytesPerS;
  if (!(std::isfinite(bw) && bw > 0)) {
    return Status::Error(Code::InvalidArgument,
                         fmt("topology.%s.bandwidthBytesPerS must be a finite number > 0, got %.17g", field, bw));
  }
  if (!(std::isfinite(link.latencyS) && link.latencyS >= 0)) {
    return Status::Error(Code::InvalidArgument,
                         fmt("topology.%s.latencyS must be a finite number >= 0, got %.17g", field, link.latencyS));
  }
  return Status::Ok();
}

}  // namespace

bool topologyPreset(const std::string& name, TopologySpec& out) {
  for (const Preset& p : kPresets) {
    if (name == p.name) {
      out = p.make();
      return true;
    }
  }
  return false;
}

std::vector<std::string> topologyPresetNames() {
  std::vector<std::string> names;
  for (const Preset& p : kPresets) names.emplace_back(p.name);
  return names;
}

Status validateTopology(const TopologySpec& spec) {
  Status s;
  if (!(s = checkCount("numDomains", spec.numDomains)).ok()) return s;
  if (!(s = checkCount("traysPerDomain", spec.traysPerDomain)).ok()) return s;
  if (!(s = checkCount("gpusPerTray", spec.gpusPerTray)).ok()) return s;
  // Computed in 64 bits: the uint32 product in TopologySpec::numGpus() could wrap before we reject it.
  const uint64_t numGpus = uint64_t(spec.numDomains) * spec.traysPerDomain * spec.gpusPerTray;
  if (numGpus > kMaxGpus) {
    return Status::Error(Code::InvalidArgument,
                         "topology numDomains * traysPerDomain * gpusPerTray must be <= 65536, got " +
                             std::to_string(numGpus));
  }
  if (!(s = checkBytes("hbmBytesPerGpu", spec.hbmBytesPerGpu)).ok()) return s;
  if (!(s = checkBytes("hostBytesPerTray", spec.hostBytesPerTray)).ok()) return s;
  if (!(s = checkBytes("diskBytesPerTray", spec.diskBytesPerTray)).ok()) return s;
  if (!(s = checkLink("nvlink", spec.nvlink)).ok()) return s;
  if (!(s = checkLink("hostLink", spec.hostLink)).ok()) return s;
  if (!(s = checkLink("scaleOut", spec.scaleOut)).ok()) return s;
  if (!(s = checkLink("disk", spec.disk)).ok()) return s;
  if (spec.hostLinkKind != LinkKind::C2C && spec.hostLinkKind != LinkKind::Pcie) {
    return Status::Error(Code::InvalidArgument, std::string("topology.hostLinkKind must be 'c2c' or 'pcie', got '") +
                                                    linkName(spec.hostLinkKind) + "'");
  }
  return Status::Ok();
}

}  // namespace nvl
