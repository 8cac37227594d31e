// Original file: proto/nvlsched/v1/gateway.proto


export interface Timings {
  'queueS'?: (number | string);
  'ttftS'?: (number | string);
  'tpotS'?: (number | string);
  'e2eS'?: (number | string);
}

export interface Timings__Output {
  'queueS': (number);
  'ttftS': (number);
  'tpotS': (number);
  'e2eS': (number);
}
