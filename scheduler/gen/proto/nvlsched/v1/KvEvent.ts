// Original file: proto/nvlsched/v1/common.proto

import type { KvStored as _nvlsched_v1_KvStored, KvStored__Output as _nvlsched_v1_KvStored__Output } from '../../nvlsched/v1/KvStored.js';
import type { KvRemoved as _nvlsched_v1_KvRemoved, KvRemoved__Output as _nvlsched_v1_KvRemoved__Output } from '../../nvlsched/v1/KvRemoved.js';
import type { KvMoved as _nvlsched_v1_KvMoved, KvMoved__Output as _nvlsched_v1_KvMoved__Output } from '../../nvlsched/v1/KvMoved.js';
import type { Long } from '@grpc/proto-loader';

export interface KvEvent {
  'eventId'?: (number | string | Long);
  'stored'?: (_nvlsched_v1_KvStored | null);
  'removed'?: (_nvlsched_v1_KvRemoved | null);
  'moved'?: (_nvlsched_v1_KvMoved | null);
  'kind'?: "stored"|"removed"|"moved";
}

export interface KvEvent__Output {
  'eventId': (string);
  'stored'?: (_nvlsched_v1_KvStored__Output | null);
  'removed'?: (_nvlsched_v1_KvRemoved__Output | null);
  'moved'?: (_nvlsched_v1_KvMoved__Output | null);
  'kind'?: "stored"|"removed"|"moved";
}
