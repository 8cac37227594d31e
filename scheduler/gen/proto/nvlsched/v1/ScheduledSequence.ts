// Original file: proto/nvlsched/v1/worker.proto

import type { Long } from '@grpc/proto-loader';

export interface ScheduledSequence {
  'seqId'?: (number);
  'gpu'?: (number);
  'numTokens'?: (number);
  'isPrefill'?: (boolean);
  'blockHashes'?: (number | string | Long)[];
  'reserveTokens'?: (number);
}

export interface ScheduledSequence__Output {
  'seqId': (number);
  'gpu': (number);
  'numTokens': (number);
  'isPrefill': (boolean);
  'blockHashes': (string)[];
  'reserveTokens': (number);
}
