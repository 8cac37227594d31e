// Deterministic synthetic token ids for the sim backend: a pure function of (seed, seq id, position), so two runs of
// the same plans produce the same text and a test can predict every id.

/** murmur3's 32-bit finaliser: cheap, and every input bit moves every output bit. */
function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/** The token a sequence emits at `position` (its context length before that token), in [0, vocabSize). */
export function syntheticTokenId(seed: number, seqId: number, position: number, vocabSize: number): number {
  const h = mix32(mix32(mix32(seed >>> 0) ^ (seqId >>> 0)) ^ (position >>> 0));
  return h % vocabSize;
}
