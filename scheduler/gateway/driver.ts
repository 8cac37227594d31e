// The gateway loop: the scheduler core driving model instances on live workers. Per instance, one step in flight:
// planStep (real clock) → StepPlan over the instance's Step stream → StepResult → KV events into the KV index →
// EOS decided here (the request's max_tokens, or the model's context) → completeStep → tokens to each request's sink.
// The worker never finishes a sequence by itself; ended, cancelled and preempted sequences are freed on the worker
// through the next plan's finished_seq_ids. Cancels that arrive while a step is in flight wait for its end, so the
// engine never sees a sequence disappear under a running step.
// Failures: when an instance's Step stream ends or breaks (the worker died, or the stream was cut), the instance is
// marked unhealthy (no new placements), its tray's KV is forgotten by the index, and each of its requests is re-run
// elsewhere — resubmitted as a continuation (prompt + the tokens already streamed, the remaining max_tokens) so the
// client's stream goes on — or, when no instance takes it, ended with a clear error. The instance then probes its
// worker with backoff and rejoins once it answers (fresh stream, KV snapshot), see rejoin.ts.
import type { EnginePlan } from '../core/engine/types.js';
import type { EndedRequest } from '../core/scheduler.js';
import type { ScheduleRequest, Shape } from '../core/types.js';
import type { StepPlan } from '../gen/proto/nvlsched/v1/StepPlan.js';
import type { StepResult__Output } from '../gen/proto/nvlsched/v1/StepResult.js';
import { performance } from 'node:perf_hooks';
import { packEvents } from '../kv/event_batch.js';
import { packSequences, unpackOutputs, type PackableSequence } from '../rpc/packed_step.js';
import type { StepStreamClient } from './step_stream.js';
import { eventsFromProto } from './kv_events.js';
import { Rejoiner } from './rejoin.js';
import { KvMoves } from './disagg.js';
import type { LiveCopyCalls } from './handoff.js';
import type { AdmittedRequest, DriverMetrics, DriverOptions, EndDetail, InstRun, LiveReq, RequestSink } from './driver_types.js';

export type { AdmittedRequest, Clock, DriverInstance, DriverMetrics, DriverOptions, EndDetail, HandoffTarget, RequestSink } from './driver_types.js';

/** Re-runs of one request after worker failures before it ends with an error. */
const MAX_RERUNS = 3;

export const emptyMoves = (): InstRun['moves'] => ({ holds: [], swapOut: [], swapIn: [], sessionMoves: [], releases: [] });

export class GatewayDriver {
  private readonly insts = new Map<string, InstRun>();
  private readonly live = new Map<string, LiveReq>();
  private readonly log: (line: string) => void;
  private readonly rejoiner: Rejoiner;
  private readonly moves: KvMoves;
  private idleWaiters: Array<() => void> = [];
  /**
   * Sink calls (tokens, ends) not yet made, in order (only with tokensAfterNextPlan). They go to the clients right
   * after the instance's next plan is sent (step()), else once the current turn of the event loop is done. Every
   * sink call goes through here, so one request's tokens never follow its end.
   */
  /**
   * true: a step's tokens are written to the clients after the instance's next plan is sent, so the worker computes
   * while the gateway writes. false (default): written at once, then the next plan. `bench overhead` runs both,
   * alternated: on the 2-core dev VM, where gateway, worker and clients share the cores, writing first was faster
   * (row c' vs c); with the worker on its own machine the overlap may win — not measured yet.
   */
  tokensAfterNextPlan = false;
  private deliveries: Array<{ sink: RequestSink; tokenIds?: readonly number[]; end?: [EndedRequest, EndDetail] }> = [];
  private flushScheduled = false;
  private stopped = false;
  stepsRun = 0;
  /** Sequences the engine preempted (freed on the worker, re-allocated when they run again). */
  preemptions = 0;
  /** Requests re-run elsewhere after their instance failed; failures; rejoins. */
  reruns = 0;
  failures = 0;
  rejoins = 0;
  /** Swap preemptions sent to workers; sequences a worker freed instead of moving (they recompute). */
  swapsOut = 0;
  swapFallbacks = 0;
  /** Session id → the instance whose worker holds its previous turn's KV. */
  private readonly heldSessions = new Map<string, string>();

  constructor(private readonly o: DriverOptions) {
    this.log = o.log ?? (() => undefined);
    this.rejoiner = new Rejoiner({ log: this.log, ...(o.rejoinBackoffMs ? { backoffMs: o.rejoinBackoffMs } : {}) });
    this.moves = new KvMoves({
      sched: o.sched,
      clock: o.clock,
      log: this.log,
      timeoutMs: o.handoffTimeoutMs ?? 30_000,
      live: (id) => this.live.get(id),
      inst: (id) => this.inst(id),
      kick: (inst) => this.kick(inst),
      rerun: (inst, live, message) => this.rerun(inst, live, message),
      metric: (call) => this.metric(call),
      ...(o.metrics ? { metrics: o.metrics } : {}),
    });
    if (o.migrationTimer !== false) this.moves.startTimer();
    for (const d of o.instances) {
      const inst: InstRun = { ...d, stream: null, outstanding: null, busy: false, again: false, failed: null, seqs: new Map(), byWire: new Map(), migrationStops: [], toFree: [], moves: emptyMoves(), cancels: [], timer: null, stepId: 0 };
      this.insts.set(d.instanceId, inst);
      this.attach(inst, d.connect());
    }
  }

  private attach(inst: InstRun, stream: StepStreamClient): void {
    inst.stream = stream;
    // A stream that closes while idle (the worker died between steps) fails the instance at once; one that closes
    // under a step also rejects that step's send, and whichever comes first does the work.
    stream.onClose((err) => {
      if (inst.stream === stream && !this.stopped) this.fail(inst, err.message);
    });
  }

  get liveRequests(): number {
    return this.live.size;
  }

  /** Takes a request the scheduler admitted onto `instanceId`. */
  admitted(instanceId: string, a: AdmittedRequest, sink: RequestSink): void {
    const inst = this.inst(instanceId);
    const { req } = a;
    this.live.set(req.requestId, {
      requestId: req.requestId,
      sink,
      req,
      shape: a.shape ?? 'unknown',
      maxTokens: a.maxTokens,
      promptTokens: req.promptTokens,
      hashes: req.blockHashes,
      arrivalS: req.arrivalS,
      prior: { outputs: 0, costUsd: 0, firstTokenS: undefined, reruns: 0 },
      firstPlannedS: null,
      seqId: -1,
      wire: -1,
      adoptedWire: null,
      move: null,
      onWorker: false,
      hashedBlocks: 0,
      outputs: 0,
      emitting: false,
      instanceId,
      swapped: false,
      releaseOnFirstRun: null,
    });
    if (req.sessionId !== undefined) this.nextTurn(req.sessionId, this.live.get(req.requestId) as LiveReq);
    this.kick(inst);
  }

  /**
   * The id the worker knows a just-bound sequence by: the engine's, or the one a committed hand-off/migration gave
   * it there. An adopted sequence the engine plans as a prefill (it recomputes after all: a hold was lost) starts
   * afresh on the worker, the committed copy freed.
   */
  private bindWire(inst: InstRun, s: LiveReq, prefill: boolean): void {
    const adopted = s.adoptedWire;
    s.adoptedWire = null;
    if (adopted !== null && prefill) {
      inst.toFree.push(adopted);
      s.onWorker = false;
    }
    s.wire = adopted !== null && !prefill ? adopted : s.seqId;
    inst.byWire.set(s.wire, s);
  }

  /** Runs the migration policy once (the timer does it every Scheduler.migrationPeriodS); returns moves started. */
  migrationTick(): number {
    return this.moves.tick();
  }

  /** Moves one running decode to another instance now (operators, tests); false when the scheduler refuses. */
  migrate(requestId: string, toInstanceId: string): boolean {
    return this.moves.migrate(requestId, toInstanceId);
  }

  /**
   * Lets migrations from and to `instanceId` pre-copy live (disagg.ts; handoff.ts liveCopyCalls on the instance's
   * worker client); null: stop-and-copy only. Both ends of a move need them.
   */
  setLiveCopy(instanceId: string, calls: LiveCopyCalls | null): void {
    this.inst(instanceId);
    this.moves.setLiveCopy(instanceId, calls);
  }

  /** Hand-off and migration counters (disagg.ts). */
  get kvMoves(): KvMoves['stats'] {
    return this.moves.stats;
  }

  /** Sessions whose previous turn's KV a worker holds now. */
  get heldSessionCount(): number {
    return this.heldSessions.size;
  }

  /**
   * A session's next turn was admitted: the scheduler released its retained context, so the worker's hold goes —
   * in the plan that first runs the new turn when that is on the same instance (it shares the held blocks first),
   * at once elsewhere.
   */
  private nextTurn(sessionId: string, live: LiveReq): void {
    const holder = this.heldSessions.get(sessionId);
    if (holder === undefined) return;
    this.heldSessions.delete(sessionId);
    if (holder === live.instanceId) {
      live.releaseOnFirstRun = sessionId;
      return;
    }
    const h = this.insts.get(holder);
    if (!h || h.failed) return;
    h.moves.releases.push(sessionId);
    this.kick(h);
  }

  /** Cancels a live request (client Cancel or disconnect); false when it is unknown or already ended. */
  cancel(requestId: string, reason: string): boolean {
    const live = this.live.get(requestId);
    if (!live) return false;
    const inst = this.inst(live.instanceId);
    if (inst.busy) inst.cancels.push({ requestId, reason });
    else {
      this.cancelNow(inst, requestId, reason);
      this.kick(inst);
    }
    return true;
  }

  /** Cancels every live request (shutdown). */
  cancelAll(reason: string): void {
    for (const requestId of [...this.live.keys()]) this.cancel(requestId, reason);
  }

  /** Resolves once no request is live (shutdown, tests). */
  idle(): Promise<void> {
    if (this.live.size === 0 && this.deliveries.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops timers and rejoin probes and ends every stream (shutdown). */
  stop(): void {
    this.stopped = true;
    this.flush();
    this.rejoiner.stop();
    this.moves.stop();
    for (const inst of this.insts.values()) {
      if (inst.timer) clearTimeout(inst.timer);
      inst.stream?.end();
    }
  }

  private inst(id: string): InstRun {
    const inst = this.insts.get(id);
    if (!inst) throw new Error(`gateway: unknown instance ${id}`);
    return inst;
  }

  private kick(inst: InstRun): void {
    if (inst.busy) {
      inst.again = true;
      return;
    }
    this.loop(inst).catch((error: Error) => this.log(`instance ${inst.instanceId}: ${error.message}`));
  }

  private async loop(inst: InstRun): Promise<void> {
    inst.busy = true;
    try {
      for (;;) {
        inst.again = false;
        const ran = await this.step(inst);
        this.applyCancels(inst);
        if (ran || inst.again) continue;
        if (!this.hasPendingWork(inst)) break;
        // A request admitted while this free-only plan is in flight only sets `again`: look again after it.
        await this.freeOnly(inst);
        if (!inst.again) break;
      }
    } catch (error) {
      this.fail(inst, (error as Error).message);
    } finally {
      inst.busy = false;
    }
  }

  /** One step; false when the plan was empty (nothing to run now). */
  private async step(inst: InstRun): Promise<boolean> {
    if (inst.failed || !inst.stream) {
      // Placed here just before the failure was known: re-run elsewhere or end with the error, never hang.
      this.rerunAll(inst, inst.failed ?? 'no stream to the worker');
      return false;
    }
    const stream = inst.stream;
    const sched = this.o.sched;
    const t0 = this.o.metrics ? performance.now() : 0;
    const plan = sched.planStep(inst.instanceId, this.o.clock());
    if (this.o.metrics) this.metric(() => this.o.metrics?.schedulingLatency('plan_step', (performance.now() - t0) / 1000));
    for (const p of plan.preempted) this.preempted(inst, p.seqId, p.mode);
    this.preemptions += plan.preempted.length;
    this.planMoves(inst, plan);
    if (plan.items.length === 0) {
      const ended = sched.completeStep(inst.instanceId, plan, { stepId: plan.stepId, durationS: 0, finishedSeqIds: [] }, this.o.clock());
      for (const e of ended) this.ended(inst, e, undefined);
      this.moves.afterStep(inst);
      this.wakeAt(inst, plan.holdUntilS);
      // A plan can be empty only because it preempted (freed KV) this step: the next plan uses the room.
      return ended.length > 0 || plan.preempted.length > 0;
    }
    const sequences = plan.items.map((item) => this.scheduled(inst, item));
    inst.outstanding = plan;
    const sent = stream.send(this.stepPlan(inst, sequences));
    // The previous step's tokens go out now, while the worker runs this plan (in this turn of the event loop, so the
    // client streams' writes and the plan share socket flushes).
    if (this.deliveries.length > 0) this.flush();
    const result = await sent;
    if (inst.outstanding !== plan) return false; // the instance failed under this step (its plan was settled)
    inst.outstanding = null;
    this.stepsRun++;
    if (this.o.metrics) this.recordStep(inst, plan, result.durationS);
    this.applyMoveResults(inst, result);
    this.applyEvents(inst, result);
    const errors = this.emit(inst, plan, result);
    const finished: number[] = [];
    for (const item of plan.items) {
      const s = inst.seqs.get(item.seqId) as LiveReq;
      if (s.emitting && !errors.has(item.seqId) && (s.outputs >= s.maxTokens || item.numCachedTokens + item.numNewTokens + 1 >= this.o.maxContextTokens)) finished.push(item.seqId);
      s.emitting = false;
    }
    const ended = sched.completeStep(inst.instanceId, plan, { stepId: plan.stepId, durationS: result.durationS, finishedSeqIds: finished }, this.o.clock());
    for (const e of ended) this.ended(inst, e, undefined);
    // The step boundary: hand-offs this step started (prefills that sampled their first token) and migrations
    // waiting to stop their sequence here.
    this.moves.afterStep(inst);
    for (const [seqId, message] of errors) {
      const s = inst.seqs.get(seqId);
      if (!s) continue;
      if (message.startsWith('E_DRAINING:')) {
        // The worker is being stopped or rolled: no new work here; this request starts elsewhere (nothing streamed).
        this.markDraining(inst);
        this.rerun(inst, s, 'its worker is draining');
      } else {
        this.cancelNow(inst, s.requestId, `worker: ${message}`, message);
      }
    }
    return true;
  }

  /** The proto form of one plan item; first sight of a sequence binds it to its request. */
  private scheduled(inst: InstRun, item: EnginePlan['items'][number]): PackableSequence {
    let s = inst.seqs.get(item.seqId);
    if (!s) {
      const found = this.o.sched.sequence(inst.instanceId, item.seqId);
      s = found ? this.live.get(found.requestId) : undefined;
      if (!s) throw new Error(`gateway: instance ${inst.instanceId} planned unknown sequence ${item.seqId}`);
      s.seqId = item.seqId;
      inst.seqs.set(item.seqId, s);
      this.bindWire(inst, s, item.kind === 'prefill');
    }
    s.firstPlannedS ??= this.o.clock();
    const tokens = item.numCachedTokens + item.numNewTokens;
    const first = !s.onWorker;
    if (first) s.hashedBlocks = 0;
    if (first && s.releaseOnFirstRun !== null) {
      inst.moves.releases.push(s.releaseOnFirstRun);
      s.releaseOnFirstRun = null;
    }
    const upTo = Math.min(s.hashes.length, Math.floor(tokens / this.o.blockTokens));
    const blockHashes = s.hashedBlocks < upTo ? s.hashes.slice(s.hashedBlocks, upTo) : [];
    s.hashedBlocks = Math.max(s.hashedBlocks, upTo);
    s.onWorker = true;
    // A token comes out once the prompt is in: a partial prefill chunk's sample is dropped (as an engine does).
    s.emitting = tokens >= s.promptTokens + s.outputs;
    // The room the engine holds for this sequence beyond what the step fills (rest of the prompt, its output
    // reservation): the worker reserves exactly that, so both ledgers agree and the worker never runs out first.
    const held = first ? this.o.sched.sequence(inst.instanceId, item.seqId)?.seq.kvBlocks ?? 0 : 0;
    const reserveTokens = first ? Math.max(0, Math.min(held * this.o.blockTokens - tokens, this.o.maxContextTokens - tokens)) : 0;
    return {
      seqId: s.wire,
      gpu: inst.gpu,
      numTokens: item.numNewTokens,
      isPrefill: item.kind === 'prefill',
      blockHashes,
      reserveTokens,
      numCachedTokens: first ? item.numCachedTokens : 0,
    };
  }

  /** Tokens of the sequences that emitted; returns the sequences the worker could not run (seqId → message). */
  private emit(inst: InstRun, plan: EnginePlan, result: StepResult__Output): Map<number, string> {
    const errors = new Map<number, string>();
    // A packed plan's answer: the outputs that ran in packed columns, only refused sequences as messages.
    const ran = result.packedOutputs !== undefined && result.packedOutputs.length > 0 ? unpackOutputs(result.packedOutputs) : [];
    // Outputs name the worker's ids (the engine's, except for sequences that came by hand-off or migration).
    for (const out of ran) this.tokens(inst.byWire.get(out.seqId), out.tokenIds);
    for (const out of result.outputs) {
      const s = inst.byWire.get(out.seqId);
      if (out.errorCode !== '') {
        if (s) errors.set(s.seqId, `${out.errorCode}: ${out.errorMessage}`);
        continue;
      }
      this.tokens(s, out.tokenIds);
    }
    // A sequence of the plan with no output at all did not run: treat it as a worker error, not a silent stall.
    if (ran.length + result.outputs.length < plan.items.length) {
      const seen = new Set([...ran, ...result.outputs].map((o) => inst.byWire.get(o.seqId)?.seqId));
      for (const item of plan.items) if (!seen.has(item.seqId)) errors.set(item.seqId, result.errorMessage || 'no output for the sequence');
    }
    return errors;
  }

  private tokens(s: LiveReq | undefined, tokenIds: readonly number[]): void {
    if (!s || !s.emitting || tokenIds.length === 0) return;
    s.outputs += tokenIds.length;
    this.deliver({ sink: s.sink, tokenIds });
  }

  private applyEvents(inst: InstRun, result: StepResult__Output): void {
    if (result.kvEvents.length === 0) return;
    if (this.o.metrics) this.recordKvEvents(inst, result);
    const batch = packEvents(eventsFromProto(result.kvEvents));
    if (!this.o.sched.applyKvEvents(inst.workerId, batch).resyncNeeded) return;
    void inst.snapshot().then(
      (snap) => this.o.sched.applyKvSnapshot(inst.workerId, snap),
      (err: Error) => this.log(`snapshot of ${inst.workerId} failed: ${err.message}`),
    );
  }

  private preempted(inst: InstRun, seqId: number, mode: 'recompute' | 'swap'): void {
    const s = inst.seqs.get(seqId);
    if (!s || !s.onWorker || s.swapped) return;
    if (mode === 'swap') {
      // Its blocks move to Grace before the plan's step; they come back when the engine resumes it (swappedIn).
      inst.moves.swapOut.push(s.wire);
      s.swapped = true;
      this.swapsOut++;
      return;
    }
    // Recompute: the worker frees it now and allocates again (cached + new tokens) when it next runs.
    inst.toFree.push(s.wire);
    s.onWorker = false;
  }

  /** The plan's swap-ins and idle-session decisions, as moves for the worker. */
  private planMoves(inst: InstRun, plan: EnginePlan): void {
    for (const m of plan.swappedIn) {
      const s = inst.seqs.get(m.seqId);
      if (!s?.swapped) continue;
      s.swapped = false;
      inst.moves.swapIn.push(s.wire);
    }
    for (const key of plan.evictedSessions) {
      if (this.heldSessions.get(key) !== inst.instanceId) continue;
      this.heldSessions.delete(key);
      inst.moves.releases.push(key);
    }
    for (const m of plan.sessionMoves) {
      if (this.heldSessions.get(m.sessionKey) === inst.instanceId) inst.moves.sessionMoves.push({ sessionKey: m.sessionKey, toHost: m.to === 'host', gpu: inst.gpu });
    }
  }

  /** The StepPlan message: the sequences plus every pending free and move of the instance. */
  private stepPlan(inst: InstRun, sequences: PackableSequence[]): StepPlan {
    const m = inst.moves;
    inst.moves = emptyMoves();
    return {
      stepId: ++inst.stepId,
      instanceId: inst.instanceId,
      // Packed columns: the worker answers with packed outputs (scheduler/rpc/packed_step.ts, bench overhead).
      ...(sequences.length > 0 ? { packedSequences: packSequences(sequences) } : {}),
      finishedSeqIds: inst.toFree.splice(0),
      holdSessions: m.holds,
      swapOutSeqIds: m.swapOut,
      swapInSeqIds: m.swapIn,
      sessionMoves: m.sessionMoves,
      releaseSessions: m.releases,
    };
  }

  private hasPendingWork(inst: InstRun): boolean {
    const m = inst.moves;
    return inst.toFree.length + m.holds.length + m.swapOut.length + m.swapIn.length + m.sessionMoves.length + m.releases.length > 0;
  }

  /** What the worker could not move: freed sequences re-allocate on their next step; dropped sessions are gone. */
  private applyMoveResults(inst: InstRun, result: StepResult__Output): void {
    for (const id of result.freedSeqIds ?? []) {
      const s = inst.byWire.get(id);
      if (!s) continue;
      s.onWorker = false;
      s.swapped = false;
      this.swapFallbacks++;
      this.log(`instance ${inst.instanceId}: the worker had no room to move seq ${id}; it re-allocates`);
    }
    for (const key of result.droppedSessions ?? []) {
      if (this.heldSessions.get(key) === inst.instanceId) this.heldSessions.delete(key);
    }
  }

  private applyCancels(inst: InstRun): void {
    for (const c of inst.cancels.splice(0)) this.cancelNow(inst, c.requestId, c.reason);
  }

  private cancelNow(inst: InstRun, requestId: string, reason: string, error?: string): void {
    const e = this.o.sched.cancel(requestId, reason, this.o.clock());
    if (e) this.ended(inst, e, error);
  }

  private ended(inst: InstRun, e: EndedRequest, error: string | undefined): void {
    const live = this.live.get(e.requestId);
    if (!live) return;
    if (live.seqId >= 0) {
      inst.seqs.delete(live.seqId);
      inst.byWire.delete(live.wire);
      if (live.onWorker) {
        const sessionId = live.req.sessionId;
        // A completed turn whose context the scheduler retains: the worker holds its blocks instead of freeing.
        const tier = sessionId !== undefined && e.end.kind === 'completed' && !live.swapped ? this.o.sched.sessionTier(inst.instanceId, sessionId) : undefined;
        if (tier !== undefined && sessionId !== undefined) {
          const before = this.heldSessions.get(sessionId);
          if (before !== undefined && before !== inst.instanceId) this.insts.get(before)?.moves.releases.push(sessionId);
          inst.moves.holds.push({ seqId: live.wire, sessionKey: sessionId, toHost: tier === 'host' });
          this.heldSessions.set(sessionId, inst.instanceId);
        } else {
          inst.toFree.push(live.wire);
        }
      }
    }
    this.finish(live, e, error);
  }

  /** The request's one end, as the client sees it: over all its runs (a re-run continues the first). */
  private finish(live: LiveReq, e: EndedRequest, error: string | undefined): void {
    this.live.delete(live.requestId);
    const p = live.prior;
    const whole: EndedRequest =
      p.reruns === 0
        ? e
        : {
            ...e,
            promptTokens: live.req.promptTokens,
            outputTokens: e.outputTokens + p.outputs,
            ...(p.firstTokenS !== undefined || e.firstTokenS !== undefined ? { firstTokenS: p.firstTokenS ?? e.firstTokenS } : {}),
            cost: { ...e.cost, usd: e.cost.usd + p.costUsd },
          };
    const queueS = (live.firstPlannedS ?? e.endS) - live.arrivalS;
    this.deliver({ sink: live.sink, end: [whole, { queueS, ...(error !== undefined ? { error } : {}) }] });
  }

  private deliver(d: { sink: RequestSink; tokenIds?: readonly number[]; end?: [EndedRequest, EndDetail] }): void {
    this.deliveries.push(d);
    if (!this.tokensAfterNextPlan) return this.flush();
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  /** Makes the pending sink calls in order (a sink that throws is logged; the rest are still made). */
  flush(): void {
    this.flushScheduled = false;
    const batch = this.deliveries;
    this.deliveries = [];
    for (const d of batch) {
      try {
        if (d.tokenIds) d.sink.onTokens(d.tokenIds);
        else if (d.end) d.sink.onEnd(d.end[0], d.end[1]);
      } catch (error) {
        this.log(`a request's sink threw: ${(error as Error).message}`);
      }
    }
    if (this.live.size === 0 && this.deliveries.length === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  /** Frees ended sequences and applies pending moves on an idle instance's worker (a plan with no sequences). */
  private async freeOnly(inst: InstRun): Promise<void> {
    if (inst.failed || !inst.stream) return;
    const result = await inst.stream.send(this.stepPlan(inst, []));
    this.applyMoveResults(inst, result);
    this.applyEvents(inst, result);
  }

  private wakeAt(inst: InstRun, atS: number | null): void {
    if (atS === null) return;
    if (inst.timer) clearTimeout(inst.timer);
    const delayMs = Math.max(0, (atS - this.o.clock()) * 1000);
    inst.timer = setTimeout(() => {
      inst.timer = null;
      this.kick(inst);
    }, delayMs);
  }

  /**
   * The instance's stream ended or broke. Pending client cancels are honoured first; every other request of the
   * instance is re-run elsewhere; a step that was in flight is settled empty (its sequences are gone with the
   * worker); then the instance waits to rejoin.
   */
  private fail(inst: InstRun, message: string): void {
    if (inst.failed !== null || this.stopped) return;
    inst.failed = message;
    this.failures++;
    this.metric(() => this.o.metrics?.workerFailure(inst.workerId));
    const stream = inst.stream;
    inst.stream = null;
    stream?.cancel();
    this.log(`instance ${inst.instanceId} failed: ${message}`);
    const sched = this.o.sched;
    sched.setInstanceHealth(inst.instanceId, false);
    // What the tray held is unknown until it answers again (a restarted worker starts empty).
    sched.workerReconnected(inst.workerId);
    // The worker freed the instance's session holds with the stream: the scheduler must not count on them.
    sched.dropRetainedSessions(inst.instanceId, this.o.clock());
    inst.toFree = [];
    this.applyCancels(inst);
    this.rerunAll(inst, message);
    if (inst.outstanding) {
      const plan = inst.outstanding;
      inst.outstanding = null;
      const ended = sched.completeStep(inst.instanceId, plan, { stepId: plan.stepId, durationS: 0, finishedSeqIds: [] }, this.o.clock());
      for (const e of ended) this.ended(inst, e, message);
    }
    // Hand-offs that step started go on (the source is gone: they fail and the decode side recomputes).
    this.moves.afterStep(inst);
    inst.seqs.clear();
    inst.byWire.clear();
    inst.migrationStops = [];
    inst.toFree = [];
    inst.moves = emptyMoves();
    // The worker frees what it held for the instance when the stream ends (or lost it with the process).
    for (const [key, holder] of [...this.heldSessions]) if (holder === inst.instanceId) this.heldSessions.delete(key);
    this.rejoiner.start(inst.instanceId, () => this.rejoin(inst));
  }

  private markDraining(inst: InstRun): void {
    if (this.o.sched.instanceView(inst.instanceId).draining) return;
    this.o.sched.setInstanceDraining(inst.instanceId, true);
    this.log(`instance ${inst.instanceId}: its worker is draining; no new requests go there`);
  }

  private rerunAll(inst: InstRun, message: string): void {
    for (const live of [...this.live.values()]) if (live.instanceId === inst.instanceId) this.rerun(inst, live, message);
  }

  /**
   * Ends this run in the scheduler and submits the continuation: the prompt plus the tokens already streamed
   * (recomputed on the new instance; a prefix hit covers the original prompt where it is cached), for the tokens
   * still owed. Ends the request with an error when it has been re-run too often or no instance takes it.
   */
  private rerun(inst: InstRun, live: LiveReq, message: string): void {
    const sched = this.o.sched;
    const nowS = this.o.clock();
    if (live.seqId >= 0) {
      inst.seqs.delete(live.seqId);
      inst.byWire.delete(live.wire);
    }
    const run = sched.cancel(live.requestId, `worker failed: ${message}`, nowS);
    if (!run) return;
    const p = live.prior;
    const streamed = p.outputs + live.outputs;
    const owed = p.outputs + live.maxTokens - streamed;
    p.outputs = streamed;
    p.costUsd += run.cost.usd;
    if (live.outputs > 0) p.firstTokenS ??= run.firstTokenS;
    p.reruns++;
    // finish() reports the whole: this run's figures are now in `prior`.
    const runOnly: EndedRequest = { ...run, outputTokens: 0, cost: { ...run.cost, usd: 0 } };
    if (p.reruns > MAX_RERUNS) return this.finish(live, runOnly, `worker failed: ${message} (re-run ${MAX_RERUNS} times already)`);
    if (owed <= 0) return this.finish(live, runOnly, undefined);
    const req: ScheduleRequest = { ...live.req, promptTokens: live.req.promptTokens + streamed, maxOutputTokens: owed };
    const res = sched.submit(req, nowS);
    if (!res.ok) return this.finish(live, runOnly, `worker failed: ${message}; re-run rejected: ${res.end.code}: ${res.end.reason}`);
    if (res.external) return this.finish(live, runOnly, `worker failed: ${message}; re-run routed to external pool ${res.pool}, which cannot continue a stream`);
    this.reruns++;
    this.metric(() => this.o.metrics?.rerun({ shape: live.shape, pool: res.pool }));
    Object.assign(live, { instanceId: res.instanceId, seqId: -1, wire: -1, adoptedWire: null, move: null, onWorker: false, swapped: false, hashedBlocks: 0, outputs: 0, emitting: false, promptTokens: req.promptTokens, maxTokens: owed });
    this.log(`request ${live.requestId}: re-run on ${res.instanceId} after ${streamed} streamed tokens`);
    this.kick(this.inst(res.instanceId));
  }

  /** One rejoin attempt: the worker answers Health, a fresh stream opens, the KV index resyncs from a snapshot. */
  private async rejoin(inst: InstRun): Promise<void> {
    await inst.probe();
    const snapshot = await inst.snapshot();
    if (this.stopped) return;
    const stream = inst.connect();
    this.o.sched.applyKvSnapshot(inst.workerId, snapshot);
    inst.failed = null;
    inst.stepId = 0;
    this.attach(inst, stream);
    this.o.sched.setInstanceHealth(inst.instanceId, true);
    this.o.sched.setInstanceDraining(inst.instanceId, false);
    this.rejoins++;
    this.log(`instance ${inst.instanceId} rejoined`);
    this.kick(inst);
  }

  private recordStep(inst: InstRun, plan: EnginePlan, durationS: number): void {
    let numTokens = 0;
    for (const item of plan.items) numTokens += item.numNewTokens;
    const pool = this.o.sched.instanceView(inst.instanceId).pool;
    this.metric(() => this.o.metrics?.stepCompleted({ instanceId: inst.instanceId, pool, numTokens, numSeqs: plan.items.length, durationS, preemptions: plan.preempted.length }));
  }

  /** Removed blocks are evictions (freed blocks stay cached until evicted); moves are tier copies by link. */
  private recordKvEvents(inst: InstRun, result: StepResult__Output): void {
    const m = this.o.metrics as DriverMetrics;
    const removed = { device: 0, host: 0, disk: 0 };
    const tierOf = (t: string | undefined): 'device' | 'host' | 'disk' => (t === 'TIER_HOST' ? 'host' : t === 'TIER_DISK' ? 'disk' : 'device');
    for (const e of result.kvEvents) {
      if (e.removed) removed[tierOf(e.removed.location?.tier)]++;
      else if (e.moved) {
        const from = tierOf(e.moved.source?.tier);
        const to = tierOf(e.moved.destination?.tier);
        const link = from === 'disk' || to === 'disk' ? 'disk' : from === to ? 'nvlink' : (this.o.hostLink ?? 'c2c');
        this.metric(() => m.tierMove({ link, bytes: Number(e.moved?.bytes ?? 0) }));
      }
    }
    for (const tier of ['device', 'host', 'disk'] as const) {
      if (removed[tier] > 0) this.metric(() => m.eviction({ workerId: inst.workerId, tier, blocks: removed[tier] }));
    }
  }

  /** A metrics call that refuses its input must not stop the loop: logged once. */
  private metric(call: () => void): void {
    try {
      call();
    } catch (error) {
      if (this.metricsErrorSaid) return;
      this.metricsErrorSaid = true;
      this.log(`metrics: ${(error as Error).message} (further metrics errors are not logged)`);
    }
  }

  private metricsErrorSaid = false;

  /** Requests waiting for their first step, by shape (queue depth for metrics, read at scrape time). */
  queuedByShape(): Map<Shape | 'unknown', number> {
    const out = new Map<Shape | 'unknown', number>();
    for (const live of this.live.values()) if (live.firstPlannedS === null) out.set(live.shape, (out.get(live.shape) ?? 0) + 1);
    return out;
  }

  /** Whether an instance can take work (its stream is up). */
  healthy(instanceId: string): boolean {
    return this.insts.get(instanceId)?.failed === null;
  }
}
