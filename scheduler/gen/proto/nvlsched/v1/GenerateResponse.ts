// Original file: proto/nvlsched/v1/gateway.proto

import type { Usage as _nvlsched_v1_Usage, Usage__Output as _nvlsched_v1_Usage__Output } from '../../nvlsched/v1/Usage.js';
import type { Timings as _nvlsched_v1_Timings, Timings__Output as _nvlsched_v1_Timings__Output } from '../../nvlsched/v1/Timings.js';
import type { Shape as _nvlsched_v1_Shape, Shape__Output as _nvlsched_v1_Shape__Output } from '../../nvlsched/v1/Shape.js';

export interface GenerateResponse {
  'requestId'?: (string);
  'tokenIds'?: (number)[];
  'text'?: (string);
  'finished'?: (boolean);
  'finishReason'?: (string);
  'usage'?: (_nvlsched_v1_Usage | null);
  'timings'?: (_nvlsched_v1_Timings | null);
  'shape'?: (_nvlsched_v1_Shape);
}

export interface GenerateResponse__Output {
  'requestId': (string);
  'tokenIds': (number)[];
  'text': (string);
  'finished': (boolean);
  'finishReason': (string);
  'usage': (_nvlsched_v1_Usage__Output | null);
  'timings': (_nvlsched_v1_Timings__Output | null);
  'shape': (_nvlsched_v1_Shape__Output);
}
