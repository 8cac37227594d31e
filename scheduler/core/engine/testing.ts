// Builders for engine tests and benchmarks: an engine from a few overrides, a request with defaults, and a step
// executed with chosen EOS ids.
import { readEngineConfig } from './config.js';
import { InstanceEngine } from './engine.js';
import type { KvLedger } from './kv_ledger.js';
import { makeBatchPolicy } from './registry.js';
import type { EnginePlan, FinishedSeq, SeqInit } from './types.js';

export function makeEngine(
  config: Record<string, unknown>,
  policy: string | { name: string; params?: unknown } = 'fcfs',
  ledger?: KvLedger,
  recyclePlans = false,
): InstanceEngine {
  const spec = typeof policy === 'string' ? { name: policy } : policy;
  return new InstanceEngine({
    instanceId: 'i0',
    config: readEngineConfig({ kvBlocksTotal: 1000, ...config }, 'engine'),
    policy: makeBatchPolicy(spec, 'engine.batch'),
    recyclePlans,
    ...(ledger ? { ledger } : {}),
  });
}

export function seqInit(over: Partial<SeqInit> = {}): SeqInit {
  return {
    requestId: 'r',
    shape: 'chat',
    arrivalS: 0,
    promptTokens: 100,
    cachedPromptTokens: 0,
    maxOutputTokens: 100,
    predictedOutputTokens: 50,
    slo: { ttftS: 1, tpotS: 0.05 },
    ...over,
  };
}

/** Enqueues and returns the seqId, failing loudly when the engine refuses. */
export function add(engine: InstanceEngine, over: Partial<SeqInit> = {}, nowS = 0): number {
  const r = engine.enqueue(seqInit(over), nowS);
  if (!r.ok) throw new Error(`enqueue refused: ${r.end.reason}`);
  return r.seqId;
}

/** Plans a step at nowS and completes it at nowS + durationS with the given EOS ids. */
export function step(engine: InstanceEngine, nowS: number, eos: readonly number[] = [], durationS = 0.01): { plan: EnginePlan; finished: FinishedSeq[] } {
  const plan = engine.planStep(nowS);
  const finished = engine.completeStep(plan, { stepId: plan.stepId, durationS, finishedSeqIds: eos }, nowS + durationS);
  return { plan, finished };
}

/** {seqId: numNewTokens} of a plan, for compact assertions. */
export function tokensBySeq(plan: EnginePlan): Record<number, number> {
  const out: Record<number, number> = {};
  for (const item of plan.items) out[item.seqId] = item.numNewTokens;
  return out;
}
