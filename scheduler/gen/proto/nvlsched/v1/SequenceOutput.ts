// Original file: proto/nvlsched/v1/worker.proto


export interface SequenceOutput {
  'seqId'?: (number);
  'tokenIds'?: (number)[];
  'finished'?: (boolean);
  'errorCode'?: (string);
  'errorMessage'?: (string);
}

export interface SequenceOutput__Output {
  'seqId': (number);
  'tokenIds': (number)[];
  'finished': (boolean);
  'errorCode': (string);
  'errorMessage': (string);
}
