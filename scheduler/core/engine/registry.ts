// The batch policies by name. A config names one as {name, params}; unknown names are refused with the known ones.
import { ConfigError, asParams, onlyKeys, readString } from '../config/params.js';
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
  const spec = asParams(value, path);
  onlyKeys(spec, path, ['name', 'params']);
  const name = readString(spec, 'name', path, defaultName);
  const factory = Object.hasOwn(BATCH_POLICIES, name) ? BATCH_POLICIES[name] : undefined;
  if (!factory) throw new ConfigError(`${path}.name`, `unknown batch policy ${JSON.stringify(name)}; known: ${Object.keys(BATCH_POLICIES).join(', ')}`);
  return factory(spec.params, `${path}.params`);
}
