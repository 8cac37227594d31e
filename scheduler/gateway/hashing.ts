// Prompt token ids → chained block hashes, so that the KV index sees the same prefix for the same prompt (prefix
// caching across requests). Text prompts become ids through the tokenizer (tokenizer.ts) before they get here.
import { chainHash, fmix64 } from '../workload/hash.js';

/** Chained hashes of the full blocks of a token sequence: h[i] = chain(h[i-1], hash(tokens of block i)). */
export function promptBlockHashes(tokenIds: readonly number[], blockTokens: number): bigint[] {
  const hashes: bigint[] = [];
  let parent = 0n;
  const full = Math.floor(tokenIds.length / blockTokens);
  for (let b = 0; b < full; b++) {
    let local = BigInt(b + 1);
    for (let i = b * blockTokens; i < (b + 1) * blockTokens; i++) local = fmix64(local ^ BigInt(tokenIds[i] as number));
    parent = chainHash(parent, local);
    hashes.push(parent);
  }
  return hashes;
}
