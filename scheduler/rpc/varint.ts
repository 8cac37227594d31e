// Protobuf varints for the hand encoders (step_codec.ts, gateway/token_chunk.ts): non-negative integers up to 2^53
// (arithmetic, not 32-bit operators, so values past 2^31 encode right).

/** Bytes of `v`'s varint. */
export function varintSize(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

/** Writes `v`'s varint at `at`; returns the offset after it. */
export function writeVarint(buf: Buffer, at: number, v: number): number {
  while (v >= 0x80) {
    buf[at++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  buf[at++] = v;
  return at;
}
