// Original file: proto/nvlsched/v1/worker.proto

import type { Long } from '@grpc/proto-loader';

export interface HandoffSendResult {
  'destinationSeqId'?: (number);
  'numTokens'?: (number);
  'numBlocks'?: (number);
  'cachedBlocks'?: (number);
  'blocksCopied'?: (number);
  'bytesSent'?: (number | string | Long);
  'chunksSent'?: (number);
  'numChunks'?: (number);
  'elapsedMs'?: (number | string);
  'firstLayerMs'?: (number | string);
  'readyLayers'?: (number);
  'link'?: (string);
  'sourceFreed'?: (boolean);
  'estimatedS'?: (number | string);
  'dataMode'?: (string);
  'sourceDomainId'?: (string);
  'destinationDomainId'?: (string);
}

export interface HandoffSendResult__Output {
  'destinationSeqId': (number);
  'numTokens': (number);
  'numBlocks': (number);
  'cachedBlocks': (number);
  'blocksCopied': (number);
  'bytesSent': (string);
  'chunksSent': (number);
  'numChunks': (number);
  'elapsedMs': (number);
  'firstLayerMs': (number);
  'readyLayers': (number);
  'link': (string);
  'sourceFreed': (boolean);
  'estimatedS': (number);
  'dataMode': (string);
  'sourceDomainId': (string);
  'destinationDomainId': (string);
}
