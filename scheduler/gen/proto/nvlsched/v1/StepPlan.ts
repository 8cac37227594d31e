// Original file: proto/nvlsched/v1/worker.proto

import type { ScheduledSequence as _nvlsched_v1_ScheduledSequence, ScheduledSequence__Output as _nvlsched_v1_ScheduledSequence__Output } from '../../nvlsched/v1/ScheduledSequence.js';
import type { SessionHold as _nvlsched_v1_SessionHold, SessionHold__Output as _nvlsched_v1_SessionHold__Output } from '../../nvlsched/v1/SessionHold.js';
import type { SessionMove as _nvlsched_v1_SessionMove, SessionMove__Output as _nvlsched_v1_SessionMove__Output } from '../../nvlsched/v1/SessionMove.js';
import type { Long } from '@grpc/proto-loader';

export interface StepPlan {
  'stepId'?: (number | string | Long);
  'instanceId'?: (string);
  'sequences'?: (_nvlsched_v1_ScheduledSequence)[];
  'finishedSeqIds'?: (number)[];
  'holdSessions'?: (_nvlsched_v1_SessionHold)[];
  'swapOutSeqIds'?: (number)[];
  'swapInSeqIds'?: (number)[];
  'sessionMoves'?: (_nvlsched_v1_SessionMove)[];
  'releaseSessions'?: (string)[];
  'packedSequences'?: (Buffer | Uint8Array | string);
}

export interface StepPlan__Output {
  'stepId': (string);
  'instanceId': (string);
  'sequences': (_nvlsched_v1_ScheduledSequence__Output)[];
  'finishedSeqIds': (number)[];
  'holdSessions': (_nvlsched_v1_SessionHold__Output)[];
  'swapOutSeqIds': (number)[];
  'swapInSeqIds': (number)[];
  'sessionMoves': (_nvlsched_v1_SessionMove__Output)[];
  'releaseSessions': (string)[];
  'packedSequences': (Buffer);
}
