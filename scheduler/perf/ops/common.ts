// Shared arithmetic for the op predictors. Everything here is allocation-free: the simulator calls the
// predictors at every step (target >= 1e6 predictions/s on one core).

/** Smooth maximum of two non-negative times: (a^q + b^q)^(1/q). q -> infinity is max; q = 1 is the sum. */
export function smoothMax2(a: number, b: number, q: number): number {
  const hi = a > b ? a : b;
  if (hi <= 0) return 0;
  const ra = a / hi;
  const rb = b / hi;
  return hi * Math.pow(Math.pow(ra, q) + Math.pow(rb, q), 1 / q);
}

/** Smooth maximum of three non-negative times with a fixed exponent (see smoothMax2). */
export function smoothMax3(a: number, b: number, c: number, q: number): number {
  let hi = a > b ? a : b;
  if (c > hi) hi = c;
  if (hi <= 0) return 0;
  return hi * Math.pow(Math.pow(a / hi, q) + Math.pow(b / hi, q) + Math.pow(c / hi, q), 1 / q);
}

/** Bytes per element of the dtypes in the perf tables; undefined for an unknown name. */
export const DTYPE_BYTES: Readonly<Record<string, number>> = {
  bfloat16: 2,
  float16: 2,
  half: 2,
  fp8: 1,
  fp8_block: 1,
  int8: 1,
  nvfp4: 0.5,
  float32: 4,
  float: 4,
};

/** Roofline overlap exponent: compute, memory and SFU phases overlap imperfectly (q = 3 is close to max). */
export const OVERLAP_Q = 3;
