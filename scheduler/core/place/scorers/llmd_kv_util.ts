// kv-cache-utilization-scorer, llm-d's default profile (weight 2) [anchors-mission §2.2, L3]:
//   s(e) = 1 − KVCacheUsagePercent(e)
// Usage is (used + retained) / total by default: an engine that keeps an idle session's blocks referenced reports
// them as in use (vLLM's kv_cache_usage_perc counts referenced blocks). countRetained: false counts used only.
import { onlyKeys, readBool, type Params } from '../../config/params.js';
import type { InstanceView, PlacementScorer } from '../../types.js';

export function kvUsage(inst: InstanceView, countRetained: boolean): number {
  if (inst.kvBlocksTotal <= 0) return 1;
  return (inst.kvBlocksUsed + (countRetained ? inst.kvBlocksRetained : 0)) / inst.kvBlocksTotal;
}

export function makeLlmdKvUtilScorer(params: Params, path: string): PlacementScorer {
  onlyKeys(params, path, ['countRetained']);
  const countRetained = readBool(params, 'countRetained', path, true);
  return {
    name: 'kv-cache-utilization-scorer',
    score: (_ctx, candidates, out) => {
      for (let i = 0; i < candidates.length; i++) out[i] = 1 - kvUsage(candidates[i] as InstanceView, countRetained);
    },
  };
}
