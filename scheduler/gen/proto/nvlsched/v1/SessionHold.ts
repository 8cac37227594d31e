// Original file: proto/nvlsched/v1/worker.proto


export interface SessionHold {
  'seqId'?: (number);
  'sessionKey'?: (string);
  'toHost'?: (boolean);
}

export interface SessionHold__Output {
  'seqId': (number);
  'sessionKey': (string);
  'toHost': (boolean);
}
