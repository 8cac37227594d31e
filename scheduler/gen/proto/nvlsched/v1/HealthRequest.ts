// Original file: proto/nvlsched/v1/common.proto


export interface HealthRequest {
}

export interface HealthRequest__Output {
}
