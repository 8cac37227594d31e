// What the Scheduler (scheduler.ts) charges to the cost ledger as steps run and requests end, and the record of an
// ended request it returns to its driver.
import type { CostLedger } from './cost/ledger.js';
import type { EnginePlan, FinishedSeq } from './engine/types.js';
import type { Instance, LiveRequest } from './scheduler_state.js';
import type { EndedRequest } from './scheduler_types.js';
import type { CostRecord, EngineSequence, StepItem, StepOutcome } from './types.js';

export interface StepShare {
  requestId: string;
  numTokens: number;
}

/** Shares a step's GPU time among the requests it ran; `shares` is the caller's reused scratch array. */
export function chargeStep(ledger: CostLedger, inst: Instance, plan: EnginePlan, outcome: StepOutcome, shares: StepShare[]): void {
  const n = plan.items.length;
  if (n === 0) return;
  // Reused share objects: this runs at every step of every instance.
  while (shares.length < n) shares.push({ requestId: '', numTokens: 0 });
  let m = 0;
  for (let i = 0; i < n; i++) {
    const item = plan.items[i] as StepItem;
    // A sequence cancelled while its step ran (the engine allows it) has left: the step is shared by the rest.
    const requestId = inst.requests.get(item.seqId);
    if (requestId === undefined) continue;
    const share = shares[m++] as StepShare;
    share.requestId = requestId;
    share.numTokens = item.numNewTokens;
  }
  shares.length = m;
  if (m > 0) ledger.onStep(inst.stepInstance, outcome.durationS, shares);
}

/** Charges an ending request's tokens and the KV it held. */
export function chargeEnd(ledger: CostLedger, requestId: string, seq: Readonly<EngineSequence>, blockTokens: number, nowS: number): void {
  ledger.onTokens(requestId, { inputTokens: seq.promptTokens, cachedInputTokens: seq.cachedPromptTokens, outputTokens: seq.outputTokens });
  // KV held: charged at the mean footprint (prompt + half the output) from admission to end — the engine does not
  // report per-step block counts, and the mean is exact for linear growth.
  const meanBlocks = Math.ceil((seq.promptTokens + seq.outputTokens / 2) / blockTokens);
  ledger.onKvHeld(requestId, meanBlocks, seq.enqueuedS, nowS);
}

export function endedRecord(inst: Instance, live: LiveRequest, f: FinishedSeq, nowS: number, cost: CostRecord): EndedRequest {
  const seq = f.seq;
  return {
    requestId: seq.requestId,
    pool: inst.setup.pool,
    instanceId: inst.setup.instanceId,
    ...(live.req.sessionId !== undefined ? { sessionId: live.req.sessionId } : {}),
    shape: seq.shape,
    slo: live.cls.slo,
    end: f.end,
    arrivalS: seq.arrivalS,
    ...(seq.firstTokenS !== undefined ? { firstTokenS: seq.firstTokenS } : {}),
    endS: nowS,
    promptTokens: seq.promptTokens,
    cachedPromptTokens: seq.cachedPromptTokens,
    outputTokens: seq.outputTokens,
    preemptions: seq.preemptions,
    cost,
  };
}
