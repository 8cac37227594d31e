// Original file: proto/nvlsched/v1/common.proto

export const Shape = {
  SHAPE_UNSPECIFIED: 'SHAPE_UNSPECIFIED',
  SHAPE_TOOL_CALL: 'SHAPE_TOOL_CALL',
  SHAPE_REASONING: 'SHAPE_REASONING',
  SHAPE_TERMINAL: 'SHAPE_TERMINAL',
  SHAPE_CHAT: 'SHAPE_CHAT',
} as const;

export type Shape =
  | 'SHAPE_UNSPECIFIED'
  | 0
  | 'SHAPE_TOOL_CALL'
  | 1
  | 'SHAPE_REASONING'
  | 2
  | 'SHAPE_TERMINAL'
  | 3
  | 'SHAPE_CHAT'
  | 4

export type Shape__Output = typeof Shape[keyof typeof Shape]
