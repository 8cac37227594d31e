// Original file: proto/nvlsched/v1/common.proto

import type { Location as _nvlsched_v1_Location, Location__Output as _nvlsched_v1_Location__Output } from '../../nvlsched/v1/Location.js';

export interface KvMoved {
  'seqId'?: (number);
  'source'?: (_nvlsched_v1_Location | null);
  'destination'?: (_nvlsched_v1_Location | null);
  'copy'?: (boolean);
  'blocks'?: (number);
  'bytes'?: (number | string);
}

export interface KvMoved__Output {
  'seqId': (number);
  'source': (_nvlsched_v1_Location__Output | null);
  'destination': (_nvlsched_v1_Location__Output | null);
  'copy': (boolean);
  'blocks': (number);
  'bytes': (number);
}
