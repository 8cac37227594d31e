// KV hand-off between two KV managers (prefill instance -> decode instance), possibly in two processes: the plain
// data that crosses the process boundary, and the chunk geometry both sides compute the same way.
// Semantics: native/SPEC.md §11. The calls themselves are KvManager::handoff* (kv_manager.h).
//
// Protocol (each arrow is a worker-to-worker message; the managers never talk to each other):
//   source       handoffBegin(seq, {destinationGpu}) -> HandoffPlan        (pins the sequence's blocks)
//   destination  handoffReserve(plan)               -> HandoffTicket      (takes every block, all-or-nothing)
//   source       handoffExport(id, chunk)           -> HandoffChunk + bytes  (repeatable; reads at call time)
//   destination  handoffImport(ticket, chunk, bytes) -> HandoffProgress   (repeatable; checksum-checked)
//   destination  handoffCommit(ticket)               -> a runnable sequence (hashes registered now)
//   source       handoffComplete(id)                 -> pins released; 'move' frees the source sequence
//   either side  handoffAbort(id) at any point       -> everything it holds is released (recompute fallback)
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "topology.h"

namespace nvl {

struct HandoffOptions {
  uint32_t destinationGpu = 0;  // a GPU of the same topology (both managers are configured with the rack)
  bool crossDomain = false;     // allow a destination in another NVLink domain (scale-out); else E_CROSS_DOMAIN
  uint8_t mode = 0;             // 0 move (complete frees the source), 1 copy (complete keeps it)
  uint32_t blocksPerChunk = 0;  // 0: all blocks in one block group
  uint32_t layersPerChunk = 1;  // layer-wise by default: chunk k of layer group g can leave when prefill passed g
};

// Chunk c covers layer group c / blockGroups and block group c % blockGroups (layer-major, so the chunks of the
// first layers come first). Inside a chunk's bytes: blocks ascending, then tokens, then the layer slice of each
// token. Layer l of a token's bytesPerToken bytes is [floor(l*B/L), floor((l+1)*B/L)) with B = bytesPerToken.
struct ChunkGrid {
  uint32_t numTokens = 0;
  uint32_t tokensPerBlock = 1;
  uint64_t bytesPerToken = 0;
  uint32_t numLayers = 1;
  uint32_t numBlocks = 0;       // ceil(numTokens / tokensPerBlock)
  uint32_t blocksPerChunk = 1;  // clamped to [1, numBlocks]
  uint32_t layersPerChunk = 1;  // clamped to [1, numLayers]
  uint32_t blockGroups = 0;
  uint32_t layerGroups = 0;
  uint64_t numChunks = 0;

  // Fills the derived fields; blocksPerChunk 0 means numBlocks.
  void init(uint32_t numTokens, uint32_t tokensPerBlock, uint64_t bytesPerToken, uint32_t numLayers,
            uint32_t blocksPerChunk, uint32_t layersPerChunk);
  uint64_t layerOffset(uint32_t layer) const;
  uint32_t tokensInBlock(uint32_t block) const;

  struct Chunk {
    uint32_t firstBlock = 0, numBlocks = 0, firstLayer = 0, numLayers = 0;
    uint64_t sliceOffset = 0;  // byte offset of the first layer inside a token
    uint64_t sliceBytes = 0;   // bytes of the chunk's layers per token
    uint64_t tokens = 0;       // tokens of its blocks
    uint64_t bytes = 0;        // tokens * sliceBytes
  };
  Chunk chunk(uint32_t index) const;
};

struct HandoffPlan {
  uint32_t handoffId = 0;  // the source manager's id for this hand-off
  uint32_t seqId = 0;      // the source sequence
  uint32_t sourceGpu = 0;
  uint32_t destinationGpu = 0;
  uint8_t mode = 0;        // 0 move, 1 copy
  bool crossDomain = false;
  LinkKind link = LinkKind::NvLink;  // nvlink inside a domain, scaleout across
  bool bytesMode = false;  // the source keeps real bytes (dataMode 'bytes')
  uint32_t numTokens = 0;
  uint32_t numBlocks = 0;
  uint32_t tokensPerBlock = 0;
  uint64_t bytesPerToken = 0;
  uint32_t numLayers = 0;
  std::vector<uint64_t> hashes;  // the sequence's chained hashes (leading full blocks)
  uint32_t blocksPerChunk = 0;
  uint32_t layersPerChunk = 0;
  uint32_t numChunks = 0;
  double totalBytes = 0;
  double maxChunkBytes = 0;
  double estimatedSeconds = 0;  // sum over chunks of (link latency + chunk bytes / bandwidth)
  double firstLayerSeconds = 0;  // the chunks of layer group 0: when the decode side can start its first layer
};

struct HandoffChunk {
  uint32_t index = 0;
  uint32_t firstBlock = 0, numBlocks = 0, firstLayer = 0, numLayers = 0;
  uint64_t bytes = 0;
  uint64_t checksum = 0;  // handoffChecksum of the bytes (0 in metadata mode)
};

struct HandoffReserveOptions {
  int64_t gpu = -1;            // -1: the plan's destinationGpu
  uint32_t reserveTokens = 0;  // room for decode output, as allocate's reserveTokens
};

struct HandoffTicket {
  uint32_t ticketId = 0;  // the destination manager's id for this hand-off
  uint32_t gpu = 0;
  uint32_t numBlocks = 0;     // table length (with reserved blocks)
  uint32_t cachedBlocks = 0;  // leading blocks already resident: shared, never imported
  uint32_t newBlocks = 0;
  uint32_t numChunks = 0;
  uint32_t neededChunks = 0;  // chunks not wholly inside the cached prefix
};

struct HandoffProgress {
  uint32_t id = 0;
  bool source = false;
  uint32_t numChunks = 0;
  uint32_t neededChunks = 0;
  uint32_t doneChunks = 0;   // destination: needed chunks imported; source: distinct chunks exported
  uint32_t readyLayers = 0;  // destination: leading layers complete for every block (decode may run them)
  bool complete = false;     // destination: every needed chunk imported
};

struct HandoffCommit {
  uint32_t seqId = 0;
  uint32_t gpu = 0;
  uint32_t numTokens = 0;
  uint32_t numBlocks = 0;
  uint32_t cachedBlocks = 0;
  uint32_t blocksCopied = 0;
  double bytes = 0;  // token bytes that crossed
  LinkKind link = LinkKind::NvLink;
};

struct HandoffStats {
  uint64_t liveSources = 0;
  uint64_t liveDestinations = 0;
  uint64_t pinnedBlocks = 0;    // source blocks held by hand-off pins
  uint64_t reservedBlocks = 0;  // destination blocks held by uncommitted tickets
  uint64_t begun = 0, completed = 0, reserved = 0, committed = 0, aborted = 0;
  double bytesExported = 0, bytesImported = 0;
};

// 64-bit checksum of chunk bytes (word-wise multiply-rotate, fmix64 finish): catches torn or corrupted chunks.
uint64_t handoffChecksum(const uint8_t* data, size_t size);

}  // namespace nvl
