// The gateway's side of the KV hand-off between workers (prefill instance → decode instance): one call that asks
// the source worker (HandoffSend, proto/nvlsched/v1/worker.proto) to stream the sequence's KV straight to the
// destination worker and returns the outcome as plain data. The gateway is off the data path: bytes go worker →
// worker (scheduler/worker/README.md "KV hand-off"). Not called by the scheduler yet: deciding WHEN to disaggregate
// is scheduler/core's; the driver calls this once a sequence's prefill is done on a prefill instance.
// Live migration is two calls: handOffSequence({precopy: true}) while the sequence keeps decoding, then
// handOffTail once the gateway stopped planning it.
// A failure never throws: it comes back as { ok: false, code, … } with both workers already cleaned up (nothing
// pinned or reserved) and the source sequence as it was, so the caller falls back — keep decoding on the source, or
// recompute the prompt on the decode instance (a first-sight Step there).
import * as grpc from '@grpc/grpc-js';

import type { HandoffSendRequest } from '../gen/proto/nvlsched/v1/HandoffSendRequest.js';
import type { HandoffSendResult__Output } from '../gen/proto/nvlsched/v1/HandoffSendResult.js';
import type { HandoffTailRequest } from '../gen/proto/nvlsched/v1/HandoffTailRequest.js';
import type { WorkerClient } from '../gen/proto/nvlsched/v1/Worker.js';

export interface HandoffRoute {
  /** The gateway's channel to the worker that holds the sequence (the prefill instance's leader tray). */
  source: WorkerClient;
  /** The source instance and the sequence's id in its Step plans. */
  instanceId: string;
  seqId: number;
  destination: {
    /** host:port of the destination worker as the SOURCE worker can dial it (the gateway's worker address). */
    address: string;
    instanceId: string;
    /** The id the destination instance's Step plans use from now on (the same seq id is fine). */
    seqId: number;
    /** The decode instance's GPU on its tray (as ScheduledSequence.gpu). */
    gpu: number;
  };
  /** 'move' (default) frees the source copy after commit; 'copy' keeps it. */
  mode?: 'move' | 'copy';
  /** Allow another NVLink domain (scale-out). Default false: E_CROSS_DOMAIN. */
  crossDomain?: boolean;
  /** Decode room on the destination (the engine's output reservation), tokens. */
  reserveTokens?: number;
  /** Layers per chunk (default 1: layer-wise). */
  layersPerChunk?: number;
  /** Blocks per chunk (default: the worker fits chunks to maxChunkBytes). */
  blocksPerChunk?: number;
  maxChunkBytes?: number;
  /** The whole hand-off, both workers (default 30 s, at most 600 s). */
  timeoutMs?: number;
  /**
   * Live pre-copy (phase 1 of a migration): the source keeps its sequence running (mode is 'copy'), the destination
   * parks the committed copy until handOffTail sends what the source wrote since (phase 2), or frees it on abort
   * or after timeoutMs.
   */
  precopy?: boolean;
}

export interface HandoffDone {
  ok: true;
  destinationSeqId: number;
  numTokens: number;
  numBlocks: number;
  cachedBlocks: number;
  blocksCopied: number;
  bytesSent: number;
  chunksSent: number;
  numChunks: number;
  elapsedMs: number;
  /** When the destination had the first layer of every block (the decode pass could start it). */
  firstLayerMs: number;
  link: 'nvlink' | 'scaleout';
  sourceFreed: boolean;
  /** The native cost model's estimate for the same bytes on NVLink, seconds. */
  estimatedS: number;
  dataMode: string;
}

export interface HandoffFailed {
  ok: false;
  /** E_OUT_OF_BLOCKS, E_CROSS_DOMAIN, E_PEER_UNAVAILABLE, E_TIMEOUT, E_UNKNOWN_SEQUENCE, E_INVALID_ARGUMENT, … */
  code: string;
  /** The gRPC status name (RESOURCE_EXHAUSTED, …). */
  status: string;
  message: string;
  /**
   * What the caller can still do: 'keep' — the source still holds the sequence (continue there, or free it and
   * recompute on the decode side); 'recompute' — the source does not hold it (unknown sequence, or the source worker
   * itself is unreachable), only a recompute is left.
   */
  fallback: 'keep' | 'recompute';
}

export type HandoffOutcome = HandoffDone | HandoffFailed;

/** Seconds the gateway waits beyond the hand-off's own timeout (both workers time out first and clean up). */
const GRACE_MS = 5000;

export function handoffRequest(route: HandoffRoute): HandoffSendRequest {
  return {
    instanceId: route.instanceId,
    seqId: route.seqId,
    destinationAddress: route.destination.address,
    destinationInstanceId: route.destination.instanceId,
    destinationSeqId: route.destination.seqId,
    destinationGpu: route.destination.gpu,
    mode: route.mode ?? 'move',
    blocksPerChunk: route.blocksPerChunk ?? 0,
    layersPerChunk: route.layersPerChunk ?? 1,
    crossDomain: route.crossDomain ?? false,
    reserveTokens: route.reserveTokens ?? 0,
    timeoutS: (route.timeoutMs ?? 30_000) / 1000,
    maxChunkBytes: route.maxChunkBytes ?? 0,
    precopy: route.precopy ?? false,
  };
}

export function handOffSequence(route: HandoffRoute): Promise<HandoffOutcome> {
  const request = handoffRequest(route);
  const deadline = Date.now() + (route.timeoutMs ?? 30_000) + GRACE_MS;
  return new Promise((resolve) => {
    route.source.HandoffSend(request, new grpc.Metadata(), { deadline }, (err, res) => {
      if (err || !res) resolve(failed(err));
      else resolve(done(res));
    });
  });
}

export interface TailDone {
  ok: true;
  /** The sequence's tokens now on the destination (adopted, runnable). */
  numTokens: number;
  /** Tokens the tail carried (from the start of the pre-copy's last, partly filled block). */
  tailTokens: number;
  bytesSent: number;
  elapsedMs: number;
  sourceFreed: boolean;
}

export type TailOutcome = TailDone | HandoffFailed;

/**
 * Phase 2 of a live migration, after the gateway stopped planning the sequence: the source worker sends the
 * tokens written since the pre-copy of `precopiedTokens` tokens, the destination appends them to its parked copy
 * and adopts it under route.destination.seqId, the source frees its sequence. Failed: the parked copy is freed
 * and (fallback 'keep') the source still holds its sequence — fall back to a whole-KV stop-and-copy.
 * `abort`: only drop the parked copy (the request ended or moved on during the pre-copy).
 */
export function handOffTail(route: HandoffRoute, precopiedTokens: number, abort = false): Promise<TailOutcome> {
  const timeoutMs = route.timeoutMs ?? 30_000;
  const request: HandoffTailRequest = {
    instanceId: route.instanceId,
    seqId: route.seqId,
    destinationAddress: route.destination.address,
    destinationInstanceId: route.destination.instanceId,
    destinationSeqId: route.destination.seqId,
    precopiedTokens,
    abort,
    timeoutS: timeoutMs / 1000,
  };
  return new Promise((resolve) => {
    route.source.HandoffTail(request, new grpc.Metadata(), { deadline: Date.now() + timeoutMs + GRACE_MS }, (err, res) => {
      if (err || !res) resolve(failed(err));
      else resolve({ ok: true, numTokens: res.numTokens, tailTokens: res.tailTokens, bytesSent: Number(res.bytesSent), elapsedMs: res.elapsedMs, sourceFreed: res.sourceFreed });
    });
  });
}

function done(r: HandoffSendResult__Output): HandoffDone {
  return {
    ok: true,
    destinationSeqId: r.destinationSeqId,
    numTokens: r.numTokens,
    numBlocks: r.numBlocks,
    cachedBlocks: r.cachedBlocks,
    blocksCopied: r.blocksCopied,
    bytesSent: Number(r.bytesSent),
    chunksSent: r.chunksSent,
    numChunks: r.numChunks,
    elapsedMs: r.elapsedMs,
    firstLayerMs: r.firstLayerMs,
    link: r.link === 'scaleout' ? 'scaleout' : 'nvlink',
    sourceFreed: r.sourceFreed,
    estimatedS: r.estimatedS,
    dataMode: r.dataMode,
  };
}

function failed(err: grpc.ServiceError | null): HandoffFailed {
  if (!err) return { ok: false, code: 'E_INTERNAL', status: 'UNKNOWN', message: 'HandoffSend answered nothing', fallback: 'keep' };
  const fromMeta = err.metadata?.get('nvlsched-error-code')[0];
  const details = err.details ?? err.message;
  const coded = /^(E_[A-Z_]+): /.exec(details);
  // No code at all: the gateway could not reach the source worker (or its own deadline passed first).
  const code = typeof fromMeta === 'string' ? fromMeta : coded?.[1] ?? (err.code === grpc.status.DEADLINE_EXCEEDED ? 'E_TIMEOUT' : 'E_SOURCE_UNAVAILABLE');
  const sourceGone = code === 'E_UNKNOWN_SEQUENCE' || code === 'E_SOURCE_UNAVAILABLE';
  return { ok: false, code, status: grpc.status[err.code] ?? String(err.code), message: coded ? details.slice(coded[0].length) : details, fallback: sourceGone ? 'recompute' : 'keep' };
}

/**
 * Frees a pre-copied sequence parked on the destination worker (the move was abandoned between the phases), asked
 * of the destination itself so that it works when the source worker is gone. Best effort: a destination that does
 * not answer frees it when the pre-copy's timeout passes.
 */
export function dropParked(destination: WorkerClient, instanceId: string, seqId: number, timeoutMs = 5000): Promise<boolean> {
  return new Promise((resolve) => {
    destination.HandoffAppend({ destinationInstanceId: instanceId, destinationSeqId: seqId, abort: true }, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err) => resolve(!err));
  });
}

/** The calls a live migration makes on one instance's worker (KvMoves.setLiveCopy; gateway.ts wires them). */
export interface LiveCopyCalls {
  /** Phase 1 from this instance (the source): HandoffSend with precopy. */
  preCopy(seqId: number, to: { instanceId: string; address: string; gpu: number }, o: { destinationSeqId: number; reserveTokens: number; timeoutMs: number }): Promise<HandoffOutcome>;
  /** Phase 2 from this instance (the source): HandoffTail. */
  tail(seqId: number, to: { instanceId: string; address: string; gpu: number }, o: { destinationSeqId: number; precopiedTokens: number; timeoutMs: number }): Promise<TailOutcome>;
  /** On this instance (the destination): drop a parked copy. */
  dropParked(seqId: number): Promise<boolean>;
}

/** LiveCopyCalls on the worker behind `client` that serves `instanceId`. */
export function liveCopyCalls(client: WorkerClient, instanceId: string): LiveCopyCalls {
  const route = (seqId: number, to: { instanceId: string; address: string; gpu: number }, destinationSeqId: number, timeoutMs: number): HandoffRoute => ({
    source: client, instanceId, seqId, destination: { address: to.address, instanceId: to.instanceId, seqId: destinationSeqId, gpu: to.gpu }, timeoutMs,
  });
  return {
    preCopy: (seqId, to, o) => handOffSequence({ ...route(seqId, to, o.destinationSeqId, o.timeoutMs), reserveTokens: o.reserveTokens, precopy: true }),
    tail: (seqId, to, o) => handOffTail(route(seqId, to, o.destinationSeqId, o.timeoutMs), o.precopiedTokens),
    dropParked: (seqId) => dropParked(client, instanceId, seqId),
  };
}
