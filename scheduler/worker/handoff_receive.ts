// KV hand-off, destination side (HandoffReceive, called by the source worker). open: the route is checked (the two
// trays' discovered NVLink domains: E_CROSS_DOMAIN unless cross_domain), then every block is reserved at once
// (all-or-nothing, E_OUT_OF_BLOCKS changes nothing) and the ticket answered. chunk: imported checksum-checked; when
// more leading layers are complete a progress answer says so (the decode pass could run them). commit: the blocks
// become a sequence, adopted as (destination instance, destination seq id) so that the instance's next Step plans
// append to it. Anything else — a bad message, the stream ending, breaking or passing open.timeout_s before the
// commit — aborts the ticket (every reserved block released) and ends the stream with a coded error.
import type * as grpc from '@grpc/grpc-js';

import type { HandoffAck } from '../gen/proto/nvlsched/v1/HandoffAck.js';
import type { HandoffOpen__Output } from '../gen/proto/nvlsched/v1/HandoffOpen.js';
import type { HandoffSegment__Output } from '../gen/proto/nvlsched/v1/HandoffSegment.js';
import type { HandoffPlan } from '../kv/types.js';
import { asFailure, HandoffFailure, MAX_HANDOFF_TIMEOUT_S, planFromOpen, toServiceError } from './handoff_wire.js';
import type { HandoffSite } from './handoff_send.js';

interface Ticket {
  id: number;
  plan: HandoffPlan;
  open: HandoffOpen__Output;
  gpu: number;
  readyLayers: number;
  /** performance.now() when the ticket was answered, and when the first layer became ready. */
  ticketAtMs: number;
  firstLayerAtMs: number | null;
}

export function handoffReceive(site: HandoffSite, call: grpc.ServerDuplexStream<HandoffSegment__Output, HandoffAck>): void {
  const kv = site.backend.kv;
  let ticket: Ticket | null = null;
  let done = false;
  let timer: NodeJS.Timeout | undefined;

  /** Releases the ticket (if any) once; `failure` null: the peer is gone, nobody to tell. */
  const finish = (failure: HandoffFailure | null): void => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    if (ticket) {
      try {
        kv.handoffAbort(ticket.id);
      } catch {
        // the manager closed (worker shutting down): nothing is left to release
      }
      site.log(`hand-off into ${ticket.open.destinationInstanceId}/${ticket.open.destinationSeqId} aborted: ${failure ? `${failure.code}: ${failure.message}` : 'the source went away'}`);
    }
    if (failure) call.emit('error', toServiceError(failure));
  };

  const open = (o: HandoffOpen__Output): void => {
    if (ticket) throw new HandoffFailure('E_HANDOFF_STATE', 'open: sent twice on one stream');
    const b = site.backend;
    if (o.destinationInstanceId === '' || o.destinationInstanceId.length > 256) throw new HandoffFailure('E_INVALID_ARGUMENT', `open.destination_instance_id: expected 1-256 characters, got ${o.destinationInstanceId.length}`);
    if (!(Number.isFinite(o.timeoutS) && o.timeoutS > 0 && o.timeoutS <= MAX_HANDOFF_TIMEOUT_S)) throw new HandoffFailure('E_INVALID_ARGUMENT', `open.timeout_s: expected seconds in (0, ${MAX_HANDOFF_TIMEOUT_S}], got ${o.timeoutS}`);
    if (o.destinationGpu >= b.gpusPerTray) throw new HandoffFailure('E_UNKNOWN_GPU', `open.destination_gpu: gpu ${o.destinationGpu} is not on this tray (GPUs 0..${b.gpusPerTray - 1})`);
    if (b.draining) throw new HandoffFailure('E_DRAINING', 'the destination worker is draining and accepts no new sequences');
    if (o.sourceDomainId !== site.domainId && !o.crossDomain) {
      throw new HandoffFailure('E_CROSS_DOMAIN', `the source is in NVLink domain '${o.sourceDomainId}', this worker in '${site.domainId}': set cross_domain to hand off over scale-out`);
    }
    if (b.sequence(o.destinationInstanceId, o.destinationSeqId)) throw alreadyRunning(o);
    const plan = planFromOpen(o, o.destinationGpu, b.gpusPerTray);
    const t = kv.handoffReserve(plan, { gpu: o.destinationGpu, reserveTokens: o.reserveTokens });
    ticket = { id: t.ticketId, plan, open: o, gpu: o.destinationGpu, readyLayers: 0, ticketAtMs: performance.now(), firstLayerAtMs: null };
    // A source that stops sending without closing (hung, or a half-open connection) must not pin blocks forever.
    timer = setTimeout(() => finish(new HandoffFailure('E_TIMEOUT', `no commit within open.timeout_s = ${o.timeoutS} s`)), o.timeoutS * 1000);
    timer.unref();
    call.write({ ticket: { cachedBlocks: t.cachedBlocks, neededChunks: t.neededChunks, domainId: site.domainId } });
  };

  const chunk = (t: Ticket, index: number, data: Buffer, checksum: string): void => {
    const bytes = t.plan.dataMode === 'bytes';
    let sum: bigint | undefined;
    if (bytes) {
      try {
        sum = BigInt(checksum);
      } catch {
        throw new HandoffFailure('E_INVALID_ARGUMENT', `chunk.checksum: expected an unsigned 64-bit integer, got '${checksum.slice(0, 40)}'`);
      }
    }
    const progress = kv.handoffImport(t.id, index, bytes ? data : null, sum);
    if (progress.readyLayers > t.readyLayers) {
      t.firstLayerAtMs ??= performance.now();
      t.readyLayers = progress.readyLayers;
      call.write({ progress: { readyLayers: progress.readyLayers, doneChunks: progress.doneChunks } });
    }
  };

  const commit = (t: Ticket): void => {
    // Checked again: the instance's own Step plans may have started the id meanwhile (the gateway fell back).
    if (site.backend.sequence(t.open.destinationInstanceId, t.open.destinationSeqId)) throw alreadyRunning(t.open);
    if (site.parked.has(t.open.destinationInstanceId, t.open.destinationSeqId)) throw alreadyRunning(t.open);
    const r = kv.handoffCommit(t.id);
    const held = { native: r.seqId, gpu: t.gpu, tokens: r.numTokens };
    // A pre-copy: committed (the blocks are the sequence's) but parked, not runnable, until its tail arrives.
    if (t.open.precopy) site.parked.park(t.open.destinationInstanceId, t.open.destinationSeqId, held, t.open.timeoutS);
    else site.backend.adopt(t.open.destinationInstanceId, t.open.destinationSeqId, held);
    done = true;
    clearTimeout(timer);
    call.write({ committed: { seqId: t.open.destinationSeqId, numTokens: r.numTokens, numBlocks: r.numBlocks, blocksCopied: r.blocksCopied, bytes: String(r.bytes), readyLayers: t.plan.numLayers, firstLayerMs: (t.firstLayerAtMs ?? performance.now()) - t.ticketAtMs } });
    call.end();
  };

  call.on('data', (segment: HandoffSegment__Output) => {
    if (done) return;
    try {
      if (segment.open) open(segment.open);
      else if (!ticket) throw new HandoffFailure('E_HANDOFF_STATE', `${segment.kind ?? 'an empty segment'} before open`);
      else if (segment.chunk) chunk(ticket, segment.chunk.chunkIndex, segment.chunk.data, segment.chunk.checksum);
      else if (segment.commit) commit(ticket);
      else throw new HandoffFailure('E_INVALID_ARGUMENT', 'segment: expected open, chunk or commit');
    } catch (error) {
      finish(asFailure(error));
    }
  });
  call.on('end', () => finish(new HandoffFailure('E_PEER_UNAVAILABLE', 'the source ended the stream before commit')));
  call.on('cancelled', () => finish(null));
  call.on('error', () => finish(null));
}

function alreadyRunning(o: HandoffOpen__Output): HandoffFailure {
  return new HandoffFailure('E_ALREADY_RUNNING', `destination_seq_id: instance ${o.destinationInstanceId} already runs sequence ${o.destinationSeqId} on this worker`);
}
