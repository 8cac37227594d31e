// Original file: proto/nvlsched/v1/gateway.proto


export interface Usage {
  'promptTokens'?: (number);
  'completionTokens'?: (number);
  'cachedPromptTokens'?: (number);
  'costUsd'?: (number | string);
}

export interface Usage__Output {
  'promptTokens': (number);
  'completionTokens': (number);
  'cachedPromptTokens': (number);
  'costUsd': (number);
}
