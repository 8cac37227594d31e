// Original file: proto/nvlsched/v1/worker.proto


export interface HandoffProgressAck {
  'readyLayers'?: (number);
  'doneChunks'?: (number);
}

export interface HandoffProgressAck__Output {
  'readyLayers': (number);
  'doneChunks': (number);
}
