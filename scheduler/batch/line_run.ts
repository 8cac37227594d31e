// One batch line through the gateway's transport-neutral frontend: the body parsed as the HTTP API parses it (with
// the serving gateway's limits and models), submitted at the batch priority, its tokens collected and decoded, and
// its end turned into an outcome — an output line to store (200 with the OpenAI response body, or the HTTP API's
// error status and body), a retry (load, or a cancel the drainer did not ask for), or dropped (the drainer cancelled
// it, or the gateway is stopping: no result, the line stays pending for the next run).
import type { Finished, Frontend, StreamSink } from '../gateway/frontend.js';
import { ApiError, rejectionError } from '../gateway/http/errors.js';
import type { ApiRequest, ParseContext } from '../gateway/http/parse.js';
import { usageOf, wholeResponse } from '../gateway/http/shapes.js';
import { outputId, parseBody, type BatchLine, type OutputLine } from './format.js';

/** What the drainer needs of the gateway's frontend (tests may pass the real one or a fake). */
export type BatchFrontend = Pick<Frontend, 'start' | 'now' | 'stopping'>;

export interface LineContext {
  frontend: BatchFrontend;
  /** The serving gateway's parse settings: limits, served model names, tokenizer. */
  parse: Pick<ParseContext, 'limits' | 'models' | 'tokenizer'>;
  /** ScheduleRequest.priority of every line (negative: below interactive traffic, and sheddable). */
  priority: number;
}

export type LineOutcome =
  | { kind: 'result'; field: 'completed' | 'failed'; output: OutputLine }
  | { kind: 'retry'; reason: string; afterMs: number; overload: boolean }
  | { kind: 'dropped'; reason: string };

/** A line's end as the drainer's observer sees it (metrics, tests): the gateway clock's arrival and the Finished. */
export interface LineEnd {
  batchId: string;
  index: number;
  customId: string;
  requestId: string;
  arrivalS: number;
  /** Where the scheduler placed it (absent when it never was). */
  instanceId?: string;
  outcome: LineOutcome['kind'];
  /** For a result: whether it is the line's answer (completed) or its error (failed). */
  field?: 'completed' | 'failed';
  /** The gateway clock when the line ended (its latency is endS - arrivalS). */
  endS: number;
  finished?: Finished;
}

export interface RunningLine {
  done: Promise<LineOutcome>;
  /** Cancels a submitted line (its outcome becomes dropped). */
  cancel(reason: string): void;
}

export interface LineIds {
  batchId: string;
  index: number;
  /** Unique per attempt: the scheduler refuses a live duplicate id. */
  requestId: string;
  /** The batch owner's tenant: its lines count against that tenant's share and quotas (default: `default`). */
  tenant?: string;
}

/** Wait after a load rejection that gave no hint, and the least wait whatever the hint (no busy retry loop). */
const DEFAULT_RETRY_AFTER_MS = 1000;
const MIN_RETRY_AFTER_MS = 100;

function failed(ids: LineIds, line: BatchLine, e: ApiError): LineOutcome {
  const output: OutputLine = { id: outputId(ids.batchId, ids.index), custom_id: line.customId, response: { status_code: e.status, request_id: ids.requestId, body: e.body() }, error: null };
  return { kind: 'result', field: 'failed', output };
}

/** Submits the line; `onStarted` is called once, at its first tokens or its end, whichever comes first. */
export function startLine(line: BatchLine, ids: LineIds, ctx: LineContext, onStarted: () => void, onEnd?: (e: LineEnd) => void): RunningLine {
  const fe = ctx.frontend;
  const arrivalS = fe.now();
  let started = false;
  const markStarted = (): void => {
    if (started) return;
    started = true;
    onStarted();
  };
  let instanceId: string | undefined;
  let settle: (o: LineOutcome, f?: Finished) => void = () => {};
  const done = new Promise<LineOutcome>((resolve) => {
    settle = (o, f) => {
      markStarted();
      onEnd?.({ batchId: ids.batchId, index: ids.index, customId: line.customId, requestId: ids.requestId, arrivalS, endS: fe.now(), outcome: o.kind, ...(o.kind === 'result' ? { field: o.field } : {}), ...(instanceId !== undefined ? { instanceId } : {}), ...(f ? { finished: f } : {}) });
      resolve(o);
    };
  });
  let parsedApi: ApiRequest | undefined;
  try {
    parsedApi = parseBody(line.url, line.body, { ...ctx.parse, newRequestId: () => ids.requestId, nowS: arrivalS });
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    settle(failed(ids, line, error));
    return { done, cancel: () => {} };
  }
  const api = parsedApi;
  api.parsed.req.priority = ctx.priority;
  if (ids.tenant !== undefined) api.parsed.req.tenant = ids.tenant;
  const collected: number[] = [];
  let cancelledByUs: string | undefined;
  const sink: StreamSink = {
    onTokens: (tokenIds) => {
      markStarted();
      for (const id of tokenIds) collected.push(id);
    },
    onEnd: (f) => {
      if (f.finishReason === 'stop' || f.finishReason === 'length') {
        const body = wholeResponse(api.kind, { id: ids.requestId, created: Math.floor(Date.now() / 1000), model: api.model }, ctx.parse.tokenizer.decode(collected), f.finishReason, usageOf(f));
        settle({ kind: 'result', field: 'completed', output: { id: outputId(ids.batchId, ids.index), custom_id: line.customId, response: { status_code: 200, request_id: ids.requestId, body }, error: null } }, f);
      } else if (f.finishReason === 'error') {
        settle(failed(ids, line, new ApiError(500, `the worker failed: ${f.error ?? 'unknown error'}`, null, 'worker_error')), f);
      } else if (f.limit === 'totalTimeoutS') {
        // Ran past the gateway's total timeout: a retry would run as long again, so the line fails (an idle timeout,
        // which a long queue wait can cause, is retried below like any other gateway cancel).
        settle(failed(ids, line, new ApiError(408, `${f.cancelReason ?? 'limits.totalTimeoutS: the request ran too long'}`, null, 'request_timeout')), f);
      } else if (cancelledByUs !== undefined || fe.stopping) {
        settle({ kind: 'dropped', reason: cancelledByUs ?? 'the gateway is shutting down' }, f);
      } else {
        settle({ kind: 'retry', reason: `cancelled by the gateway: ${f.cancelReason ?? 'no reason given'}`, afterMs: 0, overload: false }, f);
      }
    },
  };
  // The sink may hear the end before start() returns; the placement is known only after.
  const res = fe.start(api.parsed, sink);
  if (res.ok) instanceId = res.instanceId;
  if (!res.ok) {
    const r = res.rejection;
    if (r.code === 'E_SHUTTING_DOWN') settle({ kind: 'dropped', reason: r.reason });
    else if (r.kind === 'overloaded' || r.kind === 'unavailable') settle({ kind: 'retry', reason: `${r.code}: ${r.reason}`, afterMs: Math.max(MIN_RETRY_AFTER_MS, r.retryAfterS !== undefined ? r.retryAfterS * 1000 : DEFAULT_RETRY_AFTER_MS), overload: true });
    else settle(failed(ids, line, rejectionError(r, api.kind === 'chat' ? 'messages' : 'prompt')));
    return { done, cancel: () => {} };
  }
  return {
    done,
    cancel: (reason) => {
      cancelledByUs ??= reason;
      res.cancel(reason);
    },
  };
}
