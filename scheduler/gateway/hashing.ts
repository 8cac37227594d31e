// Prompt → pseudo token ids and chained block hashes, so that the KV index sees the same prefix for the same prompt
// (prefix caching across requests) without a tokenizer. Text prompts are cut into 4-byte UTF-8 groups — a rough
// stand-in for ~4 characters per token, the usual English BPE ratio — until a real tokenizer is plugged in.
import { chainHash, fmix64 } from '../workload/hash.js';

const BYTES_PER_PSEUDO_TOKEN = 4;

/** Pseudo token ids of a text prompt: little-endian uint32 of each 4-byte UTF-8 group (the last one zero-padded). */
export function textToTokenIds(text: string): number[] {
  const bytes = Buffer.from(text, 'utf8');
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i += BYTES_PER_PSEUDO_TOKEN) {
    let v = 0;
    for (let k = BYTES_PER_PSEUDO_TOKEN - 1; k >= 0; k--) v = v * 256 + (bytes[i + k] ?? 0);
    out.push(v);
  }
  return out;
}

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
