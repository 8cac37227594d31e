// Placement inside a pool: filters → scorers → picker. See README.md.
export { composePlacement, makePlacementPipeline, type PlacementPolicy } from './pipeline.js';
export { makePlacementPolicy, placementProfiles, PLACEMENT_POLICY_NAMES } from './profiles.js';
export type { PlacementConfig, PluginConfig, ScorerConfig, Weight } from './config.js';
export { PLACEMENT_FILTERS, PLACEMENT_PICKERS, PLACEMENT_SCORERS } from './registry.js';
export type { ExplainingFilter, FilterFactory, PickerFactory, ScorerFactory } from './plugin.js';
export { dynamoCost, readDynamoParams, type DynamoParams } from './scorers/dynamo_cost.js';
export { predictTtftS, ttftScore } from './scorers/predicted_ttft.js';
export { PrefillPricer, type PrefillPlan } from './pricing.js';
export { RoutingTree } from './pickers/sglang_cache_aware.js';
export { benchPlacement, type PlacementBenchOptions, type PlacementBenchResult } from './bench.js';
