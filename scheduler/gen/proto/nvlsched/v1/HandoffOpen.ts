// Original file: proto/nvlsched/v1/worker.proto

import type { Long } from '@grpc/proto-loader';

export interface HandoffOpen {
  'destinationInstanceId'?: (string);
  'destinationSeqId'?: (number);
  'destinationGpu'?: (number);
  'reserveTokens'?: (number);
  'crossDomain'?: (boolean);
  'sourceDomainId'?: (string);
  'timeoutS'?: (number | string);
  'mode'?: (string);
  'dataMode'?: (string);
  'numTokens'?: (number);
  'numBlocks'?: (number);
  'tokensPerBlock'?: (number);
  'bytesPerToken'?: (number);
  'numLayers'?: (number);
  'blockHashes'?: (number | string | Long)[];
  'blocksPerChunk'?: (number);
  'layersPerChunk'?: (number);
  'numChunks'?: (number);
  'totalBytes'?: (number | string | Long);
  'maxChunkBytes'?: (number | string | Long);
  'sourceGpu'?: (number);
  'sourceTray'?: (number);
  'sourceHandoffId'?: (number);
  'sourceSeqId'?: (number);
  'precopy'?: (boolean);
}

export interface HandoffOpen__Output {
  'destinationInstanceId': (string);
  'destinationSeqId': (number);
  'destinationGpu': (number);
  'reserveTokens': (number);
  'crossDomain': (boolean);
  'sourceDomainId': (string);
  'timeoutS': (number);
  'mode': (string);
  'dataMode': (string);
  'numTokens': (number);
  'numBlocks': (number);
  'tokensPerBlock': (number);
  'bytesPerToken': (number);
  'numLayers': (number);
  'blockHashes': (string)[];
  'blocksPerChunk': (number);
  'layersPerChunk': (number);
  'numChunks': (number);
  'totalBytes': (string);
  'maxChunkBytes': (string);
  'sourceGpu': (number);
  'sourceTray': (number);
  'sourceHandoffId': (number);
  'sourceSeqId': (number);
  'precopy': (boolean);
}
