// Original file: proto/nvlsched/v1/worker.proto

import type { ScheduledSequence as _nvlsched_v1_ScheduledSequence, ScheduledSequence__Output as _nvlsched_v1_ScheduledSequence__Output } from '../../nvlsched/v1/ScheduledSequence.js';
import type { Long } from '@grpc/proto-loader';

export interface StepPlan {
  'stepId'?: (number | string | Long);
  'instanceId'?: (string);
  'sequences'?: (_nvlsched_v1_ScheduledSequence)[];
  'finishedSeqIds'?: (number)[];
}

export interface StepPlan__Output {
  'stepId': (string);
  'instanceId': (string);
  'sequences': (_nvlsched_v1_ScheduledSequence__Output)[];
  'finishedSeqIds': (number)[];
}
