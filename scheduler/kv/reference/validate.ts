// Argument checks of the reference manager. Which error wins when several apply is part of the contract (the
// differential test compares codes), so the order is pinned, and it is the order of the native binding:
//   1. a closed manager → E_CLOSED (close() itself is idempotent);
//   2. every argument is converted in parameter order: a wrong JS type or a value outside its representable range
//      → E_INVALID_ARGUMENT; a seqId that is a number but not an integer in [1, 2^32 - 1] → E_UNKNOWN_SEQUENCE;
//      gpu arguments are range-checked against numGpus here, location indexes only against [0, 2^32 - 1];
//      counts (numTokens, reserveTokens, tokenOffset) only against [0, 2^32 - 1];
//   3. the call's own rules in SPEC order, starting with the sequence lookup (E_UNKNOWN_SEQUENCE /
//      E_SEQUENCE_FREED) where there is one (write/read check dataMode just before it), then ranges that depend
//      on the topology or the sequence, tier rules, and capacity (E_OUT_OF_BLOCKS) last.
import { describeValue, invalidArgument, kvError, requireBigUint64Array, requireInteger, requireOneOf } from '../errors.js';
import { TIERS, type Location } from '../types.js';

export const MAX_TOKENS = 2 ** 31 - 1;
export const MAX_U32 = 2 ** 32 - 1;

export function gpuArg(value: unknown, numGpus: number, field = 'gpu'): number {
  return requireInteger(value, field, 0, numGpus - 1);
}

/** A count as the binding converts it: an integer in [0, 2^32 - 1]. Tighter rules come with the call's checks. */
export function u32Arg(value: unknown, field: string): number {
  return requireInteger(value, field, 0, MAX_U32);
}

/** A non-number is a type error; a number that cannot be an id is unknown without looking at the table. */
export function seqIdArg(value: unknown): number {
  if (typeof value !== 'number') {
    throw invalidArgument(`seqId must be a number (an id returned by allocate or transfer), got ${describeValue(value)}`);
  }
  if (!Number.isInteger(value) || value < 1 || value > MAX_U32) {
    throw kvError('E_UNKNOWN_SEQUENCE', `seqId ${value} is not a sequence id (ids are integers from 1)`);
  }
  return value;
}

/** A hash chain: a BigUint64Array; undefined or null mean an empty chain. */
export function hashesArg(value: unknown, field = 'blockHashes'): BigUint64Array {
  return value === undefined || value === null ? new BigUint64Array(0) : requireBigUint64Array(value, field);
}

/** {tier, index} with a known tier and an integer index; whether the index exists is checkLocationRange's job. */
export function locationArg(value: unknown, field: string): Location {
  if (typeof value !== 'object' || value === null) {
    throw invalidArgument(`${field} must be an object {tier, index}, got ${describeValue(value)}`);
  }
  const loc = value as { tier?: unknown; index?: unknown };
  const tier = requireOneOf(loc.tier, `${field}.tier`, TIERS);
  const index = requireInteger(loc.index, `${field}.index`, 0, MAX_U32);
  return { tier, index };
}

export function checkLocationRange(loc: Location, field: string, numGpus: number, numTrays: number): void {
  const count = loc.tier === 'device' ? numGpus : numTrays;
  if (loc.index >= count) {
    const what = loc.tier === 'device' ? 'a GPU' : 'a tray';
    throw invalidArgument(`${field}.index must be ${what} in [0, ${count - 1}] for tier '${loc.tier}', got ${loc.index}`);
  }
}

export function modeArg(value: unknown): 'move' | 'copy' {
  return value === undefined ? 'move' : requireOneOf(value, 'mode', ['move', 'copy'] as const);
}
