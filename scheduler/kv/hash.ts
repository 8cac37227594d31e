// Chained 64-bit block hashes (native/SPEC.md §3), bit-identical to the C++ core's. Block i's hash folds in the
// hash of block i-1, so one hash names a whole prefix: equal hashes mean equal token prefixes (up to collisions).
// All arithmetic wraps modulo 2^64 via BigInt.asUintN. The manager never hashes; callers hash once and pass chains.
import { describeValue, invalidArgument, requireInteger } from './errors.js';

const U64 = 64;
const FMIX_C1 = 0xff51afd7ed558ccdn;
const FMIX_C2 = 0xc4ceb9fe1a85ec53n;
const GOLDEN_GAMMA = 0x9e3779b97f4a7c15n;
const CHAIN_SALT = 0x632be59bd9b4e019n;
const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const MAX_U64 = (1n << 64n) - 1n;

/** MurmurHash3's 64-bit finaliser: spreads every input bit over the output. */
export function fmix64(x: bigint): bigint {
  let h = BigInt.asUintN(U64, x);
  h ^= h >> 33n;
  h = BigInt.asUintN(U64, h * FMIX_C1);
  h ^= h >> 33n;
  h = BigInt.asUintN(U64, h * FMIX_C2);
  h ^= h >> 33n;
  return h;
}

/** The hash of a block whose own content id is `localId`, following the block hashed `parent` (0n: none). */
export function chainHash(parent: bigint, localId: bigint): bigint {
  return fmix64(BigInt.asUintN(U64, parent * GOLDEN_GAMMA + localId + CHAIN_SALT));
}

function requireU64(value: unknown, field: string): bigint {
  if (typeof value !== 'bigint' || value < 0n || value > MAX_U64) {
    throw invalidArgument(`${field} must be a bigint in [0, 2^64 - 1], got ${describeValue(value)}`);
  }
  return value;
}

/**
 * Chained hashes of the full blocks of `tokens` (a trailing partial block has no hash yet). Each block's content id
 * is FNV-1a over its uint32 tokens, finalised with fmix64.
 */
export function hashTokens(tokens: Uint32Array, tokensPerBlock: number, parent = 0n): BigUint64Array {
  if (!(tokens instanceof Uint32Array)) {
    throw invalidArgument(`tokens must be a Uint32Array, got ${describeValue(tokens)}`);
  }
  requireInteger(tokensPerBlock, 'tokensPerBlock', 1, 65536);
  let chain = requireU64(parent, 'parent');
  const numFullBlocks = Math.floor(tokens.length / tokensPerBlock);
  const out = new BigUint64Array(numFullBlocks);
  for (let block = 0; block < numFullBlocks; block++) {
    let h = FNV_OFFSET;
    const end = (block + 1) * tokensPerBlock;
    for (let i = block * tokensPerBlock; i < end; i++) {
      h = BigInt.asUintN(U64, (h ^ BigInt(tokens[i]!)) * FNV_PRIME);
    }
    chain = chainHash(chain, fmix64(h));
    out[block] = chain;
  }
  return out;
}

/** Folds chainHash over already-local ids (trace hash ids from Mooncake / Claude Code traces). */
export function chainHashes(ids: BigUint64Array | bigint[], parent = 0n): BigUint64Array {
  if (!(ids instanceof BigUint64Array) && !Array.isArray(ids)) {
    throw invalidArgument(`ids must be a BigUint64Array or an array of bigint, got ${describeValue(ids)}`);
  }
  let chain = requireU64(parent, 'parent');
  const out = new BigUint64Array(ids.length);
  for (let i = 0; i < ids.length; i++) {
    chain = chainHash(chain, requireU64(ids[i], `ids[${i}]`));
    out[i] = chain;
  }
  return out;
}
