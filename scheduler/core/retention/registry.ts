// The retention policies by name. A config names one as {name, params}; unknown names are refused with the list.
import { makeNamedPlugin } from '../config/params.js';
import type { RetentionPolicy } from '../types.js';
import { makeCostAware } from './policies/cost_aware.js';
import { makeAlwaysKeep, makeDrop } from './policies/simple.js';
import type { RetentionPolicyFactory } from './types.js';

export const RETENTION_POLICIES: Readonly<Record<string, RetentionPolicyFactory>> = {
  'always-keep': makeAlwaysKeep,
  drop: makeDrop,
  'cost-aware': makeCostAware,
};

export function makeRetentionPolicy(value: unknown, path: string, defaultName = 'drop'): RetentionPolicy {
  return makeNamedPlugin(value, path, RETENTION_POLICIES, defaultName, 'retention policy');
}
