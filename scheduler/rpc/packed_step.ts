// Packed columns for the hot part of the Step stream: the sequences of a StepPlan and the token outputs of a
// StepResult as one `bytes` field each, instead of repeated messages. proto-loader turns every repeated message
// into a JS object on both sides (fromObject + encode, decode + toObject); for a 64-sequence decode plan and its
// result that conversion alone took ~0.7 ms per round trip (bench overhead), more than the whole budget of a
// 5,000/s stream. Copying uint32 columns costs a few µs. The KV events ride packed the same way already.
//
// packed_sequences (little-endian):
//   u32 version (1), u32 n, then n records of 7 u32:
//     seq_id, gpu, num_tokens, flags (bit 0: is_prefill), reserve_tokens, num_cached_tokens, num_block_hashes
//   then every record's block hashes in record order, u64 each (8-byte aligned: the header and records are 4·(2+7n)
//   bytes, padded with one u32 when that is not a multiple of 8).
// packed_outputs: u32 version (1), u32 n, then per output: seq_id, k, k token ids (u32).
// Decoding checks every length against the buffer: a malformed buffer is a RangeError naming the field, never a
// read past the end.
import type { ScheduledSequence } from '../gen/proto/nvlsched/v1/ScheduledSequence.js';
import type { ScheduledSequence__Output } from '../gen/proto/nvlsched/v1/ScheduledSequence.js';

const VERSION = 1;
const RECORD_U32 = 7;

/** The sequence fields the packed form carries (all of ScheduledSequence). */
export interface PackableSequence {
  seqId: number;
  gpu: number;
  numTokens: number;
  isPrefill: boolean;
  blockHashes: readonly (string | bigint)[];
  reserveTokens: number;
  numCachedTokens: number;
}

export interface PackedOutput {
  seqId: number;
  tokenIds: readonly number[];
}

function u32(v: number, field: string): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`${field}: expected a uint32, got ${v}`);
  return v;
}

export function packSequences(seqs: readonly (PackableSequence | ScheduledSequence)[]): Buffer {
  const n = seqs.length;
  let hashes = 0;
  for (const s of seqs) hashes += s.blockHashes?.length ?? 0;
  const headU32 = 2 + RECORD_U32 * n;
  const pad = headU32 % 2;
  const buf = Buffer.alloc(4 * (headU32 + pad) + 8 * hashes);
  // Buffer.alloc returns a fresh, zero-filled ArrayBuffer (offset 0): a Uint32Array view is aligned. Typed arrays use
  // the host's byte order: little-endian on every platform we build for (x86-64, aarch64), as the layout says.
  const words = new Uint32Array(buf.buffer, buf.byteOffset, headU32 + pad);
  words[0] = VERSION;
  words[1] = n;
  let at = 2;
  for (let i = 0; i < n; i++, at += RECORD_U32) {
    const s = seqs[i] as PackableSequence | ScheduledSequence;
    const f = `sequences[${i}]`;
    words[at] = u32(Number(s.seqId ?? 0), `${f}.seq_id`);
    words[at + 1] = u32(s.gpu ?? 0, `${f}.gpu`);
    words[at + 2] = u32(s.numTokens ?? 0, `${f}.num_tokens`);
    words[at + 3] = s.isPrefill ? 1 : 0;
    words[at + 4] = u32(s.reserveTokens ?? 0, `${f}.reserve_tokens`);
    words[at + 5] = u32(s.numCachedTokens ?? 0, `${f}.num_cached_tokens`);
    words[at + 6] = s.blockHashes?.length ?? 0;
  }
  if (hashes > 0) {
    let h = 4 * (headU32 + pad);
    for (const s of seqs) {
      for (const hash of s.blockHashes ?? []) {
        buf.writeBigUInt64LE(typeof hash === 'bigint' ? hash : BigInt(hash as string), h);
        h += 8;
      }
    }
  }
  return buf;
}

/**
 * packed_sequences written as the plan is built (what packSequences makes of the same sequences, without an object
 * per sequence): `n` records, then finish().
 */
export class PackedSequencesWriter {
  private readonly head: Buffer;
  private readonly words: Uint32Array;
  private readonly hashLists: Array<readonly (string | bigint)[]> = [];
  private hashes = 0;
  private i = 0;

  constructor(private readonly n: number) {
    const headU32 = 2 + RECORD_U32 * n;
    // Buffer.alloc: a fresh zero-filled ArrayBuffer at offset 0, so the Uint32Array view is aligned.
    this.head = Buffer.alloc(4 * (headU32 + (headU32 % 2)));
    this.words = new Uint32Array(this.head.buffer, this.head.byteOffset, this.head.length / 4);
    this.words[0] = VERSION;
    this.words[1] = n;
  }

  add(seqId: number, gpu: number, numTokens: number, isPrefill: boolean, reserveTokens: number, numCachedTokens: number, blockHashes: readonly (string | bigint)[]): void {
    const i = this.i;
    if (i >= this.n) throw new RangeError(`sequences[${i}]: more sequences than the writer was sized for (${this.n})`);
    const w = this.words;
    const at = 2 + RECORD_U32 * i;
    w[at] = u32(seqId, `sequences[${i}].seq_id`);
    w[at + 1] = u32(gpu, `sequences[${i}].gpu`);
    w[at + 2] = u32(numTokens, `sequences[${i}].num_tokens`);
    w[at + 3] = isPrefill ? 1 : 0;
    w[at + 4] = u32(reserveTokens, `sequences[${i}].reserve_tokens`);
    w[at + 5] = u32(numCachedTokens, `sequences[${i}].num_cached_tokens`);
    w[at + 6] = blockHashes.length;
    if (blockHashes.length > 0) {
      this.hashLists.push(blockHashes);
      this.hashes += blockHashes.length;
    }
    this.i++;
  }

  finish(): Buffer {
    if (this.i !== this.n) throw new RangeError(`sequences: ${this.i} of ${this.n} written`);
    if (this.hashes === 0) return this.head;
    const buf = Buffer.alloc(this.head.length + 8 * this.hashes);
    this.head.copy(buf, 0);
    let h = this.head.length;
    for (const list of this.hashLists) {
      for (const hash of list) {
        buf.writeBigUInt64LE(typeof hash === 'bigint' ? hash : BigInt(hash), h);
        h += 8;
      }
    }
    return buf;
  }
}

function header(buf: Uint8Array, field: string): { view: DataView; n: number } {
  if (buf.byteLength < 8) throw new RangeError(`${field}: ${buf.byteLength} bytes is shorter than its 8-byte header`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const version = view.getUint32(0, true);
  if (version !== VERSION) throw new RangeError(`${field}: version ${version}, expected ${VERSION}`);
  return { view, n: view.getUint32(4, true) };
}

/** The sequences as the generated __Output type (hashes as decimal strings, as proto-loader gives them). */
export function unpackSequences(buf: Uint8Array, field = 'packed_sequences'): ScheduledSequence__Output[] {
  const { view, n } = header(buf, field);
  const headU32 = 2 + RECORD_U32 * n;
  const hashStart = 4 * (headU32 + (headU32 % 2));
  if (n > buf.byteLength / (4 * RECORD_U32) || hashStart > buf.byteLength) throw new RangeError(`${field}: ${n} records do not fit in ${buf.byteLength} bytes`);
  const out: ScheduledSequence__Output[] = new Array(n);
  let h = hashStart;
  for (let i = 0, at = 8; i < n; i++, at += 4 * RECORD_U32) {
    const k = view.getUint32(at + 24, true);
    if (h + 8 * k > buf.byteLength) throw new RangeError(`${field}: record ${i} names ${k} block hashes past the end of the buffer`);
    const blockHashes: string[] = new Array(k);
    for (let j = 0; j < k; j++, h += 8) blockHashes[j] = view.getBigUint64(h, true).toString();
    out[i] = {
      seqId: view.getUint32(at, true),
      gpu: view.getUint32(at + 4, true),
      numTokens: view.getUint32(at + 8, true),
      isPrefill: (view.getUint32(at + 12, true) & 1) === 1,
      reserveTokens: view.getUint32(at + 16, true),
      numCachedTokens: view.getUint32(at + 20, true),
      blockHashes,
    };
  }
  if (h !== buf.byteLength) throw new RangeError(`${field}: ${buf.byteLength - h} bytes after the last block hash`);
  return out;
}

export function packOutputs(outputs: readonly PackedOutput[]): Buffer {
  let total = 2;
  for (const o of outputs) total += 2 + o.tokenIds.length;
  const buf = Buffer.alloc(4 * total);
  const words = new Uint32Array(buf.buffer, buf.byteOffset, total);
  words[0] = VERSION;
  words[1] = outputs.length;
  let at = 2;
  for (let i = 0; i < outputs.length; i++) {
    const o = outputs[i] as PackedOutput;
    words[at] = u32(o.seqId, `outputs[${i}].seq_id`);
    words[at + 1] = o.tokenIds.length;
    at += 2;
    for (const t of o.tokenIds) words[at++] = u32(t, `outputs[${i}].token_ids`);
  }
  return buf;
}

/**
 * packed_outputs written as they come (no object per output): room for `maxOutputs` outputs of `maxTokens` tokens in
 * all; finish() returns the buffer of those added, or undefined when none was.
 */
export class PackedOutputsWriter {
  private readonly words: Uint32Array;
  private readonly buf: Buffer;
  private n = 0;
  private at = 2;

  constructor(maxOutputs: number, maxTokens: number) {
    this.buf = Buffer.alloc(4 * (2 + 2 * maxOutputs + maxTokens));
    this.words = new Uint32Array(this.buf.buffer, this.buf.byteOffset, this.buf.length / 4);
    this.words[0] = VERSION;
  }

  /** One output of one token (a decode or a prefill's sample). */
  addOne(seqId: number, tokenId: number): void {
    if (this.at + 3 > this.words.length) throw new RangeError(`outputs[${this.n}]: more outputs than the writer was sized for`);
    const w = this.words;
    w[this.at] = u32(seqId, `outputs[${this.n}].seq_id`);
    w[this.at + 1] = 1;
    w[this.at + 2] = u32(tokenId, `outputs[${this.n}].token_ids`);
    this.at += 3;
    this.n++;
  }

  finish(): Buffer | undefined {
    if (this.n === 0) return undefined;
    this.words[1] = this.n;
    return this.buf.subarray(0, 4 * this.at);
  }
}

export function unpackOutputs(buf: Uint8Array, field = 'packed_outputs'): PackedOutput[] {
  const { view, n } = header(buf, field);
  if (n > buf.byteLength / 8) throw new RangeError(`${field}: ${n} outputs do not fit in ${buf.byteLength} bytes`);
  const out: PackedOutput[] = new Array(n);
  let at = 8;
  for (let i = 0; i < n; i++) {
    if (at + 8 > buf.byteLength) throw new RangeError(`${field}: output ${i} runs past the end of the buffer`);
    const seqId = view.getUint32(at, true);
    const k = view.getUint32(at + 4, true);
    at += 8;
    if (at + 4 * k > buf.byteLength) throw new RangeError(`${field}: output ${i} names ${k} tokens past the end of the buffer`);
    const tokenIds: number[] = new Array(k);
    for (let j = 0; j < k; j++, at += 4) tokenIds[j] = view.getUint32(at, true);
    out[i] = { seqId, tokenIds };
  }
  if (at !== buf.byteLength) throw new RangeError(`${field}: ${buf.byteLength - at} bytes after the last output`);
  return out;
}
