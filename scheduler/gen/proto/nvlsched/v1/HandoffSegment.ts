// Original file: proto/nvlsched/v1/worker.proto

import type { HandoffOpen as _nvlsched_v1_HandoffOpen, HandoffOpen__Output as _nvlsched_v1_HandoffOpen__Output } from '../../nvlsched/v1/HandoffOpen.js';
import type { HandoffData as _nvlsched_v1_HandoffData, HandoffData__Output as _nvlsched_v1_HandoffData__Output } from '../../nvlsched/v1/HandoffData.js';
import type { HandoffCommit as _nvlsched_v1_HandoffCommit, HandoffCommit__Output as _nvlsched_v1_HandoffCommit__Output } from '../../nvlsched/v1/HandoffCommit.js';

export interface HandoffSegment {
  'open'?: (_nvlsched_v1_HandoffOpen | null);
  'chunk'?: (_nvlsched_v1_HandoffData | null);
  'commit'?: (_nvlsched_v1_HandoffCommit | null);
  'kind'?: "open"|"chunk"|"commit";
}

export interface HandoffSegment__Output {
  'open'?: (_nvlsched_v1_HandoffOpen__Output | null);
  'chunk'?: (_nvlsched_v1_HandoffData__Output | null);
  'commit'?: (_nvlsched_v1_HandoffCommit__Output | null);
  'kind'?: "open"|"chunk"|"commit";
}
