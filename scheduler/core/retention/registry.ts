// The retention policies by name. A config names one as {name, params}; unknown names are refused with the list.
import { ConfigError, asParams, onlyKeys, readString } from '../config/params.js';
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
  const spec = asParams(value, path);
  onlyKeys(spec, path, ['name', 'params']);
  const name = readString(spec, 'name', path, defaultName);
  const factory = Object.hasOwn(RETENTION_POLICIES, name) ? RETENTION_POLICIES[name] : undefined;
  if (!factory) throw new ConfigError(`${path}.name`, `unknown retention policy ${JSON.stringify(name)}; known: ${Object.keys(RETENTION_POLICIES).join(', ')}`);
  return factory(spec.params, `${path}.params`);
}
