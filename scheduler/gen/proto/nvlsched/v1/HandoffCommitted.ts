// Original file: proto/nvlsched/v1/worker.proto

import type { Long } from '@grpc/proto-loader';

export interface HandoffCommitted {
  'seqId'?: (number);
  'numTokens'?: (number);
  'numBlocks'?: (number);
  'blocksCopied'?: (number);
  'bytes'?: (number | string | Long);
  'readyLayers'?: (number);
  'firstLayerMs'?: (number | string);
}

export interface HandoffCommitted__Output {
  'seqId': (number);
  'numTokens': (number);
  'numBlocks': (number);
  'blocksCopied': (number);
  'bytes': (string);
  'readyLayers': (number);
  'firstLayerMs': (number);
}
