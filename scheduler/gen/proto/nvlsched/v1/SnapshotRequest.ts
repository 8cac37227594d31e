// Original file: proto/nvlsched/v1/worker.proto


export interface SnapshotRequest {
}

export interface SnapshotRequest__Output {
}
