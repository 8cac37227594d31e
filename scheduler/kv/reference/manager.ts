// ReferenceKvManager: the pure-TypeScript KvManager (native/SPEC.md), the oracle of the differential test against
// the native addon and the baseline of its benchmark. This file checks arguments and dispatches; the semantics
// live in allocation.ts, prefix.ts, transfers.ts, data.ts and report.ts. Check order: validate.ts.
import { describeValue, invalidArgument, kvError, requireFinite, requireInteger, requireObject, requireOneOf } from '../errors.js';
import { packEvents } from '../event_batch.js';
import { copyTopology, MAX_BYTES, resolveKvConfig } from '../sizing.js';
import type {
  AllocateRequest,
  AllocateResult,
  AppendResult,
  BackendInfo,
  KvEvent,
  KvEventBatch,
  KvManager,
  KvManagerConfig,
  KvSnapshot,
  KvStats,
  Location,
  PrefixMatch,
  SequenceInfo,
  TopologySpec,
  TransferPlan,
} from '../types.js';
import { allocate, append, freeSequence } from './allocation.js';
import { readTokens, writeTokens } from './data.js';
import { matchAll, matchOnGpu, pinPrefix, unpinPrefix } from './prefix.js';
import { snapshotOf, statsOf } from './report.js';
import { pathOf, routeHops, routeLinks, totalSeconds } from './routes.js';
import { lastHash } from './sequences.js';
import { KvState } from './state.js';
import { transferSequence } from './transfers.js';
import { checkLocationRange, gpuArg, hashesArg, locationArg, MAX_TOKENS, modeArg, seqIdArg, u32Arg } from './validate.js';

/** Largest maxEvents drainEvents accepts (any larger request means "all" anyway). */
const MAX_DRAIN = 2 ** 40;

export class ReferenceKvManager implements KvManager {
  readonly numGpus: number;
  readonly numTrays: number;
  readonly tokensPerBlock: number;
  readonly bytesPerToken: number;
  readonly blockBytes: number;
  /** undefined once closed. */
  private state: KvState | undefined;

  constructor(config: KvManagerConfig) {
    const resolved = resolveKvConfig(config);
    this.state = new KvState(resolved);
    this.numGpus = resolved.numGpus;
    this.numTrays = resolved.numTrays;
    this.tokensPerBlock = resolved.tokensPerBlock;
    this.bytesPerToken = resolved.bytesPerToken;
    this.blockBytes = resolved.blockBytes;
  }

  topology(): TopologySpec {
    return copyTopology(this.open().config.topology);
  }

  backendInfo(): BackendInfo {
    const state = this.open();
    return {
      backend: 'reference',
      dataMode: state.config.dataMode,
      cudaCompiled: false,
      cudaDeviceCount: 0,
      cudaError: 'the TypeScript reference does not use CUDA',
      ncclLoaded: false,
      ncclVersion: 0,
      ncclError: 'the TypeScript reference does not use NCCL',
    };
  }

  allocate(req: AllocateRequest): AllocateResult {
    const state = this.open();
    const r = requireObject(req, 'req');
    const gpu = gpuArg(r.gpu, this.numGpus);
    const numTokens = requireInteger(r.numTokens, 'numTokens', 1, MAX_TOKENS);
    const blockHashes = hashesArg(r.blockHashes);
    const reserveTokens = r.reserveTokens === undefined ? 0 : u32Arg(r.reserveTokens, 'reserveTokens');
    if (numTokens + reserveTokens > MAX_TOKENS) {
      throw invalidArgument(`numTokens + reserveTokens must be at most ${MAX_TOKENS}, got ${numTokens + reserveTokens}`);
    }
    const fullBlocks = Math.floor(numTokens / this.tokensPerBlock);
    if (blockHashes.length > fullBlocks) {
      throw invalidArgument(
        `blockHashes has ${blockHashes.length} hashes; ${numTokens} tokens fill at most ${fullBlocks} block(s) of ${this.tokensPerBlock}`,
      );
    }
    return allocate(state, { gpu, numTokens, blockHashes, reserveTokens });
  }

  append(seqId: number, numTokens: number, blockHashes?: BigUint64Array): AppendResult {
    const state = this.open();
    seqIdArg(seqId);
    u32Arg(numTokens, 'numTokens');
    const hashes = hashesArg(blockHashes);
    return append(state, state.sequences.get(seqId), numTokens, hashes);
  }

  free(seqId: number): void {
    const state = this.open();
    freeSequence(state, state.sequences.get(seqIdArg(seqId)));
  }

  sequenceInfo(seqId: number): SequenceInfo {
    const seq = this.open().sequences.get(seqIdArg(seqId));
    return {
      seqId: seq.seqId,
      location: { ...seq.location },
      numTokens: seq.numTokens,
      numBlocks: seq.blocks.length,
      hashedBlocks: seq.hashes.length,
      lastHash: lastHash(seq),
      homeGpu: seq.homeGpu,
    };
  }

  blockTable(seqId: number): Int32Array {
    return Int32Array.from(this.open().sequences.get(seqIdArg(seqId)).blocks);
  }

  matchPrefix(blockHashes: BigUint64Array): PrefixMatch[] {
    const state = this.open();
    return matchAll(state, hashesArg(blockHashes));
  }

  matchPrefixPacked(blockHashes: BigUint64Array): Uint32Array {
    const matches = this.matchPrefix(blockHashes);
    const out = new Uint32Array(matches.length * 4);
    matches.forEach((m, i) => out.set([m.gpu, m.deviceBlocks, m.hostBlocks, m.diskBlocks], i * 4));
    return out;
  }

  matchPrefixOnGpu(gpu: number, blockHashes: BigUint64Array): PrefixMatch {
    const state = this.open();
    gpuArg(gpu, this.numGpus);
    return matchOnGpu(state, gpu, hashesArg(blockHashes));
  }

  pin(gpu: number, blockHashes: BigUint64Array): number {
    const state = this.open();
    gpuArg(gpu, this.numGpus);
    return pinPrefix(state, gpu, hashesArg(blockHashes));
  }

  unpin(gpu: number, blockHashes: BigUint64Array): number {
    const state = this.open();
    gpuArg(gpu, this.numGpus);
    return unpinPrefix(state, gpu, hashesArg(blockHashes));
  }

  // Transfers finish synchronously (state and bytes are updated before the Promise is returned); failures come
  // back as rejected Promises, never as synchronous throws, like any Promise-returning API.
  transfer(seqId: number, destination: Location, mode: 'move' | 'copy' = 'move'): Promise<TransferPlan> {
    return settle(() => {
      const state = this.open();
      seqIdArg(seqId);
      const dst = locationArg(destination, 'destination');
      const checkedMode = modeArg(mode);
      const seq = state.sequences.get(seqId);
      checkLocationRange(dst, 'destination', this.numGpus, this.numTrays);
      return transferSequence(state, seq, dst, checkedMode);
    });
  }

  demote(seqId: number, tier: 'host' | 'disk' = 'host'): Promise<TransferPlan> {
    return settle(() => {
      const state = this.open();
      const checkedTier = requireOneOf(tier, 'tier', ['host', 'disk'] as const);
      const seq = state.sequences.get(seqIdArg(seqId));
      return transferSequence(state, seq, { tier: checkedTier, index: state.trayOfGpu(seq.homeGpu) }, 'move');
    });
  }

  /** gpu undefined or null: the sequence's homeGpu. */
  promote(seqId: number, gpu?: number): Promise<TransferPlan> {
    return settle(() => {
      const state = this.open();
      seqIdArg(seqId);
      const explicit = gpu === undefined || gpu === null ? undefined : u32Arg(gpu, 'gpu');
      const seq = state.sequences.get(seqId);
      const destination: Location = { tier: 'device', index: explicit ?? seq.homeGpu };
      // Whether the GPU exists is checked after the lookup, like any destination index.
      if (destination.index >= this.numGpus) gpuArg(destination.index, this.numGpus);
      return transferSequence(state, seq, destination, 'move');
    });
  }

  estimateTransfer(source: Location, destination: Location, bytes: number): { path: string; seconds: number } {
    const state = this.open();
    const src = locationArg(source, 'source');
    const dst = locationArg(destination, 'destination');
    requireFinite(bytes, 'bytes', 0, MAX_BYTES);
    checkLocationRange(src, 'source', this.numGpus, this.numTrays);
    checkLocationRange(dst, 'destination', this.numGpus, this.numTrays);
    const hops = routeHops(state.config.topology, routeLinks(state.config.topology, src, dst), bytes);
    return { path: pathOf(hops), seconds: totalSeconds(hops) };
  }

  write(seqId: number, tokenOffset: number, data: Uint8Array): void {
    const state = this.open();
    seqIdArg(seqId);
    u32Arg(tokenOffset, 'tokenOffset');
    if (!(data instanceof Uint8Array)) throw invalidArgument(`data must be a Uint8Array, got ${describeValue(data)}`);
    this.requireBytesMode(state);
    const seq = state.sequences.get(seqId);
    if (data.length % this.bytesPerToken !== 0) {
      throw invalidArgument(`data.length must be a multiple of bytesPerToken (${this.bytesPerToken}), got ${data.length}`);
    }
    writeTokens(state, seq, tokenOffset, data);
  }

  read(seqId: number, tokenOffset: number, numTokens: number): Uint8Array {
    const state = this.open();
    seqIdArg(seqId);
    u32Arg(tokenOffset, 'tokenOffset');
    u32Arg(numTokens, 'numTokens');
    this.requireBytesMode(state);
    return readTokens(state, state.sequences.get(seqId), tokenOffset, numTokens);
  }

  drainEvents(maxEvents?: number): KvEvent[] {
    const state = this.open();
    return state.events.drain(maxEvents === undefined ? Infinity : requireInteger(maxEvents, 'maxEvents', 0, MAX_DRAIN));
  }

  drainEventsPacked(maxEvents?: number): KvEventBatch {
    return packEvents(this.drainEvents(maxEvents));
  }

  snapshot(): KvSnapshot {
    return snapshotOf(this.open());
  }

  stats(): KvStats {
    return statsOf(this.open());
  }

  /** Idempotent: closing twice is not an error (every other call after close() is E_CLOSED). */
  close(): void {
    this.state = undefined;
  }

  private open(): KvState {
    if (this.state === undefined) throw kvError('E_CLOSED', 'the KV manager is closed (close() was called)');
    return this.state;
  }

  private requireBytesMode(state: KvState): void {
    if (state.config.dataMode !== 'bytes') {
      throw invalidArgument("dataMode is metadata: write/read need a manager created with dataMode 'bytes'");
    }
  }
}

function settle<T>(work: () => T): Promise<T> {
  try {
    return Promise.resolve(work());
  } catch (err) {
    return Promise.reject(err);
  }
}
