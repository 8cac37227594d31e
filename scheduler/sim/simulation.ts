// The discrete-event simulator: the real Scheduler (scheduler/core) driven exactly as the gateway drives it —
// submit on arrival; per instance planStep → execute → completeStep — against simulated workers in virtual time.
// A simulated worker prices a step with the performance model's step predictor (plus C2C time for the KV the plan
// swaps or moves), keeps the KV of its sequences in a real native KV manager (metadata mode), drains that
// manager's events after each step into scheduler.applyKvEvents, and decides EOS from each request's true output
// length. No wall clock here: runSimulation (run.ts) times the run from outside.
//
// Invariant: every submitted request gets exactly one record — completed, rejected at submit, or cancelled (at the
// drain limit, or if the run stalls). Nothing is lost; tests count.
import { DEFAULT_SLOS } from '../core/classify/slo.js';
import type { TenantsConfig } from '../core/config/tenants.js';
import type { EnginePlan } from '../core/engine/types.js';
import { Scheduler, type EndedRequest, type SubmitResult } from '../core/scheduler.js';
import type { ScheduleRequest } from '../core/types.js';
import type { PerfCostModel } from '../perf/placement_cost.js';
import type { StepBreakdown, StepPredictor, StepSequence } from '../perf/step_types.js';
import { Rng } from '../util/random.js';
import type { RequestRecord, Workload, WorkloadRequest } from '../workload/types.js';
import { ClosedLoop, extendsPrefix } from './closed_loop.js';
import type { Cluster } from './cluster.js';
import { EventQueue } from './event_queue.js';
import { KvMirror } from './kv_mirror.js';
import type { InstRun, LiveReq, SeqRun } from './sim_types.js';
import { Transfers } from './transfers.js';
import { WorkerKv } from './worker_kv.js';

export type KvMode = 'native' | 'none';

export interface SimProgress {
  simulatedS: number;
  submitted: number;
  ended: number;
  live: number;
  steps: number;
}

export interface SimulationInput {
  workload: Workload;
  cluster: Cluster;
  policy?: unknown;
  classification?: unknown;
  tenants?: TenantsConfig;
  seed: number;
  durationS?: number;
  sessions?: number;
  kv: KvMode;
  maxDrainS: number;
  cost: PerfCostModel;
  /** Step predictor per instance shape (Cluster.shapes: one per tensor-parallel degree). */
  predictors: readonly StepPredictor[];
  onProgress?: (p: SimProgress) => void;
  /** Fault injection: share of KV hand-off transfers that fail (the decode side recomputes). Default 0. */
  handoffFailureRate?: number;
  /** Record each request's token times (Simulation.tokenTimes), for tests. Default false. */
  traceTokens?: boolean;
}

export interface SimStats {
  submitted: number;
  completed: number;
  rejected: number;
  cancelled: number;
  /** Requests cancelled because nothing could make progress (a bug if ever > 0). */
  stalled: number;
  /** Requests cancelled at the drain limit. */
  drainCancelled: number;
  /** Native KV calls that failed (a bug if ever > 0: the manager is sized not to run out first). */
  kvFailures: number;
  kvEventsApplied: number;
  steps: number;
  emptyPlans: number;
}

// Event payload = index * 4 + kind.
const STEP_DONE = 0;
const WAKE = 1;
const TURN = 2;
const XFER = 3;
const NO_FINISHED: readonly number[] = Object.freeze([]);
const PROGRESS_EVERY_STEPS = 1 << 15;

export class Simulation {
  readonly sched: Scheduler;
  readonly records: RequestRecord[] = [];
  readonly stats: SimStats = { submitted: 0, completed: 0, rejected: 0, cancelled: 0, stalled: 0, drainCancelled: 0, kvFailures: 0, kvEventsApplied: 0, steps: 0, emptyPlans: 0 };
  nowS = 0;
  /**
   * When the last request ended (or was refused): the run's length for rates. Later events (a wake-up to promote an
   * idle session's KV ahead of a turn that never comes) advance the clock but are not load.
   */
  lastRecordS = 0;
  /** When the last request was submitted: the end of the window in which load was offered. */
  lastArrivalS = 0;
  private readonly queue = new EventQueue();
  private readonly insts: InstRun[];
  private readonly instByName = new Map<string, InstRun>();
  private readonly workers: WorkerKv[];
  private readonly live = new Map<string, LiveReq>();
  private readonly kv: KvMirror;
  private readonly dirtyList: InstRun[] = [];
  private readonly breakdown: StepBreakdown = { stepS: 0, gemmS: 0, attentionS: 0, commS: 0, overheadS: 0 };
  private readonly blockTokens: number;
  private readonly maxContextTokens: number;
  private readonly stopArrivalsS: number;
  private drainDeadlineS = Infinity;
  // Open loop.
  private readonly openRequests: readonly WorkloadRequest[];
  private nextOpen = 0;
  private readonly openNext: Int32Array;
  // Closed loop.
  private readonly closed: ClosedLoop | null;
  private readonly scheduleTurn = (timeS: number, run: number): void => this.queue.push(timeS, run * 4 + TURN);
  private readonly transfers: Transfers;
  /** With traceTokens: per request, the simulated time of each token it produced, in order. */
  readonly tokenTimes: Map<string, number[]> | null;
  /**
   * Per completed migration, the token gap the client sees across it: last token on the source → first token on
   * the destination (the scheduler's pause covers only the tail copy; this adds the wait for the source's step
   * boundary after the stop and for the destination's next step). Empty without migration.
   */
  readonly migrationGapsS: number[] = [];

  constructor(private readonly input: SimulationInput) {
    const { cluster, workload } = input;
    this.sched = new Scheduler({
      policy: input.policy,
      classification: input.classification,
      pools: [{ ...cluster.pool, kvBytesPerBlock: cluster.kvBytesPerBlock }],
      instances: cluster.instances.map((i) => i.setup),
      cost: input.cost,
      rng: new Rng(input.seed),
      ...(input.tenants ? { tenants: input.tenants } : {}),
    });
    this.blockTokens = cluster.engine.blockTokens;
    this.maxContextTokens = cluster.model.maxContextTokens;
    this.kv = new KvMirror(this.sched, this.blockTokens);
    this.workers = input.kv === 'native' ? cluster.workers.map((w) => new WorkerKv(cluster, w)) : [];
    this.tokenTimes = input.traceTokens ? new Map() : null;
    this.transfers = new Transfers({
      sched: this.sched,
      cost: input.cost,
      kv: this.kv,
      live: this.live,
      nowS: () => this.nowS,
      inst: (id) => this.instByName.get(id) as InstRun,
      push: (timeS, slot) => this.queue.push(timeS, slot * 4 + XFER),
      markDirty: (inst) => this.markDirty(inst),
    }, input.seed, input.handoffFailureRate ?? 0);
    this.insts = cluster.instances.map((spec, idx) => {
      const inst: InstRun = {
        idx,
        id: spec.setup.instanceId,
        worker: this.workers[spec.leaderWorker] ?? null,
        gpu: spec.leaderGpu,
        predictor: input.predictors[spec.shape] as StepPredictor,
        busy: false,
        dirty: false,
        plan: null,
        outcome: { stepId: 0, durationS: 0, finishedSeqIds: NO_FINISHED },
        wakeS: Infinity,
        seqs: new Map(),
        planSeqs: [],
        batch: [],
        migrationStops: [],
      };
      this.instByName.set(inst.id, inst);
      return inst;
    });
    this.stopArrivalsS = input.durationS ?? Infinity;
    // The drain after the last arrival is bounded; an open loop without a duration starts it at its last arrival.
    if (input.durationS !== undefined) this.drainDeadlineS = input.durationS + input.maxDrainS;
    if (workload.kind === 'open') {
      this.openRequests = workload.requests;
      this.openNext = nextInSession(workload.requests);
      this.closed = null;
    } else {
      this.openRequests = [];
      this.openNext = new Int32Array(0);
      const concurrency = input.sessions ?? workload.sessions.filter((s) => s.parent === undefined).length;
      this.closed = new ClosedLoop(workload, concurrency, this.stopArrivalsS);
    }
  }

  /** Runs to the end (everything ended, or the drain limit); returns the records in the order requests ended. */
  run(): RequestRecord[] {
    this.closed?.start(this.scheduleTurn);
    let nextProgress = PROGRESS_EVERY_STEPS;
    for (;;) {
      const tEvent = this.queue.peekTime();
      const tArrival = this.nextArrivalS();
      const t = tEvent < tArrival ? tEvent : tArrival;
      if (this.dirtyList.length > 0 && t > this.nowS) {
        this.planDirty();
        continue;
      }
      if (t === Infinity) break;
      if (t > this.drainDeadlineS) {
        this.nowS = this.drainDeadlineS;
        this.cancelAll('drain limit reached', 'drain');
        break;
      }
      this.nowS = t;
      if (tArrival <= tEvent) this.submitOpen();
      else this.handleEvent(this.queue.pop());
      if (this.stats.steps >= nextProgress) {
        nextProgress += PROGRESS_EVERY_STEPS;
        this.input.onProgress?.(this.progress());
      }
    }
    if (this.live.size > 0) this.cancelAll('stalled: no event could make progress', 'stall');
    this.stats.kvFailures = this.workers.reduce((n, w) => n + w.failures, 0);
    this.stats.kvEventsApplied = this.kv.eventsApplied;
    for (const w of this.workers) w.close();
    this.input.onProgress?.(this.progress());
    return this.records;
  }

  progress(): SimProgress {
    return { simulatedS: this.nowS, submitted: this.stats.submitted, ended: this.records.length, live: this.live.size, steps: this.stats.steps };
  }

  /** The first KV failure of any worker, for error messages and tests. */
  kvFailure() {
    return this.workers.find((w) => w.lastFailure)?.lastFailure;
  }

  // ------------------------------------------------------------------ arrivals

  private nextArrivalS(): number {
    const r = this.openRequests[this.nextOpen];
    if (!r || r.req.arrivalS > this.stopArrivalsS) return Infinity;
    return Math.max(r.req.arrivalS, 0);
  }

  private submitOpen(): void {
    const i = this.nextOpen++;
    const w = this.openRequests[i] as WorkloadRequest;
    const next = this.openNext[i] as number;
    const cont = next >= 0 ? (this.openRequests[next] as WorkloadRequest).req.blockHashes : undefined;
    const req = w.req.arrivalS >= 0 ? w.req : { ...w.req, arrivalS: 0 };
    if (this.nextOpen === this.openRequests.length && this.drainDeadlineS === Infinity) this.drainDeadlineS = this.nowS + this.input.maxDrainS;
    this.submit(w, req, cont !== undefined && extendsPrefix(req.blockHashes, cont) ? cont : undefined, -1);
  }

  private submitTurn(runIndex: number): void {
    const closed = this.closed as ClosedLoop;
    if (this.nowS > this.stopArrivalsS) return;
    const turn = closed.turnRequest(runIndex, this.nowS);
    this.submit(turn.w, turn.req, turn.continuation, runIndex);
  }

  private submit(w: WorkloadRequest, req: ScheduleRequest, continuation: readonly bigint[] | undefined, run: number): void {
    this.lastArrivalS = this.nowS;
    this.stats.submitted++;
    const res = this.sched.submit(req, this.nowS);
    if (!res.ok || res.external) {
      this.reject(w, req, res, run);
      return;
    }
    // The scheduler released the session's retained context when it took the next turn: so does the worker.
    if (req.sessionId !== undefined) this.kv.releaseHeld(req.sessionId);
    const live: LiveReq = { w, req, hashes: null, continuation, hostTokens: 0, neighbourTokens: 0, seq: null, run, fetchCharged: false, lastTokenS: -1, migratedFromS: -1 };
    // What the scheduler chose to promote from Grace or pull from a neighbour (cached tokens beyond the device).
    live.hostTokens = res.fetch.hostBlocks * this.blockTokens;
    live.neighbourTokens = res.fetch.neighbourBlocks * this.blockTokens;
    this.live.set(req.requestId, live);
    this.markDirty(this.instByName.get(res.instanceId) as InstRun);
    this.transfers.armTick();
  }

  private reject(w: WorkloadRequest, req: ScheduleRequest, res: SubmitResult, run: number): void {
    this.stats.rejected++;
    const cls = res.cls;
    const shape = cls?.shape ?? w.traceShape ?? 'chat';
    const end = res.ok ? { kind: 'rejected' as const, code: 'E_EXTERNAL_POOL', reason: `pool ${res.pool} is external: the simulator has no upstream` } : res.end;
    this.lastRecordS = this.nowS;
    this.records.push({
      requestId: req.requestId,
      tenant: req.tenant,
      shape,
      ...(req.sessionId !== undefined ? { sessionId: req.sessionId } : {}),
      arrivalS: req.arrivalS,
      endS: this.nowS,
      promptTokens: req.promptTokens,
      cachedTokens: { device: 0, host: 0, neighbour: 0 },
      outputTokens: 0,
      preemptions: 0,
      end,
      slo: cls ? { ...cls.slo } : { ...DEFAULT_SLOS[shape] },
      costUsd: 0,
      pool: '',
      instanceId: '',
    });
    if (run >= 0) this.closed?.turnEnded(run, this.nowS, this.scheduleTurn);
  }

  // ------------------------------------------------------------------ events

  private handleEvent(payload: number): void {
    const kind = payload & 3;
    const index = payload >> 2;
    if (kind === STEP_DONE) this.stepDone(this.insts[index] as InstRun);
    else if (kind === WAKE) this.wake(this.insts[index] as InstRun);
    else if (kind === TURN) this.submitTurn(index);
    else this.transfers.onEvent(index);
  }

  private markDirty(inst: InstRun): void {
    if (inst.busy || inst.dirty) return;
    inst.dirty = true;
    this.dirtyList.push(inst);
  }

  private wake(inst: InstRun): void {
    if (inst.wakeS !== this.nowS) return; // superseded by an earlier or later wake
    inst.wakeS = Infinity;
    this.markDirty(inst);
  }

  /** Plans every instance that became ready at nowS (after all of nowS's arrivals, so they share a step). */
  private planDirty(): void {
    const list = this.dirtyList;
    for (let i = 0; i < list.length; i++) {
      const inst = list[i] as InstRun;
      inst.dirty = false;
      if (!inst.busy) this.startStep(inst);
    }
    list.length = 0;
  }

  // ------------------------------------------------------------------ steps

  private startStep(inst: InstRun): void {
    const now = this.nowS;
    const plan = this.sched.planStep(inst.id, now);
    const worker = inst.worker;
    if (worker) this.kv.beforeStep(worker, inst, plan);
    const items = plan.items;
    const n = items.length;
    if (n === 0) {
      this.stats.emptyPlans++;
      const ended = this.sched.completeStep(inst.id, plan, { stepId: plan.stepId, durationS: 0, finishedSeqIds: NO_FINISHED }, now);
      for (const e of ended) this.ended(inst, e);
      // Wake for a wait window's end, or in time to promote a demoted session ahead of its predicted next turn
      // (an idle instance would otherwise promote only when new work arrives).
      const promoteS = this.sched.nextPromotionS(inst.id);
      const wakeAt = Math.min(plan.holdUntilS ?? Infinity, promoteS ?? Infinity);
      if (wakeAt < inst.wakeS) {
        inst.wakeS = Math.max(wakeAt, now);
        this.queue.push(inst.wakeS, inst.idx * 4 + WAKE);
      }
      return;
    }
    const batch = inst.batch;
    if (batch.length !== n) resizeBatch(batch, n);
    const planSeqs = inst.planSeqs;
    let finished: number[] | null = null;
    let fetchS = 0;
    for (let i = 0; i < n; i++) {
      const item = items[i] as EnginePlan['items'][number];
      let s = inst.seqs.get(item.seqId);
      if (s === undefined) {
        s = this.firstSight(inst, item.seqId);
        // Charged once: a sequence that moved (hand-off, migration) is seen again on its new instance.
        if (!s.live.fetchCharged) fetchS += this.fetchTimeS(inst, s.live);
        s.live.fetchCharged = true;
      }
      planSeqs[i] = s;
      const tokens = item.numCachedTokens + item.numNewTokens;
      if (worker !== null && s.native >= 0) this.kv.sync(worker, inst.gpu, s, tokens);
      const emits = tokens >= s.promptTokens + s.outputs;
      s.emitting = emits;
      // EOS at the trace's output length, or a "length" stop once prompt + output reach the model's context (as
      // vLLM's max_model_len): the next token would need KV beyond it.
      if (emits && (s.outputs + 1 >= s.targetOutputTokens || tokens + 1 >= this.maxContextTokens)) (finished ??= []).push(item.seqId);
      const b = batch[i] as StepSequence;
      b.phase = item.kind;
      b.numNewTokens = item.numNewTokens;
      b.numCachedTokens = item.numCachedTokens;
    }
    // Cached prefixes promoted from Grace or pulled from a neighbour land before the step that first uses them.
    let durationS = inst.predictor.predict(batch, this.breakdown).stepS + fetchS;
    const movedBlocks = movedKvBlocks(plan);
    if (movedBlocks > 0) durationS += this.input.cost.fetchS(this.sched.instanceView(inst.id), movedBlocks, 'c2c');
    inst.plan = plan;
    inst.busy = true;
    const outcome = inst.outcome;
    outcome.stepId = plan.stepId;
    outcome.durationS = durationS;
    outcome.finishedSeqIds = finished ?? NO_FINISHED;
    this.stats.steps++;
    this.queue.push(now + durationS, inst.idx * 4 + STEP_DONE);
  }

  /** Seconds to bring in the prefix blocks the scheduler chose to promote (C2C) or pull from a neighbour (NVLink). */
  private fetchTimeS(inst: InstRun, live: LiveReq): number {
    const host = live.hostTokens / this.blockTokens;
    const near = live.neighbourTokens / this.blockTokens;
    if (host === 0 && near === 0) return 0;
    const view = this.sched.instanceView(inst.id);
    return this.input.cost.fetchS(view, host, 'c2c') + this.input.cost.fetchS(view, near, 'nvlink');
  }

  private firstSight(inst: InstRun, seqId: number): SeqRun {
    const found = this.sched.sequence(inst.id, seqId);
    const live = found ? this.live.get(found.requestId) : undefined;
    if (!found || !live) throw new Error(`simulator: instance ${inst.id} planned unknown sequence ${seqId}`);
    const s: SeqRun = {
      live,
      seqId,
      promptTokens: live.req.promptTokens,
      targetOutputTokens: Math.max(1, live.w.outputTokens),
      outputs: found.seq.outputTokens,
      emitting: false,
      native: 0,
      nativeTokens: 0,
      tokens: 0,
      hashedBlocks: 0,
      hashable: true,
      swapped: false,
    };
    live.seq = s;
    inst.seqs.set(seqId, s);
    return s;
  }

  private stepDone(inst: InstRun): void {
    const plan = inst.plan as EnginePlan;
    const n = plan.items.length;
    const planSeqs = inst.planSeqs;
    for (let i = 0; i < n; i++) {
      const s = planSeqs[i] as SeqRun;
      if (s.emitting) {
        s.outputs++;
        s.emitting = false;
        const live = s.live;
        if (live.migratedFromS >= 0) {
          this.migrationGapsS.push(this.nowS - live.migratedFromS);
          live.migratedFromS = -1;
        }
        live.lastTokenS = this.nowS;
        if (this.tokenTimes) this.traceToken(s);
      }
    }
    const ended = this.sched.completeStep(inst.id, plan, inst.outcome, this.nowS);
    inst.plan = null;
    inst.busy = false;
    for (const e of ended) this.ended(inst, e);
    this.transfers.afterStep(inst);
    if (inst.worker) this.kv.drain(inst.worker);
    this.markDirty(inst);
  }

  private traceToken(s: SeqRun): void {
    const times = this.tokenTimes as Map<string, number[]>;
    const id = s.live.req.requestId;
    let list = times.get(id);
    if (!list) times.set(id, (list = []));
    list.push(this.nowS);
  }

  // ------------------------------------------------------------------ ends

  private ended(inst: InstRun, e: EndedRequest): void {
    const live = this.live.get(e.requestId);
    if (!live) throw new Error(`simulator: request ${e.requestId} ended twice or was never submitted`);
    this.live.delete(e.requestId);
    const s = live.seq;
    if (s) {
      if (inst.worker) this.kv.ended(inst.worker, inst, s, e.end.kind === 'completed');
      inst.seqs.delete(s.seqId);
    }
    if (e.end.kind === 'completed') this.stats.completed++;
    else this.stats.cancelled++;
    this.lastRecordS = Math.max(this.lastRecordS, e.endS);
    this.records.push(toRecord(e, live));
    if (live.run >= 0) this.closed?.turnEnded(live.run, this.nowS, this.scheduleTurn);
  }

  /** Cancels every live request (drain limit or stall); each gets its record. */
  private cancelAll(reason: string, why: 'drain' | 'stall'): void {
    for (const requestId of [...this.live.keys()]) {
      const e = this.sched.cancel(requestId, reason, this.nowS);
      if (!e) throw new Error(`simulator: live request ${requestId} unknown to the scheduler`);
      if (why === 'drain') this.stats.drainCancelled++;
      else this.stats.stalled++;
      this.ended(this.instByName.get(e.instanceId) as InstRun, e);
    }
  }
}

function resizeBatch(batch: StepSequence[], n: number): void {
  while (batch.length < n) batch.push({ phase: 'decode', numNewTokens: 1, numCachedTokens: 0 });
  if (batch.length > n) batch.length = n;
}

/** KV blocks crossing NVLink-C2C because of this plan: swaps out and in, idle-session demotions and promotions. */
function movedKvBlocks(plan: EnginePlan): number {
  let blocks = 0;
  for (const m of plan.swappedOut) blocks += m.kvBlocks;
  for (const m of plan.swappedIn) blocks += m.kvBlocks;
  for (const m of plan.sessionMoves) blocks += m.kvBlocks;
  return blocks;
}

/** For each open-loop request, the index of the same session's next request (-1: none). */
function nextInSession(requests: readonly WorkloadRequest[]): Int32Array {
  const next = new Int32Array(requests.length).fill(-1);
  const last = new Map<string, number>();
  requests.forEach((w, i) => {
    const sid = w.req.sessionId;
    if (sid === undefined) return;
    const prev = last.get(sid);
    if (prev !== undefined) next[prev] = i;
    last.set(sid, i);
  });
  return next;
}

function toRecord(e: EndedRequest, live: LiveReq): RequestRecord {
  return {
    requestId: e.requestId,
    tenant: live.req.tenant,
    shape: e.shape,
    ...(e.sessionId !== undefined ? { sessionId: e.sessionId } : {}),
    arrivalS: e.arrivalS,
    ...(e.firstTokenS !== undefined ? { firstTokenS: e.firstTokenS } : {}),
    endS: e.endS,
    promptTokens: e.promptTokens,
    cachedTokens: { device: Math.max(0, e.cachedPromptTokens - live.hostTokens - live.neighbourTokens), host: live.hostTokens, neighbour: live.neighbourTokens },
    outputTokens: e.outputTokens,
    preemptions: e.preemptions,
    end: e.end,
    slo: { ttftS: e.slo.ttftS, tpotS: e.slo.tpotS },
    costUsd: e.cost.usd,
    pool: e.pool,
    instanceId: e.instanceId,
  };
}
