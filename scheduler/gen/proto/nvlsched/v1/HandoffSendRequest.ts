// Original file: proto/nvlsched/v1/worker.proto


export interface HandoffSendRequest {
  'instanceId'?: (string);
  'seqId'?: (number);
  'destinationAddress'?: (string);
  'destinationInstanceId'?: (string);
  'destinationSeqId'?: (number);
  'destinationGpu'?: (number);
  'mode'?: (string);
  'blocksPerChunk'?: (number);
  'layersPerChunk'?: (number);
  'crossDomain'?: (boolean);
  'reserveTokens'?: (number);
  'timeoutS'?: (number | string);
  'maxChunkBytes'?: (number);
  'precopy'?: (boolean);
}

export interface HandoffSendRequest__Output {
  'instanceId': (string);
  'seqId': (number);
  'destinationAddress': (string);
  'destinationInstanceId': (string);
  'destinationSeqId': (number);
  'destinationGpu': (number);
  'mode': (string);
  'blocksPerChunk': (number);
  'layersPerChunk': (number);
  'crossDomain': (boolean);
  'reserveTokens': (number);
  'timeoutS': (number);
  'maxChunkBytes': (number);
  'precopy': (boolean);
}
