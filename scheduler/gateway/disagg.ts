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
// - Migration. The worker's hand-off carries the tokens present when it begins and commits them as a new sequence:
//   there is no live pre-copy of a sequence that keeps growing. So every migration is a stop-and-copy: the
//   scheduler's pre-copy rounds are answered at once, at the source's next step boundary (migrationCopied until it
//   says stop, ≤ 4 rounds), the sequence leaves the source's plans, the source worker moves its whole KV, and
//   finishMigration adopts it on the destination. The pause (stop → adopt: the sequence ran nowhere) is what the
//   scheduler records in disaggStats().migrationPausesS and this reports as a histogram. A failed copy has no
//   core fallback (finishMigration assumes the KV arrived): the request is re-run as a continuation (driver
//   rerun: prompt + streamed tokens, recomputed), so the client's stream goes on.
// No stream ever waits on a move forever: every call ends (the hand-off has its own timeout), every outcome ends
// the move, and a result that finds its request ended, re-run or moved again frees what it left on the workers.
import type { KvTransfer, Scheduler } from '../core/scheduler.js';
import type { Clock, DriverMetrics, InstRun, LiveReq } from './driver_types.js';
import type { HandoffOutcome } from './handoff.js';

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
  rerun(inst: InstRun, live: LiveReq, message: string): void;
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
  /** Stop-and-copy pause of each migration that completed, seconds, in order. */
  migrationPausesS: number[];
}

export class KvMoves {
  readonly stats: KvMoveStats = { handoffs: 0, handoffsLocal: 0, handoffFailures: 0, handoffBytes: 0, migrations: 0, migrationFailures: 0, migrationBytes: 0, migrationPausesS: [] };
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
    if (!out.ok) {
      this.h.log(`request ${live.requestId}: hand-off ${from.instanceId} → ${to.instanceId} failed (${out.code}: ${out.message}); the decode side recomputes`);
      this.freeSource(from, srcWire, out);
    }
    const { instanceId } = this.h.sched.finishHandoff(live.requestId, out.ok, nowS);
    this.adopted(live, this.h.inst(instanceId), out.ok ? dstWire : null);
  }

  // ------------------------------------------------------------------ migration

  /** A pre-copy round the scheduler started: answered at the source's next step boundary (stop-and-copy). */
  private precopy(t: KvTransfer): boolean {
    const live = this.h.live(t.requestId);
    if (!live) return false;
    const from = this.h.inst(t.fromInstanceId);
    if (from.busy) {
      from.migrationStops.push(t.requestId);
      this.h.kick(from); // a free-only plan in flight ends its loop without a step boundary otherwise
    } else this.stopAndCopy(t.requestId);
    return true;
  }

  private stopAndCopy(requestId: string): void {
    const live = this.h.live(requestId);
    let next: KvTransfer | undefined;
    // No live pre-copy with these workers: each round counts as done now; the scheduler then stops the sequence.
    for (let round = 0; round < MAX_ROUNDS; round++) {
      next = this.h.sched.migrationCopied(requestId, this.h.clock());
      if (next?.kind !== 'precopy') break;
    }
    if (!live || next?.kind !== 'stop') {
      if (live && next?.kind === 'precopy') this.h.log(`request ${requestId}: migration still pre-copying after ${MAX_ROUNDS} rounds; left to the scheduler`);
      return;
    }
    const stoppedS = this.h.clock();
    const from = this.h.inst(next.fromInstanceId);
    const to = this.h.inst(next.toInstanceId);
    const srcWire = this.detach(from, live);
    const token = this.nextToken++;
    live.move = { kind: 'migration', token };
    live.instanceId = to.instanceId;
    const dstWire = this.nextWire++;
    // The engine cancelled it between steps: the source's next plan goes without it.
    this.h.kick(from);
    void this.send(from, srcWire, to, dstWire).then((out) => this.finishMigration(live, token, from, to, srcWire, dstWire, out, stoppedS));
  }

  private finishMigration(live: LiveReq, token: number, from: InstRun, to: InstRun, srcWire: number, dstWire: number, out: HandoffOutcome, stoppedS: number): void {
    if (this.h.live(live.requestId) !== live || live.move?.token !== token) return this.stale(from, to, srcWire, dstWire, out);
    live.move = null;
    const nowS = this.h.clock();
    const pauseS = Math.max(0, nowS - stoppedS);
    const { instanceId } = this.h.sched.finishMigration(live.requestId, nowS);
    const dest = this.h.inst(instanceId);
    if (out.ok) {
      this.stats.migrations++;
      this.stats.migrationBytes += out.bytesSent;
      this.stats.migrationPausesS.push(pauseS);
      this.h.metric(() => this.h.metrics?.migration?.({ outcome: 'ok', pauseS, bytes: out.bytesSent }));
      this.adopted(live, dest, dstWire);
      return;
    }
    this.stats.migrationFailures++;
    this.h.metric(() => this.h.metrics?.migration?.({ outcome: 'failed', pauseS, bytes: 0 }));
    this.freeSource(from, srcWire, out);
    // The scheduler has it decoding on `dest` as if the KV were there; it is not: recompute as a continuation.
    this.adopted(live, dest, null);
    this.h.rerun(dest, live, `migration ${from.instanceId} → ${to.instanceId} failed (${out.code}: ${out.message})`);
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
