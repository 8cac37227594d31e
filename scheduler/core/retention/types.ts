// Retention-local contracts on top of scheduler/core/types.ts (to be reconciled there).
import type { RetentionInput, RetentionPolicy } from '../types.js';

/** RetentionInput carries deviceKvBlocksTotal and returnProbability itself now (types.ts). */
export type SessionRetentionInput = RetentionInput;

export type RetentionPolicyFactory = (params: unknown, path: string) => RetentionPolicy;
