// Original file: proto/nvlsched/v1/gateway.proto

import type { Shape as _nvlsched_v1_Shape, Shape__Output as _nvlsched_v1_Shape__Output } from '../../nvlsched/v1/Shape.js';
import type { Long } from '@grpc/proto-loader';

export interface GenerateRequest {
  'requestId'?: (string);
  'model'?: (string);
  'prompt'?: (string);
  'promptTokenIds'?: (number)[];
  'maxTokens'?: (number);
  'shapeHint'?: (_nvlsched_v1_Shape);
  'sessionId'?: (string);
  'turnIndex'?: (number);
  'priority'?: (number);
  'tenant'?: (string);
  'numTools'?: (number);
  'hasToolResults'?: (boolean);
  'reasoningEffort'?: (string);
  'blockHashes'?: (number | string | Long)[];
}

export interface GenerateRequest__Output {
  'requestId': (string);
  'model': (string);
  'prompt': (string);
  'promptTokenIds': (number)[];
  'maxTokens': (number);
  'shapeHint': (_nvlsched_v1_Shape__Output);
  'sessionId': (string);
  'turnIndex': (number);
  'priority': (number);
  'tenant': (string);
  'numTools': (number);
  'hasToolResults': (boolean);
  'reasoningEffort': (string);
  'blockHashes': (string)[];
}
