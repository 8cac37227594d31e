// Client-side call results → the simulator's RequestRecord (scheduler/workload/types.ts), so that buildReport and
// runTable read a live run exactly as a simulated one. What the client cannot see is filled as documented in
// README.md: the SLO is the shape's default (the gateway does not send it), every cached token counts as device
// tier (the gateway reports one cached count), preemptions are 0 (not in the response), a failure is a cancel.
import { DEFAULT_SLOS } from '../core/classify/slo.js';
import type { RequestEnd, Shape } from '../core/types.js';
import type { RequestRecord, WorkloadRequest } from '../workload/types.js';
import type { CallOutcome, CallResult, ServerTimings } from './call.js';

/** One request of a live run: what the report reads, plus what only a live run has. */
export interface LiveRecord {
  record: RequestRecord;
  outcome: CallOutcome;
  /** When the workload wanted it sent (run clock, s); `record.arrivalS` is when it was. */
  plannedS: number;
  finishReason?: string;
  grpcStatus?: string;
  /** Output tokens the gateway says it produced (the record counts what the client received). */
  serverOutputTokens?: number;
  server?: ServerTimings;
}

function endOf(r: CallResult): RequestEnd {
  switch (r.outcome) {
    case 'completed':
      return { kind: 'completed', outputTokens: r.outputTokens };
    case 'rejected':
      return { kind: 'rejected', code: r.code ?? 'E_UNKNOWN', reason: r.reason ?? '', ...(r.retryAfterS !== undefined ? { retryAfterS: r.retryAfterS } : {}) };
    case 'cancelled':
      return { kind: 'cancelled', reason: r.reason ?? 'cancelled' };
    case 'failed':
      // The report has no "failed" kind: a failure ends the request unserved, as a cancel does.
      return { kind: 'cancelled', reason: `failed: ${r.reason ?? 'unknown error'}` };
  }
}

/** The record of one sent request. `sessionId` is the one the request was sent with (closed loop may rename). */
export function toLiveRecord(w: WorkloadRequest, sent: { requestId: string; sessionId?: string; promptTokens: number; plannedS: number }, r: CallResult): LiveRecord {
  // A request refused before streaming has no shape from the gateway: the trace's own tag, as the simulator does
  // for a request refused before classification.
  const shape: Shape = r.shape ?? w.traceShape ?? 'chat';
  const record: RequestRecord = {
    requestId: sent.requestId,
    shape,
    ...(sent.sessionId !== undefined ? { sessionId: sent.sessionId } : {}),
    arrivalS: r.sentS,
    ...(r.firstTokenS !== undefined ? { firstTokenS: r.firstTokenS } : {}),
    endS: r.endS,
    promptTokens: sent.promptTokens,
    cachedTokens: { device: r.outcome === 'rejected' ? 0 : r.usage?.cachedPromptTokens ?? 0, host: 0, neighbour: 0 },
    outputTokens: r.outputTokens,
    preemptions: 0,
    end: endOf(r),
    slo: { ...DEFAULT_SLOS[shape] },
    costUsd: r.usage?.costUsd ?? 0,
    pool: '',
    instanceId: '',
  };
  const live: LiveRecord = { record, outcome: r.outcome, plannedS: sent.plannedS };
  if (r.finishReason !== undefined) live.finishReason = r.finishReason;
  if (r.grpcStatus !== undefined) live.grpcStatus = r.grpcStatus;
  if (r.usage) live.serverOutputTokens = r.usage.completionTokens;
  if (r.server) live.server = r.server;
  return live;
}
