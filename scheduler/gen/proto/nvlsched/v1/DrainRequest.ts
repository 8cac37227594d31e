// Original file: proto/nvlsched/v1/worker.proto


export interface DrainRequest {
  'deadlineS'?: (number | string);
}

export interface DrainRequest__Output {
  'deadlineS': (number);
}
