// Original file: proto/nvlsched/v1/worker.proto


export interface DrainResponse {
  'runningSequences'?: (number);
}

export interface DrainResponse__Output {
  'runningSequences': (number);
}
