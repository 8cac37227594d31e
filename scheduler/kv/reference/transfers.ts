// Moving or copying a sequence between locations (native/SPEC.md §6). Blocks whose hash is already resident at the
// destination are shared, the rest are copied; only blocks holding tokens travel (reserved room is not recreated).
// All checks come before the first mutation; in 'bytes' mode the copies happen synchronously, before the source
// blocks are released, so a block freed by a move is never overwritten before it was read.
import type { Location, TransferPlan } from '../types.js';
import { checkCapacity, releaseTable } from './allocation.js';
import { pathOf, routeHops, routeLinks, totalSeconds } from './routes.js';
import type { Sequence } from './sequences.js';
import type { KvState } from './state.js';
import type { BlockPool } from './pool.js';

/** `destination` is a checked location; `seq` is live. */
export function transferSequence(
  state: KvState,
  seq: Sequence,
  destination: Location,
  mode: 'move' | 'copy',
): TransferPlan {
  const { topology, tokensPerBlock, blockBytes } = state.config;
  const source = { ...seq.location };
  const links = routeLinks(topology, source, destination);
  const dst = state.pool(destination);
  const used = Math.ceil(seq.numTokens / tokensPerBlock);

  // table[i]: the destination block of position i; -1 until a copied position gets its block.
  const table: number[] = [];
  const shared: number[] = [];
  const copied: number[] = [];
  for (let i = 0; i < used; i++) {
    const block = i < seq.hashes.length ? dst.byHash.get(seq.hashes[i]!) : undefined;
    if (block === undefined) {
      table.push(-1);
      copied.push(i);
    } else {
      table.push(block);
      shared.push(block);
    }
  }
  checkCapacity(dst, copied.length, shared);

  for (const block of shared) dst.acquire(block);
  for (const i of copied) {
    const block = dst.take();
    table[i] = block;
    if (i < seq.hashes.length) dst.register(block, seq.hashes[i]!, i > 0 ? seq.hashes[i - 1]! : 0n);
    copyBlock(seq.pool, seq.blocks[i]!, dst, block, blockBytes);
  }

  const homeGpu = destination.tier === 'device' ? destination.index : seq.homeGpu;
  let seqId = seq.seqId;
  if (mode === 'move') {
    releaseTable(seq.pool, seq.blocks);
    seq.location = { ...destination };
    seq.pool = dst;
    seq.blocks = table;
    seq.homeGpu = homeGpu;
  } else {
    const copy = state.sequences.create({
      location: { ...destination },
      pool: dst,
      numTokens: seq.numTokens,
      blocks: table,
      hashes: seq.hashes.slice(),
      homeGpu,
    });
    seqId = copy.seqId;
  }

  const blocksCopied = copied.length;
  const bytes = blocksCopied * blockBytes;
  const hops = routeHops(topology, links, bytes);
  for (const hop of hops) state.bytesMovedByLink[hop.link] += hop.bytes;
  state.transfers++;
  state.events.moved(seqId, source, destination, mode, blocksCopied, bytes);
  return {
    seqId,
    source,
    destination: { ...destination },
    mode,
    blocksCopied,
    blocksShared: shared.length,
    bytes,
    hops,
    estimatedSeconds: totalSeconds(hops),
    path: pathOf(hops),
  };
}

function copyBlock(src: BlockPool, srcBlock: number, dst: BlockPool, dstBlock: number, blockBytes: number): void {
  if (src.data === undefined || dst.data === undefined) return;
  const from = srcBlock * blockBytes;
  dst.data.set(src.data.subarray(from, from + blockBytes), dstBlock * blockBytes);
}

