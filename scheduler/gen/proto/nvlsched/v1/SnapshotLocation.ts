// Original file: proto/nvlsched/v1/worker.proto

import type { Location as _nvlsched_v1_Location, Location__Output as _nvlsched_v1_Location__Output } from '../../nvlsched/v1/Location.js';
import type { Long } from '@grpc/proto-loader';

export interface SnapshotLocation {
  'location'?: (_nvlsched_v1_Location | null);
  'hashes'?: (number | string | Long)[];
}

export interface SnapshotLocation__Output {
  'location': (_nvlsched_v1_Location__Output | null);
  'hashes': (string)[];
}
