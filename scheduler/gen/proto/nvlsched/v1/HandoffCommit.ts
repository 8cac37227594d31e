// Original file: proto/nvlsched/v1/worker.proto


export interface HandoffCommit {
}

export interface HandoffCommit__Output {
}
