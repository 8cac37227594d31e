// Original file: proto/nvlsched/v1/common.proto

import type { Tier as _nvlsched_v1_Tier, Tier__Output as _nvlsched_v1_Tier__Output } from '../../nvlsched/v1/Tier.js';

export interface Location {
  'tier'?: (_nvlsched_v1_Tier);
  'index'?: (number);
}

export interface Location__Output {
  'tier': (_nvlsched_v1_Tier__Output);
  'index': (number);
}
