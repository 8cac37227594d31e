// kv_replay: replays `nvlsched bench kv`'s block-operation workload directly on the C++ core (no N-API, no JS),
// so the benchmark can say how much of the time is the core and how much is the crossing into JavaScript.
// Input file (little-endian): u32 numRequests, u32 promptBlocks, u32 decodeBlocks, u32 liveSequences,
// u32 tokensPerBlock, u32 deviceBlocksPerGpu, u32 hostBlocksPerTray, then the KV layout as u32 numLayers,
// numKvHeads, headDim, mlaLatentDim, bytesPerElement, tensorParallel (so the manager is configured exactly as
// bench/kv.ts configured its own), then per request: u32 gpu, u64 promptHashes[promptBlocks],
// u64 decodeHashes[decodeBlocks]. The topology is the GB200 NVL72 preset, as in bench/kv.ts.
// Prints one JSON line: {"core_ops_per_s", "core_us_per_request", "events"}.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <vector>

#include "kv_manager.h"

namespace {

struct Request {
  uint32_t gpu = 0;
  std::vector<uint64_t> prompt;
  std::vector<uint64_t> decode;
};

bool readU32(FILE* f, uint32_t& v) { return std::fread(&v, sizeof v, 1, f) == 1; }

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: kv_replay <workload.bin>\n");
    return 2;
  }
  FILE* f = std::fopen(argv[1], "rb");
  if (!f) {
    std::fprintf(stderr, "kv_replay: cannot open %s\n", argv[1]);
    return 2;
  }
  uint32_t numRequests = 0, promptBlocks = 0, decodeBlocks = 0, liveSequences = 0, tokensPerBlock = 0;
  uint32_t deviceBlocksPerGpu = 0, hostBlocksPerTray = 0;
  uint32_t layout[6] = {};
  bool headerOk = readU32(f, numRequests) && readU32(f, promptBlocks) && readU32(f, decodeBlocks) &&
                  readU32(f, liveSequences) && readU32(f, tokensPerBlock) && readU32(f, deviceBlocksPerGpu) &&
                  readU32(f, hostBlocksPerTray);
  for (uint32_t& v : layout) headerOk = headerOk && readU32(f, v);
  if (!headerOk || promptBlocks > 1u << 20 || decodeBlocks > 1u << 20) {
    std::fprintf(stderr, "kv_replay: bad header\n");
    return 2;
  }
  std::vector<Request> requests(numRequests);
  for (Request& r : requests) {
    r.prompt.resize(promptBlocks);
    r.decode.resize(decodeBlocks);
    if (!readU32(f, r.gpu) || std::fread(r.prompt.data(), 8, promptBlocks, f) != promptBlocks ||
        std::fread(r.decode.data(), 8, decodeBlocks, f) != decodeBlocks) {
      std::fprintf(stderr, "kv_replay: truncated file\n");
      return 2;
    }
  }
  std::fclose(f);

  nvl::KvConfig config;
  nvl::topologyPreset("gb200-nvl72", config.topology);
  config.layout = nvl::KvLayout{layout[0], layout[1], layout[2], layout[3], static_cast<double>(layout[4]), layout[5]};
  config.tokensPerBlock = tokensPerBlock;
  config.deviceBlocksPerGpu = deviceBlocksPerGpu;
  config.hostBlocksPerTray = hostBlocksPerTray;
  config.diskBlocksPerTray = 0;
  config.backend = nvl::BackendChoice::Cpu;
  nvl::Status status;
  auto kv = nvl::KvManager::create(config, status);
  if (!kv) {
    std::fprintf(stderr, "kv_replay: %s\n", status.message.c_str());
    return 1;
  }
  std::deque<std::pair<uint32_t, uint32_t>> live;  // seqId, blocks
  std::vector<nvl::KvEvent> events;
  uint64_t blockOps = 0, drained = 0;
  auto started = std::chrono::steady_clock::now();
  for (const Request& r : requests) {
    nvl::AllocateResult alloc;
    if (!kv->allocate(r.gpu, promptBlocks * tokensPerBlock, r.prompt.data(), r.prompt.size(), 0, alloc).ok()) return 1;
    blockOps += alloc.numBlocks;
    uint32_t blocks = alloc.numBlocks;
    for (uint64_t hash : r.decode) {
      nvl::AppendResult appended;
      if (!kv->append(alloc.seqId, tokensPerBlock, &hash, 1, appended).ok()) return 1;
      blockOps += appended.newBlocks;
      blocks = appended.numBlocks;
    }
    live.emplace_back(alloc.seqId, blocks);
    kv->drainEvents(SIZE_MAX, events);
    drained += events.size();
    if (live.size() > liveSequences) {
      kv->free(live.front().first);
      blockOps += live.front().second;
      live.pop_front();
    }
  }
  for (auto& [seqId, blocks] : live) {
    kv->free(seqId);
    blockOps += blocks;
  }
  kv->drainEvents(SIZE_MAX, events);
  drained += events.size();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("{\"core_ops_per_s\":%.0f,\"core_us_per_request\":%.3f,\"block_ops\":%llu,\"events\":%llu}\n",
              blockOps / seconds, seconds * 1e6 / numRequests, static_cast<unsigned long long>(blockOps),
              static_cast<unsigned long long>(drained));
  return 0;
}
