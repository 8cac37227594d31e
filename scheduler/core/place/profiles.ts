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
   * Ours, the affinity-first variant (the first shape-aware profile): tiered prefix priced by the performance
   * model, session affinity, load that counts retained KV, NVLink-domain locality and predicted TTFT, weighted per
   * shape. It piles prefill onto session homes under load (TPOT p99 4x Dynamo's on the Mooncake trace,
   * bench/EVALUATION.md); kept as a profile for comparison and for custom policies.
   */
  'shape-affinity': {
    filters: [...COMMON_FILTERS, { name: 'kv-capacity' }],
    scorers: [
      { name: 'prefix-tiered', weight: { tool_call: 3, reasoning: 1.5, terminal: 2, chat: 2 } },
      { name: 'session-affinity', weight: { tool_call: 1, reasoning: 0.5, terminal: 3, chat: 1 } },
      { name: 'load', weight: { tool_call: 1, reasoning: 3, terminal: 1, chat: 1.5 } },
      { name: 'domain-locality', weight: { default: 0.5 } },
      { name: 'predicted-ttft', weight: { tool_call: 3, reasoning: 0.5, terminal: 1.5, chat: 1 } },
    ],
    picker: { name: 'max-score' },
  },
  /**
   * Ours: placement against the request's own SLO. `predicted-ttft` — the wait behind the instance's prefill backlog
   * plus this prompt's cheapest prefill plan (device hit, Grace promote over C2C, neighbour pull over NVLink, priced
   * by the performance model) against the TTFT target; `predicted-tpot` — the decode step plus the backlog's
   * prefill chunks that will share steps with our decodes, against the TPOT target; a light session affinity
   * breaks near-ties toward a session's home (its context is already priced by predicted-ttft). Chosen by
   * ablation on the shared traces and the default mix (bench/EVALUATION.md): the affinity-first profile (kept as
   * `shape-affinity`) piled prefill onto session homes, a Dynamo-style cost term lost capacity on the default mix
   * (goodput capacity 7x the mix's rate vs round-robin's 14x), while the two SLO predictions lead or tie everywhere.
   * `shortlist` (score ~17 of 72 instances) is opt-in: faster decisions, 2–4 % less goodput on Mooncake.
   */
  'shape-aware': {
    filters: [...COMMON_FILTERS, { name: 'kv-capacity' }],
    scorers: [
      { name: 'predicted-ttft', weight: 1 },
      { name: 'predicted-tpot', weight: 1 },
      { name: 'session-affinity', weight: { default: 0.25, terminal: 0.5 } },
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

/**
 * The same placement without its `kv-capacity` filter, or undefined when it has none (or is not a valid config:
 * makePlacementPolicy reports that). Used under tenant fair share: a request that finds every instance's HBM full
 * queues for the next free blocks, which fair share hands to the tenant under its share, instead of being refused
 * because another tenant's admitted work holds them.
 */
export function withoutKvCapacity(nameOrConfig: string | PlacementConfig | unknown): PlacementConfig | undefined {
  const config = typeof nameOrConfig === 'string' ? (Object.hasOwn(placementProfiles, nameOrConfig) ? placementProfiles[nameOrConfig] : undefined) : nameOrConfig;
  if (typeof config !== 'object' || config === null || !Array.isArray((config as PlacementConfig).filters)) return undefined;
  const c = config as PlacementConfig;
  const filters = (c.filters ?? []).filter((f) => (f as { name?: unknown }).name !== 'kv-capacity');
  return filters.length === (c.filters ?? []).length ? undefined : { ...c, filters };
}
