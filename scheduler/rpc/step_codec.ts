// The Step stream's messages (proto/nvlsched/v1/worker.proto StepPlan, StepResult) encoded and decoded by hand in
// their common form — a packed plan (ids, packed_sequences, freed and swapped ids) and its packed answer (durations,
// error strings, freed ids, packed_outputs) — and by proto-loader otherwise. Every gateway step is one plan and one
// result; proto-loader's fromObject/encode and decode/toObject cost tens of µs per round trip on both sides even
// when the sequences are packed (bench overhead, row a''). The bytes are ordinary protobuf: either side may use
// either path. A message with anything else (repeated messages, KV events, strings lists, unknown fields, a
// malformed buffer) goes the generic way, which also reports the malformed ones as before. The decoders return
// exactly what proto-loader returns with this project's options (rpc/proto.ts: longs as decimal strings, defaults
// for absent fields): step_codec.test.ts checks them against it.
import type * as grpc from '@grpc/grpc-js';

import type { StepPlan, StepPlan__Output } from '../gen/proto/nvlsched/v1/StepPlan.js';
import type { StepResult, StepResult__Output } from '../gen/proto/nvlsched/v1/StepResult.js';
import { loadWorkerProto } from './proto.js';
import { varintSize, writeVarint } from './varint.js';

const WT_VARINT = 0;
const WT_FIXED64 = 1;
const WT_LEN = 2;

/** proto-loader's method: serialisers of the input types, deserialisers to the __Output types. */
interface StepMethod {
  requestSerialize(p: StepPlan): Buffer;
  requestDeserialize(b: Buffer): StepPlan__Output;
  responseSerialize(r: StepResult): Buffer;
  responseDeserialize(b: Buffer): StepResult__Output;
}

let generic: StepMethod | undefined;

/** proto-loader's Step method (loaded once: loading reads and parses the .proto files). */
function genericStep(): StepMethod {
  generic ??= loadWorkerProto().nvlsched.v1.Worker.service.Step as unknown as StepMethod;
  return generic;
}

// ---------------------------------------------------------------------------------------------------- encoding

/** A uint64 given as a number or decimal string that fits a double exactly; undefined: not one (generic path). */
function uint64Number(v: unknown): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^[0-9]{1,16}$/.test(v) ? Number(v) : undefined;
  return n !== undefined && Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/** Bytes of a packed repeated uint32 field's payload; undefined when a value is not a uint32. */
function packedSize(ids: readonly number[]): number | undefined {
  let n = 0;
  for (const id of ids) {
    if (!(Number.isInteger(id) && id >= 0 && id <= 0xffffffff)) return undefined;
    n += varintSize(id);
  }
  return n;
}

/** Field sizes in order: [tag, payload]; the writer follows the same list. */
interface Field {
  tag: number;
  kind: 'varint' | 'double' | 'string' | 'bytes' | 'packed';
  value: number | string | Uint8Array | readonly number[];
  /** Payload bytes of string/bytes/packed. */
  len: number;
}

function fieldsSize(fields: readonly Field[]): number {
  let n = 0;
  for (const f of fields) {
    n += 1;
    if (f.kind === 'varint') n += varintSize(f.value as number);
    else if (f.kind === 'double') n += 8;
    else n += varintSize(f.len) + f.len;
  }
  return n;
}

function writeFields(fields: readonly Field[]): Buffer {
  const buf = Buffer.allocUnsafe(fieldsSize(fields));
  let at = 0;
  for (const f of fields) {
    buf[at++] = f.tag;
    if (f.kind === 'varint') at = writeVarint(buf, at, f.value as number);
    else if (f.kind === 'double') at = buf.writeDoubleLE(f.value as number, at);
    else {
      at = writeVarint(buf, at, f.len);
      if (f.kind === 'string') at += buf.write(f.value as string, at, 'utf8');
      else if (f.kind === 'bytes') at += Buffer.from((f.value as Uint8Array).buffer, (f.value as Uint8Array).byteOffset, f.len).copy(buf, at);
      else for (const id of f.value as readonly number[]) at = writeVarint(buf, at, id);
    }
  }
  return buf;
}

const tag = (field: number, wireType: number): number => (field << 3) | wireType;

function stringField(out: Field[], field: number, v: unknown): boolean {
  if (v === undefined || v === null || v === '') return true;
  if (typeof v !== 'string') return false;
  out.push({ tag: tag(field, WT_LEN), kind: 'string', value: v, len: Buffer.byteLength(v, 'utf8') });
  return true;
}

function packedField(out: Field[], field: number, v: readonly number[] | undefined): boolean {
  if (v === undefined || v === null || v.length === 0) return true;
  if (!Array.isArray(v)) return false;
  const len = packedSize(v);
  if (len === undefined) return false;
  out.push({ tag: tag(field, WT_LEN), kind: 'packed', value: v, len });
  return true;
}

function bytesField(out: Field[], field: number, v: unknown): boolean {
  if (v === undefined || v === null) return true;
  if (!(v instanceof Uint8Array)) return false;
  if (v.byteLength > 0) out.push({ tag: tag(field, WT_LEN), kind: 'bytes', value: v, len: v.byteLength });
  return true;
}

function stepIdField(out: Field[], v: unknown): boolean {
  if (v === undefined || v === null) return true;
  const id = uint64Number(v);
  if (id === undefined) return false;
  if (id !== 0) out.push({ tag: tag(1, WT_VARINT), kind: 'varint', value: id, len: 0 });
  return true;
}

const empty = (v: readonly unknown[] | undefined): boolean => v === undefined || v === null || v.length === 0;

/** A plan in the common form, encoded; undefined when it has anything else. */
export function encodeStepPlan(p: StepPlan): Buffer | undefined {
  if (!empty(p.sequences) || !empty(p.holdSessions) || !empty(p.sessionMoves) || !empty(p.releaseSessions)) return undefined;
  const f: Field[] = [];
  const ok = stepIdField(f, p.stepId) && stringField(f, 2, p.instanceId) && packedField(f, 4, p.finishedSeqIds) &&
    packedField(f, 6, p.swapOutSeqIds) && packedField(f, 7, p.swapInSeqIds) && bytesField(f, 10, p.packedSequences);
  return ok ? writeFields(f) : undefined;
}

/** A result in the common form, encoded; undefined when it has anything else. */
export function encodeStepResult(r: StepResult): Buffer | undefined {
  if (!empty(r.outputs) || !empty(r.kvEvents) || !empty(r.droppedSessions)) return undefined;
  const f: Field[] = [];
  if (!stepIdField(f, r.stepId)) return undefined;
  const d = r.durationS;
  if (d !== undefined && d !== null) {
    if (typeof d !== 'number') return undefined;
    // proto3 leaves out 0 (and only +0: -0 is written, as protobufjs does).
    if (d !== 0 || Object.is(d, -0)) f.push({ tag: tag(2, WT_FIXED64), kind: 'double', value: d, len: 0 });
  }
  const ok = stringField(f, 5, r.errorCode) && stringField(f, 6, r.errorMessage) && packedField(f, 7, r.freedSeqIds) && bytesField(f, 9, r.packedOutputs);
  return ok ? writeFields(f) : undefined;
}

// ---------------------------------------------------------------------------------------------------- decoding

/** Thrown inside the decoders for anything outside the common form; caught there (→ the generic path). */
const NOT_COMMON = new Error('not the common form');

class Reader {
  at = 0;
  constructor(readonly buf: Buffer) {}

  get done(): boolean {
    return this.at >= this.buf.length;
  }

  private byte(): number {
    if (this.at >= this.buf.length) throw NOT_COMMON;
    return this.buf[this.at++] as number;
  }

  /** A varint as [low 32 bits, high 32 bits]; at most 10 bytes. */
  varint64(): [number, number] {
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < 10; i++) {
      const b = this.byte();
      if (i < 4) lo |= (b & 0x7f) << (7 * i);
      else if (i === 4) {
        lo |= (b & 0x0f) << 28;
        hi |= (b & 0x7f) >> 4;
      } else hi |= (b & 0x7f) << (7 * i - 32);
      if (b < 0x80) return [lo >>> 0, hi >>> 0];
    }
    throw NOT_COMMON;
  }

  /**
   * uint32 as protobufjs reads it (also tags and lengths): the low 32 bits of a varint of at most 5 bytes. A longer
   * one (protobufjs skips 5 bytes blindly there) is left to the generic path.
   */
  uint32(): number {
    let v = 0;
    for (let i = 0; i < 5; i++) {
      const b = this.byte();
      v |= (b & 0x7f) << (7 * i);
      if (b < 0x80) return v >>> 0;
    }
    throw NOT_COMMON;
  }

  /** uint64 as proto-loader gives it with `longs: String`: decimal. */
  uint64String(): string {
    const [lo, hi] = this.varint64();
    if (hi === 0) return String(lo);
    if (hi < 0x200000) return String(hi * 0x100000000 + lo);
    return ((BigInt(hi) << 32n) | BigInt(lo)).toString();
  }

  /** A length-delimited payload: [start, end); the reader moves past it. */
  span(): [number, number] {
    const n = this.uint32();
    const start = this.at;
    if (start + n > this.buf.length) throw NOT_COMMON;
    this.at = start + n;
    return [start, start + n];
  }

  string(): string {
    const [start, end] = this.span();
    return this.buf.toString('utf8', start, end);
  }

  /** Shares the input's memory, as protobufjs does. */
  bytes(): Buffer {
    const [start, end] = this.span();
    return this.buf.subarray(start, end);
  }

  double(): number {
    if (this.at + 8 > this.buf.length) throw NOT_COMMON;
    const v = this.buf.readDoubleLE(this.at);
    this.at += 8;
    return v;
  }

  /** A repeated uint32 field, packed (wire type 2) or one value (wire type 0), appended to `out`. */
  uint32s(wireType: number, out: number[]): void {
    if (wireType === WT_VARINT) {
      out.push(this.uint32());
      return;
    }
    if (wireType !== WT_LEN) throw NOT_COMMON;
    const n = this.uint32();
    const end = this.at + n;
    if (end > this.buf.length) throw NOT_COMMON;
    while (this.at < end) out.push(this.uint32());
    if (this.at !== end) throw NOT_COMMON;
  }
}

function expect(wireType: number, want: number): void {
  if (wireType !== want) throw NOT_COMMON;
}

/**
 * `out` with every field of `buf` read into it by `field` (false: a field outside the common form); undefined when
 * one was, or the bytes are not well formed.
 */
function decodeCommon<T>(buf: Buffer, out: T, field: (n: number, wt: number, r: Reader, out: T) => boolean): T | undefined {
  try {
    const r = new Reader(buf);
    while (!r.done) {
      const t = r.uint32();
      if (!field(t >>> 3, t & 7, r, out)) return undefined;
    }
  } catch {
    return undefined;
  }
  return out;
}

function planField(n: number, wt: number, r: Reader, p: StepPlan__Output): boolean {
  switch (n) {
    case 1: expect(wt, WT_VARINT); p.stepId = r.uint64String(); return true;
    case 2: expect(wt, WT_LEN); p.instanceId = r.string(); return true;
    case 4: r.uint32s(wt, p.finishedSeqIds); return true;
    case 6: r.uint32s(wt, p.swapOutSeqIds); return true;
    case 7: r.uint32s(wt, p.swapInSeqIds); return true;
    case 10: expect(wt, WT_LEN); p.packedSequences = r.bytes(); return true;
    default: return false;
  }
}

function resultField(n: number, wt: number, r: Reader, out: StepResult__Output): boolean {
  switch (n) {
    case 1: expect(wt, WT_VARINT); out.stepId = r.uint64String(); return true;
    case 2: expect(wt, WT_FIXED64); out.durationS = r.double(); return true;
    case 5: expect(wt, WT_LEN); out.errorCode = r.string(); return true;
    case 6: expect(wt, WT_LEN); out.errorMessage = r.string(); return true;
    case 7: r.uint32s(wt, out.freedSeqIds); return true;
    case 9: expect(wt, WT_LEN); out.packedOutputs = r.bytes(); return true;
    default: return false;
  }
}

/** A plan in the common form, as proto-loader decodes it; undefined for anything else (the generic path). */
export function decodeStepPlan(buf: Buffer): StepPlan__Output | undefined {
  return decodeCommon<StepPlan__Output>(buf, {
    stepId: '0', instanceId: '', sequences: [], finishedSeqIds: [], holdSessions: [], swapOutSeqIds: [], swapInSeqIds: [],
    sessionMoves: [], releaseSessions: [], packedSequences: Buffer.alloc(0),
  }, planField);
}

/** A result in the common form, as proto-loader decodes it; undefined for anything else (the generic path). */
export function decodeStepResult(buf: Buffer): StepResult__Output | undefined {
  return decodeCommon<StepResult__Output>(buf, {
    stepId: '0', durationS: 0, outputs: [], kvEvents: [], errorCode: '', errorMessage: '', freedSeqIds: [], droppedSessions: [],
    packedOutputs: Buffer.alloc(0),
  }, resultField);
}

// ---------------------------------------------------------------------------------------------------- the Step method

/** The Step stream's (de)serialisers: by hand in the common form, proto-loader's otherwise. */
export const stepCodec = {
  path: '/nvlsched.v1.Worker/Step',
  serializePlan: (p: StepPlan): Buffer => encodeStepPlan(p) ?? genericStep().requestSerialize(p),
  deserializePlan: (b: Buffer): StepPlan__Output => decodeStepPlan(b) ?? genericStep().requestDeserialize(b),
  serializeResult: (r: StepResult): Buffer => encodeStepResult(r) ?? genericStep().responseSerialize(r),
  deserializeResult: (b: Buffer): StepResult__Output => decodeStepResult(b) ?? genericStep().responseDeserialize(b),
};

/** The Worker service definition whose Step stream uses stepCodec (the worker's side). */
export function withStepCodec(service: grpc.ServiceDefinition): grpc.ServiceDefinition {
  const step = service.Step as grpc.MethodDefinition<unknown, unknown>;
  return {
    ...service,
    Step: {
      ...step,
      requestDeserialize: (b: Buffer) => stepCodec.deserializePlan(b),
      responseSerialize: (r: unknown) => stepCodec.serializeResult(r as StepResult),
    },
  };
}
