// Placement policies by name: the five baselines, faithful to their published formulas and defaults
// (anchors-mission §2.1–§2.3; each plugin file cites its source), and ours, `shape-aware`. Every profile starts
// with the same hard constraints (healthy, context-fits) so that comparisons differ only in policy.
import { ConfigError } from '../config/params.js';
import type { PlacementConfig } from './config.js';
import { makePlacementPipeline, type PlacementPolicy } from './pipeline.js';

const COMMON_FILTERS = [{ name: 'healthy' }, { name: 'context-fits' }];

export const placementProfiles: Readonly<Record<string, PlacementConfig>> = {
  /** A counter over the candidates (SGLang/vLLM router `round_robin`). */
  'round-robin': { filters: COMMON_FILTERS, scorers: [], picker: { name: 'round-robin' } },
  /** Fewest requests in flight (router-side count), ties at random. */
  'least-loaded': { filters: COMMON_FILTERS, scorers: [{ name: 'active-requests', weight: 1 }], picker: { name: 'max-score' } },
  /** SGLang model gateway cache_aware with the CLI defaults (§2.3). */
  'sglang-cache-aware': {
    filters: COMMON_FILTERS,
    scorers: [],
    picker: { name: 'sglang-cache-aware', params: { cacheThreshold: 0.3, balanceAbsThreshold: 64, balanceRelThreshold: 1.5, evictionIntervalS: 120 } },
  },
  /** Dynamo `--router-mode kv`: linear cost, prefill_load_scale 1, credits device 1.0 / host 0.75, T = 0 (§2.1). */
  'dynamo-kv': {
    filters: COMMON_FILTERS,
    scorers: [{ name: 'dynamo-cost', weight: 1, params: { overlapScoreCredit: 1, hostCacheHitWeight: 0.75, prefillLoadScale: 1, selectionPolicy: 'linear' } }],
    picker: { name: 'dynamo-softmax', params: { temperature: 0 } },
  },
  /** llm-d's built-in default profile: queue 2, kv-utilization 2, prefix 3, max-score (§2.2, loadDefaultConfig). */
  'llm-d-weighted': {
    filters: [...COMMON_FILTERS, { name: 'llm-d-saturation' }],
    scorers: [
      { name: 'queue-scorer', weight: 2 },
      { name: 'kv-cache-utilization-scorer', weight: 2 },
      { name: 'prefix-cache-scorer', weight: 3 },
    ],
    picker: { name: 'max-score' },
  },
  /**
   * Ours. Tiered prefix priced by the performance model, session affinity, load that counts retained KV, NVLink
   * domain locality and predicted TTFT, weighted per shape: a tool call wants its first token fast and its long
   * shared prefix reused; a reasoning request decodes long, so it wants room (load); a terminal turn wants the
   * instance that still holds its session.
   */
  'shape-aware': {
    // shortlist: score only the session home, the 8 best-cached and the 8 least-loaded (filters/shortlist.ts).
    filters: [...COMMON_FILTERS, { name: 'kv-capacity' }, { name: 'shortlist' }],
    scorers: [
      { name: 'prefix-tiered', weight: { tool_call: 3, reasoning: 1.5, terminal: 2, chat: 2 } },
      { name: 'session-affinity', weight: { tool_call: 1, reasoning: 0.5, terminal: 3, chat: 1 } },
      { name: 'load', weight: { tool_call: 1, reasoning: 3, terminal: 1, chat: 1.5 } },
      { name: 'domain-locality', weight: { default: 0.5 } },
      { name: 'predicted-ttft', weight: { tool_call: 3, reasoning: 0.5, terminal: 1.5, chat: 1 } },
    ],
    picker: { name: 'max-score' },
  },
};

export const PLACEMENT_POLICY_NAMES = Object.keys(placementProfiles);

/** A policy by profile name, or from a full config ({filters, scorers, picker}). Each call builds fresh state. */
export function makePlacementPolicy(nameOrConfig: string | PlacementConfig | unknown, path = 'placement'): PlacementPolicy {
  if (typeof nameOrConfig === 'string') {
    const profile = Object.hasOwn(placementProfiles, nameOrConfig) ? placementProfiles[nameOrConfig] : undefined;
    if (!profile) throw new ConfigError(path, `unknown placement policy ${JSON.stringify(nameOrConfig)}; known: ${PLACEMENT_POLICY_NAMES.join(', ')}`);
    return makePlacementPipeline(profile, path, nameOrConfig);
  }
  return makePlacementPipeline(nameOrConfig, path, 'custom');
}
