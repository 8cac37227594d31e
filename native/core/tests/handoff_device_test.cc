// The device path of the KV hand-off (handoff_nccl.h) on a machine without a GPU: every entry point refuses with a
// coded status instead of crashing (metadata mode: no bytes; CPU backend: no device memory), and changes nothing.
// The path itself is UNTESTED ON A DEVICE (native/cuda/README.md "Hand-off").
#include <cstring>
#include <memory>

#include "fixture.h"
#include "handoff_nccl.h"

using nvl::Code;

int main() {
  nvl::ncclUniqueId id;
  std::memset(&id, 0, sizeof(id));
  std::unique_ptr<nvl::NcclHandoffLink> link;

  nvl::KvConfig metadata = nvltest::smallConfig(1, 1, 2, 8, 0, 0);
  auto kvMeta = nvltest::make(metadata);
  CHECK_CODE(kvMeta->handoffOpenLink(2, id, 0, link), Code::InvalidArgument);  // gpu out of range
  CHECK_CODE(kvMeta->handoffOpenLink(0, id, 0, link), Code::InvalidArgument);  // metadata: no bytes

  nvl::KvConfig bytes = metadata;
  bytes.dataMode = nvl::DataMode::Bytes;
  bytes.backend = nvl::BackendChoice::Cpu;
  auto kv = nvltest::make(bytes);
  const nvltest::Capture before = nvltest::capture(*kv, {});
  CHECK_CODE(kv->handoffOpenLink(1, id, 0, link), Code::BackendUnavailable);  // the CPU backend has no device memory
  CHECK(!link);
  CHECK(nvltest::sameCapture(before, nvltest::capture(*kv, {})));

  // Without NCCL the link cannot be made; with NCCL (GPU machines) a bad rank is refused before any NCCL call.
  nvl::ncclUniqueId fresh;
  const nvl::Status made = nvl::NcclHandoffLink::newUniqueId(fresh);
  CHECK(made.ok() || made.code == Code::BackendUnavailable);
  if (made.ok()) CHECK_CODE(nvl::NcclHandoffLink::create(fresh, 2, link), Code::InvalidArgument);
  return nvltest::finish("handoff_device_test");
}
