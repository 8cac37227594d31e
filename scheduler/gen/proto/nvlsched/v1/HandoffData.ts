// Original file: proto/nvlsched/v1/worker.proto

import type { Long } from '@grpc/proto-loader';

export interface HandoffData {
  'chunkIndex'?: (number);
  'data'?: (Buffer | Uint8Array | string);
  'checksum'?: (number | string | Long);
}

export interface HandoffData__Output {
  'chunkIndex': (number);
  'data': (Buffer);
  'checksum': (string);
}
