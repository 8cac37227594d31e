// Hand-made request records and runs for the report tests (and for fakes of the simulator in CLI tests).
import type { RequestRecord, RunResult } from '../../workload/types.js';

const SLO_BY_SHAPE = {
  tool_call: { ttftS: 0.5, tpotS: 0.03 },
  reasoning: { ttftS: 2, tpotS: 0.05 },
  terminal: { ttftS: 1, tpotS: 0.04 },
  chat: { ttftS: 1, tpotS: 0.05 },
} as const;

let counter = 0;

/** A completed chat request with 100 prompt tokens, nothing cached; override what a case needs. */
export function record(fields: Partial<RequestRecord> = {}): RequestRecord {
  const shape = fields.shape ?? 'chat';
  const outputTokens = fields.outputTokens ?? 10;
  return {
    requestId: `r${++counter}`,
    shape,
    arrivalS: 0,
    firstTokenS: 0.1,
    endS: 1,
    promptTokens: 100,
    cachedTokens: { device: 0, host: 0, neighbour: 0 },
    outputTokens,
    preemptions: 0,
    end: { kind: 'completed', outputTokens },
    slo: { ...SLO_BY_SHAPE[shape] },
    costUsd: 0,
    pool: 'p0',
    instanceId: 'i0',
    ...fields,
  };
}

export function rejected(fields: Partial<RequestRecord> & { code?: string } = {}): RequestRecord {
  const { code = 'slo', ...rest } = fields;
  const { firstTokenS: _drop, ...base } = record({ outputTokens: 0, ...rest });
  return { ...base, end: { kind: 'rejected', code, reason: 'test' }, endS: base.arrivalS, pool: '', instanceId: '' };
}

export function cancelled(fields: Partial<RequestRecord> = {}): RequestRecord {
  return { ...record(fields), end: { kind: 'cancelled', reason: 'client went away' } };
}

export function runResult(records: RequestRecord[], fields: Partial<RunResult> = {}): RunResult {
  return { policy: 'shape-aware', cluster: 'gb200-nvl72', model: 'llama-3.1-70b', seed: 1, simulatedS: 10, simWallS: 0.5, gpus: 4, steps: 100, records, ...fields };
}
