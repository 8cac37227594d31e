// What the KV hand-off between workers sends and how it fails: the HandoffSend request checked field by field, the
// native plan (scheduler/kv/types.ts HandoffPlan) to and from the HandoffOpen message, and coded failures mapped to
// gRPC statuses once. A failure's details start with its code (`E_OUT_OF_BLOCKS: ...`) and the code also travels as
// trailing metadata `nvlsched-error-code`, so the gateway can decide without parsing English.
import * as grpc from '@grpc/grpc-js';

import type { HandoffOpen, HandoffOpen__Output } from '../gen/proto/nvlsched/v1/HandoffOpen.js';
import type { HandoffSendRequest__Output } from '../gen/proto/nvlsched/v1/HandoffSendRequest.js';
import type { HandoffPlan } from '../kv/types.js';

export const ERROR_CODE_KEY = 'nvlsched-error-code';
export const DEFAULT_HANDOFF_TIMEOUT_S = 30;
export const MAX_HANDOFF_TIMEOUT_S = 600;
export const DEFAULT_MAX_CHUNK_BYTES = 4 * 1024 * 1024;
/** One chunk is one gRPC message; the worker's server accepts messages up to MAX_MESSAGE_BYTES. */
export const MAX_CHUNK_BYTES = 32 * 1024 * 1024;
export const MAX_MESSAGE_BYTES = MAX_CHUNK_BYTES + 1024 * 1024;

/** A hand-off failure with a KV-style code (E_OUT_OF_BLOCKS, E_CROSS_DOMAIN, E_PEER_UNAVAILABLE, …). */
export class HandoffFailure extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = 'HandoffFailure';
  }
}

const STATUS_BY_CODE: Record<string, grpc.status> = {
  E_INVALID_ARGUMENT: grpc.status.INVALID_ARGUMENT,
  E_UNKNOWN_GPU: grpc.status.INVALID_ARGUMENT,
  E_OUT_OF_BLOCKS: grpc.status.RESOURCE_EXHAUSTED,
  E_TOO_LARGE: grpc.status.RESOURCE_EXHAUSTED,
  E_UNKNOWN_SEQUENCE: grpc.status.NOT_FOUND,
  E_SEQUENCE_FREED: grpc.status.NOT_FOUND,
  E_CROSS_DOMAIN: grpc.status.FAILED_PRECONDITION,
  E_WRONG_TIER: grpc.status.FAILED_PRECONDITION,
  E_HANDOFF_STATE: grpc.status.FAILED_PRECONDITION,
  E_PLAN_MISMATCH: grpc.status.FAILED_PRECONDITION,
  E_ALREADY_RUNNING: grpc.status.ALREADY_EXISTS,
  E_DRAINING: grpc.status.UNAVAILABLE,
  E_PEER_UNAVAILABLE: grpc.status.UNAVAILABLE,
  E_TIMEOUT: grpc.status.DEADLINE_EXCEEDED,
};

export function statusOf(code: string): grpc.status {
  return STATUS_BY_CODE[code] ?? grpc.status.INTERNAL;
}

/** Any thrown value as a coded failure (native errors carry `.code`; anything else is E_INTERNAL). */
export function asFailure(error: unknown): HandoffFailure {
  if (error instanceof HandoffFailure) return error;
  const e = error as { code?: unknown; message?: unknown };
  const code = typeof e?.code === 'string' && e.code.startsWith('E_') ? e.code : 'E_INTERNAL';
  return new HandoffFailure(code, typeof e?.message === 'string' ? e.message : String(error));
}

export function toServiceError(failure: HandoffFailure): Partial<grpc.StatusObject> {
  const metadata = new grpc.Metadata();
  metadata.set(ERROR_CODE_KEY, failure.code);
  return { code: statusOf(failure.code), details: `${failure.code}: ${failure.message}`, metadata };
}

/** A gRPC error from a peer (or the gateway's view of one) back to a coded failure. */
export function fromServiceError(error: grpc.ServiceError, where: string): HandoffFailure {
  const fromMeta = error.metadata?.get(ERROR_CODE_KEY)[0];
  const details = error.details ?? error.message;
  const coded = /^(E_[A-Z_]+): /.exec(details);
  let code = typeof fromMeta === 'string' ? fromMeta : coded?.[1];
  if (code === undefined) {
    // No code: the transport's own failure (peer gone, stream cut, deadline).
    code = error.code === grpc.status.DEADLINE_EXCEEDED ? 'E_TIMEOUT' : error.code === grpc.status.RESOURCE_EXHAUSTED ? 'E_TOO_LARGE' : 'E_PEER_UNAVAILABLE';
  }
  const text = coded ? details.slice(coded[0].length) : details;
  return new HandoffFailure(code, `${where}: ${text} (${grpc.status[error.code] ?? error.code})`);
}

export interface SendOptions {
  instanceId: string;
  seqId: number;
  address: string;
  destinationInstanceId: string;
  destinationSeqId: number;
  destinationGpu: number;
  mode: 'move' | 'copy';
  /** 0: picked from maxChunkBytes. */
  blocksPerChunk: number;
  layersPerChunk: number;
  crossDomain: boolean;
  reserveTokens: number;
  timeoutS: number;
  maxChunkBytes: number;
  /** Live pre-copy: the source keeps its sequence ('copy'), the destination parks the committed copy. */
  precopy?: boolean;
}

const bad = (field: string, why: string): HandoffFailure => new HandoffFailure('E_INVALID_ARGUMENT', `${field}: ${why}`);

/** host:port, [v6]:port or a dns: / unix: target grpc-js dials. */
const ADDRESS = /^(?:(?:dns|ipv4|ipv6):)?(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]{1,253}):\d{1,5}$|^unix:.+$/;

/** Checks a HandoffSend request; the first bad field throws E_INVALID_ARGUMENT naming it. */
export function checkSendRequest(r: HandoffSendRequest__Output, gpusPerTray: number): SendOptions {
  if (r.instanceId === '' || r.instanceId.length > 256) throw bad('instance_id', `expected 1-256 characters, got ${r.instanceId.length}`);
  if (r.destinationAddress === '' || !ADDRESS.test(r.destinationAddress)) throw bad('destination_address', `expected host:port of the destination worker, got '${r.destinationAddress.slice(0, 80)}'`);
  if (r.destinationInstanceId === '' || r.destinationInstanceId.length > 256) throw bad('destination_instance_id', `expected 1-256 characters, got ${r.destinationInstanceId.length}`);
  if (r.destinationGpu >= gpusPerTray) throw bad('destination_gpu', `expected a GPU of the destination tray in [0, ${gpusPerTray - 1}], got ${r.destinationGpu}`);
  // A pre-copy keeps the source sequence running: always a copy (the tail frees the source).
  const mode = r.precopy ? 'copy' : r.mode === '' ? 'move' : r.mode;
  if (mode !== 'move' && mode !== 'copy') throw bad('mode', `expected move or copy (or empty for move), got '${r.mode.slice(0, 40)}'`);
  if (!(Number.isFinite(r.timeoutS) && r.timeoutS >= 0 && r.timeoutS <= MAX_HANDOFF_TIMEOUT_S)) throw bad('timeout_s', `expected seconds in [0, ${MAX_HANDOFF_TIMEOUT_S}] (0 = ${DEFAULT_HANDOFF_TIMEOUT_S}), got ${r.timeoutS}`);
  if (r.maxChunkBytes > MAX_CHUNK_BYTES) throw bad('max_chunk_bytes', `expected at most ${MAX_CHUNK_BYTES} (0 = ${DEFAULT_MAX_CHUNK_BYTES}), got ${r.maxChunkBytes}`);
  return {
    instanceId: r.instanceId,
    seqId: r.seqId,
    address: r.destinationAddress,
    destinationInstanceId: r.destinationInstanceId,
    destinationSeqId: r.destinationSeqId,
    destinationGpu: r.destinationGpu,
    mode,
    blocksPerChunk: r.blocksPerChunk,
    layersPerChunk: r.layersPerChunk === 0 ? 1 : r.layersPerChunk,
    crossDomain: r.crossDomain,
    reserveTokens: r.reserveTokens,
    timeoutS: r.timeoutS === 0 ? DEFAULT_HANDOFF_TIMEOUT_S : r.timeoutS,
    maxChunkBytes: r.maxChunkBytes === 0 ? DEFAULT_MAX_CHUNK_BYTES : r.maxChunkBytes,
    precopy: r.precopy,
  };
}

/**
 * Blocks per chunk when the request leaves it to the worker: the most whose chunk (layersPerChunk layers of each
 * block's tokens) fits maxChunkBytes, at least 1; 0 (one block group) when every block fits.
 */
export function autoBlocksPerChunk(numBlocks: number, tokensPerBlock: number, bytesPerToken: number, numLayers: number, layersPerChunk: number, maxChunkBytes: number): number {
  // A layer slice of a token is floor- or ceil-sized (native/SPEC.md §11): size with the ceiling.
  const blockBytes = tokensPerBlock * Math.ceil((bytesPerToken * layersPerChunk) / numLayers);
  const fit = Math.max(1, Math.floor(maxChunkBytes / Math.max(1, blockBytes)));
  return fit >= numBlocks ? 0 : fit;
}

/** The open message: the plan, where it goes and the source's domain. */
export function openFromPlan(plan: HandoffPlan, o: SendOptions, source: { domainId: string; tray: number }): HandoffOpen {
  return {
    destinationInstanceId: o.destinationInstanceId,
    destinationSeqId: o.destinationSeqId,
    destinationGpu: o.destinationGpu,
    reserveTokens: o.reserveTokens,
    crossDomain: o.crossDomain,
    sourceDomainId: source.domainId,
    timeoutS: o.timeoutS,
    mode: plan.mode,
    dataMode: plan.dataMode,
    numTokens: plan.numTokens,
    numBlocks: plan.numBlocks,
    tokensPerBlock: plan.tokensPerBlock,
    bytesPerToken: plan.bytesPerToken,
    numLayers: plan.numLayers,
    blockHashes: Array.from(plan.blockHashes, (h) => String(h)),
    blocksPerChunk: plan.blocksPerChunk,
    layersPerChunk: plan.layersPerChunk,
    numChunks: plan.numChunks,
    totalBytes: String(plan.totalBytes),
    maxChunkBytes: String(plan.maxChunkBytes),
    sourceGpu: plan.sourceGpu,
    sourceTray: source.tray,
    sourceHandoffId: plan.handoffId,
    sourceSeqId: plan.seqId,
    precopy: o.precopy ?? false,
  };
}

/**
 * The plan the destination's manager checks, from the open message. Each worker's KV manager describes its own
 * tray (GPUs 0..gpusPerTray-1, one domain), while the native route rule wants two different GPUs of one topology:
 * the plan names a stand-in source GPU on the destination's tray (any other than `gpu`). The real route — two
 * trays, their domains — is the worker's to check (handoff_receive.ts), with the domains they discovered.
 */
export function planFromOpen(open: HandoffOpen__Output, gpu: number, gpusPerTray: number): HandoffPlan {
  const mode = open.mode;
  const dataMode = open.dataMode;
  if (mode !== 'move' && mode !== 'copy') throw bad('open.mode', `expected move or copy, got '${mode.slice(0, 40)}'`);
  if (dataMode !== 'bytes' && dataMode !== 'metadata') throw bad('open.data_mode', `expected bytes or metadata, got '${dataMode.slice(0, 40)}'`);
  let hashes: BigUint64Array;
  try {
    hashes = BigUint64Array.from(open.blockHashes, (h) => BigInt(h));
  } catch {
    throw bad('open.block_hashes', 'expected unsigned 64-bit integers');
  }
  return {
    handoffId: open.sourceHandoffId,
    seqId: open.sourceSeqId,
    sourceGpu: standInGpu(gpu, gpusPerTray),
    destinationGpu: gpu,
    mode,
    crossDomain: false,
    link: 'nvlink',
    dataMode,
    numTokens: open.numTokens,
    numBlocks: open.numBlocks,
    tokensPerBlock: open.tokensPerBlock,
    bytesPerToken: open.bytesPerToken,
    numLayers: open.numLayers,
    blockHashes: hashes,
    blocksPerChunk: open.blocksPerChunk,
    layersPerChunk: open.layersPerChunk,
    numChunks: open.numChunks,
    totalBytes: Number(open.totalBytes),
    maxChunkBytes: Number(open.maxChunkBytes),
    estimatedSeconds: 0,
    firstLayerSeconds: 0,
  };
}

/** Another GPU of the tray than `gpu` (the native route rule's other end; see planFromOpen). */
export function standInGpu(gpu: number, gpusPerTray: number): number {
  if (gpusPerTray < 2) throw new HandoffFailure('E_INVALID_ARGUMENT', 'a KV hand-off needs at least 2 GPUs per tray (the native route rule names two GPUs of one tray)');
  return gpu === 0 ? 1 : 0;
}

/** Whether a chunk lies wholly inside the destination's cached prefix (handoff.ts's rule; not sent). */
export function chunkCached(plan: Pick<HandoffPlan, 'numBlocks' | 'blocksPerChunk'>, chunk: number, cachedBlocks: number): boolean {
  const perChunk = plan.blocksPerChunk === 0 ? plan.numBlocks : plan.blocksPerChunk;
  const groups = Math.ceil(plan.numBlocks / perChunk);
  const lastBlock = Math.min(plan.numBlocks, ((chunk % groups) + 1) * perChunk);
  return lastBlock <= cachedBlocks;
}
