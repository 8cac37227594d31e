// Topology presets (figures pinned so an accidental edit shows up) and validateTopology's rejections.
#include <cmath>
#include <limits>
#include <string>

#include "check.h"
#include "topology.h"

using nvl::Code;
using nvl::LinkKind;
using nvl::TopologySpec;

namespace {

TopologySpec preset(const char* name) {
  TopologySpec t;
  CHECK(nvl::topologyPreset(name, t));
  CHECK_EQ(t.name, std::string(name));
  CHECK_OK(nvl::validateTopology(t));
  return t;
}

void checkPresets() {
  CHECK_EQ(nvl::topologyPresetNames().size(), size_t(5));
  TopologySpec unknown;
  CHECK(!nvl::topologyPreset("dgx-a100", unknown));

  TopologySpec gb200 = preset("gb200-nvl72");
  CHECK_EQ(gb200.numGpus(), 72u);
  CHECK_EQ(gb200.numTrays(), 18u);
  CHECK_EQ(gb200.cpusPerTray, 2u);
  CHECK_EQ(gb200.hbmBytesPerGpu, 186e9);
  CHECK_EQ(gb200.hostBytesPerTray, 960e9);
  CHECK_EQ(gb200.diskBytesPerTray, 0.0);
  CHECK_EQ(gb200.nvlink.bandwidthBytesPerS, 900e9);
  CHECK_EQ(gb200.hostLink.bandwidthBytesPerS, 450e9);
  CHECK(gb200.hostLinkKind == LinkKind::C2C);
  CHECK_EQ(gb200.scaleOut.bandwidthBytesPerS, 50e9);
  CHECK_EQ(gb200.disk.bandwidthBytesPerS, 7e9);
  CHECK_EQ(gb200.trayOfGpu(71), 17u);
  CHECK_EQ(gb200.trayOfGpu(4), 1u);
  CHECK_EQ(gb200.domainOfGpu(71), 0u);

  TopologySpec gb300 = preset("gb300-nvl72");
  CHECK_EQ(gb300.numGpus(), 72u);
  CHECK_EQ(gb300.hbmBytesPerGpu, 288e9);
  CHECK_EQ(gb300.hostBytesPerTray, 944e9);
  CHECK_EQ(gb300.scaleOut.bandwidthBytesPerS, 100e9);
  CHECK(gb300.hostLinkKind == LinkKind::C2C);

  TopologySpec h100 = preset("hgx-h100x8");
  CHECK_EQ(h100.numGpus(), 8u);
  CHECK_EQ(h100.numTrays(), 1u);
  CHECK_EQ(h100.hbmBytesPerGpu, 80e9);
  CHECK_EQ(h100.hostBytesPerTray, 2e12);
  CHECK_EQ(h100.nvlink.bandwidthBytesPerS, 450e9);
  CHECK(h100.hostLinkKind == LinkKind::Pcie);
  CHECK_EQ(h100.hostLink.bandwidthBytesPerS, 64e9);

  CHECK_EQ(preset("hgx-h200x8").hbmBytesPerGpu, 141e9);
  TopologySpec b200 = preset("hgx-b200x8");
  CHECK_EQ(b200.hbmBytesPerGpu, 180e9);
  CHECK_EQ(b200.nvlink.bandwidthBytesPerS, 900e9);
  CHECK_EQ(b200.hostBytesPerTray, 4e12);
  CHECK(b200.hostLinkKind == LinkKind::Pcie);

  // Multi-domain layout: 2 racks, GPU 72 is in tray 18 of domain 1.
  gb200.numDomains = 2;
  CHECK_EQ(gb200.numGpus(), 144u);
  CHECK_EQ(gb200.trayOfGpu(72), 18u);
  CHECK_EQ(gb200.domainOfGpu(72), 1u);
  CHECK_EQ(gb200.domainOfGpu(71), 0u);
}

void checkLinkNames() {
  CHECK_EQ(std::string(nvl::linkName(LinkKind::NvLink)), std::string("nvlink"));
  CHECK_EQ(std::string(nvl::linkName(LinkKind::C2C)), std::string("c2c"));
  CHECK_EQ(std::string(nvl::linkName(LinkKind::Pcie)), std::string("pcie"));
  CHECK_EQ(std::string(nvl::linkName(LinkKind::ScaleOut)), std::string("scaleout"));
  CHECK_EQ(std::string(nvl::linkName(LinkKind::Disk)), std::string("disk"));
}

template <class Edit>
void expectInvalid(Edit edit, const char* fieldInMessage) {
  TopologySpec t;
  nvl::topologyPreset("gb200-nvl72", t);
  edit(t);
  nvl::Status s = nvl::validateTopology(t);
  CHECK(s.code == Code::InvalidArgument);
  if (s.message.find(fieldInMessage) == std::string::npos) {
    nvltest::fail(__FILE__, __LINE__, "message '" + s.message + "' does not name " + fieldInMessage);
  }
}

void checkValidation() {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  expectInvalid([](TopologySpec& t) { t.numDomains = 0; }, "numDomains");
  expectInvalid([](TopologySpec& t) { t.traysPerDomain = 0; }, "traysPerDomain");
  expectInvalid([](TopologySpec& t) { t.gpusPerTray = 0; }, "gpusPerTray");
  expectInvalid([](TopologySpec& t) { t.numDomains = 911; }, "65536");  // 911 x 72 = 65,592 GPUs
  expectInvalid([](TopologySpec& t) { t.numDomains = 0x10000; t.gpusPerTray = 0x10000; }, "65536");  // wraps u32
  expectInvalid([](TopologySpec& t) { t.hbmBytesPerGpu = -1; }, "hbmBytesPerGpu");
  expectInvalid([nan](TopologySpec& t) { t.hostBytesPerTray = nan; }, "hostBytesPerTray");
  expectInvalid([](TopologySpec& t) { t.diskBytesPerTray = 1e16; }, "diskBytesPerTray");  // > 2^53
  expectInvalid([](TopologySpec& t) { t.nvlink.bandwidthBytesPerS = 0; }, "nvlink.bandwidthBytesPerS");
  expectInvalid([inf](TopologySpec& t) { t.hostLink.bandwidthBytesPerS = inf; }, "hostLink.bandwidthBytesPerS");
  expectInvalid([](TopologySpec& t) { t.scaleOut.latencyS = -1e-6; }, "scaleOut.latencyS");
  expectInvalid([nan](TopologySpec& t) { t.disk.latencyS = nan; }, "disk.latencyS");
  expectInvalid([](TopologySpec& t) { t.hostLinkKind = LinkKind::NvLink; }, "hostLinkKind");

  // Boundaries that are allowed: exactly 65,536 GPUs, zero latency, zero bytes, no CPUs.
  TopologySpec t;
  nvl::topologyPreset("hgx-h100x8", t);
  t.numDomains = 8192;
  t.cpusPerTray = 0;
  t.nvlink.latencyS = 0;
  t.hostBytesPerTray = 0;
  t.diskBytesPerTray = 9007199254740992.0;
  CHECK_EQ(t.numGpus(), 65536u);
  CHECK_OK(nvl::validateTopology(t));
}

}  // namespace

int main() {
  checkPresets();
  checkLinkNames();
  checkValidation();
  CHECK_EQ(std::string(nvl::codeName(Code::SequenceFreed)), std::string("E_SEQUENCE_FREED"));
  CHECK_EQ(std::string(nvl::codeName(Code::BackendUnavailable)), std::string("E_BACKEND_UNAVAILABLE"));
  return nvltest::finish("topology_test");
}
