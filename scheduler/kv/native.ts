// The typed facade over the native addon (build/Release/nvlsched_native.node). It adds no logic: the addon
// validates every argument and throws errors with `.code`; this file only gives them TypeScript types.
import { createRequire } from 'node:module';
import path from 'node:path';

import { packageRoot } from '../util/paths.js';
import { unpackEvents } from './event_batch.js';
import type {
  AllocateRequest,
  AllocateResult,
  AppendResult,
  BackendInfo,
  HandoffChunk,
  HandoffCommitResult,
  HandoffOptions,
  HandoffPlan,
  HandoffProgress,
  HandoffReserveOptions,
  HandoffStats,
  HandoffTicket,
  KvEvent,
  KvEventBatch,
  KvHandoff,
  KvManager,
  KvManagerConfig,
  KvSnapshot,
  KvStats,
  Location,
  PrefixMatch,
  SequenceInfo,
  TopologyPresetName,
  TopologySpec,
  TransferPlan,
} from './types.js';

interface NativeHandle {
  info(): { numGpus: number; numTrays: number; tokensPerBlock: number; bytesPerToken: number; blockBytes: number };
  topology(): TopologySpec;
  backendInfo(): BackendInfo;
  /** Returns the seqId; numBlocks, cachedBlocks, newBlocks go to the result buffer. */
  allocate(gpu: number, numTokens: number, hashes: BigUint64Array | undefined, reserveTokens: number | undefined): number;
  /** Returns numTokens; numBlocks, newBlocks go to the result buffer. */
  append(seqId: number, numTokens: number, hashes: BigUint64Array | undefined): number;
  setResultBuffer(buffer: Uint32Array): void;
  /** One ArrayBuffer of 52 bytes per event, columns in the order viewsOverEvents() reads them. */
  drainEventsPacked(maxEvents?: number): ArrayBuffer;
  free(seqId: number): void;
  sequenceInfo(seqId: number): SequenceInfo;
  blockTable(seqId: number): Int32Array;
  /** Fills `out` (≥ 4 x numGpus) and returns the number of matches. */
  matchPrefixPacked(hashes: BigUint64Array, out: Uint32Array): number;
  /** deviceBlocks, hostBlocks, diskBlocks go to the result buffer. */
  matchPrefixOnGpu(gpu: number, hashes: BigUint64Array): void;
  pin(gpu: number, hashes: BigUint64Array): number;
  unpin(gpu: number, hashes: BigUint64Array): number;
  transfer(seqId: number, destination: Location, mode: 'move' | 'copy'): Promise<TransferPlan>;
  estimateTransfer(source: Location, destination: Location, bytes: number): { path: string; seconds: number };
  write(seqId: number, tokenOffset: number, data: Uint8Array): void;
  read(seqId: number, tokenOffset: number, numTokens: number): Uint8Array;
  handoffBegin(seqId: number, options: HandoffOptions): HandoffPlan;
  handoffExport(handoffId: number, chunkIndex: number): HandoffChunk;
  handoffComplete(handoffId: number): { sourceFreed: boolean };
  handoffReserve(plan: HandoffPlan, options?: HandoffReserveOptions): HandoffTicket;
  handoffImport(ticketId: number, chunkIndex: number, data?: Uint8Array | null, checksum?: bigint): HandoffProgress;
  handoffCommit(ticketId: number): HandoffCommitResult;
  handoffStatus(handoffId: number): HandoffProgress;
  handoffAbort(handoffId: number): boolean;
  handoffStats(): HandoffStats;
  snapshot(): KvSnapshot;
  stats(): KvStats;
  close(): void;
}

export interface DeviceProbe {
  cudaCompiled: boolean;
  cudaDeviceCount: number;
  cudaError: string;
  ncclLoaded: boolean;
  ncclVersion: number;
  ncclError: string;
}

interface NativeModule {
  NativeKvManager: new (config: KvManagerConfig) => NativeHandle;
  topologyPreset(name: string): TopologySpec;
  topologyPresetNames(): string[];
  hashTokens(tokens: Uint32Array, tokensPerBlock: number, parent?: bigint): BigUint64Array;
  chainHashes(ids: BigUint64Array, parent?: bigint): BigUint64Array;
  probeDevices(): DeviceProbe;
}

let loaded: NativeModule | undefined;

/** Path of the built addon; NVLSCHED_ADDON overrides it (e.g. a sanitizer build). */
export function addonPath(): string {
  return process.env.NVLSCHED_ADDON ?? path.join(packageRoot(), 'build', 'Release', 'nvlsched_native.node');
}

export function nativeModule(): NativeModule {
  if (loaded) return loaded;
  const require = createRequire(import.meta.url);
  try {
    loaded = require(addonPath()) as NativeModule;
  } catch (cause) {
    throw new Error(`nvlsched: cannot load the native addon at ${addonPath()}; run \`npm install\` (or ` +
      `\`npm run build:native\`) first. Cause: ${(cause as Error).message}`);
  }
  return loaded;
}

export function topologyPreset(name: TopologyPresetName | string): TopologySpec {
  return nativeModule().topologyPreset(name);
}

export function topologyPresetNames(): string[] {
  return nativeModule().topologyPresetNames();
}

/** Chained hashes of the full blocks of `tokens` (SPEC §3). */
export function hashTokens(tokens: Uint32Array, tokensPerBlock: number, parent = 0n): BigUint64Array {
  return nativeModule().hashTokens(tokens, tokensPerBlock, parent);
}

/** Chains trace hash ids (Mooncake, Claude Code) into block hashes (SPEC §3). */
export function chainHashes(ids: BigUint64Array, parent = 0n): BigUint64Array {
  return nativeModule().chainHashes(ids, parent);
}

export function probeDevices(): DeviceProbe {
  return nativeModule().probeDevices();
}

let backendAnnounced = false;

/** Says once per process which backend 'auto' picked and why. */
function announceBackend(info: BackendInfo, requested: string): void {
  if (backendAnnounced || requested !== 'auto' || process.env.NVLSCHED_QUIET === '1') return;
  backendAnnounced = true;
  const why = info.backend === 'cuda'
    ? `${info.cudaDeviceCount} CUDA device(s)`
    : info.dataMode === 'metadata' ? 'metadata mode keeps no block memory'
    : info.cudaCompiled ? `no usable CUDA device: ${info.cudaError}` : 'built without CUDA';
  const nccl = info.ncclLoaded ? `NCCL ${info.ncclVersion}` : 'NCCL not loaded';
  process.stderr.write(`nvlsched: KV backend ${info.backend} (${why}; ${nccl})\n`);
}

export class NativeKvManager implements KvManager, KvHandoff {
  readonly numGpus: number;
  readonly numTrays: number;
  readonly tokensPerBlock: number;
  readonly bytesPerToken: number;
  readonly blockBytes: number;
  private readonly handle: NativeHandle;
  private readonly gpusPerTray: number;
  private readonly result = new Uint32Array(4);
  private readonly matchScratch: Uint32Array;

  constructor(config: KvManagerConfig) {
    const Native = nativeModule().NativeKvManager;
    this.handle = new Native(config);
    this.handle.setResultBuffer(this.result);
    const info = this.handle.info();
    this.numGpus = info.numGpus;
    this.numTrays = info.numTrays;
    this.tokensPerBlock = info.tokensPerBlock;
    this.bytesPerToken = info.bytesPerToken;
    this.blockBytes = info.blockBytes;
    this.matchScratch = new Uint32Array(4 * info.numGpus);
    this.gpusPerTray = this.handle.topology().gpusPerTray;
    announceBackend(this.handle.backendInfo(), config?.backend ?? 'auto');
  }

  topology(): TopologySpec {
    return this.handle.topology();
  }

  backendInfo(): BackendInfo {
    return this.handle.backendInfo();
  }

  allocate(req: AllocateRequest): AllocateResult {
    if (typeof req !== 'object' || req === null) throw badArgument('allocate() takes an object {gpu, numTokens, blockHashes?, reserveTokens?}');
    const seqId = this.handle.allocate(req.gpu, req.numTokens, req.blockHashes, req.reserveTokens);
    const r = this.result;
    return { seqId, numBlocks: r[0] as number, cachedBlocks: r[1] as number, newBlocks: r[2] as number };
  }

  append(seqId: number, numTokens: number, blockHashes?: BigUint64Array): AppendResult {
    const total = this.handle.append(seqId, numTokens, blockHashes);
    return { numTokens: total, numBlocks: this.result[0] as number, newBlocks: this.result[1] as number };
  }

  free(seqId: number): void {
    this.handle.free(seqId);
  }

  sequenceInfo(seqId: number): SequenceInfo {
    return this.handle.sequenceInfo(seqId);
  }

  blockTable(seqId: number): Int32Array {
    return this.handle.blockTable(seqId);
  }

  // Objects are built here from the packed form: in JS that costs a few ns each, through N-API ~1-2 µs.
  matchPrefix(blockHashes: BigUint64Array): PrefixMatch[] {
    const count = this.handle.matchPrefixPacked(blockHashes, this.matchScratch);
    const s = this.matchScratch;
    const out: PrefixMatch[] = new Array(count);
    for (let i = 0; i < count; i++) {
      out[i] = { gpu: s[4 * i] as number, deviceBlocks: s[4 * i + 1] as number, hostBlocks: s[4 * i + 2] as number, diskBlocks: s[4 * i + 3] as number };
    }
    return out;
  }

  matchPrefixPacked(blockHashes: BigUint64Array): Uint32Array {
    const count = this.handle.matchPrefixPacked(blockHashes, this.matchScratch);
    return this.matchScratch.slice(0, 4 * count);
  }

  matchPrefixOnGpu(gpu: number, blockHashes: BigUint64Array): PrefixMatch {
    this.handle.matchPrefixOnGpu(gpu, blockHashes);
    const r = this.result;
    return { gpu, deviceBlocks: r[0] as number, hostBlocks: r[1] as number, diskBlocks: r[2] as number };
  }

  pin(gpu: number, blockHashes: BigUint64Array): number {
    return this.handle.pin(gpu, blockHashes);
  }

  unpin(gpu: number, blockHashes: BigUint64Array): number {
    return this.handle.unpin(gpu, blockHashes);
  }

  // The state changes synchronously inside the call; the Promise settles when the bytes have moved.
  transfer(seqId: number, destination: Location, mode: 'move' | 'copy' = 'move'): Promise<TransferPlan> {
    try {
      return this.handle.transfer(seqId, destination, mode);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  demote(seqId: number, tier: 'host' | 'disk' = 'host'): Promise<TransferPlan> {
    try {
      if (tier !== 'host' && tier !== 'disk') throw badArgument(`tier must be 'host' or 'disk', got ${typeof tier === 'string' ? JSON.stringify(tier) : typeof tier}`);
      const info = this.handle.sequenceInfo(seqId);
      const tray = Math.floor(info.homeGpu / this.gpusPerTray);
      return this.handle.transfer(seqId, { tier, index: tray }, 'move');
    } catch (error) {
      return Promise.reject(error);
    }
  }

  promote(seqId: number, gpu?: number): Promise<TransferPlan> {
    try {
      const target = gpu ?? this.handle.sequenceInfo(seqId).homeGpu;
      return this.handle.transfer(seqId, { tier: 'device', index: target }, 'move');
    } catch (error) {
      return Promise.reject(error);
    }
  }

  estimateTransfer(source: Location, destination: Location, bytes: number): { path: string; seconds: number } {
    return this.handle.estimateTransfer(source, destination, bytes);
  }

  write(seqId: number, tokenOffset: number, data: Uint8Array): void {
    this.handle.write(seqId, tokenOffset, data);
  }

  read(seqId: number, tokenOffset: number, numTokens: number): Uint8Array {
    return this.handle.read(seqId, tokenOffset, numTokens);
  }

  // KV hand-off (SPEC §11): synchronous calls; the addon checks every argument and the plan against this
  // manager's layout. The whole protocol between two managers in one process: handOff() in handoff.ts.
  handoffBegin(seqId: number, options: HandoffOptions): HandoffPlan {
    return this.handle.handoffBegin(seqId, options);
  }

  handoffExport(handoffId: number, chunkIndex: number): HandoffChunk {
    return this.handle.handoffExport(handoffId, chunkIndex);
  }

  handoffComplete(handoffId: number): { sourceFreed: boolean } {
    return this.handle.handoffComplete(handoffId);
  }

  handoffReserve(plan: HandoffPlan, options?: HandoffReserveOptions): HandoffTicket {
    return this.handle.handoffReserve(plan, options);
  }

  handoffImport(ticketId: number, chunkIndex: number, data?: Uint8Array | null, checksum?: bigint): HandoffProgress {
    return this.handle.handoffImport(ticketId, chunkIndex, data, checksum);
  }

  handoffCommit(ticketId: number): HandoffCommitResult {
    return this.handle.handoffCommit(ticketId);
  }

  handoffStatus(handoffId: number): HandoffProgress {
    return this.handle.handoffStatus(handoffId);
  }

  handoffAbort(handoffId: number): boolean {
    return this.handle.handoffAbort(handoffId);
  }

  handoffStats(): HandoffStats {
    return this.handle.handoffStats();
  }

  drainEvents(maxEvents?: number): KvEvent[] {
    return unpackEvents(this.drainEventsPacked(maxEvents));
  }

  drainEventsPacked(maxEvents?: number): KvEventBatch {
    return viewsOverEvents(this.handle.drainEventsPacked(maxEvents));
  }

  snapshot(): KvSnapshot {
    return this.handle.snapshot();
  }

  stats(): KvStats {
    return this.handle.stats();
  }

  close(): void {
    this.handle.close();
  }
}

/** Typed-array views over the addon's packed event buffer (layout: native/binding/kv_wrap.cc drainEventsPacked). */
function viewsOverEvents(buffer: ArrayBuffer): KvEventBatch {
  const n = buffer.byteLength / 52;
  return {
    count: n,
    eventIds: new Float64Array(buffer, 0, n),
    hashes: new BigUint64Array(buffer, 8 * n, n),
    parentHashes: new BigUint64Array(buffer, 16 * n, n),
    bytes: new Float64Array(buffer, 24 * n, n),
    indexes: new Uint32Array(buffer, 32 * n, n),
    dstIndexes: new Uint32Array(buffer, 36 * n, n),
    seqIds: new Uint32Array(buffer, 40 * n, n),
    blocks: new Uint32Array(buffer, 44 * n, n),
    kinds: new Uint8Array(buffer, 48 * n, n),
    tiers: new Uint8Array(buffer, 49 * n, n),
    dstTiers: new Uint8Array(buffer, 50 * n, n),
    modes: new Uint8Array(buffer, 51 * n, n),
  };
}

function badArgument(message: string): Error {
  return Object.assign(new Error(message), { code: 'E_INVALID_ARGUMENT' });
}
