// Every placement plugin by the name a config uses. Add a plugin: a file in filters/, scorers/ or pickers/, a line
// here, a row in README.md.
import { makeContextFitsFilter } from './filters/context_fits.js';
import { makeHealthyFilter } from './filters/healthy.js';
import { makeKvCapacityFilter } from './filters/kv_capacity.js';
import { makeLlmdSaturationFilter } from './filters/llmd_saturation.js';
import { makeShortlistFilter } from './filters/shortlist.js';
import { makeDynamoSoftmaxPicker } from './pickers/dynamo_softmax.js';
import { makeMaxScorePicker } from './pickers/max_score.js';
import { makeRoundRobinPicker } from './pickers/round_robin.js';
import { makeSglangCacheAwarePicker } from './pickers/sglang_cache_aware.js';
import type { FilterFactory, PickerFactory, ScorerFactory } from './plugin.js';
import { makeActiveRequestsScorer } from './scorers/active_requests.js';
import { makeDomainLocalityScorer } from './scorers/domain_locality.js';
import { makeDynamoCostScorer } from './scorers/dynamo_cost.js';
import { makeLlmdKvUtilScorer } from './scorers/llmd_kv_util.js';
import { makeLlmdPrefixScorer } from './scorers/llmd_prefix.js';
import { makeLlmdQueueScorer } from './scorers/llmd_queue.js';
import { makeLoadScorer } from './scorers/load.js';
import { makePredictedTpotScorer } from './scorers/predicted_tpot.js';
import { makePredictedTtftScorer } from './scorers/predicted_ttft.js';
import { makePrefixTieredScorer } from './scorers/prefix_tiered.js';
import { makeSessionAffinityScorer } from './scorers/session_affinity.js';

export const PLACEMENT_FILTERS: Readonly<Record<string, FilterFactory>> = {
  healthy: makeHealthyFilter,
  'context-fits': makeContextFitsFilter,
  'kv-capacity': makeKvCapacityFilter,
  'llm-d-saturation': makeLlmdSaturationFilter,
  shortlist: makeShortlistFilter,
};

export const PLACEMENT_SCORERS: Readonly<Record<string, ScorerFactory>> = {
  'prefix-tiered': makePrefixTieredScorer,
  'session-affinity': makeSessionAffinityScorer,
  load: makeLoadScorer,
  'domain-locality': makeDomainLocalityScorer,
  'predicted-ttft': makePredictedTtftScorer,
  'predicted-tpot': makePredictedTpotScorer,
  'active-requests': makeActiveRequestsScorer,
  'queue-scorer': makeLlmdQueueScorer,
  'kv-cache-utilization-scorer': makeLlmdKvUtilScorer,
  'prefix-cache-scorer': makeLlmdPrefixScorer,
  'dynamo-cost': makeDynamoCostScorer,
};

export const PLACEMENT_PICKERS: Readonly<Record<string, PickerFactory>> = {
  'max-score': makeMaxScorePicker,
  'round-robin': makeRoundRobinPicker,
  'dynamo-softmax': makeDynamoSoftmaxPicker,
  'sglang-cache-aware': makeSglangCacheAwarePicker,
};
