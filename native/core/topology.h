// Cluster topology: domains (NVL72 racks or HGX nodes) -> compute trays -> GPUs, and the link model.
// Layout rules: native/SPEC.md §1.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "status.h"

namespace nvl {

enum class LinkKind : uint8_t { NvLink = 0, C2C = 1, Pcie = 2, ScaleOut = 3, Disk = 4 };
constexpr int kNumLinkKinds = 5;
const char* linkName(LinkKind kind);  // "nvlink", "c2c", "pcie", "scaleout", "disk"

struct LinkSpec {
  double bandwidthBytesPerS = 0;  // one direction
  double latencyS = 0;
};

struct TopologySpec {
  std::string name;
  uint32_t numDomains = 1;
  uint32_t traysPerDomain = 1;
  uint32_t gpusPerTray = 1;
  uint32_t cpusPerTray = 0;
  double hbmBytesPerGpu = 0;
  double hostBytesPerTray = 0;
  double diskBytesPerTray = 0;
  LinkSpec nvlink;
  LinkSpec hostLink;
  LinkKind hostLinkKind = LinkKind::C2C;  // C2C or Pcie
  LinkSpec scaleOut;
  LinkSpec disk;

  uint32_t numTrays() const { return numDomains * traysPerDomain; }
  uint32_t numGpus() const { return numTrays() * gpusPerTray; }
  uint32_t trayOfGpu(uint32_t gpu) const { return gpu / gpusPerTray; }
  uint32_t domainOfGpu(uint32_t gpu) const { return gpu / (gpusPerTray * traysPerDomain); }
};

// Fills `out` with a named preset; false when the name is unknown.
bool topologyPreset(const std::string& name, TopologySpec& out);
std::vector<std::string> topologyPresetNames();
Status validateTopology(const TopologySpec& spec);

}  // namespace nvl
