// 64-bit hash mixing for block-hash chains, computed on two uint32 halves so that loading a trace allocates one
// BigInt per distinct block instead of a dozen per mixing step. The formulas are the native KV manager's (SPEC §3,
// native/core/hash.cc): fmix64 is MurmurHash3's finaliser and chainHash(parent, id) = fmix64(parent·φ + id + salt),
// so chains built here equal native chainHashes() of the same ids.

const TWO32 = 4294967296;

// Result registers of the functions below: the hot path returns (hi, lo) through these instead of a tuple.
let outHi = 0;
let outLo = 0;

/** (ah:al) · (bh:bl) mod 2^64 into the result registers. */
function mul64(ah: number, al: number, bh: number, bl: number): void {
  const a0 = al & 0xffff;
  const a1 = al >>> 16;
  const b0 = bl & 0xffff;
  const b1 = bl >>> 16;
  const mid = a0 * b1 + a1 * b0; // < 2^33, exact in a double
  const low = a0 * b0 + (mid % 65536) * 65536; // < 2^33
  const carry = Math.floor(low / TWO32);
  const high = a1 * b1 + Math.floor(mid / 65536) + carry; // high half of al·bl, < 2^33
  outLo = low >>> 0;
  outHi = (high + Math.imul(ah, bl) + Math.imul(al, bh)) >>> 0;
}

/** MurmurHash3 fmix64 of (h:l) into the result registers. */
function fmix(h: number, l: number): void {
  l = (l ^ (h >>> 1)) >>> 0; // x ^= x >> 33 (the high half shifted down 33 bits lands in the low half)
  mul64(h, l, 0xff51afd7, 0xed558ccd);
  h = outHi;
  l = (outLo ^ (h >>> 1)) >>> 0;
  mul64(h, l, 0xc4ceb9fe, 0x1a85ec53);
  h = outHi;
  outLo = (outLo ^ (h >>> 1)) >>> 0;
  outHi = h;
}

/** chainHash((ph:pl), (ih:il)) into the result registers. */
function chain(ph: number, pl: number, ih: number, il: number): void {
  mul64(ph, pl, 0x9e3779b9, 0x7f4a7c15);
  let lo = outLo + il;
  let hi = outHi + ih + (lo >= TWO32 ? 1 : 0);
  lo = lo >>> 0;
  lo += 0xd9b4e019;
  hi = hi + 0x632be59b + (lo >= TWO32 ? 1 : 0);
  fmix(hi >>> 0, lo >>> 0);
}

/** A 64-bit value as halves (what chain nodes and namespaces keep). */
export interface Hash64 {
  readonly hi: number;
  readonly lo: number;
}

export function toBigInt(h: Hash64): bigint {
  return (BigInt(h.hi) << 32n) | BigInt(h.lo);
}

function fromBigInt(x: bigint): Hash64 {
  const v = BigInt.asUintN(64, x);
  return { hi: Number(v >> 32n), lo: Number(v & 0xffffffffn) };
}

/** chainHash(parent, id) for a non-negative safe-integer id. */
export function chainHash64(parent: Hash64, id: number): Hash64 {
  chain(parent.hi, parent.lo, Math.floor(id / TWO32) >>> 0, id >>> 0);
  return { hi: outHi, lo: outLo };
}

/** chainHash(parent, local) where local is itself a 64-bit value. */
export function chainHashPair(parent: Hash64, local: Hash64): Hash64 {
  chain(parent.hi, parent.lo, local.hi, local.lo);
  return { hi: outHi, lo: outLo };
}

/** BigInt wrappers (tests, and the occasional one-off hash). */
export function fmix64(x: bigint): bigint {
  const v = fromBigInt(x);
  fmix(v.hi, v.lo);
  return toBigInt({ hi: outHi, lo: outLo });
}

export function chainHash(parent: bigint, local: bigint): bigint {
  const p = fromBigInt(parent);
  const l = fromBigInt(local);
  chain(p.hi, p.lo, l.hi, l.lo);
  return toBigInt({ hi: outHi, lo: outLo });
}

/**
 * The namespace key of a name (FNV-1a 64 over its UTF-16 code units, then fmix64). Ids hashed under different
 * namespaces get independent 64-bit keys, so two sessions' "block 7" never meet in a KV index.
 */
export function namespaceKey(name: string): Hash64 {
  let h = 0xcbf29ce4;
  let l = 0x84222325;
  for (let i = 0; i < name.length; i++) {
    l = (l ^ name.charCodeAt(i)) >>> 0;
    mul64(h, l, 0x00000100, 0x000001b3);
    h = outHi;
    l = outLo;
  }
  fmix(h, l);
  return { hi: outHi, lo: outLo };
}

/** A 32-bit seed derived from a seed and some labels (per-client, per-window random streams). */
export function deriveSeed(seed: number, ...labels: Array<string | number>): number {
  let key = namespaceKey(labels.join('\u0000'));
  key = chainHash64(key, seed >>> 0);
  return (key.hi ^ key.lo) >>> 0;
}
