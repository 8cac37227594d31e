// `priority`: vLLM v1 with --scheduling-policy priority. The waiting queue is a heap on (priority, arrival); on a
// failed block allocation the victim is max(running, key=(priority, arrival_time)) — vLLM's lower value means more
// important, ours (ScheduleRequest.priority) the opposite, so here: the lowest priority, then the latest arrival.
// Everything else as fcfs.
import { asParams, onlyKeys } from '../../config/params.js';
import type { EngineSequence } from '../../types.js';
import type { EngineBatchPolicy, PreemptionMode } from '../types.js';

/** Priorities are small integers; one priority step outweighs any arrival time below ~300 years. */
const PRIORITY_SCALE_S = 1e10;

export function makePriority(params: unknown, path: string): EngineBatchPolicy {
  onlyKeys(asParams(params, path), path, []);
  return {
    name: 'priority',
    decodesFirst: false,
    queueKey: (seq: EngineSequence) => -seq.priority * PRIORITY_SCALE_S + seq.enqueuedS,
    victimKey: (seq: EngineSequence) => seq.priority * PRIORITY_SCALE_S - seq.enqueuedS,
    maxPrefillChunkTokens: () => Infinity,
    waitWindowS: () => 0,
    kvFloorTokens: () => 0,
    preemptionMode: (_seq: EngineSequence, configured: PreemptionMode) => configured,
    stepPrefillCapTokens: () => Infinity,
  };
}
