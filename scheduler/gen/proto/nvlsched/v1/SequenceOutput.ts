// Original file: proto/nvlsched/v1/worker.proto


export interface SequenceOutput {
  'seqId'?: (number);
  'tokenIds'?: (number)[];
  'finished'?: (boolean);
}

export interface SequenceOutput__Output {
  'seqId': (number);
  'tokenIds': (number)[];
  'finished': (boolean);
}
