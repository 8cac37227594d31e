// The live load generator: replays a Workload (the object `simulate` runs) against a running gateway over gRPC, in
// real time. Open loop: each request is sent at its arrivalS (already scaled by the reader's rateScale), whatever
// the gateway does. Closed loop: the simulator's own ClosedLoop (scheduler/sim/closed_loop.ts) decides the turns —
// turn k+1 is sent its think time after turn k ended, `sessions` at once, scripts reused with fresh hashes — with
// the wall clock as its clock. Bounded: nothing is sent after `durationS`; at `durationS + drainS` what is still live
// is cancelled ("drain limit reached", as the simulator's drain limit); each call has a gRPC deadline. Every request
// sent gets exactly one record (completed, rejected with its code, cancelled, failed with its error).
import { performance } from 'node:perf_hooks';

import type { ScheduleRequest } from '../core/types.js';
import type { GatewayClient } from '../gen/proto/nvlsched/v1/Gateway.js';
import { ClosedLoop } from '../sim/closed_loop.js';
import type { RunResult, Workload, WorkloadRequest } from '../workload/types.js';
import { startCall, type CallHandle, type CallResult } from './call.js';
import type { LoadProgress } from './progress.js';
import { toLiveRecord, type LiveRecord } from './record.js';
import { toGenerateRequest } from './request.js';

export const DEFAULT_DRAIN_S = 60;
export const DEFAULT_REQUEST_TIMEOUT_S = 300;
/** After the drain limit's cancels, how long to wait for the streams to report their end before recording them failed. */
const CANCEL_GRACE_MS = 5000;
/** The simulator's reason for what its drain limit cancels. */
export const DRAIN_REASON = 'drain limit reached';

/** What the report says about the serving side (the client cannot see it; the caller knows or asked Health). */
export interface TargetInfo {
  policy: string;
  cluster: string;
  model: string;
  /** GPUs behind the gateway (0 when unknown: per-GPU throughput is then null). */
  gpus: number;
}

export interface LoadOptions {
  workload: Workload;
  client: GatewayClient;
  target: TargetInfo;
  /** No request is sent after this many seconds of the run (the simulator's --duration); required, > 0. */
  durationS: number;
  /** Seconds after durationS that live requests may still run before they are cancelled (default 60). */
  drainS?: number;
  /** Per-request gRPC deadline, seconds (default 300): past it a request is recorded as failed. */
  requestTimeoutS?: number;
  /** Closed loop: concurrent top-level sessions (default one per script, as the simulator). */
  sessions?: number;
  /**
   * Closed loop: keep starting sessions (scripts reused with fresh hashes) until durationS, as `simulate --duration`
   * does (default true); false: each script runs once (max(sessions, scripts) sessions in all). Either way no turn is
   * sent after durationS.
   */
  reuseSessions?: boolean;
  /** The served model's context, when known: max_tokens is clamped to the room left (request.ts). */
  maxContextTokens?: number;
  /** Prefix of the request ids sent (default a per-process run tag). */
  idPrefix?: string;
  seed?: number;
  onProgress?: (p: LoadProgress) => void;
  /** How often onProgress is called (default 250 ms). */
  progressEveryMs?: number;
}

export interface LoadStats {
  sent: number;
  completed: number;
  rejected: number;
  cancelled: number;
  failed: number;
  /** Requests cancelled at the drain limit (also in `cancelled`). */
  drainCancelled: number;
  /** Largest delay between when the workload wanted a request sent and when it was (client overload shows here). */
  maxSendLagS: number;
  wallS: number;
  durationS: number;
  drainS: number;
}

export interface LiveRunResult {
  /** For buildReport / runTable, as a simulation's. */
  run: RunResult;
  records: LiveRecord[];
  stats: LoadStats;
}

interface InFlight {
  /** Send order: the key of `live` (request ids of a workload need not be unique). */
  key: number;
  handle: CallHandle;
  w: WorkloadRequest;
  req: ScheduleRequest;
  plannedS: number;
  sentS: number;
  runIndex: number;
}

let runCounter = 0;

function checkOptions(o: LoadOptions): void {
  const kind = (o.workload as { kind?: unknown } | undefined)?.kind;
  if (kind !== 'open' && kind !== 'closed') throw new RangeError(`workload: expected an open- or closed-loop workload, got ${JSON.stringify(kind)}`);
  if (!(o.durationS > 0 && Number.isFinite(o.durationS))) throw new RangeError(`durationS: expected a number > 0, got ${o.durationS}`);
  if (o.drainS !== undefined && !(o.drainS >= 0 && Number.isFinite(o.drainS))) throw new RangeError(`drainS: expected a number ≥ 0, got ${o.drainS}`);
  if (o.requestTimeoutS !== undefined && !(o.requestTimeoutS > 0 && Number.isFinite(o.requestTimeoutS))) throw new RangeError(`requestTimeoutS: expected a number > 0, got ${o.requestTimeoutS}`);
  if (o.sessions !== undefined) {
    if (kind !== 'closed') throw new RangeError('sessions: only for closed-loop (session) workloads; scale an open-loop one by its rate');
    if (!Number.isInteger(o.sessions) || o.sessions < 1) throw new RangeError(`sessions: expected an integer ≥ 1, got ${o.sessions}`);
  }
}

/** Runs the workload against the gateway; resolves when every request sent has ended (or the drain limit passed). */
export function runLoad(o: LoadOptions): Promise<LiveRunResult> {
  checkOptions(o);
  const t0Ms = performance.now();
  const now = (): number => (performance.now() - t0Ms) / 1000;
  const drainS = o.drainS ?? DEFAULT_DRAIN_S;
  const timeoutS = o.requestTimeoutS ?? DEFAULT_REQUEST_TIMEOUT_S;
  const idPrefix = o.idPrefix ?? `lg${process.pid}.${++runCounter}/`;
  const stats: LoadStats = { sent: 0, completed: 0, rejected: 0, cancelled: 0, failed: 0, drainCancelled: 0, maxSendLagS: 0, wallS: 0, durationS: o.durationS, drainS };
  const records: LiveRecord[] = [];
  const live = new Map<number, InFlight>();
  const timers = new Set<NodeJS.Timeout>();
  let lastSendS = 0;
  let lastEndS = 0;
  let stopping = false;
  let finished = false;
  let grace: NodeJS.Timeout | undefined;

  // Open loop: the arrivals inside the window (the simulator keeps arrivalS ≤ its --duration).
  const open = o.workload.kind === 'open' ? o.workload.requests.filter((w) => w.req.arrivalS <= o.durationS) : [];
  let nextOpen = 0;
  const closed = o.workload.kind === 'closed'
    ? new ClosedLoop(o.workload, o.sessions ?? o.workload.sessions.filter((s) => s.parent === undefined).length, o.reuseSessions === false ? Infinity : o.durationS)
    : null;

  return new Promise<LiveRunResult>((resolve) => {
    const progress = (): LoadProgress => ({
      elapsedS: now(), durationS: o.durationS, ended: records.length, live: live.size,
      ...(closed === null ? { total: open.length } : {}),
      completed: stats.completed, rejected: stats.rejected, failed: stats.failed,
    });
    const ticker = o.onProgress ? setInterval(() => o.onProgress?.(progress()), o.progressEveryMs ?? 250) : undefined;
    ticker?.unref();

    const after = (delayS: number, fn: () => void): void => {
      const t = setTimeout(() => {
        timers.delete(t);
        fn();
      }, Math.max(0, delayS * 1000));
      timers.add(t);
    };

    const finish = (): void => {
      if (finished) return;
      finished = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      clearTimeout(deadline);
      if (grace) clearTimeout(grace);
      if (ticker) clearInterval(ticker);
      stats.wallS = now();
      o.onProgress?.(progress());
      const run: RunResult = {
        policy: o.target.policy, cluster: o.target.cluster, model: o.target.model, seed: o.seed ?? 1,
        simulatedS: Math.max(lastEndS, lastSendS), loadWindowS: Math.max(lastSendS, 1e-9), simWallS: stats.wallS,
        gpus: o.target.gpus, records: records.map((r) => r.record), steps: 0,
      };
      resolve({ run, records, stats });
    };

    const sendingDone = (): boolean => stopping || (closed === null ? nextOpen >= open.length : timers.size === 0);
    const maybeFinish = (): void => {
      if (live.size === 0 && sendingDone()) finish();
    };

    const ended = (f: InFlight, r: CallResult): void => {
      if (live.get(f.key) !== f) return; // already recorded (cancel grace passed)
      live.delete(f.key);
      records.push(toLiveRecord(f.w, { requestId: f.req.requestId, ...(f.req.sessionId !== undefined ? { sessionId: f.req.sessionId } : {}), promptTokens: f.req.promptTokens, plannedS: f.plannedS }, r));
      stats[r.outcome]++;
      if (r.outcome === 'cancelled' && r.reason === DRAIN_REASON) stats.drainCancelled++;
      lastEndS = Math.max(lastEndS, r.endS);
      if (f.runIndex >= 0 && !stopping) closed?.turnEnded(f.runIndex, now(), scheduleTurn);
      maybeFinish();
    };

    const send = (w: WorkloadRequest, req: ScheduleRequest, plannedS: number, runIndex: number): void => {
      const nowS = now();
      stats.sent++;
      lastSendS = nowS;
      stats.maxSendLagS = Math.max(stats.maxSendLagS, nowS - plannedS);
      let handle: CallHandle;
      try {
        handle = startCall(o.client, toGenerateRequest(req, w.outputTokens, { idPrefix, ...(o.maxContextTokens !== undefined ? { maxContextTokens: o.maxContextTokens } : {}) }), { now, timeoutS });
      } catch (error) {
        // A closed channel throws at once: the request is still accounted for.
        const failed: CallResult = { outcome: 'failed', sentS: nowS, endS: now(), outputTokens: 0, reason: `could not start the call: ${(error as Error).message}` };
        handle = { done: Promise.resolve(failed), cancel: () => undefined };
      }
      const f: InFlight = { key: stats.sent, handle, w, req, plannedS, sentS: nowS, runIndex };
      live.set(f.key, f);
      void f.handle.done.then((r) => ended(f, r));
    };

    // Open loop: send what is due, then sleep until the next arrival.
    const pumpOpen = (): void => {
      const t = now();
      while (!stopping && nextOpen < open.length) {
        const w = open[nextOpen] as WorkloadRequest;
        const at = Math.max(0, w.req.arrivalS);
        if (at > t) {
          after(at - t, pumpOpen);
          return;
        }
        nextOpen++;
        send(w, w.req, at, -1);
      }
      maybeFinish();
    };

    // Closed loop: the ClosedLoop asks for a turn at a time; the turn is built when its timer fires.
    function scheduleTurn(atS: number, runIndex: number): void {
      if (stopping || atS > o.durationS) return;
      after(atS - now(), () => {
        if (stopping) return;
        const turn = (closed as ClosedLoop).turnRequest(runIndex, now());
        send(turn.w, turn.req, atS, runIndex);
      });
    }

    // The drain limit: cancel what is live; a stream that does not report its end within the grace is failed here.
    const deadline = setTimeout(() => {
      stopping = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      for (const f of [...live.values()]) f.handle.cancel(DRAIN_REASON);
      maybeFinish();
      if (finished) return;
      grace = setTimeout(() => {
        for (const f of [...live.values()]) ended(f, { outcome: 'failed', sentS: f.sentS, endS: now(), outputTokens: 0, reason: 'no end reported within 5 s of its cancel' });
      }, CANCEL_GRACE_MS);
    }, (o.durationS + drainS) * 1000);

    if (closed) closed.start(scheduleTurn);
    else pumpOpen();
    maybeFinish();
  });
}
