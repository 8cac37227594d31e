// KV hand-off, source side (HandoffSend): this worker holds the sequence (a prefill instance's) and streams its KV to
// the destination worker's HandoffReceive — open (the plan) → ticket → chunks (first layers first) → commit →
// committed — then completes (a 'move' frees its copy). The gateway only starts it and reads the outcome.
// Any failure, here or reported by the destination, aborts the native hand-off (its pins go; the sequence is as it
// was) and cancels the stream, which makes the destination abort its ticket: no blocks stay taken on either side.
// An edge process: it reads the wall clock for the elapsed time and the deadline.
import type * as grpc from '@grpc/grpc-js';

import type { HandoffAck__Output } from '../gen/proto/nvlsched/v1/HandoffAck.js';
import type { HandoffSegment } from '../gen/proto/nvlsched/v1/HandoffSegment.js';
import type { HandoffSendRequest__Output } from '../gen/proto/nvlsched/v1/HandoffSendRequest.js';
import type { HandoffSendResult } from '../gen/proto/nvlsched/v1/HandoffSendResult.js';
import type { WorkerClient } from '../gen/proto/nvlsched/v1/Worker.js';
import type { HandoffPlan } from '../kv/types.js';
import {
  asFailure, autoBlocksPerChunk, checkSendRequest, chunkCached, fromServiceError, HandoffFailure, MAX_CHUNK_BYTES, openFromPlan, standInGpu,
} from './handoff_wire.js';
import type { ParkedCopies } from './handoff_park.js';
import type { PeerClients } from './peers.js';
import type { SimBackend } from './sim_backend.js';

export interface HandoffSite {
  backend: SimBackend;
  peers: PeerClients;
  /** This tray's NVLink domain (discovered at start) and index. */
  domainId: string;
  tray: number;
  log: (line: string) => void;
  /** Pre-copied sequences waiting for their tail (this worker as a migration's destination). */
  parked: ParkedCopies;
}

const EMPTY = Buffer.alloc(0);

export async function handoffSend(site: HandoffSite, request: HandoffSendRequest__Output): Promise<HandoffSendResult> {
  const startMs = performance.now();
  const { backend } = site;
  const kv = backend.kv;
  const o = checkSendRequest(request, backend.gpusPerTray);
  if (o.layersPerChunk > backend.numLayers) throw new HandoffFailure('E_INVALID_ARGUMENT', `layers_per_chunk: expected 1..${backend.numLayers} (the model's layers; 0 = 1), got ${o.layersPerChunk}`);
  const held = backend.sequence(o.instanceId, o.seqId);
  if (!held) throw new HandoffFailure('E_UNKNOWN_SEQUENCE', `seq_id: instance ${o.instanceId} runs no sequence ${o.seqId} on this worker`);
  const numBlocks = Math.ceil(held.tokens / kv.tokensPerBlock);
  const blocksPerChunk = o.blocksPerChunk !== 0 ? o.blocksPerChunk : autoBlocksPerChunk(numBlocks, kv.tokensPerBlock, kv.bytesPerToken, backend.numLayers, o.layersPerChunk, o.maxChunkBytes);
  // The native route rule wants another GPU of this manager's (tray-local) topology; the real route is checked by
  // the destination against the two trays' discovered domains (handoff_wire.ts planFromOpen).
  const plan = kv.handoffBegin(held.native, { destinationGpu: standInGpu(held.gpu, backend.gpusPerTray), mode: o.mode, blocksPerChunk, layersPerChunk: o.layersPerChunk });
  const peer = new PeerCall(site.peers.get(o.address), o.address, o.timeoutS);
  try {
    if (plan.maxChunkBytes > MAX_CHUNK_BYTES) {
      throw new HandoffFailure('E_INVALID_ARGUMENT', `blocks_per_chunk: ${plan.blocksPerChunk} blocks x ${plan.layersPerChunk} layers make ${plan.maxChunkBytes}-byte chunks, over the ${MAX_CHUNK_BYTES}-byte limit of one message`);
    }
    await peer.write({ open: openFromPlan(plan, o, { domainId: site.domainId, tray: site.tray }) });
    const ticket = (await peer.next()).ticket;
    if (!ticket) throw new HandoffFailure('E_PEER_UNAVAILABLE', `destination ${o.address}: answered the plan without a ticket`);
    const ticketMs = performance.now() - startMs;
    const sent = await sendChunks(kv, plan, ticket.cachedBlocks, peer);
    await peer.write({ commit: {} });
    const committed = (await peer.next()).committed;
    if (!committed) throw new HandoffFailure('E_PEER_UNAVAILABLE', `destination ${o.address}: answered the commit without a result`);
    peer.end();
    const { sourceFreed } = kv.handoffComplete(plan.handoffId);
    if (sourceFreed) backend.handedOff(o.instanceId, o.seqId, held.native);
    const link = ticket.domainId === site.domainId ? 'nvlink' : 'scaleout';
    return {
      destinationSeqId: committed.seqId,
      numTokens: committed.numTokens,
      numBlocks: plan.numBlocks,
      cachedBlocks: ticket.cachedBlocks,
      blocksCopied: committed.blocksCopied,
      bytesSent: String(sent.bytes),
      chunksSent: sent.chunks,
      numChunks: plan.numChunks,
      elapsedMs: performance.now() - startMs,
      // Our time to the ticket plus the destination's from the ticket to its first complete layer.
      firstLayerMs: ticketMs + committed.firstLayerMs,
      readyLayers: committed.readyLayers,
      link,
      sourceFreed,
      estimatedS: plan.estimatedSeconds,
      dataMode: plan.dataMode,
      sourceDomainId: site.domainId,
      destinationDomainId: ticket.domainId,
    };
  } catch (error) {
    peer.cancel();
    try {
      kv.handoffAbort(plan.handoffId);
    } catch {
      // the manager closed under us (worker shutting down): nothing is left to release
    }
    const failure = asFailure(error);
    site.log(`hand-off of ${o.instanceId}/${o.seqId} to ${o.address} failed: ${failure.code}: ${failure.message}`);
    throw failure;
  }
}

/** Exports and writes every chunk the destination needs (layer-major order: the first layers leave first). */
async function sendChunks(kv: SimBackend['kv'], plan: HandoffPlan, cachedBlocks: number, peer: PeerCall): Promise<{ bytes: number; chunks: number }> {
  let bytes = 0;
  let chunks = 0;
  for (let c = 0; c < plan.numChunks; c++) {
    if (chunkCached(plan, c, cachedBlocks)) continue;
    const chunk = kv.handoffExport(plan.handoffId, c);
    const data = chunk.data ?? EMPTY;
    await peer.write({ chunk: { chunkIndex: c, data, checksum: String(chunk.checksum) } });
    bytes += data.length;
    chunks++;
  }
  return { bytes, chunks };
}

/**
 * The HandoffReceive stream as awaitable steps: write (waits for the transport to drain), next (the next ticket or
 * committed answer; progress answers are skipped). Everything rejects once the stream failed.
 */
class PeerCall {
  private readonly call: grpc.ClientDuplexStream<HandoffSegment, HandoffAck__Output>;
  private readonly acks: HandoffAck__Output[] = [];
  private waiter: { resolve: (a: HandoffAck__Output) => void; reject: (e: Error) => void } | null = null;
  private drainWaiter: { resolve: () => void; reject: (e: Error) => void } | null = null;
  private failure: HandoffFailure | null = null;

  constructor(client: WorkerClient, private readonly address: string, timeoutS: number) {
    this.call = client.HandoffReceive({ deadline: Date.now() + timeoutS * 1000 });
    this.call.on('data', (ack: HandoffAck__Output) => {
      if (ack.progress) return; // timed by the destination (HandoffCommitted.first_layer_ms)
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = null;
        w.resolve(ack);
      } else {
        this.acks.push(ack);
      }
    });
    this.call.on('drain', () => {
      const d = this.drainWaiter;
      this.drainWaiter = null;
      d?.resolve();
    });
    this.call.on('error', (err: grpc.ServiceError) => this.fail(fromServiceError(err, `destination ${address}`)));
    this.call.on('end', () => this.fail(new HandoffFailure('E_PEER_UNAVAILABLE', `destination ${address}: the stream ended before the hand-off committed`)));
  }

  write(segment: HandoffSegment): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.call.write(segment)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.drainWaiter = { resolve, reject };
    });
  }

  next(): Promise<HandoffAck__Output> {
    const ack = this.acks.shift();
    if (ack) return Promise.resolve(ack);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  /** The hand-off committed: close our side (the destination ends the stream). */
  end(): void {
    this.failure ??= new HandoffFailure('E_HANDOFF_STATE', `destination ${this.address}: the hand-off already ended`);
    this.call.end();
  }

  cancel(): void {
    this.failure ??= new HandoffFailure('E_HANDOFF_STATE', 'cancelled');
    this.call.cancel();
  }

  private fail(failure: HandoffFailure): void {
    if (this.failure) return;
    this.failure = failure;
    this.waiter?.reject(failure);
    this.drainWaiter?.reject(failure);
    this.waiter = null;
    this.drainWaiter = null;
  }
}
