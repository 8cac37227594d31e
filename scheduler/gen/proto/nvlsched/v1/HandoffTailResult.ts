// Original file: proto/nvlsched/v1/worker.proto

import type { Long } from '@grpc/proto-loader';

export interface HandoffTailResult {
  'numTokens'?: (number);
  'tailTokens'?: (number);
  'bytesSent'?: (number | string | Long);
  'elapsedMs'?: (number | string);
  'sourceFreed'?: (boolean);
}

export interface HandoffTailResult__Output {
  'numTokens': (number);
  'tailTokens': (number);
  'bytesSent': (string);
  'elapsedMs': (number);
  'sourceFreed': (boolean);
}
