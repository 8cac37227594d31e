// The scheduler's YAML configuration as one document: the policy (a name or slot overrides), classification (the
// classifier, the output-length predictor, SLOs per shape), the pools and the tenants (fair-share weights,
// priority bands and the quotas the gateway's edge enforces). Validation builds every plugin once, so
// a file that loads here cannot fail later on a plugin parameter; every error names its field (E_BAD_CONFIG) and
// YAML syntax errors name the line.
import { parseDocument } from 'yaml';
import { makeAdmissionPolicy } from './admission/registry.js';
import { makeClassification } from './classify/classification.js';
import { ConfigError, asParams, onlyKeys } from './config/params.js';
import { DEFAULT_POOLS_CONFIG, parsePools, type PoolConfig } from './config/pools.js';
import { parseTenants, type TenantsConfig } from './config/tenants.js';
import { makeDisaggregationPolicy } from './disagg/decide.js';
import { makeMigrationPolicy } from './disagg/migrate.js';
import { makeBatchPolicy } from './engine/registry.js';
import { makePlacementPolicy } from './place/profiles.js';
import { readPolicy, type PolicyConfig } from './policy.js';
import { makeRetentionPolicy } from './retention/registry.js';
import { createPoolRouter } from './route/registry.js';
import type { RandomSource } from './types.js';

export interface SchedulerConfig {
  policyName: string;
  policy: PolicyConfig;
  /** As written (validated): SchedulerOptions.classification. */
  classification: unknown;
  pools: PoolConfig[];
  /** Absent when the document has no `tenants` section: no fair share (SchedulerOptions.tenants). */
  tenants?: TenantsConfig;
}

const KEYS = ['policy', 'classification', 'pools', 'tenants'];
const CHECK_RNG: RandomSource = { next: () => 0.5 };

/** Validates a parsed document (an object) by building each plugin once; absent sections take the defaults. */
export function parseSchedulerConfig(value: unknown, path = 'config'): SchedulerConfig {
  const doc = asParams(value, path);
  onlyKeys(doc, path, KEYS);
  const policy = readPolicy(doc.policy, `${path}.policy`);
  const at = (slot: string) => `${path}.policy${typeof doc.policy === 'object' && doc.policy !== null ? `.${slot}` : ''}`;
  createPoolRouter(policy.config.router, at('router'));
  makePlacementPolicy(policy.config.placement, at('placement'));
  makeBatchPolicy(policy.config.batch, at('batch'));
  makeAdmissionPolicy(policy.config.admission, at('admission'), { rng: CHECK_RNG });
  makeRetentionPolicy(policy.config.retention, at('retention'));
  makeDisaggregationPolicy(policy.config.disaggregation, at('disaggregation'));
  makeMigrationPolicy(policy.config.migration, at('migration'));
  makeClassification(doc.classification, `${path}.classification`);
  const pools = parsePools(doc.pools ?? DEFAULT_POOLS_CONFIG, `${path}.pools`);
  const tenants = doc.tenants === undefined ? undefined : parseTenants(doc.tenants, `${path}.tenants`);
  return { policyName: policy.name, policy: policy.config, classification: doc.classification, pools, ...(tenants ? { tenants } : {}) };
}

/** Parses YAML (or JSON) text; `source` names the file in errors. */
export function loadSchedulerConfigText(text: string, source: string): SchedulerConfig {
  const doc = parseDocument(text, { prettyErrors: false });
  const problem = doc.errors[0];
  if (problem) {
    const offset = problem.pos[0];
    const line = text.slice(0, offset).split('\n').length;
    throw new ConfigError(`${source}:${line}`, `not valid YAML: ${problem.message.split('\n')[0]}`);
  }
  return parseSchedulerConfig(doc.toJS() ?? {}, 'config');
}

/** The embedded default configuration, as a YAML document an operator can start from. */
export const DEFAULT_SCHEDULER_CONFIG_YAML = `# nvlsched scheduler configuration (every section is optional; these are the defaults)
policy: shape-aware            # or round-robin | least-loaded | sglang-cache-aware | dynamo-kv | llm-d-weighted,
                               # or a mapping: {base: dynamo-kv, admission: {name: slo}}
classification:
  classifier: {name: shape-rules}
  predictor: {name: streaming-quantiles}
  slo:                         # per-shape defaults (architecture §3), seconds
    tool_call: {ttftS: 0.5, tpotS: 0.03}
    reasoning: {ttftS: 2, tpotS: 0.05}
    terminal: {ttftS: 1, tpotS: 0.04}
    chat: {ttftS: 1, tpotS: 0.05}
# pools: absent = the embedded GB200 NVL72 example (llama-3.1-70b, deepseek-r1, an external upstream);
# see scheduler/core/route/README.md for every field.
# tenants: absent = no fair share between tenants. Per tenant (\`default\` covers the unnamed ones):
#   tenants:
#     default: {weight: 1}
#     acme:    {weight: 4, priorityBand: high, maxConcurrentRequests: 64, tokensPerMinute: 2000000}
# weight and priorityBand (low | normal | high) order every instance's queue (scheduler/core/engine/fair_share.ts);
# the quotas are enforced at the gateway's edge (429 with Retry-After).
`;
