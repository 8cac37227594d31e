// Config validation and pool sizing (SPEC §1): bytesPerToken for GQA and MLA, derived pool sizes, bytes-mode
// memory cap, and the config fields that are rejected.
#include <string>

#include "fixture.h"

using nvl::Code;
using nvl::KvConfig;

namespace {

KvConfig llama70b(uint32_t tensorParallel) {
  KvConfig c;
  nvl::topologyPreset("gb200-nvl72", c.topology);
  c.layout = nvl::KvLayout{80, 8, 128, 0, 2, tensorParallel};  // Llama-3.1-70B, bf16 KV
  return c;
}

void expectInvalid(const KvConfig& c, const char* fieldInMessage) {
  nvl::Status s;
  auto kv = nvl::KvManager::create(c, s);
  CHECK(kv == nullptr);
  CHECK(s.code == Code::InvalidArgument);
  if (s.message.find(fieldInMessage) == std::string::npos) {
    nvltest::fail(__FILE__, __LINE__, "message '" + s.message + "' does not name " + fieldInMessage);
  }
}

void checkBytesPerToken() {
  auto tp1 = nvltest::make(llama70b(1));
  CHECK_EQ(tp1->bytesPerToken(), uint64_t(327680));  // 2 x 80 layers x 8 heads x 128 x 2 bytes
  CHECK_EQ(tp1->blockBytes(), uint64_t(327680) * 16);
  auto tp8 = nvltest::make(llama70b(8));
  CHECK_EQ(tp8->bytesPerToken(), uint64_t(40960));  // one KV head per GPU
  // TP 16 > 8 heads: each GPU still holds one (replicated) head.
  auto tp16 = nvltest::make(llama70b(16));
  CHECK_EQ(tp16->bytesPerToken(), uint64_t(40960));

  KvConfig ds = llama70b(8);
  ds.layout = nvl::KvLayout{61, 0, 0, 576, 1, 8};  // DeepSeek-V3 MLA latent, fp8, replicated across TP
  CHECK_EQ(nvltest::make(ds)->bytesPerToken(), uint64_t(35136));
  ds.layout.bytesPerElement = 0.5;  // fp4: 17,568 exactly
  CHECK_EQ(nvltest::make(ds)->bytesPerToken(), uint64_t(17568));
  KvConfig odd = llama70b(2);
  odd.hostBlocksPerTray = 0;  // tiny blocks would derive more than 2^31 - 1 host blocks
  odd.layout = nvl::KvLayout{3, 3, 5, 0, 0.5, 2};  // ceil(2 * 3 * ceil(3/2) * 5 * 0.5) = 30
  CHECK_EQ(nvltest::make(odd)->bytesPerToken(), uint64_t(30));
  odd.layout = nvl::KvLayout{3, 0, 0, 5, 0.5, 1};  // MLA: ceil(3 * 5 * 0.5) = ceil(7.5) = 8
  CHECK_EQ(nvltest::make(odd)->bytesPerToken(), uint64_t(8));
}

void checkDerivedPools() {
  KvConfig c = llama70b(8);
  c.weightsBytesPerGpu = 17.5e9;  // 70B bf16 weights / TP8
  auto kv = nvltest::make(c);
  nvl::KvStats s;
  kv->stats(s);
  CHECK_EQ(s.pools.size(), size_t(72 + 18 + 18));
  CHECK_EQ(s.pools[0].totalBlocks, 228729u);   // floor((186e9 * 0.9 - 17.5e9) / 655360)
  CHECK_EQ(s.pools[72].totalBlocks, 732421u);  // floor(960e9 * 0.5 / 655360)
  CHECK_EQ(s.pools[90].totalBlocks, 0u);       // no disk in the preset
  CHECK(s.pools[72].location == (nvl::Location{nvl::Tier::Host, 0}));
  CHECK(s.pools[107].location == (nvl::Location{nvl::Tier::Disk, 17}));
  CHECK_EQ(s.pools[0].freeBlocks, 228729u);

  // Exactly one block left after weights: allowed. One byte less: rejected, naming weightsBytesPerGpu.
  c.weightsBytesPerGpu = 186e9 * 0.9 - 655360;
  CHECK_EQ(nvltest::poolStats(*nvltest::make(c), 0).totalBlocks, 1u);
  c.weightsBytesPerGpu += 1;
  expectInvalid(c, "weightsBytesPerGpu");

  // Explicit sizes win; host and disk may be 0; device may not.
  c = llama70b(8);
  c.deviceBlocksPerGpu = 7;
  c.hostBlocksPerTray = 0;
  c.diskBlocksPerTray = 3;
  kv = nvltest::make(c);
  kv->stats(s);
  CHECK_EQ(s.pools[5].totalBlocks, 7u);
  CHECK_EQ(s.pools[80].totalBlocks, 0u);
  CHECK_EQ(s.pools[100].totalBlocks, 3u);
  c.deviceBlocksPerGpu = 0;
  expectInvalid(c, "deviceBlocksPerGpu");
  c.deviceBlocksPerGpu = int64_t(1) << 31;
  expectInvalid(c, "deviceBlocksPerGpu");

  // Derived host pool too large for 31-bit block numbers (1-byte tokens, 1-token blocks, 2 TB host).
  c = llama70b(1);
  nvl::topologyPreset("hgx-h100x8", c.topology);
  c.layout = nvl::KvLayout{1, 0, 0, 1, 1, 1};
  c.tokensPerBlock = 1;
  c.deviceBlocksPerGpu = 4;
  expectInvalid(c, "hostBlocksPerTray");
}

void checkBytesModeCap() {
  KvConfig c = nvltest::smallConfig(1, 2, 2, 10, 5, 5);  // 4 x 10 + 2 x 10 = 60 blocks x 16 bytes = 960
  c.dataMode = nvl::DataMode::Bytes;
  c.backend = nvl::BackendChoice::Cpu;
  c.maxRealBytes = 960;
  CHECK(nvltest::make(c) != nullptr);
  c.maxRealBytes = 959;
  nvl::Status s;
  CHECK(nvl::KvManager::create(c, s) == nullptr);
  CHECK(s.code == Code::TooLarge);
  // Metadata mode keeps no memory, so the cap does not apply.
  c.dataMode = nvl::DataMode::Metadata;
  CHECK(nvltest::make(c) != nullptr);
}

void checkBackendChoice() {
  KvConfig c = nvltest::smallConfig(1, 1, 2, 4, 4, 0);
  c.dataMode = nvl::DataMode::Bytes;
  c.backend = nvl::BackendChoice::Auto;
  auto kv = nvltest::make(c);
  const nvl::BackendInfo info = kv->backendInfo();
  CHECK(info.backend == "cpu" || info.backend == "cuda");
  CHECK(info.dataMode == nvl::DataMode::Bytes);
  if (!info.probe.cudaCompiled) {
    // Built without CUDA: an explicit 'cuda' request must fail with E_BACKEND_UNAVAILABLE, in either mode.
    c.backend = nvl::BackendChoice::Cuda;
    nvl::Status s;
    CHECK(nvl::KvManager::create(c, s) == nullptr);
    CHECK(s.code == Code::BackendUnavailable);
    c.dataMode = nvl::DataMode::Metadata;
    CHECK(nvl::KvManager::create(c, s) == nullptr);
    CHECK(s.code == Code::BackendUnavailable);
  }
  c = nvltest::smallConfig(1, 1, 2, 4, 4, 0);
  CHECK_EQ(nvltest::make(c)->backendInfo().backend, std::string("cpu"));
}

void checkInvalidFields() {
  KvConfig base = nvltest::smallConfig(1, 1, 2, 4, 4, 0);
  KvConfig c = base;
  c.topology.gpusPerTray = 0;
  expectInvalid(c, "gpusPerTray");
  c = base;
  c.layout.numLayers = 0;
  expectInvalid(c, "numLayers");
  c = base;
  c.layout.bytesPerElement = 3;
  expectInvalid(c, "bytesPerElement");
  c = base;
  c.layout.tensorParallel = 0;
  expectInvalid(c, "tensorParallel");
  c = base;
  c.layout.numKvHeads = 0;
  expectInvalid(c, "numKvHeads");
  c = base;
  c.layout.headDim = 0;
  expectInvalid(c, "headDim");
  c = base;
  c.tokensPerBlock = 0;
  expectInvalid(c, "tokensPerBlock");
  c.tokensPerBlock = 65537;
  expectInvalid(c, "tokensPerBlock");
  c = base;
  c.weightsBytesPerGpu = -1;
  expectInvalid(c, "weightsBytesPerGpu");
  c = base;
  c.deviceReserveFraction = 1;
  expectInvalid(c, "deviceReserveFraction");
  c = base;
  c.hostFraction = 1.5;
  expectInvalid(c, "hostFraction");
  c = base;
  c.eventLogCapacity = 0;
  expectInvalid(c, "eventLogCapacity");
  c = base;
  c.maxRealBytes = -1;
  expectInvalid(c, "maxRealBytes");
  c = base;
  c.tokensPerBlock = 65536;  // the largest block size is fine
  CHECK(nvltest::make(c) != nullptr);
}

}  // namespace

int main() {
  checkBytesPerToken();
  checkDerivedPools();
  checkBytesModeCap();
  checkBackendChoice();
  checkInvalidFields();
  return nvltest::finish("sizing_test");
}
