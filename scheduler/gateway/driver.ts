// The gateway loop: the scheduler core driving model instances on live workers. Per instance, one step in flight:
// planStep (real clock) → StepPlan over the instance's Step stream → StepResult → KV events into the KV index →
// EOS decided here (the request's max_tokens, or the model's context) → completeStep → tokens to each request's sink.
// The worker never finishes a sequence by itself; ended, cancelled and preempted sequences are freed on the worker
// through the next plan's finished_seq_ids. Cancels that arrive while a step is in flight wait for its end, so the
// engine never sees a sequence disappear under a running step.
// Parts: driver_plan.ts (plan items → the worker's sequences, moves), driver_results.ts (tokens, KV events,
// metrics of a result), driver_delivery.ts (sink calls in order), driver_failover.ts (worker failures, re-runs,
// rejoin); they share the driver's state through DriverCore (driver_types.ts).
import type { Shape } from '../core/types.js';
import { performance } from 'node:perf_hooks';
import type { StepStreamClient } from './step_stream.js';
import { Rejoiner } from './rejoin.js';
import { KvMoves } from './disagg.js';
import type { LiveCopyCalls } from './handoff.js';
import { PackedSequencesWriter } from '../rpc/packed_step.js';
import { Deliveries } from './driver_delivery.js';
import { fail, markDraining, rerun, rerunAll } from './driver_failover.js';
import { emptyMoves, hasPendingWork, planMoves, preempted, scheduled, stepPlan } from './driver_plan.js';
import { applyEvents, applyMoveResults, emit, recordStep, requestEnded } from './driver_results.js';
import type { AdmittedRequest, DriverCore, DriverOptions, InstRun, LiveReq, RequestSink } from './driver_types.js';

export type { AdmittedRequest, Clock, DriverInstance, DriverMetrics, DriverOptions, EndDetail, HandoffTarget, RequestSink } from './driver_types.js';
export { emptyMoves } from './driver_plan.js';

export class GatewayDriver {
  private readonly insts = new Map<string, InstRun>();
  private readonly live = new Map<string, LiveReq>();
  private readonly log: (line: string) => void;
  private readonly rejoiner: Rejoiner;
  private readonly moves: KvMoves;
  private idleWaiters: Array<() => void> = [];
  private readonly deliveries: Deliveries;
  private readonly core: DriverCore;
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
    this.deliveries = new Deliveries(this.log, () => {
      if (this.live.size === 0 && this.deliveries.size === 0) for (const w of this.idleWaiters.splice(0)) w();
    });
    this.core = {
      o,
      insts: this.insts,
      live: this.live,
      heldSessions: this.heldSessions,
      counters: this,
      rejoiner: this.rejoiner,
      stopped: () => this.stopped,
      log: this.log,
      metric: (call) => this.metric(call),
      inst: (id) => this.inst(id),
      kick: (inst) => this.kick(inst),
      attach: (inst, stream) => this.attach(inst, stream),
      deliver: (d) => this.deliveries.deliver(d),
      deliverTokens: (sink, tokenIds) => this.deliveries.deliverTokens(sink, tokenIds),
      applyCancels: (inst) => this.applyCancels(inst),
      afterStep: (inst) => this.moves.afterStep(inst),
      rerun: (inst, live, message) => rerun(this.core, inst, live, message),
    };
    this.moves = new KvMoves({
      sched: o.sched,
      clock: o.clock,
      log: this.log,
      timeoutMs: o.handoffTimeoutMs ?? 30_000,
      live: (id) => this.live.get(id),
      inst: (id) => this.inst(id),
      kick: (inst) => this.kick(inst),
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
      if (inst.stream === stream && !this.stopped) fail(this.core, inst, err.message);
    });
  }

  /** See Deliveries.tokensAfterNextPlan (driver_delivery.ts). */
  get tokensAfterNextPlan(): boolean {
    return this.deliveries.tokensAfterNextPlan;
  }

  set tokensAfterNextPlan(on: boolean) {
    this.deliveries.tokensAfterNextPlan = on;
  }

  /** Makes the pending sink calls now (see driver_delivery.ts). */
  flush(): void {
    this.deliveries.flush();
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
    if (this.live.size === 0 && this.deliveries.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops timers and rejoin probes and ends every stream (shutdown). */
  stop(): void {
    this.stopped = true;
    this.deliveries.flush();
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
        if (!hasPendingWork(inst)) break;
        // A request admitted while this free-only plan is in flight only sets `again`: look again after it.
        await this.freeOnly(inst);
        if (!inst.again) break;
      }
    } catch (error) {
      fail(this.core, inst, (error as Error).message);
    } finally {
      inst.busy = false;
    }
  }

  /** One step; false when the plan was empty (nothing to run now). */
  private async step(inst: InstRun): Promise<boolean> {
    if (inst.failed || !inst.stream) {
      // Placed here just before the failure was known: re-run elsewhere or end with the error, never hang.
      rerunAll(this.core, inst, inst.failed ?? 'no stream to the worker');
      return false;
    }
    const stream = inst.stream;
    const sched = this.o.sched;
    const t0 = this.o.metrics ? performance.now() : 0;
    const plan = sched.planStep(inst.instanceId, this.o.clock());
    if (this.o.metrics) this.metric(() => this.o.metrics?.schedulingLatency('plan_step', (performance.now() - t0) / 1000));
    for (const p of plan.preempted) preempted(this.core, inst, p.seqId, p.mode);
    this.preemptions += plan.preempted.length;
    planMoves(this.core, inst, plan);
    if (plan.items.length === 0) {
      const ended = sched.completeStep(inst.instanceId, plan, { stepId: plan.stepId, durationS: 0, finishedSeqIds: [] }, this.o.clock());
      for (const e of ended) requestEnded(this.core, inst, e, undefined);
      this.moves.afterStep(inst);
      this.wakeAt(inst, plan.holdUntilS);
      // A plan can be empty only because it preempted (freed KV) this step: the next plan uses the room.
      return ended.length > 0 || plan.preempted.length > 0;
    }
    const packed = new PackedSequencesWriter(plan.items.length);
    for (const item of plan.items) scheduled(this.core, inst, item, packed);
    inst.outstanding = plan;
    const sent = stream.send(stepPlan(inst, packed.finish()));
    // With tokensAfterNextPlan the previous step's tokens wait for their setImmediate (driver_delivery.ts): Node
    // sends the plan's HTTP/2 frames in its own (native) immediates, which run first, so the worker has the plan
    // while the gateway spends its time writing to the client streams.
    const result = await sent;
    if (inst.outstanding !== plan) return false; // the instance failed under this step (its plan was settled)
    inst.outstanding = null;
    this.stepsRun++;
    if (this.o.metrics) recordStep(this.core, inst, plan, result.durationS);
    applyMoveResults(this.core, inst, result);
    applyEvents(this.core, inst, result);
    const errors = emit(this.core, inst, plan, result);
    const finished: number[] = [];
    for (const item of plan.items) {
      const s = inst.seqs.get(item.seqId) as LiveReq;
      if (s.emitting && !errors.has(item.seqId) && (s.outputs >= s.maxTokens || item.numCachedTokens + item.numNewTokens + 1 >= this.o.maxContextTokens)) finished.push(item.seqId);
      s.emitting = false;
    }
    const ended = sched.completeStep(inst.instanceId, plan, { stepId: plan.stepId, durationS: result.durationS, finishedSeqIds: finished }, this.o.clock());
    for (const e of ended) requestEnded(this.core, inst, e, undefined);
    // The step boundary: hand-offs this step started (prefills that sampled their first token) and migrations
    // waiting to stop their sequence here.
    this.moves.afterStep(inst);
    for (const [seqId, message] of errors) {
      const s = inst.seqs.get(seqId);
      if (!s) continue;
      if (message.startsWith('E_DRAINING:')) {
        // The worker is being stopped or rolled: no new work here; this request starts elsewhere (nothing streamed).
        markDraining(this.core, inst);
        rerun(this.core, inst, s, 'its worker is draining');
      } else {
        this.cancelNow(inst, s.requestId, `worker: ${message}`, message);
      }
    }
    return true;
  }

  private applyCancels(inst: InstRun): void {
    for (const c of inst.cancels.splice(0)) this.cancelNow(inst, c.requestId, c.reason);
  }

  private cancelNow(inst: InstRun, requestId: string, reason: string, error?: string): void {
    const e = this.o.sched.cancel(requestId, reason, this.o.clock());
    if (e) requestEnded(this.core, inst, e, error);
  }

  /** Frees ended sequences and applies pending moves on an idle instance's worker (a plan with no sequences). */
  private async freeOnly(inst: InstRun): Promise<void> {
    if (inst.failed || !inst.stream) return;
    const result = await inst.stream.send(stepPlan(inst, undefined));
    applyMoveResults(this.core, inst, result);
    applyEvents(this.core, inst, result);
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
