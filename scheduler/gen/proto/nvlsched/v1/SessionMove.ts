// Original file: proto/nvlsched/v1/worker.proto


export interface SessionMove {
  'sessionKey'?: (string);
  'toHost'?: (boolean);
  'gpu'?: (number);
}

export interface SessionMove__Output {
  'sessionKey': (string);
  'toHost': (boolean);
  'gpu': (number);
}
