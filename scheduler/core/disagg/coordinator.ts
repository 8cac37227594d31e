// The Scheduler's side of KV hand-off and live migration: which instance holds what while KV moves, and how a
// request's sequence continues on its new instance. No clock: the executor (the simulator; live, the gateway with
// the workers' hand-off RPCs) times the transfers and calls back.
//
// Hand-off (a request placed disaggregated, see Scheduler.submit): its prefill runs on a prefill instance as a
// sequence of one output token. When that token is sampled (TTFT counts it, as Dynamo does: the first token comes
// from the prefill worker), the prefill instance keeps the prompt's KV under a hold and the decode instance
// reserves room for it, all or nothing — the chosen one, else the decode-capable instance of the domain with the
// most free blocks. If none can, the request decodes where its KV already is (the prefill instance; counted as
// `handoffsLocal`). The executor moves `blocks` KV blocks, then calls finishHandoff: ok → the decode instance adopts
// a decoding sequence on the KV that arrived; failed → the decode side recomputes prompt + first token (the hold is
// released first, so no block is leaked on either side).
//
// Migration: start() holds room on the destination for the sequence's KV and what it grows by during the copy;
// the executor copies while the sequence keeps decoding on its source (pre-copy), then calls copied() at a step
// boundary of the source: if the tail written since (whole blocks not yet copied, the partial last one again) would
// take longer than the policy's maxPauseS, another pre-copy round (at most MAX_ROUNDS); else stop-and-copy — the
// sequence leaves its source and, after the tail's copy, finish() adopts it on the destination. The pause each
// request sees is finish − stop, recorded.
import { blocksFor } from '../engine/seq.js';
import type { FinishedSeq, SeqInit } from '../engine/types.js';
import type { EngineSequence, PlacementCostModel } from '../types.js';
import type { Instance, LiveRequest, Pool } from '../scheduler_state.js';
import type { MigrationCandidate, MigrationPolicy } from './types.js';

const MAX_ROUNDS = 4;

export interface KvTransfer {
  kind: 'handoff' | 'precopy' | 'stop';
  requestId: string;
  fromInstanceId: string;
  toInstanceId: string;
  /** KV blocks to move (0: nothing crosses a link, e.g. a hand-off that fell back to the prefill instance). */
  blocks: number;
}

export interface DisaggStats {
  /** Submit-time decisions where a prefill instance was in reach. */
  aggregated: number;
  disaggregated: number;
  /** Disaggregated because a decode instance may not prefill that much itself (localPrefillMaxTokens). */
  forcedByRole: number;
  /** No prefill instance healthy in the domain: aggregated. */
  noPrefillInstance: number;
  handoffs: number;
  /** The chosen decode instance had no room; another of the domain took it. */
  handoffsRetargeted: number;
  /** No decode-capable instance had room: decoded on the prefill instance. */
  handoffsLocal: number;
  handoffFailures: number;
  handoffBlocks: number;
  handoffBytes: number;
  migrationsStarted: number;
  migrationsDone: number;
  migrationsAborted: number;
  /** The destination could not take the grown KV at the end: recomputed there. */
  migrationRecomputes: number;
  migrationBlocks: number;
  migrationBytes: number;
  /** Stop-and-copy pause of each finished migration, seconds, in order. */
  migrationPausesS: number[];
}

export function emptyDisaggStats(): DisaggStats {
  return {
    aggregated: 0, disaggregated: 0, forcedByRole: 0, noPrefillInstance: 0, handoffs: 0, handoffsRetargeted: 0,
    handoffsLocal: 0, handoffFailures: 0, handoffBlocks: 0, handoffBytes: 0, migrationsStarted: 0, migrationsDone: 0,
    migrationsAborted: 0, migrationRecomputes: 0, migrationBlocks: 0, migrationBytes: 0, migrationPausesS: [],
  };
}

export interface CoordinatorHost {
  readonly instances: ReadonlyMap<string, Instance>;
  readonly live: ReadonlyMap<string, LiveRequest>;
  readonly blockTokens: number;
  readonly cost: PlacementCostModel;
  syncView(inst: Instance): void;
  kvBytesPerBlock(pool: string): number;
}

export class Coordinator {
  readonly stats = emptyDisaggStats();
  private readonly outbox: KvTransfer[] = [];
  private nextHold = -1;
  private migrating = 0;

  constructor(private readonly host: CoordinatorHost, private readonly migration: MigrationPolicy) {}

  /** Transfers started since the last call (hand-offs from completeStep; migrations are returned by their calls). */
  takeTransfers(): KvTransfer[] {
    return this.outbox.length === 0 ? [] : this.outbox.splice(0);
  }

  private hold(): number {
    return this.nextHold--;
  }

  // ------------------------------------------------------------------ hand-off

  /** The prefill sequence sampled its first token on `prefill`: hold its KV, reserve the decode side, queue the move. */
  startHandoff(live: LiveRequest, prefill: Instance, f: FinishedSeq): void {
    const pd = live.pd as NonNullable<LiveRequest['pd']>;
    const seq = f.seq;
    const bt = this.host.blockTokens;
    prefill.requests.delete(seq.seqId);
    prefill.view.inFlightRequests--;
    const promptBlocks = blocksFor(seq.promptTokens, bt);
    // The prefill sequence's blocks were freed by its end a moment ago, in this same call: holding them succeeds.
    const prefillHold = this.hold();
    const held = prefill.engine.holdIncoming(prefillHold, promptBlocks);
    pd.prefillHoldId = held ? prefillHold : undefined;
    const target = this.reserveDecode(live, prefill, promptBlocks);
    let blocks = 0;
    if (target) {
      pd.decodeHoldId = target.holdId;
      if (target.inst.setup.instanceId !== pd.decodeInstanceId) this.stats.handoffsRetargeted++;
      const already = target.inst.setup.instanceId === pd.decodeInstanceId ? Math.floor(pd.decodeDeviceTokens / bt) : 0;
      blocks = Math.max(0, promptBlocks - already);
      pd.decodeInstanceId = target.inst.setup.instanceId;
      this.host.syncView(target.inst);
    } else {
      this.stats.handoffsLocal++;
      pd.decodeInstanceId = prefill.setup.instanceId;
      pd.decodeHoldId = undefined;
    }
    pd.phase = 'transfer';
    pd.prefillSeq = seq;
    live.seqId = -1;
    this.stats.handoffs++;
    this.stats.handoffBlocks += blocks;
    this.stats.handoffBytes += blocks * this.host.kvBytesPerBlock(prefill.setup.pool);
    this.host.syncView(prefill);
    this.outbox.push({ kind: 'handoff', requestId: live.req.requestId, fromInstanceId: prefill.setup.instanceId, toInstanceId: pd.decodeInstanceId, blocks });
  }

  /** The chosen decode instance, else the domain's decode-capable one with most free blocks, that can hold the KV. */
  private reserveDecode(live: LiveRequest, prefill: Instance, blocks: number): { inst: Instance; holdId: number } | undefined {
    const pd = live.pd as NonNullable<LiveRequest['pd']>;
    const first = this.host.instances.get(pd.decodeInstanceId);
    const tried = new Set<Instance>();
    const tryOn = (inst: Instance | undefined): { inst: Instance; holdId: number } | undefined => {
      if (!inst || tried.has(inst)) return undefined;
      tried.add(inst);
      const v = inst.view;
      if (!v.healthy || v.draining || v.role === 'prefill' || v.runningRequests >= inst.setup.engine.maxRunningSeqs) return undefined;
      const holdId = this.hold();
      return inst.engine.holdIncoming(holdId, blocks) ? { inst, holdId } : undefined;
    };
    const got = tryOn(first);
    if (got) return got;
    const others = [...this.host.instances.values()]
      .filter((i) => i.setup.pool === prefill.setup.pool && i.setup.domainId === (first ?? prefill).setup.domainId && i.view.role !== 'prefill')
      .sort((a, b) => freeBlocks(b) - freeBlocks(a));
    for (const inst of others) {
      const r = tryOn(inst);
      if (r) return r;
    }
    return undefined;
  }

  /**
   * The KV arrived (ok) or the transfer failed: the decode instance takes the request over. A failed transfer whose
   * source still holds the KV (the live worker's fallback 'keep') may instead keep decoding on the prefill
   * instance (`keepOnPrefill`): its hold there covers the KV, nothing is recomputed.
   */
  finishHandoff(requestId: string, ok: boolean, nowS: number, options: { keepOnPrefill?: boolean } = {}): { instanceId: string } {
    const live = this.host.live.get(requestId);
    const pd = live?.pd;
    if (!live || !pd || pd.phase !== 'transfer') throw new Error(`finishHandoff: request ${requestId} is not being handed off`);
    const prefill = this.host.instances.get(pd.prefillInstanceId) as Instance;
    const decode = this.host.instances.get(pd.decodeInstanceId) as Instance;
    const seq = pd.prefillSeq as EngineSequence;
    const local = decode === prefill;
    const keep = !ok && options.keepOnPrefill === true && !local && pd.prefillHoldId !== undefined;
    const target = keep ? prefill : decode;
    if (pd.prefillHoldId !== undefined && !(local && ok) && !keep) prefill.engine.releaseIncoming(pd.prefillHoldId);
    if (!ok) {
      this.stats.handoffFailures++;
      if (pd.decodeHoldId !== undefined) decode.engine.releaseIncoming(pd.decodeHoldId);
    }
    if (decode !== prefill) this.host.syncView(prefill);
    const holdId = ok ? (local ? pd.prefillHoldId : pd.decodeHoldId) : keep ? pd.prefillHoldId : undefined;
    const init = this.initOf(live, seq);
    const carried = { outputTokens: seq.outputTokens, enqueuedS: seq.enqueuedS, preemptions: seq.preemptions, ...(seq.firstTokenS !== undefined ? { firstTokenS: seq.firstTokenS } : {}) };
    let seqId = ok || keep ? target.engine.adopt(init, { ...carried, computedTokens: seq.promptTokens, ...(holdId !== undefined ? { holdId } : {}) }, nowS) : undefined;
    // Failed, or (only if a hold was lost) no room for the KV that arrived: recompute on the target.
    seqId ??= target.engine.adopt(init, { ...carried, computedTokens: 0 }, nowS) as number;
    pd.prefillHoldId = undefined;
    pd.decodeHoldId = undefined;
    pd.phase = 'decode';
    this.attach(live, target, seqId);
    this.host.syncView(prefill);
    if (keep) this.host.syncView(decode);
    return { instanceId: target.setup.instanceId };
  }

  private initOf(live: LiveRequest, seq: EngineSequence): SeqInit {
    return {
      requestId: live.req.requestId,
      shape: seq.shape,
      priority: seq.priority,
      tenant: live.req.tenant,
      arrivalS: seq.arrivalS,
      promptTokens: seq.promptTokens,
      cachedPromptTokens: seq.cachedPromptTokens,
      maxOutputTokens: live.req.maxOutputTokens,
      predictedOutputTokens: Math.min(live.req.maxOutputTokens, live.cls.output.expectedTokens),
      slo: seq.slo,
    };
  }

  private attach(live: LiveRequest, inst: Instance, seqId: number): void {
    inst.requests.set(seqId, live.req.requestId);
    inst.view.inFlightRequests++;
    live.inst = inst;
    live.seqId = seqId;
    this.host.syncView(inst);
  }

  // ------------------------------------------------------------------ ends

  /** A request in transfer or stopped for migration has no engine sequence: release its holds, describe its end. */
  cancelDetached(live: LiveRequest, reason: string): FinishedSeq {
    let seq: EngineSequence | undefined;
    if (live.pd?.phase === 'transfer') {
      const pd = live.pd;
      if (pd.prefillHoldId !== undefined) this.host.instances.get(pd.prefillInstanceId)?.engine.releaseIncoming(pd.prefillHoldId);
      if (pd.decodeHoldId !== undefined) this.host.instances.get(pd.decodeInstanceId)?.engine.releaseIncoming(pd.decodeHoldId);
      pd.prefillHoldId = undefined;
      pd.decodeHoldId = undefined;
      seq = pd.prefillSeq;
      this.sync(pd.prefillInstanceId);
      this.sync(pd.decodeInstanceId);
    } else if (live.mig?.phase === 'stopped') {
      seq = live.mig.seq;
      this.dropMigration(live);
    }
    if (!seq) throw new Error(`cancelDetached: request ${live.req.requestId} is not detached`);
    return { seq, end: { kind: 'cancelled', reason } };
  }

  /** A request ended (any way): a migration in flight is abandoned and its room on the destination released. */
  onEnded(live: LiveRequest): void {
    if (live.mig) {
      this.stats.migrationsAborted++;
      this.dropMigration(live);
    }
  }

  private dropMigration(live: LiveRequest): void {
    const mig = live.mig;
    if (!mig) return;
    this.host.instances.get(mig.toInstanceId)?.engine.releaseIncoming(mig.holdId);
    this.sync(mig.toInstanceId);
    live.mig = undefined;
    this.migrating--;
  }

  private sync(instanceId: string): void {
    const inst = this.host.instances.get(instanceId);
    if (inst) this.host.syncView(inst);
  }

  // ------------------------------------------------------------------ migration

  get migrationPeriodS(): number | null {
    return Number.isFinite(this.migration.periodS) ? this.migration.periodS : null;
  }

  /** Asks the policy, per domain of decode-capable instances, and starts what it plans (pre-copy transfers). */
  planMigrations(groups: readonly (readonly Instance[])[], nowS: number): KvTransfer[] {
    const out: KvTransfer[] = [];
    for (const group of groups) {
      const views = group.filter((i) => i.view.healthy && !i.view.draining).map((i) => i.view);
      if (views.length < 2) continue;
      const plans = this.migration.plan({
        nowS,
        instances: views,
        decodes: (id) => this.candidates(this.host.instances.get(id) as Instance),
        inFlight: this.migrating,
        blockTokens: this.host.blockTokens,
        cost: this.host.cost,
      });
      for (const p of plans) {
        const t = this.start(p.requestId, p.toInstanceId, nowS);
        if (t) out.push(t);
      }
    }
    return out;
  }

  private candidates(inst: Instance): MigrationCandidate[] {
    const out: MigrationCandidate[] = [];
    for (const s of inst.engine.runningDecodes()) {
      const requestId = inst.requests.get(s.seqId);
      const live = requestId !== undefined ? this.host.live.get(requestId) : undefined;
      if (!live || live.mig) continue;
      // Past its prediction, a decode is expected to run about as long again (heavy-tailed outputs), within its max.
      const left = s.predictedOutputTokens > s.outputTokens ? s.predictedOutputTokens - s.outputTokens : Math.min(s.outputTokens, s.maxOutputTokens - s.outputTokens);
      out.push({ requestId: live.req.requestId, instanceId: inst.setup.instanceId, contextTokens: s.promptTokens + s.outputTokens - 1, outputTokens: s.outputTokens, remainingTokens: Math.max(0, left), kvBlocks: s.kvBlocks });
    }
    return out;
  }

  /** Holds room on the destination and starts the first pre-copy; undefined when it cannot start. */
  start(requestId: string, toInstanceId: string, nowS: number): KvTransfer | undefined {
    const live = this.host.live.get(requestId);
    const to = this.host.instances.get(toInstanceId);
    if (!live || !to || live.mig || live.seqId < 0 || to === live.inst) return undefined;
    const seq = live.inst.engine.get(live.seqId);
    if (!seq || seq.phase !== 'running' || seq.outputTokens === 0) return undefined;
    const bt = this.host.blockTokens;
    const context = seq.promptTokens + seq.outputTokens - 1;
    const blocks = blocksFor(context, bt);
    // Room for what it writes while copying: the copy time's worth of decode steps, and a block for the tail.
    const copyS = this.host.cost.fetchS(to.view, blocks, 'nvlink');
    const growTokens = Math.ceil(copyS / Math.max(1e-4, this.host.cost.decodeStepS(live.inst.view))) * MAX_ROUNDS;
    const holdBlocks = blocksFor(context + growTokens, bt) + 1;
    const holdId = this.hold();
    if (!to.engine.holdIncoming(holdId, holdBlocks)) return undefined;
    live.mig = { phase: 'precopy', fromInstanceId: live.inst.setup.instanceId, toInstanceId, holdId, copiedTokens: Math.floor(context / bt) * bt, startedS: nowS, rounds: 1 };
    this.migrating++;
    this.stats.migrationsStarted++;
    this.host.syncView(to);
    return this.counted({ kind: 'precopy', requestId, fromInstanceId: live.inst.setup.instanceId, toInstanceId, blocks }, live.inst);
  }

  private counted(t: KvTransfer, inst: Instance): KvTransfer {
    this.stats.migrationBlocks += t.blocks;
    this.stats.migrationBytes += t.blocks * this.host.kvBytesPerBlock(inst.setup.pool);
    return t;
  }

  /**
   * A pre-copy round finished; the source is between steps. Returns the next transfer (another round, or the
   * stop-and-copy of the tail, the sequence having left its source), or undefined when the move was abandoned
   * (the request ended or was preempted meanwhile).
   */
  copied(requestId: string, nowS: number): KvTransfer | undefined {
    const live = this.host.live.get(requestId);
    const mig = live?.mig;
    if (!live || !mig || mig.phase !== 'precopy') return undefined;
    const from = live.inst;
    const seq = from.engine.get(live.seqId);
    if (!seq || seq.phase !== 'running' || seq.outputTokens === 0) {
      this.stats.migrationsAborted++;
      this.dropMigration(live);
      return undefined;
    }
    const bt = this.host.blockTokens;
    const context = seq.promptTokens + seq.outputTokens - 1;
    const tail = blocksFor(context, bt) - Math.floor(mig.copiedTokens / bt);
    const to = this.host.instances.get(mig.toInstanceId) as Instance;
    const base = { requestId, fromInstanceId: mig.fromInstanceId, toInstanceId: mig.toInstanceId, blocks: Math.max(1, tail) };
    if (mig.rounds < MAX_ROUNDS && this.host.cost.fetchS(to.view, base.blocks, 'nvlink') > this.migration.maxPauseS) {
      mig.rounds++;
      mig.copiedTokens = Math.floor(context / bt) * bt;
      return this.counted({ kind: 'precopy', ...base }, from);
    }
    const f = from.engine.cancel(live.seqId, 'migrated') as FinishedSeq;
    from.requests.delete(live.seqId);
    from.view.inFlightRequests--;
    live.seqId = -1;
    mig.phase = 'stopped';
    mig.stoppedS = nowS;
    mig.seq = f.seq;
    this.host.syncView(from);
    return this.counted({ kind: 'stop', ...base }, from);
  }

  /**
   * The tail arrived (ok): the destination adopts the sequence, decoding where it left off. The copy failed (!ok):
   * the room held for the KV is released and the destination recomputes the sequence (prompt + the tokens already
   * streamed) from scratch — the request goes on there, as after a lost hold.
   */
  finishMigration(requestId: string, nowS: number, ok = true): { instanceId: string } {
    const live = this.host.live.get(requestId);
    const mig = live?.mig;
    if (!live || !mig || mig.phase !== 'stopped' || !mig.seq) throw new Error(`finishMigration: request ${requestId} is not stopped for migration`);
    const to = this.host.instances.get(mig.toInstanceId) as Instance;
    const seq = mig.seq;
    const carried = { outputTokens: seq.outputTokens, enqueuedS: seq.enqueuedS, preemptions: seq.preemptions, ...(seq.firstTokenS !== undefined ? { firstTokenS: seq.firstTokenS } : {}) };
    const init = this.initOf(live, seq);
    if (!ok) to.engine.releaseIncoming(mig.holdId);
    let seqId = ok ? to.engine.adopt(init, { ...carried, computedTokens: seq.promptTokens + seq.outputTokens - 1, holdId: mig.holdId }, nowS) : undefined;
    if (seqId === undefined) {
      this.stats.migrationRecomputes++;
      seqId = to.engine.adopt(init, { ...carried, computedTokens: 0 }, nowS) as number;
    }
    this.stats.migrationsDone++;
    this.stats.migrationPausesS.push(nowS - (mig.stoppedS as number));
    live.mig = undefined;
    this.migrating--;
    this.attach(live, to, seqId);
    return { instanceId: to.setup.instanceId };
  }
}

function freeBlocks(inst: Instance): number {
  const v = inst.view;
  return v.kvBlocksTotal - v.kvBlocksUsed - v.kvBlocksRetained;
}

export type { Pool };
