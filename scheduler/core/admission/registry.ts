// The admission policies by name. A config names one as {name, params}; unknown names are refused with the list.
import { ConfigError, asParams, onlyKeys, readString } from '../config/params.js';
import type { AdmissionPolicy } from '../types.js';
import { makeAlways } from './policies/always.js';
import { makeLlmdShed } from './policies/llm_d_shed.js';
import { makeSloAdmission } from './policies/slo.js';
import type { AdmissionDeps, AdmissionPolicyFactory } from './types.js';

export const ADMISSION_POLICIES: Readonly<Record<string, AdmissionPolicyFactory>> = {
  always: makeAlways,
  slo: makeSloAdmission,
  'llm-d-shed': makeLlmdShed,
};

export function makeAdmissionPolicy(value: unknown, path: string, deps: AdmissionDeps = {}, defaultName = 'always'): AdmissionPolicy {
  const spec = asParams(value, path);
  onlyKeys(spec, path, ['name', 'params']);
  const name = readString(spec, 'name', path, defaultName);
  const factory = Object.hasOwn(ADMISSION_POLICIES, name) ? ADMISSION_POLICIES[name] : undefined;
  if (!factory) throw new ConfigError(`${path}.name`, `unknown admission policy ${JSON.stringify(name)}; known: ${Object.keys(ADMISSION_POLICIES).join(', ')}`);
  return factory(spec.params, `${path}.params`, deps);
}
