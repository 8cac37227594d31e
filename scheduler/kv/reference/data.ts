// Token bytes of a sequence in 'bytes' mode (native/SPEC.md §7). Token t lives in block table[floor(t / bs)] at
// byte (t % bs) * bytesPerToken. Writes need every touched block to be held by this sequence alone: a shared
// block's bytes belong to every sequence (and cached prefix) that reuses it.
import { invalidArgument, kvError } from '../errors.js';
import type { Sequence } from './sequences.js';
import type { KvState } from './state.js';

function checkRange(seq: Sequence, tokenOffset: number, numTokens: number): void {
  if (tokenOffset + numTokens > seq.numTokens) {
    throw invalidArgument(
      `tokens [${tokenOffset}, ${tokenOffset + numTokens}) are outside seqId ${seq.seqId}, which holds ${seq.numTokens} tokens`,
    );
  }
}

/** Calls `visit(block, byteOffsetInPool, byteOffsetInBuffer, length)` for each block span of a token range. */
function forEachSpan(
  state: KvState,
  seq: Sequence,
  tokenOffset: number,
  numTokens: number,
  visit: (block: number, poolOffset: number, bufferOffset: number, length: number) => void,
): void {
  const { tokensPerBlock: bs, bytesPerToken, blockBytes } = state.config;
  let token = tokenOffset;
  const end = tokenOffset + numTokens;
  while (token < end) {
    const position = Math.floor(token / bs);
    const spanTokens = Math.min(end, (position + 1) * bs) - token;
    const block = seq.blocks[position]!;
    visit(block, block * blockBytes + (token % bs) * bytesPerToken, (token - tokenOffset) * bytesPerToken, spanTokens * bytesPerToken);
    token += spanTokens;
  }
}

/** `data.length` is a multiple of bytesPerToken (checked by the caller). */
export function writeTokens(state: KvState, seq: Sequence, tokenOffset: number, data: Uint8Array): void {
  const numTokens = data.length / state.config.bytesPerToken;
  checkRange(seq, tokenOffset, numTokens);
  const pool = seq.pool;
  forEachSpan(state, seq, tokenOffset, numTokens, (block) => {
    if (pool.refCount(block) !== 1) {
      throw kvError(
        'E_BLOCK_SHARED',
        `seqId ${seq.seqId}: block ${block} holding tokens from ${tokenOffset} is shared by ${pool.refCount(block)} holders; ` +
          'write only to blocks this sequence holds alone',
      );
    }
  });
  const memory = pool.data!;
  forEachSpan(state, seq, tokenOffset, numTokens, (_block, poolOffset, bufferOffset, length) => {
    memory.set(data.subarray(bufferOffset, bufferOffset + length), poolOffset);
  });
}

export function readTokens(state: KvState, seq: Sequence, tokenOffset: number, numTokens: number): Uint8Array {
  checkRange(seq, tokenOffset, numTokens);
  const out = new Uint8Array(numTokens * state.config.bytesPerToken);
  const memory = seq.pool.data!;
  forEachSpan(state, seq, tokenOffset, numTokens, (_block, poolOffset, bufferOffset, length) => {
    out.set(memory.subarray(poolOffset, poolOffset + length), bufferOffset);
  });
  return out;
}
