// Original file: proto/nvlsched/v1/worker.proto


export interface HandoffAppendResult {
  'numTokens'?: (number);
  'tailTokens'?: (number);
}

export interface HandoffAppendResult__Output {
  'numTokens': (number);
  'tailTokens': (number);
}
