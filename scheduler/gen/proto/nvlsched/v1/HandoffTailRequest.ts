// Original file: proto/nvlsched/v1/worker.proto


export interface HandoffTailRequest {
  'instanceId'?: (string);
  'seqId'?: (number);
  'destinationAddress'?: (string);
  'destinationInstanceId'?: (string);
  'destinationSeqId'?: (number);
  'precopiedTokens'?: (number);
  'abort'?: (boolean);
  'timeoutS'?: (number | string);
}

export interface HandoffTailRequest__Output {
  'instanceId': (string);
  'seqId': (number);
  'destinationAddress': (string);
  'destinationInstanceId': (string);
  'destinationSeqId': (number);
  'precopiedTokens': (number);
  'abort': (boolean);
  'timeoutS': (number);
}
