// The whole KV hand-off protocol (native/SPEC.md §11) between two managers that live in one process: what a
// prefill worker and a decode worker do over gRPC, done with direct calls. Workers in two processes run the same
// steps, sending the plan, the ticket and each chunk as messages; this function is their reference sequence.
// Any failure aborts both sides (nothing stays pinned or reserved) and rethrows: the caller falls back to
// recomputing the prompt on the decode side.
import { kvError } from './errors.js';
import type { HandoffChunk, HandoffCommitResult, HandoffOptions, HandoffPlan, HandoffTicket, KvHandoff, KvManager } from './types.js';

export type HandoffManager = KvManager & KvHandoff;

export interface HandOffOptions extends HandoffOptions {
  /** Room for decode output on the destination (allocate's reserveTokens). */
  reserveTokens?: number;
  /**
   * Called with each exported chunk before it is imported; returns the chunk to import. Transports (and tests
   * simulating a torn transfer) hook in here.
   */
  onChunk?: (chunk: HandoffChunk) => HandoffChunk;
}

export interface HandOffResult {
  /** Null for the in-process shortcut (one manager: the existing transfer path). */
  plan: HandoffPlan | null;
  ticket: HandoffTicket | null;
  commit: HandoffCommitResult;
  sourceFreed: boolean;
}

/**
 * Hands `seqId` off from `source` to `destination`. One manager for both (two instances served by one process)
 * takes the existing transfer path after the same domain rule; 'move' keeps the id, 'copy' makes a new one.
 */
export async function handOff(source: HandoffManager, destination: HandoffManager, seqId: number, options: HandOffOptions): Promise<HandOffResult> {
  if (source === destination) return sameManager(source, seqId, options);
  const { reserveTokens, onChunk, ...begin } = options;
  const plan = source.handoffBegin(seqId, begin);
  let ticket: HandoffTicket | null = null;
  try {
    ticket = destination.handoffReserve(plan, reserveTokens === undefined ? {} : { reserveTokens });
    for (let c = 0; c < plan.numChunks; c++) {
      const blockGroups = Math.ceil(plan.numBlocks / plan.blocksPerChunk);
      const lastBlock = Math.min(plan.numBlocks, ((c % blockGroups) + 1) * plan.blocksPerChunk);
      if (lastBlock <= ticket.cachedBlocks) continue; // already resident on the destination
      const exported = source.handoffExport(plan.handoffId, c);
      const chunk = onChunk ? onChunk(exported) : exported;
      destination.handoffImport(ticket.ticketId, c, chunk.data, plan.dataMode === 'bytes' ? chunk.checksum : undefined);
    }
    const commit = destination.handoffCommit(ticket.ticketId);
    const { sourceFreed } = source.handoffComplete(plan.handoffId);
    return { plan, ticket, commit, sourceFreed };
  } catch (error) {
    if (ticket) destination.handoffAbort(ticket.ticketId);
    source.handoffAbort(plan.handoffId);
    throw error;
  }
}

async function sameManager(kv: HandoffManager, seqId: number, options: HandOffOptions): Promise<HandOffResult> {
  const info = kv.sequenceInfo(seqId);
  const t = kv.topology();
  const perDomain = t.gpusPerTray * t.traysPerDomain;
  const from = info.location.index;
  const to = options.destinationGpu;
  if (info.location.tier !== 'device') {
    throw kvError('E_WRONG_TIER', `a hand-off needs a sequence on a device; seqId ${seqId} is on the ${info.location.tier} tier (promote it first)`);
  }
  if (Math.floor(from / perDomain) !== Math.floor(to / perDomain) && options.crossDomain !== true) {
    throw kvError('E_CROSS_DOMAIN', `GPU ${from} and destinationGpu ${to} are in different NVLink domains; pass crossDomain: true to hand off over scale-out`);
  }
  const mode = options.mode ?? 'move';
  const moved = await kv.transfer(seqId, { tier: 'device', index: to }, mode);
  const after = kv.sequenceInfo(moved.seqId);
  const link = moved.path === 'scaleout' ? 'scaleout' : 'nvlink';
  return {
    plan: null,
    ticket: null,
    commit: { seqId: moved.seqId, gpu: to, numTokens: after.numTokens, numBlocks: after.numBlocks, cachedBlocks: moved.blocksShared, blocksCopied: moved.blocksCopied, bytes: moved.bytes, link },
    sourceFreed: mode === 'move',
  };
}
