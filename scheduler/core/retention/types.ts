// Retention-local contracts on top of scheduler/core/types.ts (to be reconciled there).
import type { RetentionInput, RetentionPolicy } from '../types.js';

/**
 * RetentionInput plus what the cost-aware policy needs to price HBM: the instance's HBM block count (kvBlocks is
 * only a cost relative to it) and the chance the session comes back at all.
 */
export interface SessionRetentionInput extends RetentionInput {
  deviceKvBlocksTotal?: number;
  /** 0..1; absent: the policy's configured default. */
  returnProbability?: number;
}

export type RetentionPolicyFactory = (params: unknown, path: string) => RetentionPolicy;
