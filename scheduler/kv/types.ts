// Contracts of the KV-cache manager: the one shape that both the native addon facade (scheduler/kv/native.ts)
// and the pure-TypeScript reference (scheduler/kv/reference/) implement. Plain data only: these objects cross
// N-API and, later, gRPC. Semantics are specified in native/SPEC.md; read it before changing anything here.
// This file imports nothing.

/** Link kinds, in the order used by every per-link array (stats.bytesMovedByLink). */
export const LINK_KINDS = ['nvlink', 'c2c', 'pcie', 'scaleout', 'disk'] as const;
export type LinkKind = (typeof LINK_KINDS)[number];

export const TIERS = ['device', 'host', 'disk'] as const;
export type Tier = (typeof TIERS)[number];

export type DataMode = 'metadata' | 'bytes';
export type BackendChoice = 'auto' | 'cpu' | 'cuda';

export interface LinkSpec {
  /** Sustained bandwidth of one direction, bytes per second. */
  bandwidthBytesPerS: number;
  /** Fixed cost of one transfer, seconds. */
  latencyS: number;
}

/**
 * A cluster: `numDomains` NVLink domains (an NVL72 rack, or one HGX node), each of `traysPerDomain` compute trays,
 * each of `gpusPerTray` GPUs and `cpusPerTray` host CPUs (Grace on NVL72). GPU g belongs to tray
 * floor(g / gpusPerTray) and domain floor(g / (gpusPerTray * traysPerDomain)); trays number globally the same way.
 */
export interface TopologySpec {
  name: string;
  numDomains: number;
  traysPerDomain: number;
  gpusPerTray: number;
  cpusPerTray: number;
  hbmBytesPerGpu: number;
  /** Host memory of one tray (both Grace CPUs together on NVL72). */
  hostBytesPerTray: number;
  /** Local SSD capacity of one tray; 0 when there is none. */
  diskBytesPerTray: number;
  /** GPU to GPU inside a domain. */
  nvlink: LinkSpec;
  /** GPU to its own tray's host memory: NVLink-C2C on Grace, PCIe on HGX. */
  hostLink: LinkSpec;
  hostLinkKind: 'c2c' | 'pcie';
  /** GPU to GPU in another domain (per-GPU NIC). */
  scaleOut: LinkSpec;
  /** Host memory to local SSD. */
  disk: LinkSpec;
}

export type TopologyPresetName = 'gb200-nvl72' | 'gb300-nvl72' | 'hgx-h100x8' | 'hgx-h200x8' | 'hgx-b200x8';

/** What one token of KV costs on one GPU. MLA models set mlaLatentDim and ignore numKvHeads/headDim. */
export interface KvLayout {
  numLayers: number;
  numKvHeads: number;
  headDim: number;
  /** 0 for GQA/MHA; the compressed latent width (kv_lora_rank + rope dim, 576 for DeepSeek-V3) for MLA. */
  mlaLatentDim: number;
  /** 2 for bf16/fp16, 1 for fp8, 0.5 for fp4. */
  bytesPerElement: number;
  /** GQA KV heads are split across this many GPUs (at least one head per GPU); MLA latents are replicated. */
  tensorParallel: number;
}

export interface KvManagerConfig {
  /** A preset name or a full topology. */
  topology: TopologyPresetName | TopologySpec;
  /** Multiplies the preset's domain count (racks or nodes). Default 1. */
  numDomains?: number;
  layout: KvLayout;
  /** Default 16. */
  tokensPerBlock?: number;
  /** Explicit device pool size; default derived from HBM minus weights minus reserve. */
  deviceBlocksPerGpu?: number;
  /** Default 0. */
  weightsBytesPerGpu?: number;
  /** Share of HBM kept for activations and workspace. Default 0.1. */
  deviceReserveFraction?: number;
  /** Explicit host tier size per tray; default hostFraction of hostBytesPerTray. */
  hostBlocksPerTray?: number;
  /** Default 0.5. */
  hostFraction?: number;
  /** Explicit disk tier size per tray; default floor(diskBytesPerTray / blockBytes). */
  diskBlocksPerTray?: number;
  /** Default 'metadata'. */
  dataMode?: DataMode;
  /** Largest total pool memory allowed in 'bytes' mode. Default 1 GiB. */
  maxRealBytes?: number;
  /** Events kept before the oldest are dropped (consumers see a gap in eventId). Default 1,048,576. */
  eventLogCapacity?: number;
  /** Default 'auto'. */
  backend?: BackendChoice;
}

/** Where blocks live: a GPU's HBM pool (index = GPU), or a tray's host / disk pool (index = tray). */
export interface Location {
  tier: Tier;
  index: number;
}

export interface AllocateRequest {
  gpu: number;
  numTokens: number;
  /** Chained hashes of the leading full blocks (length ≤ floor(numTokens / tokensPerBlock)). */
  blockHashes?: BigUint64Array;
  /** Extra tokens to reserve room for (predicted output). Default 0. */
  reserveTokens?: number;
}

export interface AllocateResult {
  seqId: number;
  /** Blocks in the sequence's table (including reserved ones). */
  numBlocks: number;
  /** Leading blocks reused from the GPU's cache. */
  cachedBlocks: number;
  /** Blocks taken from the free pool (cachedBlocks + newBlocks = numBlocks). */
  newBlocks: number;
}

export interface AppendResult {
  numTokens: number;
  numBlocks: number;
  /** Blocks taken from the free pool by this call. */
  newBlocks: number;
}

export interface SequenceInfo {
  seqId: number;
  location: Location;
  numTokens: number;
  numBlocks: number;
  /** Leading blocks that carry a hash. */
  hashedBlocks: number;
  /** Hash of the last hashed block, 0n when none: the parent for the next block's chained hash. */
  lastHash: bigint;
  /** The last GPU the sequence lived on: where promote() returns it by default. */
  homeGpu: number;
}

export interface PrefixMatch {
  gpu: number;
  /** Leading blocks of the chain resident on this GPU's HBM. */
  deviceBlocks: number;
  /** Of the leading run, blocks found only in the tray's host tier. */
  hostBlocks: number;
  /** Of the leading run, blocks found only in the tray's disk tier. */
  diskBlocks: number;
}

export interface TransferHop {
  link: LinkKind;
  bytes: number;
  seconds: number;
}

export interface TransferPlan {
  /** The sequence at the destination (a new id for 'copy', the same id for 'move'). */
  seqId: number;
  source: Location;
  destination: Location;
  mode: 'move' | 'copy';
  blocksCopied: number;
  /** Blocks already resident at the destination, shared instead of copied. */
  blocksShared: number;
  bytes: number;
  hops: TransferHop[];
  estimatedSeconds: number;
  /** Path as text, e.g. "c2c" or "pcie+disk". */
  path: string;
}

export type KvEvent =
  | { eventId: number; kind: 'stored'; location: Location; hash: bigint; parentHash: bigint }
  | { eventId: number; kind: 'removed'; location: Location; hash: bigint }
  | {
      eventId: number;
      kind: 'moved';
      seqId: number;
      source: Location;
      destination: Location;
      mode: 'move' | 'copy';
      blocks: number;
      bytes: number;
    };

/**
 * Events in columns, for the hot path (a worker drains every step and forwards them over gRPC): entry i of every
 * array describes event i. kind: 0 stored, 1 removed, 2 moved. tier: 0 device, 1 host, 2 disk. For stored and
 * removed, (tier, index) is the location; for moved it is the source and (dstTier, dstIndex) the destination.
 * Fields that do not apply to an event's kind are 0.
 */
export interface KvEventBatch {
  count: number;
  eventIds: Float64Array;
  kinds: Uint8Array;
  tiers: Uint8Array;
  indexes: Uint32Array;
  hashes: BigUint64Array;
  parentHashes: BigUint64Array;
  dstTiers: Uint8Array;
  dstIndexes: Uint32Array;
  seqIds: Uint32Array;
  /** 0 move, 1 copy. */
  modes: Uint8Array;
  blocks: Uint32Array;
  bytes: Float64Array;
}

export interface KvSnapshot {
  /** Id of the last event emitted before the snapshot; events after it apply on top. */
  lastEventId: number;
  /** Every location holding at least one hashed block, in location order; hashes ascending. */
  locations: Array<{ location: Location; hashes: BigUint64Array }>;
}

export interface PoolStats {
  location: Location;
  totalBlocks: number;
  /** Referenced by a sequence or pinned. */
  usedBlocks: number;
  /** Unreferenced but still holding a cached hash (evictable, LRU). */
  cachedBlocks: number;
  /** Never used or holding nothing. */
  freeBlocks: number;
  pinnedBlocks: number;
  hits: number;
  misses: number;
  evictions: number;
}

export interface KvStats {
  blockBytes: number;
  bytesPerToken: number;
  tokensPerBlock: number;
  pools: PoolStats[];
  /** Indexed like LINK_KINDS. */
  bytesMovedByLink: Record<LinkKind, number>;
  transfers: number;
  liveSequences: number;
  droppedEvents: number;
  lastEventId: number;
}

export interface BackendInfo {
  backend: 'cpu' | 'cuda' | 'reference';
  dataMode: DataMode;
  cudaCompiled: boolean;
  cudaDeviceCount: number;
  cudaError: string;
  ncclLoaded: boolean;
  ncclVersion: number;
  ncclError: string;
}

/** Stable error codes carried by `err.code`. */
export const KV_ERROR_CODES = [
  'E_INVALID_ARGUMENT',
  'E_OUT_OF_BLOCKS',
  'E_UNKNOWN_SEQUENCE',
  'E_SEQUENCE_FREED',
  'E_NOT_PINNED',
  'E_BLOCK_SHARED',
  'E_WRONG_TIER',
  'E_TOO_LARGE',
  'E_BACKEND_UNAVAILABLE',
  'E_CLOSED',
  'E_INTERNAL',
  /** A KV hand-off between NVLink domains without `crossDomain: true`. */
  'E_CROSS_DOMAIN',
  /** A hand-off id this manager never issued. */
  'E_UNKNOWN_HANDOFF',
  /** The hand-off cannot take this call: it ended, it is on the other side, or a commit came before every chunk. */
  'E_HANDOFF_STATE',
] as const;
export type KvErrorCode = (typeof KV_ERROR_CODES)[number];

export interface KvError extends Error {
  code: KvErrorCode;
}

/** The block manager. Synchronous calls are µs-scale; transfers return Promises (real copies may be in flight). */
export interface KvManager {
  readonly numGpus: number;
  readonly numTrays: number;
  readonly tokensPerBlock: number;
  readonly bytesPerToken: number;
  readonly blockBytes: number;

  topology(): TopologySpec;
  backendInfo(): BackendInfo;

  allocate(req: AllocateRequest): AllocateResult;
  append(seqId: number, numTokens: number, blockHashes?: BigUint64Array): AppendResult;
  free(seqId: number): void;
  sequenceInfo(seqId: number): SequenceInfo;
  blockTable(seqId: number): Int32Array;

  matchPrefix(blockHashes: BigUint64Array): PrefixMatch[];
  /** matchPrefix packed as [gpu, deviceBlocks, hostBlocks, diskBlocks] per match: the router's hot path. */
  matchPrefixPacked(blockHashes: BigUint64Array): Uint32Array;
  matchPrefixOnGpu(gpu: number, blockHashes: BigUint64Array): PrefixMatch;
  pin(gpu: number, blockHashes: BigUint64Array): number;
  unpin(gpu: number, blockHashes: BigUint64Array): number;

  transfer(seqId: number, destination: Location, mode?: 'move' | 'copy'): Promise<TransferPlan>;
  /** demote(seq) = transfer to the host tier of the sequence's tray (or 'disk'). */
  demote(seqId: number, tier?: 'host' | 'disk'): Promise<TransferPlan>;
  /** promote(seq, gpu?) = transfer to a GPU of the sequence's tray (default: the GPU it was demoted from). */
  promote(seqId: number, gpu?: number): Promise<TransferPlan>;
  estimateTransfer(source: Location, destination: Location, bytes: number): { path: string; seconds: number };

  write(seqId: number, tokenOffset: number, data: Uint8Array): void;
  read(seqId: number, tokenOffset: number, numTokens: number): Uint8Array;

  drainEvents(maxEvents?: number): KvEvent[];
  /** drainEvents in columns (same events, same order). */
  drainEventsPacked(maxEvents?: number): KvEventBatch;
  snapshot(): KvSnapshot;
  stats(): KvStats;
  close(): void;
}

// --- KV hand-off (native/SPEC.md §11): prefill instance → decode instance, possibly two processes ---

export interface HandoffOptions {
  /** A GPU of the same topology (both managers describe the same rack). */
  destinationGpu: number;
  /** Allow a destination in another NVLink domain (scale-out). Default false: such a call fails E_CROSS_DOMAIN. */
  crossDomain?: boolean;
  /** 'move' (default): handoffComplete frees the source sequence; 'copy' keeps it. */
  mode?: 'move' | 'copy';
  /** Blocks per chunk; 0 or absent = all blocks in one block group. */
  blocksPerChunk?: number;
  /** Layers per chunk, in [1, numLayers]. Default 1 (layer-wise). */
  layersPerChunk?: number;
}

/**
 * What the source returns from handoffBegin and the destination needs for handoffReserve: plain data, so a worker
 * can send it over gRPC. Chunk c covers layer group floor(c / blockGroups) and block group c % blockGroups (the
 * chunks of the first layers come first), blockGroups = ceil(numBlocks / blocksPerChunk).
 */
export interface HandoffPlan {
  /** The source manager's id for this hand-off. */
  handoffId: number;
  seqId: number;
  sourceGpu: number;
  destinationGpu: number;
  mode: 'move' | 'copy';
  crossDomain: boolean;
  link: 'nvlink' | 'scaleout';
  dataMode: DataMode;
  numTokens: number;
  /** Token-holding blocks: ceil(numTokens / tokensPerBlock). */
  numBlocks: number;
  tokensPerBlock: number;
  bytesPerToken: number;
  numLayers: number;
  blockHashes: BigUint64Array;
  blocksPerChunk: number;
  layersPerChunk: number;
  numChunks: number;
  totalBytes: number;
  maxChunkBytes: number;
  /** Sum over chunks of (link latency + chunk bytes / bandwidth): the transfer cost model per chunk. */
  estimatedSeconds: number;
  /** The same for the chunks of the first layer group: when the decode side can start its first layer. */
  firstLayerSeconds: number;
}

export interface HandoffChunk {
  chunkIndex: number;
  firstBlock: number;
  numBlocks: number;
  firstLayer: number;
  numLayers: number;
  bytes: number;
  /** Checksum of `data` (0n in metadata mode); pass it to handoffImport to catch torn or corrupted chunks. */
  checksum: bigint;
  /** The chunk's bytes (blocks, then tokens, then the layers' slice of each token); null in metadata mode. */
  data: Uint8Array | null;
}

export interface HandoffReserveOptions {
  /** Default: the plan's destinationGpu. */
  gpu?: number;
  /** Room for decode output, as allocate's reserveTokens. Default 0. */
  reserveTokens?: number;
}

export interface HandoffTicket {
  /** The destination manager's id for this hand-off. */
  ticketId: number;
  gpu: number;
  numBlocks: number;
  /** Leading blocks already cached on the GPU: shared, their chunks need not be sent. */
  cachedBlocks: number;
  newBlocks: number;
  numChunks: number;
  /** Chunks not wholly inside the cached prefix. */
  neededChunks: number;
}

export interface HandoffProgress {
  handoffId: number;
  side: 'source' | 'destination';
  numChunks: number;
  neededChunks: number;
  /** Destination: needed chunks imported. Source: distinct chunks exported. */
  doneChunks: number;
  /** Destination: leading layers complete for every block — the decode forward pass may run them. */
  readyLayers: number;
  /** Destination: every needed chunk imported; handoffCommit may run. */
  complete: boolean;
}

export interface HandoffCommitResult {
  /** The new, runnable sequence on the destination. */
  seqId: number;
  gpu: number;
  numTokens: number;
  numBlocks: number;
  cachedBlocks: number;
  blocksCopied: number;
  bytes: number;
  link: 'nvlink' | 'scaleout';
}

export interface HandoffStats {
  liveSources: number;
  liveDestinations: number;
  /** Source blocks held by hand-off pins. */
  pinnedBlocks: number;
  /** Destination blocks held by uncommitted tickets. */
  reservedBlocks: number;
  begun: number;
  completed: number;
  reserved: number;
  committed: number;
  aborted: number;
  bytesExported: number;
  bytesImported: number;
}

/** The hand-off calls (native addon only; the TypeScript reference does not implement them). */
export interface KvHandoff {
  /** Source: pins the sequence's token-holding blocks and plans the chunks. */
  handoffBegin(seqId: number, options: HandoffOptions): HandoffPlan;
  /** Source: reads one chunk now (repeatable; chunks of finished layers can leave while prefill goes on). */
  handoffExport(handoffId: number, chunkIndex: number): HandoffChunk;
  /** Source, after the destination committed: releases the pins; 'move' frees the source sequence. */
  handoffComplete(handoffId: number): { sourceFreed: boolean };
  /** Destination: takes every block at once (all-or-nothing); nothing is runnable or shareable yet. */
  handoffReserve(plan: HandoffPlan, options?: HandoffReserveOptions): HandoffTicket;
  /** Destination: writes one chunk (repeatable; checksum-checked when given). */
  handoffImport(ticketId: number, chunkIndex: number, data?: Uint8Array | null, checksum?: bigint): HandoffProgress;
  /** Destination: every needed chunk arrived → a runnable sequence; its hashes are registered now. */
  handoffCommit(ticketId: number): HandoffCommitResult;
  handoffStatus(handoffId: number): HandoffProgress;
  /** Either side, any time: releases what the hand-off holds; false when it had already ended. */
  handoffAbort(handoffId: number): boolean;
  handoffStats(): HandoffStats;
}
