// Original file: proto/nvlsched/v1/gateway.proto


export interface CancelRequest {
  'requestId'?: (string);
}

export interface CancelRequest__Output {
  'requestId': (string);
}
