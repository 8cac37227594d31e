// `fcfs`: vLLM v1's default scheduler (vllm/v1/core/sched/scheduler.py, policy FCFS). Waiting sequences in the
// order they reached the instance, no wait windows, running sequences in admission order (a long prefill chunk can
// take the budget before later decodes), KV only for what is computed, and on a failed block allocation the
// victim is the last sequence of the running list (`self.running.pop()`), recomputed later.
import { asParams, onlyKeys } from '../../config/params.js';
import type { EngineSequence } from '../../types.js';
import type { EngineBatchPolicy, PreemptionMode } from '../types.js';

export function makeFcfs(params: unknown, path: string): EngineBatchPolicy {
  onlyKeys(asParams(params, path), path, []);
  return {
    name: 'fcfs',
    decodesFirst: false,
    queueKey: (seq: EngineSequence) => seq.enqueuedS,
    // Equal keys: the engine then takes the latest position in the running list, as running.pop() does.
    victimKey: () => 0,
    maxPrefillChunkTokens: () => Infinity,
    waitWindowS: () => 0,
    kvFloorTokens: () => 0,
    preemptionMode: (_seq: EngineSequence, configured: PreemptionMode) => configured,
    stepPrefillCapTokens: () => Infinity,
  };
}
