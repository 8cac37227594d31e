// The simulated KV transfers of disaggregated serving and live migration (the scheduler decides, this times them):
//
// - Hand-off: the prefill instance's sequence sampled the first token (TTFT counts it there, as Dynamo does); its
//   KV blocks cross NVLink to the decode instance in fetchS(blocks, 'nvlink') of the cost model — one bulk copy
//   after the prefill (layer-wise overlap with the prefill is not modelled: an upper bound on the hand-off time).
//   The prefill worker keeps its native blocks until the copy ends, then frees them (they stay as prefix cache);
//   the decode worker allocates the sequence when it first runs. With `handoffFailureRate` a transfer fails (a
//   seeded draw per transfer) and the decode side recomputes.
// - Migration: pre-copy rounds while the sequence decodes on its source (same link, same formula), then at a step
//   boundary of the source the stop-and-copy of the tail: the sequence is off every instance for exactly the tail's
//   copy time — the pause, reported by the scheduler's disaggStats().
// - A migration tick every policy.periodS asks the scheduler's migration policy, while requests live.
import type { KvTransfer, Scheduler } from '../core/scheduler.js';
import type { PerfCostModel } from '../perf/placement_cost.js';
import { Rng } from '../util/random.js';
import type { KvMirror } from './kv_mirror.js';
import type { InstRun, LiveReq, SeqRun } from './sim_types.js';

interface Pending {
  t: KvTransfer | null;
  /** Hand-off: the prefill instance's sequence (native blocks still held there until the copy ends). */
  seq: SeqRun | null;
  from: InstRun | null;
  failed: boolean;
}

export interface TransferHost {
  readonly sched: Scheduler;
  readonly cost: PerfCostModel;
  readonly kv: KvMirror;
  readonly live: ReadonlyMap<string, LiveReq>;
  readonly nowS: () => number;
  inst(id: string): InstRun;
  /** Schedules onEvent(slot) at timeS. */
  push(timeS: number, slot: number): void;
  markDirty(inst: InstRun): void;
}

export class Transfers {
  private readonly slots: Pending[] = [];
  private readonly free: number[] = [];
  private readonly failRng: Rng;
  private tickSlot = -1;
  private tickArmed = false;

  constructor(private readonly host: TransferHost, seed: number, private readonly failureRate: number) {
    // Its own stream: injecting faults never changes the scheduler's random draws.
    this.failRng = new Rng(seed ^ 0x5eed_fa11);
  }

  private alloc(p: Pending): number {
    const slot = this.free.pop();
    if (slot !== undefined) {
      this.slots[slot] = p;
      return slot;
    }
    this.slots.push(p);
    return this.slots.length - 1;
  }

  private copyS(t: KvTransfer): number {
    if (t.blocks === 0) return 0;
    return this.host.cost.fetchS(this.host.sched.instanceView(t.toInstanceId), t.blocks, 'nvlink');
  }

  /** After an instance's completeStep: the hand-offs it started, and migrations waiting for its step boundary. */
  afterStep(inst: InstRun): void {
    for (const t of this.host.sched.takeTransfers()) this.startHandoff(inst, t);
    const stops = inst.migrationStops;
    if (stops.length > 0) {
      inst.migrationStops = [];
      for (const requestId of stops) this.copied(requestId);
    }
  }

  private startHandoff(from: InstRun, t: KvTransfer): void {
    const live = this.host.live.get(t.requestId);
    const seq = live?.seq ?? null;
    if (live && seq) {
      from.seqs.delete(seq.seqId);
      live.seq = null;
    }
    const failed = t.blocks > 0 && this.failureRate > 0 && this.failRng.next() < this.failureRate;
    this.host.push(this.host.nowS() + this.copyS(t), this.alloc({ t, seq, from, failed }));
  }

  /** Arms the migration tick (called on each submit; the tick stops itself when nothing lives). */
  armTick(): void {
    const period = this.host.sched.migrationPeriodS;
    if (period === null || this.tickArmed) return;
    this.tickArmed = true;
    if (this.tickSlot < 0) this.tickSlot = this.alloc({ t: null, seq: null, from: null, failed: false });
    this.host.push(this.host.nowS() + period, this.tickSlot);
  }

  onEvent(slot: number): void {
    if (slot === this.tickSlot) {
      this.tickArmed = false;
      this.tick();
      return;
    }
    const p = this.slots[slot] as Pending;
    this.free.push(slot);
    const t = p.t as KvTransfer;
    const now = this.host.nowS();
    if (t.kind === 'handoff') {
      // The prefill worker's copy of the KV is done with: freed (it stays there as evictable prefix cache).
      if (p.seq && p.from?.worker) this.host.kv.dropSeq(p.from.worker, p.seq);
      if (!this.host.live.has(t.requestId)) return; // cancelled in flight
      const { instanceId } = this.host.sched.finishHandoff(t.requestId, !p.failed, now);
      this.host.markDirty(this.host.inst(instanceId));
    } else if (t.kind === 'precopy') {
      const from = this.host.inst(t.fromInstanceId);
      // The stop needs the source between steps: a step in flight finishes first (its token is not lost).
      if (from.busy) from.migrationStops.push(t.requestId);
      else this.copied(t.requestId);
    } else {
      if (!this.host.live.has(t.requestId)) return;
      const { instanceId } = this.host.sched.finishMigration(t.requestId, now);
      this.host.markDirty(this.host.inst(instanceId));
    }
  }

  private copied(requestId: string): void {
    const live = this.host.live.get(requestId);
    const seq = live?.seq;
    const from = seq ? this.fromOf(requestId) : undefined;
    const next = this.host.sched.migrationCopied(requestId, this.host.nowS());
    if (!next) return;
    if (next.kind === 'stop' && live && seq && from) {
      // Off its source: the source worker frees its copy (the destination allocates it when it first runs there).
      from.seqs.delete(seq.seqId);
      if (from.worker) this.host.kv.dropSeq(from.worker, seq);
      live.seq = null;
      live.migratedFromS = live.lastTokenS;
      this.host.markDirty(from);
    }
    this.host.push(this.host.nowS() + this.copyS(next), this.alloc({ t: next, seq: null, from: null, failed: false }));
  }

  private fromOf(requestId: string): InstRun | undefined {
    const id = this.host.sched.requestInstance(requestId);
    return id !== undefined ? this.host.inst(id) : undefined;
  }

  private tick(): void {
    const now = this.host.nowS();
    for (const t of this.host.sched.planMigrations(now)) this.host.push(now + this.copyS(t), this.alloc({ t, seq: null, from: null, failed: false }));
    if (this.host.live.size > 0) this.armTick();
  }
}

export type { LiveReq };
