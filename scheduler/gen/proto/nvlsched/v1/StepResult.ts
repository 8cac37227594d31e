// Original file: proto/nvlsched/v1/worker.proto

import type { SequenceOutput as _nvlsched_v1_SequenceOutput, SequenceOutput__Output as _nvlsched_v1_SequenceOutput__Output } from '../../nvlsched/v1/SequenceOutput.js';
import type { KvEvent as _nvlsched_v1_KvEvent, KvEvent__Output as _nvlsched_v1_KvEvent__Output } from '../../nvlsched/v1/KvEvent.js';
import type { Long } from '@grpc/proto-loader';

export interface StepResult {
  'stepId'?: (number | string | Long);
  'durationS'?: (number | string);
  'outputs'?: (_nvlsched_v1_SequenceOutput)[];
  'kvEvents'?: (_nvlsched_v1_KvEvent)[];
  'errorCode'?: (string);
  'errorMessage'?: (string);
  'freedSeqIds'?: (number)[];
  'droppedSessions'?: (string)[];
  'packedOutputs'?: (Buffer | Uint8Array | string);
}

export interface StepResult__Output {
  'stepId': (string);
  'durationS': (number);
  'outputs': (_nvlsched_v1_SequenceOutput__Output)[];
  'kvEvents': (_nvlsched_v1_KvEvent__Output)[];
  'errorCode': (string);
  'errorMessage': (string);
  'freedSeqIds': (number)[];
  'droppedSessions': (string)[];
  'packedOutputs': (Buffer);
}
