// Original file: proto/nvlsched/v1/worker.proto

import type { Long } from '@grpc/proto-loader';

export interface ScheduledSequence {
  'seqId'?: (number);
  'gpu'?: (number);
  'numTokens'?: (number);
  'isPrefill'?: (boolean);
  'blockHashes'?: (number | string | Long)[];
  'reserveTokens'?: (number);
  'numCachedTokens'?: (number);
}

export interface ScheduledSequence__Output {
  'seqId': (number);
  'gpu': (number);
  'numTokens': (number);
  'isPrefill': (boolean);
  'blockHashes': (string)[];
  'reserveTokens': (number);
  'numCachedTokens': (number);
}
