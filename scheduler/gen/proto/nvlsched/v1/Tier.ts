// Original file: proto/nvlsched/v1/common.proto

export const Tier = {
  TIER_DEVICE: 'TIER_DEVICE',
  TIER_HOST: 'TIER_HOST',
  TIER_DISK: 'TIER_DISK',
} as const;

export type Tier =
  | 'TIER_DEVICE'
  | 0
  | 'TIER_HOST'
  | 1
  | 'TIER_DISK'
  | 2

export type Tier__Output = typeof Tier[keyof typeof Tier]
