// The live executor of the scheduler's KV moves (scheduler/core/disagg): prefill → decode hand-offs and migrations
// of running decodes, carried out by the workers themselves (handoff.ts: the source worker streams the sequence's
// KV to the destination worker, which commits it under an id the gateway picks). The scheduler decides and keeps
// the ledgers; this file times nothing — it calls the workers and reports back, as scheduler/sim/transfers.ts does
// for the simulator, with the same protocol:
//
// - Hand-off. A prefill instance's completeStep samples the first token of a disaggregated request (the client has
//   it: TTFT counts the prefill instance's token) and queues a transfer (takeTransfers, drained after every step).
//   The sequence is already out of the source's plans (the engine ended it; the scheduler holds its blocks); the
//   source worker still has it. We ask the source worker to move it to the decode worker under a fresh wire id
//   (the decode engine numbers its sequence only when finishHandoff adopts it, after the KV is there, so the
//   driver maps engine id ↔ worker id per instance). Then finishHandoff(ok): ok → the decode instance continues
//   with plain decode steps on the committed KV (no allocate); failed → the decode instance recomputes prompt +
//   first token, and the source worker's copy is freed when it still holds it (fallback 'keep').
// - Migration, live (Llumnix-style) when both instances' workers have LiveCopyCalls (setLiveCopy; handoff.ts): the
//   pre-copy (the source worker copies the sequence's KV as of now to the destination, which parks it unrunnable)
//   runs while the sequence keeps decoding on the source; when it is done, at the source's next step boundary the
//   scheduler's rounds are answered (migrationCopied until it says stop), the sequence leaves the source's plans
//   and the source worker sends only the tail (the tokens written since, from the pre-copy's last partial block),
//   which the destination appends to its parked copy and adopts; finishMigration adopts it in the scheduler. The
//   pause (stop → adopt: the sequence ran nowhere) covers only the tail; the pre-copy's duration is recorded apart.
//   Pre-copy failed → the stop-and-copy below; tail failed with the source still holding the sequence → a
//   stop-and-copy of the whole KV right away (the pause then includes it).
// - Migration, stop-and-copy (no LiveCopyCalls, or the fallback): at the source's next step boundary the sequence
//   leaves the source's plans, the source worker moves its whole KV, finishMigration adopts it on the destination.
//   A failed copy: finishMigration(id, nowS, false) — the destination's engine recomputes prompt + streamed tokens
//   on the blocks it had reserved, and the client's stream goes on from the next position (as a failed hand-off).
// The scheduler records each pause in disaggStats().migrationPausesS; this reports it as a histogram.
// No stream ever waits on a move forever: every call ends (the hand-off has its own timeout), every outcome ends
// the move, and a result that finds its request ended, re-run or moved again frees what it left on the workers.
import type { KvTransfer, Scheduler } from '../core/scheduler.js';
import type { Clock, DriverMetrics, InstRun, LiveReq } from './driver_types.js';
import type { HandoffOutcome, LiveCopyCalls, TailOutcome } from './handoff.js';

/** Worker ids for committed sequences: far above the engines' own (they count from 1), never reused. */
const FIRST_WIRE_ID = 0x4000_0000;
/** The scheduler bounds pre-copy rounds (4); a bound here too, should that change. */
const MAX_ROUNDS = 8;

export interface KvMovesHost {
  sched: Scheduler;
  clock: Clock;
  log: (line: string) => void;
  timeoutMs: number;
  live(requestId: string): LiveReq | undefined;
  inst(instanceId: string): InstRun;
  kick(inst: InstRun): void;
  metric(call: () => void): void;
  metrics?: DriverMetrics;
}

export interface KvMoveStats {
  handoffs: number;
  /** Decoded on the prefill instance (no decode instance had room): nothing crossed a link. */
  handoffsLocal: number;
  handoffFailures: number;
  handoffBytes: number;
  migrations: number;
  migrationFailures: number;
  migrationBytes: number;
  /** Pause of each migration that completed (the request ran nowhere), seconds, in order. */
  migrationPausesS: number[];
  /** Migrations that completed by pre-copy + tail, and the pre-copy duration of each (it kept decoding), seconds. */
  liveMigrations: number;
  migrationPrecopiesS: number[];
  /** Pre-copies or tails that failed: the move fell back to a stop-and-copy of the whole KV. */
  precopyFallbacks: number;
  /** Pre-copies dropped because the request ended or moved on meanwhile (their parked copy freed). */
  precopiesDropped: number;
}

interface PreCopy {
  requestId: string;
  from: InstRun;
  to: InstRun;
  srcWire: number;
  dstWire: number;
  startS: number;
  phase: 'copying' | 'copied';
  precopiedTokens: number;
  bytes: number;
}

export class KvMoves {
  readonly stats: KvMoveStats = {
    handoffs: 0, handoffsLocal: 0, handoffFailures: 0, handoffBytes: 0, migrations: 0, migrationFailures: 0, migrationBytes: 0, migrationPausesS: [],
    liveMigrations: 0, migrationPrecopiesS: [], precopyFallbacks: 0, precopiesDropped: 0,
  };
  private readonly liveCopy = new Map<string, LiveCopyCalls>();
  private readonly precopies = new Map<string, PreCopy>();
  private nextWire = FIRST_WIRE_ID;
  private nextToken = 1;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly h: KvMovesHost) {}

  /** Every migrationPeriodS while the gateway runs (unref'd: never keeps the process alive). */
  startTimer(): void {
    const period = this.h.sched.migrationPeriodS;
    if (period === null || this.timer) return;
    this.timer = setInterval(() => this.tick(), period * 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Live pre-copy calls on an instance's worker (null: that instance migrates by stop-and-copy only). */
  setLiveCopy(instanceId: string, calls: LiveCopyCalls | null): void {
    if (calls) this.liveCopy.set(instanceId, calls);
    else this.liveCopy.delete(instanceId);
  }

  /** After an instance's completeStep (its step boundary): start queued hand-offs, stop migrating sequences. */
  afterStep(inst: InstRun): void {
    for (const t of this.h.sched.takeTransfers()) this.handoff(t);
    const stops = inst.migrationStops;
    if (stops.length === 0) return;
    inst.migrationStops = [];
    for (const requestId of stops) this.stopAndCopy(requestId);
  }

  tick(): number {
    let n = 0;
    for (const t of this.h.sched.planMigrations(this.h.clock())) if (this.precopy(t)) n++;
    return n;
  }

  migrate(requestId: string, toInstanceId: string): boolean {
    const t = this.h.sched.startMigration(requestId, toInstanceId, this.h.clock());
    return t !== undefined && this.precopy(t);
  }

  // ------------------------------------------------------------------ hand-off

  private handoff(t: KvTransfer): void {
    const live = this.h.live(t.requestId);
    if (t.kind !== 'handoff' || !live) return;
    const from = this.h.inst(t.fromInstanceId);
    const srcWire = this.detach(from, live);
    const token = this.nextToken++;
    live.move = { kind: 'handoff', token };
    live.instanceId = t.toInstanceId;
    if (t.fromInstanceId === t.toInstanceId) {
      // No decode instance had room: it decodes where its KV is, under the same worker id.
      this.stats.handoffsLocal++;
      this.h.metric(() => this.h.metrics?.handoff?.({ outcome: 'local', seconds: 0, bytes: 0 }));
      this.finishHandoff(live, token, from, from, srcWire, srcWire, { ok: true } as HandoffOutcome, 0);
      return;
    }
    const to = this.h.inst(t.toInstanceId);
    const dstWire = this.nextWire++;
    const startS = this.h.clock();
    void this.send(from, srcWire, to, dstWire).then((out) => this.finishHandoff(live, token, from, to, srcWire, dstWire, out, startS));
  }

  private finishHandoff(live: LiveReq, token: number, from: InstRun, to: InstRun, srcWire: number, dstWire: number, out: HandoffOutcome, startS: number): void {
    if (this.h.live(live.requestId) !== live || live.move?.token !== token) return this.stale(from, to, srcWire, dstWire, out);
    live.move = null;
    const nowS = this.h.clock();
    if (from !== to) {
      this.stats.handoffs++;
      if (out.ok) this.stats.handoffBytes += out.bytesSent;
      else this.stats.handoffFailures++;
      this.h.metric(() => this.h.metrics?.handoff?.({ outcome: out.ok ? 'ok' : 'failed', seconds: Math.max(0, nowS - startS), bytes: out.ok ? out.bytesSent : 0 }));
    }
    // A failed hand-off whose source worker kept the sequence (fallback 'keep'): the KV is whole on the prefill
    // instance, so it decodes there instead of being recomputed on the decode side.
    const keep = !out.ok && out.fallback === 'keep' && from !== to && !from.failed;
    if (!out.ok) {
      this.h.log(`request ${live.requestId}: hand-off ${from.instanceId} → ${to.instanceId} failed (${out.code}: ${out.message}); ${keep ? 'it keeps decoding where its KV is' : 'the decode side recomputes'}`);
      if (!keep) this.freeSource(from, srcWire, out);
    }
    const { instanceId } = this.h.sched.finishHandoff(live.requestId, out.ok, nowS, { keepOnPrefill: keep });
    const target = this.h.inst(instanceId);
    if (keep && target !== from) this.freeSource(from, srcWire, out); // the core could not keep it: recomputed elsewhere
    this.adopted(live, target, out.ok ? dstWire : keep && target === from ? srcWire : null);
  }

  // ------------------------------------------------------------------ migration

  /** A migration the scheduler started: live pre-copy when both workers can, else stop-and-copy at a boundary. */
  private precopy(t: KvTransfer): boolean {
    const live = this.h.live(t.requestId);
    if (!live) return false;
    const from = this.h.inst(t.fromInstanceId);
    const to = this.h.inst(t.toInstanceId);
    const calls = this.liveCopy.get(from.instanceId);
    if (calls && this.liveCopy.has(to.instanceId) && to.address && !to.failed && !from.failed && live.wire >= 0 && !this.precopies.has(t.requestId)) {
      this.startPreCopy(live, from, to, calls);
    } else this.stopAtBoundary(t.requestId, from);
    return true;
  }

  private stopAtBoundary(requestId: string, from: InstRun): void {
    if (from.busy) {
      from.migrationStops.push(requestId);
      this.h.kick(from); // a free-only plan in flight ends its loop without a step boundary otherwise
    } else this.stopAndCopy(requestId);
  }

  /** Phase 1: the source worker copies the KV as of now; the sequence keeps decoding on the source meanwhile. */
  private startPreCopy(live: LiveReq, from: InstRun, to: InstRun, calls: LiveCopyCalls): void {
    const p: PreCopy = { requestId: live.requestId, from, to, srcWire: live.wire, dstWire: this.nextWire++, startS: this.h.clock(), phase: 'copying', precopiedTokens: 0, bytes: 0 };
    this.precopies.set(live.requestId, p);
    void calls
      .preCopy(p.srcWire, { instanceId: to.instanceId, address: to.address as string, gpu: to.gpu }, { destinationSeqId: p.dstWire, reserveTokens: 0, timeoutMs: this.h.timeoutMs })
      .catch((error: Error): HandoffOutcome => ({ ok: false, code: 'E_INTERNAL', status: 'UNKNOWN', message: error.message, fallback: 'keep' }))
      .then((out) => this.preCopied(live, p, out));
  }

  private preCopied(live: LiveReq, p: PreCopy, out: HandoffOutcome): void {
    const current = this.precopies.get(p.requestId) === p && this.h.live(p.requestId) === live && live.move === null && live.wire === p.srcWire && live.instanceId === p.from.instanceId;
    if (!current) {
      // The request ended, was re-run or failed over meanwhile: nothing will take the parked copy.
      if (this.precopies.get(p.requestId) === p) this.precopies.delete(p.requestId);
      this.stats.precopiesDropped++;
      if (out.ok) this.dropParked(p);
      return;
    }
    if (!out.ok) {
      this.precopies.delete(p.requestId);
      this.stats.precopyFallbacks++;
      this.h.log(`request ${p.requestId}: pre-copy ${p.from.instanceId} → ${p.to.instanceId} failed (${out.code}: ${out.message}); stop-and-copy instead`);
    } else {
      p.phase = 'copied';
      p.precopiedTokens = out.numTokens;
      p.bytes = out.bytesSent;
      this.stats.migrationPrecopiesS.push(Math.max(0, this.h.clock() - p.startS));
    }
    this.stopAtBoundary(p.requestId, p.from);
  }

  private stopAndCopy(requestId: string): void {
    const live = this.h.live(requestId);
    const pre = this.precopies.get(requestId);
    this.precopies.delete(requestId);
    let next: KvTransfer | undefined;
    // The workers' pre-copy is one round (done by now, or none): further rounds count as done; the scheduler then
    // stops the sequence.
    for (let round = 0; round < MAX_ROUNDS; round++) {
      next = this.h.sched.migrationCopied(requestId, this.h.clock());
      if (next?.kind !== 'precopy') break;
    }
    if (!live || next?.kind !== 'stop') {
      if (live && next?.kind === 'precopy') this.h.log(`request ${requestId}: migration still pre-copying after ${MAX_ROUNDS} rounds; left to the scheduler`);
      if (pre?.phase === 'copied') {
        this.stats.precopiesDropped++;
        this.dropParked(pre);
      }
      return;
    }
    const stoppedS = this.h.clock();
    const from = this.h.inst(next.fromInstanceId);
    const to = this.h.inst(next.toInstanceId);
    const srcWire = this.detach(from, live);
    const token = this.nextToken++;
    live.move = { kind: 'migration', token };
    live.instanceId = to.instanceId;
    // The engine cancelled it between steps: the source's next plan goes without it.
    this.h.kick(from);
    const calls = this.liveCopy.get(from.instanceId);
    if (pre?.phase === 'copied' && pre.from === from && pre.to === to && pre.srcWire === srcWire && calls) {
      const dstWire = pre.dstWire;
      void calls
        .tail(srcWire, { instanceId: to.instanceId, address: to.address as string, gpu: to.gpu }, { destinationSeqId: dstWire, precopiedTokens: pre.precopiedTokens, timeoutMs: this.h.timeoutMs })
        .catch((error: Error): TailOutcome => ({ ok: false, code: 'E_INTERNAL', status: 'UNKNOWN', message: error.message, fallback: 'keep' }))
        .then((out) => {
          if (out.ok) {
            this.stats.liveMigrations++;
            return this.finishMigration(live, token, from, to, srcWire, dstWire, tailAsHandoff(out), stoppedS, pre);
          }
          // The destination freed its parked copy; the source still holds the sequence: move all of it now.
          this.stats.precopyFallbacks++;
          this.h.log(`request ${requestId}: tail ${from.instanceId} → ${to.instanceId} failed (${out.code}: ${out.message}); ${out.fallback === 'keep' ? 'stop-and-copy of the whole KV' : 'recompute'}`);
          if (out.fallback !== 'keep') return this.finishMigration(live, token, from, to, srcWire, dstWire, out, stoppedS, null);
          const whole = this.nextWire++;
          return this.send(from, srcWire, to, whole).then((o) => this.finishMigration(live, token, from, to, srcWire, whole, o, stoppedS, null));
        });
      return;
    }
    if (pre?.phase === 'copied') {
      this.stats.precopiesDropped++;
      this.dropParked(pre);
    }
    const dstWire = this.nextWire++;
    void this.send(from, srcWire, to, dstWire).then((out) => this.finishMigration(live, token, from, to, srcWire, dstWire, out, stoppedS, null));
  }

  private finishMigration(live: LiveReq, token: number, from: InstRun, to: InstRun, srcWire: number, dstWire: number, out: HandoffOutcome, stoppedS: number, pre: PreCopy | null): void {
    if (this.h.live(live.requestId) !== live || live.move?.token !== token) return this.stale(from, to, srcWire, dstWire, out);
    live.move = null;
    const nowS = this.h.clock();
    const pauseS = Math.max(0, nowS - stoppedS);
    const { instanceId } = this.h.sched.finishMigration(live.requestId, nowS, out.ok);
    const dest = this.h.inst(instanceId);
    if (out.ok) {
      const bytes = out.bytesSent + (pre?.bytes ?? 0);
      this.stats.migrations++;
      this.stats.migrationBytes += bytes;
      this.stats.migrationPausesS.push(pauseS);
      // precopyS travels with the event for recorders that know it (the pause histogram covers the tail only).
      const event = { outcome: 'ok' as const, pauseS, bytes, precopyS: pre ? Math.max(0, stoppedS - pre.startS) : 0 };
      this.h.metric(() => this.h.metrics?.migration?.(event));
      this.adopted(live, dest, dstWire);
      return;
    }
    this.stats.migrationFailures++;
    this.h.metric(() => this.h.metrics?.migration?.({ outcome: 'failed', pauseS, bytes: 0 }));
    this.freeSource(from, srcWire, out);
    this.h.log(`request ${live.requestId}: migration ${from.instanceId} → ${to.instanceId} failed (${out.code}: ${out.message}); ${dest.instanceId} recomputes it`);
    // The core queued it on `dest` to recompute (its own engine sequence, no committed KV): no wire id to map.
    this.adopted(live, dest, null);
  }

  /** Frees a parked pre-copy on its destination worker (best effort; the worker's own timeout frees it otherwise). */
  private dropParked(p: PreCopy): void {
    const calls = this.liveCopy.get(p.to.instanceId);
    if (calls && !p.to.failed) void calls.dropParked(p.dstWire);
  }

  // ------------------------------------------------------------------ shared

  /** The sequence leaves its instance's tables (the engine no longer plans it); returns its worker id there. */
  private detach(inst: InstRun, live: LiveReq): number {
    const wire = live.wire;
    if (live.seqId >= 0) {
      inst.seqs.delete(live.seqId);
      inst.byWire.delete(wire);
    }
    live.seqId = -1;
    live.wire = -1;
    live.emitting = false;
    return wire;
  }

  /** The request continues on `inst`: with the committed KV under `wire`, or (null) recomputed from scratch there. */
  private adopted(live: LiveReq, inst: InstRun, wire: number | null): void {
    live.instanceId = inst.instanceId;
    live.adoptedWire = wire;
    live.onWorker = wire !== null;
    live.swapped = false;
    if (wire === null) live.hashedBlocks = 0;
    this.h.kick(inst);
  }

  private send(from: InstRun, srcWire: number, to: InstRun, dstWire: number): Promise<HandoffOutcome> {
    const fail = (code: string, message: string): Promise<HandoffOutcome> => Promise.resolve({ ok: false, code, status: 'FAILED_PRECONDITION', message, fallback: 'keep' });
    if (!from.handOff) return fail('E_NO_HANDOFF', `instance ${from.instanceId} cannot hand off (no hand-off call configured)`);
    if (!to.address) return fail('E_NO_HANDOFF', `instance ${to.instanceId} has no worker address`);
    if (to.failed) return fail('E_PEER_UNAVAILABLE', `instance ${to.instanceId} is down: ${to.failed}`);
    return from.handOff(srcWire, { instanceId: to.instanceId, address: to.address, gpu: to.gpu }, { destinationSeqId: dstWire, reserveTokens: 0, timeoutMs: this.h.timeoutMs }).catch(
      (error: Error) => ({ ok: false, code: 'E_INTERNAL', status: 'UNKNOWN', message: error.message, fallback: 'keep' }),
    );
  }

  /** A failed move whose source still holds the sequence: the source worker frees it with its next plan. */
  private freeSource(from: InstRun, srcWire: number, out: HandoffOutcome): void {
    if (out.ok || out.fallback !== 'keep' || from.failed) return;
    from.toFree.push(srcWire);
    this.h.kick(from);
  }

  /** The request ended or moved on while its KV was in flight: free whichever worker copy is left. */
  private stale(from: InstRun, to: InstRun, srcWire: number, dstWire: number, out: HandoffOutcome): void {
    if (out.ok && from !== to) {
      if (!to.failed) {
        to.toFree.push(dstWire);
        this.h.kick(to);
      }
    } else if (out.ok && from === to) {
      if (!from.failed) {
        from.toFree.push(srcWire);
        this.h.kick(from);
      }
    } else this.freeSource(from, srcWire, out);
  }
}

/** A tail that arrived, as the hand-off outcome finishMigration reads (ok, bytes). */
function tailAsHandoff(t: Extract<TailOutcome, { ok: true }>): HandoffOutcome {
  return {
    ok: true, destinationSeqId: 0, numTokens: t.numTokens, numBlocks: 0, cachedBlocks: 0, blocksCopied: 0, bytesSent: t.bytesSent, chunksSent: 1, numChunks: 1,
    elapsedMs: t.elapsedMs, firstLayerMs: t.elapsedMs, link: 'nvlink', sourceFreed: t.sourceFreed, estimatedS: 0, dataMode: '',
  };
}
