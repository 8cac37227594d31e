// Original file: proto/nvlsched/v1/worker.proto


export interface HandoffAppendRequest {
  'destinationInstanceId'?: (string);
  'destinationSeqId'?: (number);
  'fromToken'?: (number);
  'numTokens'?: (number);
  'data'?: (Buffer | Uint8Array | string);
  'checksum'?: (string);
  'abort'?: (boolean);
}

export interface HandoffAppendRequest__Output {
  'destinationInstanceId': (string);
  'destinationSeqId': (number);
  'fromToken': (number);
  'numTokens': (number);
  'data': (Buffer);
  'checksum': (string);
  'abort': (boolean);
}
