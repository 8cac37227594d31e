// Original file: proto/nvlsched/v1/common.proto

import type { Location as _nvlsched_v1_Location, Location__Output as _nvlsched_v1_Location__Output } from '../../nvlsched/v1/Location.js';
import type { Long } from '@grpc/proto-loader';

export interface KvStored {
  'location'?: (_nvlsched_v1_Location | null);
  'hash'?: (number | string | Long);
  'parentHash'?: (number | string | Long);
}

export interface KvStored__Output {
  'location': (_nvlsched_v1_Location__Output | null);
  'hash': (string);
  'parentHash': (string);
}
