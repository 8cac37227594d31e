// Original file: proto/nvlsched/v1/gateway.proto


export interface CancelResponse {
  'found'?: (boolean);
}

export interface CancelResponse__Output {
  'found': (boolean);
}
