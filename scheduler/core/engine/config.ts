// Engine parameters: the vLLM knobs (max_num_batched_tokens, max_num_seqs, long_prefill_token_threshold, block
// size) plus the KV pool sizes, the queue bound and the preemption mode per shape. Read field by field so a typo
// names itself (`engine.stepTokenBudget: expected an integer ≥ 1, got "8k"`).
import { ConfigError, asParams, onlyKeys, readNumber, type Params } from '../config/params.js';
import { SHAPES, type Shape } from '../types.js';
import type { PreemptionMode } from './types.js';

export interface EngineConfig {
  /** Tokens one step may schedule (vLLM max_num_batched_tokens; 8192 on ≥ 70 GiB GPUs). */
  stepTokenBudget: number;
  /** Running sequences at most (vLLM max_num_seqs). */
  maxRunningSeqs: number;
  /** HBM KV blocks of the instance. */
  kvBlocksTotal: number;
  /** Grace KV blocks this instance may use for swapped sequences and demoted sessions (0: swap falls back to recompute). */
  hostKvBlocksTotal: number;
  /** Tokens per KV block. 64: the agent-session traces hash 64-token blocks, so a trace prefix hit is whole blocks. */
  blockTokens: number;
  /** Cap on one sequence's prefill chunk in one step (vLLM long_prefill_token_threshold); 0 = no cap. */
  longPrefillThresholdTokens: number;
  /** Waiting plus preempted sequences at most; enqueue beyond it is rejected with E_QUEUE_FULL. */
  maxQueuedSeqs: number;
  preemptionMode: Record<Shape, PreemptionMode>;
}

export const ENGINE_DEFAULTS: Readonly<Omit<EngineConfig, 'kvBlocksTotal' | 'preemptionMode'>> & {
  preemptionMode: Readonly<Record<Shape, PreemptionMode>>;
} = {
  stepTokenBudget: 8192,
  maxRunningSeqs: 256,
  hostKvBlocksTotal: 0,
  blockTokens: 64,
  longPrefillThresholdTokens: 0,
  maxQueuedSeqs: 8192,
  preemptionMode: { tool_call: 'recompute', reasoning: 'recompute', terminal: 'recompute', chat: 'recompute' },
};

const KEYS = ['stepTokenBudget', 'maxRunningSeqs', 'kvBlocksTotal', 'hostKvBlocksTotal', 'blockTokens', 'longPrefillThresholdTokens', 'maxQueuedSeqs', 'preemptionMode'];
const MODES: readonly PreemptionMode[] = ['recompute', 'swap'];

function readModes(p: Params, path: string): Record<Shape, PreemptionMode> {
  const field = `${path}.preemptionMode`;
  const table = asParams(p.preemptionMode, field);
  onlyKeys(table, field, SHAPES);
  const out = { ...ENGINE_DEFAULTS.preemptionMode };
  for (const shape of SHAPES) {
    const value = table[shape];
    if (value === undefined) continue;
    if (typeof value !== 'string' || !(MODES as readonly string[]).includes(value)) {
      throw new ConfigError(`${field}.${shape}`, `expected one of ${MODES.join(', ')}, got ${JSON.stringify(value)}`);
    }
    out[shape] = value as PreemptionMode;
  }
  return out;
}

/** Reads the engine section; kvBlocksTotal has no default (it comes from the KV sizing of the instance). */
export function readEngineConfig(value: unknown, path: string): EngineConfig {
  const p = asParams(value, path);
  onlyKeys(p, path, KEYS);
  if (p.kvBlocksTotal === undefined) throw new ConfigError(`${path}.kvBlocksTotal`, 'required: HBM KV blocks of the instance (an integer ≥ 1)');
  const d = ENGINE_DEFAULTS;
  const int1 = { min: 1, integer: true };
  const int0 = { min: 0, integer: true };
  return {
    stepTokenBudget: readNumber(p, 'stepTokenBudget', path, d.stepTokenBudget, int1),
    maxRunningSeqs: readNumber(p, 'maxRunningSeqs', path, d.maxRunningSeqs, int1),
    kvBlocksTotal: readNumber(p, 'kvBlocksTotal', path, 0, int1),
    hostKvBlocksTotal: readNumber(p, 'hostKvBlocksTotal', path, d.hostKvBlocksTotal, int0),
    blockTokens: readNumber(p, 'blockTokens', path, d.blockTokens, int1),
    longPrefillThresholdTokens: readNumber(p, 'longPrefillThresholdTokens', path, d.longPrefillThresholdTokens, int0),
    maxQueuedSeqs: readNumber(p, 'maxQueuedSeqs', path, d.maxQueuedSeqs, int1),
    preemptionMode: readModes(p, path),
  };
}
