// Original file: proto/nvlsched/v1/common.proto


// Original file: proto/nvlsched/v1/common.proto

export const _nvlsched_v1_HealthResponse_Status = {
  STATUS_UNKNOWN: 'STATUS_UNKNOWN',
  STATUS_SERVING: 'STATUS_SERVING',
  STATUS_DRAINING: 'STATUS_DRAINING',
  STATUS_NOT_SERVING: 'STATUS_NOT_SERVING',
} as const;

export type _nvlsched_v1_HealthResponse_Status =
  | 'STATUS_UNKNOWN'
  | 0
  | 'STATUS_SERVING'
  | 1
  | 'STATUS_DRAINING'
  | 2
  | 'STATUS_NOT_SERVING'
  | 3

export type _nvlsched_v1_HealthResponse_Status__Output = typeof _nvlsched_v1_HealthResponse_Status[keyof typeof _nvlsched_v1_HealthResponse_Status]

export interface HealthResponse {
  'status'?: (_nvlsched_v1_HealthResponse_Status);
  'detail'?: (string);
  'domainId'?: (string);
  'domainSource'?: (string);
  'tray'?: (number);
}

export interface HealthResponse__Output {
  'status': (_nvlsched_v1_HealthResponse_Status__Output);
  'detail': (string);
  'domainId': (string);
  'domainSource': (string);
  'tray': (number);
}
