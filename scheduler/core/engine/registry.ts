// The batch policies by name. A config names one as {name, params}; unknown names are refused with the known ones.
import { makeNamedPlugin } from '../config/params.js';
import { makeFcfs } from './policies/fcfs.js';
import { makePriority } from './policies/priority.js';
import { makeShapeAware } from './policies/shape_aware.js';
import type { EngineBatchPolicy } from './types.js';

export type BatchPolicyFactory = (params: unknown, path: string) => EngineBatchPolicy;

export const BATCH_POLICIES: Readonly<Record<string, BatchPolicyFactory>> = {
  fcfs: makeFcfs,
  priority: makePriority,
  'shape-aware': makeShapeAware,
};

/** Builds the policy named at `path` ({name, params}; absent → `defaultName` with default params). */
export function makeBatchPolicy(value: unknown, path: string, defaultName = 'fcfs'): EngineBatchPolicy {
  return makeNamedPlugin(value, path, BATCH_POLICIES, defaultName, 'batch policy');
}
