// Original file: proto/nvlsched/v1/worker.proto

import type { SnapshotLocation as _nvlsched_v1_SnapshotLocation, SnapshotLocation__Output as _nvlsched_v1_SnapshotLocation__Output } from '../../nvlsched/v1/SnapshotLocation.js';
import type { Long } from '@grpc/proto-loader';

export interface SnapshotResponse {
  'lastEventId'?: (number | string | Long);
  'locations'?: (_nvlsched_v1_SnapshotLocation)[];
}

export interface SnapshotResponse__Output {
  'lastEventId': (string);
  'locations': (_nvlsched_v1_SnapshotLocation__Output)[];
}
