// allocate / append / free (native/SPEC.md §4). Each call checks everything, capacity included, before its first
// mutation, so a failing call changes nothing: no reference, no LRU order, no stats, no events.
import { invalidArgument, kvError } from '../errors.js';
import type { AllocateResult, AppendResult } from '../types.js';
import type { BlockPool } from './pool.js';
import { lastHash, type Sequence } from './sequences.js';
import type { KvState } from './state.js';
import { MAX_TOKENS } from './validate.js';

export interface CheckedAllocate {
  gpu: number;
  numTokens: number;
  blockHashes: BigUint64Array;
  reserveTokens: number;
}

export function checkCapacity(pool: BlockPool, needed: number, acquired: readonly number[]): void {
  const available = pool.available(acquired);
  if (needed > available) {
    const { tier, index } = pool.location;
    throw kvError(
      'E_OUT_OF_BLOCKS',
      `${tier} pool ${index} needs ${needed} free or evictable blocks, has ${available} ` +
        `(free ${pool.freeBlocks}, cached ${pool.cachedBlocks}, total ${pool.totalBlocks})`,
    );
  }
}

export function allocate(state: KvState, req: CheckedAllocate): AllocateResult {
  const { gpu, numTokens, blockHashes, reserveTokens } = req;
  const bs = state.config.tokensPerBlock;
  const pool = state.devicePool(gpu);
  const numBlocks = Math.ceil((numTokens + reserveTokens) / bs);
  const cached: number[] = [];
  for (const hash of blockHashes) {
    const block = pool.byHash.get(hash);
    if (block === undefined) break;
    cached.push(block);
  }
  const needed = numBlocks - cached.length;
  checkCapacity(pool, needed, cached);

  const blocks = cached.slice();
  for (const block of cached) pool.acquire(block);
  for (let position = cached.length; position < numBlocks; position++) {
    const block = pool.take();
    blocks.push(block);
    if (position < blockHashes.length) {
      pool.register(block, blockHashes[position]!, position > 0 ? blockHashes[position - 1]! : 0n);
    }
  }
  pool.hits += cached.length;
  pool.misses += blockHashes.length - cached.length;
  const seq = state.sequences.create({
    location: { tier: 'device', index: gpu },
    pool,
    numTokens,
    blocks,
    hashes: Array.from(blockHashes),
    homeGpu: gpu,
  });
  return { seqId: seq.seqId, numBlocks, cachedBlocks: cached.length, newBlocks: needed };
}

/** numTokens is an integer in [0, 2^32 - 1] and blockHashes a BigUint64Array; `seq` is live. */
export function append(state: KvState, seq: Sequence, numTokens: number, blockHashes: BigUint64Array): AppendResult {
  if (seq.location.tier !== 'device') {
    throw kvError('E_WRONG_TIER', `append needs a sequence on a GPU; seqId ${seq.seqId} is on the ${seq.location.tier} tier (promote it first)`);
  }
  if (numTokens < 1 || numTokens > MAX_TOKENS) {
    throw invalidArgument(`numTokens must be an integer in [1, ${MAX_TOKENS}], got ${numTokens}`);
  }
  const bs = state.config.tokensPerBlock;
  const oldLen = seq.numTokens;
  const newLen = oldLen + numTokens;
  if (newLen > MAX_TOKENS) {
    throw invalidArgument(`numTokens would grow seqId ${seq.seqId} to ${newLen} tokens, more than ${MAX_TOKENS}`);
  }
  const oldFull = Math.floor(oldLen / bs);
  const newFull = Math.floor(newLen / bs) - oldFull;
  if (blockHashes.length > newFull) {
    throw invalidArgument(`blockHashes has ${blockHashes.length} hashes; this append fills ${newFull} block(s)`);
  }
  if (blockHashes.length > 0 && seq.hashes.length !== oldFull) {
    throw invalidArgument(
      `blockHashes must continue a contiguous chain: seqId ${seq.seqId} has ${seq.hashes.length} hashed blocks of ${oldFull} full ones`,
    );
  }
  const pool = seq.pool;
  const needed = Math.max(0, Math.ceil(newLen / bs) - seq.blocks.length);
  checkCapacity(pool, needed, []);

  for (let i = 0; i < needed; i++) seq.blocks.push(pool.take());
  for (let j = 0; j < blockHashes.length; j++) {
    const hash = blockHashes[j]!;
    pool.register(seq.blocks[oldFull + j]!, hash, lastHash(seq));
    seq.hashes.push(hash);
  }
  seq.numTokens = newLen;
  return { numTokens: newLen, numBlocks: seq.blocks.length, newBlocks: needed };
}

/** Releases a table last block first, so a freed chain's tail sits nearer the LRU end and goes before its head. */
export function releaseTable(pool: BlockPool, blocks: readonly number[]): void {
  for (let i = blocks.length - 1; i >= 0; i--) pool.release(blocks[i]!);
}

export function freeSequence(state: KvState, seq: Sequence): void {
  releaseTable(seq.pool, seq.blocks);
  state.sequences.delete(seq.seqId);
}
