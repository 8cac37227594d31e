// The scheduler: one object that takes requests in and step results back, and composes the plugins —
// classify → route to a pool → place on an instance (KV index + placement pipeline) → admit → the instance's engine
// → at each step end: finished requests, cost, output-length learning, KV retention of the session's context.
// No clock and no sockets: every call carries nowS, KV events arrive as data. The gateway (live) and the simulator
// (virtual time) drive the same object.
//
// Invariant: every submitted request ends exactly once — rejected at submit (returned), or completed / cancelled
// (returned by completeStep / cancel). `stats()` counts them so tests can check nothing is lost.
import { makeAdmissionPolicy } from './admission/registry.js';
import { makeClassification, type ClassificationStage } from './classify/classification.js';
import { Coordinator, type DisaggStats, type KvTransfer } from './disagg/coordinator.js';
import { makeDisaggregationPolicy } from './disagg/decide.js';
import { makeMigrationPolicy } from './disagg/migrate.js';
import { makePlugin, THINK_TIME_PREDICTORS } from './classify/registry.js';
import { ConfigError, asParams, onlyKeys } from './config/params.js';
import { CostLedger, type LedgerPool } from './cost/ledger.js';
import type { EnginePlan, FinishedSeq } from './engine/types.js';
import { KvIndex } from './kvindex/kv_index.js';
import { makePlacementPolicy, withoutKvCapacity } from './place/profiles.js';
import { readPolicy } from './policy.js';
import { makeRetentionPolicy } from './retention/registry.js';
import { createPoolRouter } from './route/registry.js';
import { chargeEnd, chargeStep, endedRecord, type StepShare } from './scheduler_charges.js';
import { lap, Placer } from './scheduler_place.js';
import { migrationGroups, splitPrefill, type SplitDeps } from './scheduler_pd.js';
import { SessionHomes } from './scheduler_sessions.js';
import type { Instance, KvFetch, LiveRequest, PdState, Pool } from './scheduler_state.js';
import type { EndedRequest, SchedulerOptions, SchedulerStats, SubmitResult } from './scheduler_types.js';
import { addInstance, finishPool, newPool, refreshLoads, syncView } from './scheduler_views.js';
import type {
  AdmissionPolicy,
  Classification,
  CostRecord,
  InstanceView,
  PoolLoad,
  PoolRouter,
  PoolSpec,
  RequestEnd,
  ScheduleRequest,
  StepOutcome,
  ThinkTimePredictor,
} from './types.js';

export type { InstanceSetup, KvFetch } from './scheduler_state.js';
export type { DisaggStats, KvTransfer } from './disagg/coordinator.js';
export type { EndedRequest, SchedulerOptions, SchedulerStats, SubmitResult } from './scheduler_types.js';

// The parts live beside this file: placement and the KV prefix walk (scheduler_place.ts), session retention
// bookkeeping (scheduler_sessions.ts), cost charges and the ended record (scheduler_charges.ts), prefill/decode
// splits and migration groups (scheduler_pd.ts), building instances and pools and keeping their views
// (scheduler_views.ts), the public types (scheduler_types.ts).
export class Scheduler {
  readonly policyName: string;
  readonly kvIndex = new KvIndex();
  private readonly classification: ClassificationStage;
  private readonly router: PoolRouter;
  private readonly admission: AdmissionPolicy;
  private readonly pools = new Map<string, Pool>();
  private readonly poolList: PoolSpec[] = [];
  private readonly instances = new Map<string, Instance>();
  private readonly live = new Map<string, LiveRequest>();
  private readonly ledger: CostLedger;
  private readonly counts: SchedulerStats = { submitted: 0, forwarded: 0, rejected: 0, completed: 0, cancelled: 0, live: 0 };
  private readonly loads: PoolLoad[] = [];
  private readonly blockTokens: number;
  private readonly shares: StepShare[] = [];
  /** Placement, the KV prefix walk and what a placed request need not prefill. */
  private readonly placer: Placer;
  /** Each session's home instance and its retained context. */
  private readonly sessions: SessionHomes;
  private readonly split: SplitDeps;
  /** Hand-offs and migrations (disagg/coordinator.ts); idle unless roles or migration are configured. */
  private readonly coord: Coordinator;

  constructor(private readonly opts: SchedulerOptions) {
    const policy = readPolicy(opts.policy);
    this.policyName = policy.name;
    this.classification = makeClassification(opts.classification, 'classification');
    this.router = createPoolRouter(policy.config.router, 'policy.router');
    const placement = makePlacementPolicy(policy.config.placement, 'policy.placement');
    // With tenants: the placement without its kv-capacity filter, tried when every instance's HBM is full.
    const queued = opts.tenants ? withoutKvCapacity(policy.config.placement) : undefined;
    const placementQueued = queued ? makePlacementPolicy(queued, 'policy.placement') : undefined;
    this.admission = makeAdmissionPolicy(policy.config.admission, 'policy.admission', { rng: opts.rng });
    const retention = makeRetentionPolicy(policy.config.retention, 'policy.retention');
    const thinkTime = makePlugin<ThinkTimePredictor>(undefined, 'classification.thinkTime', THINK_TIME_PREDICTORS, 'session-gaps');
    const disagg = makeDisaggregationPolicy(policy.config.disaggregation, 'policy.disaggregation');
    const self = this;
    this.coord = new Coordinator({
      instances: this.instances,
      live: this.live,
      get blockTokens() { return self.blockTokens; },
      cost: opts.cost,
      syncView,
      kvBytesPerBlock: (pool) => opts.pools.find((p) => p.name === pool)?.kvBytesPerBlock ?? 0,
    }, makeMigrationPolicy(policy.config.migration, 'policy.migration'));
    if (opts.pools.length === 0) throw new ConfigError('pools', 'expected at least one pool');
    for (const spec of opts.pools) {
      this.pools.set(spec.name, newPool(spec));
      this.poolList.push(spec);
    }
    const blockTokens = new Set(opts.instances.map((i) => i.engine.blockTokens));
    if (blockTokens.size > 1) throw new ConfigError('instances', `every instance must use one KV block size, got ${[...blockTokens].join(', ')}`);
    this.blockTokens = opts.instances[0]?.engine.blockTokens ?? 64;
    const instanceDeps = { pools: this.pools, instances: this.instances, kvIndex: this.kvIndex, batch: policy.config.batch, retention, thinkTime, tenants: opts.tenants };
    opts.instances.forEach((setup, i) => addInstance(instanceDeps, setup, i));
    for (const pool of this.pools.values()) this.loads.push(finishPool(pool, disagg.ignoresRoles, opts.cost));
    this.ledger = new CostLedger(opts.pools.map((p): LedgerPool => ({ ...p, ...(p.kvBytesPerBlock !== undefined ? { kvBytesPerBlock: p.kvBytesPerBlock } : {}) })));
    const sessions = new SessionHomes({ instances: this.instances, ledger: this.ledger, cost: opts.cost, blockTokens: this.blockTokens });
    this.sessions = sessions;
    this.placer = new Placer({
      kvIndex: this.kvIndex, instances: this.instances, placement, placementQueued,
      sessionHome: (sessionId) => sessions.home(sessionId),
      blockTokens: this.blockTokens, cost: opts.cost, rng: opts.rng,
    });
    this.split = { policy: disagg, placer: this.placer, instances: this.instances, coord: this.coord, blockTokens: this.blockTokens, cost: opts.cost };
  }

  // ------------------------------------------------------------------ requests in

  submit(req: ScheduleRequest, nowS: number): SubmitResult {
    this.counts.submitted++;
    const reject = (code: string, reason: string, cls?: Classification, retryAfterS?: number): SubmitResult => {
      this.counts.rejected++;
      const end: Extract<RequestEnd, { kind: 'rejected' }> = { kind: 'rejected', code, reason, ...(retryAfterS !== undefined ? { retryAfterS } : {}) };
      return { ok: false, requestId: req.requestId, end, ...(cls ? { cls } : {}) };
    };
    if (this.live.has(req.requestId)) return reject('E_DUPLICATE_REQUEST', `request ${req.requestId} is already running`);
    const prof = this.opts.profiler?.sample() ? this.opts.profiler : undefined;
    let t = prof ? prof.now() : 0;
    const cls = this.classification.classify(req);
    if (prof) t = lap(prof, 'classify', t);
    refreshLoads(this.pools.values(), this.loads);
    const route = this.router.route(req, cls, this.poolList, this.loads);
    if (prof) t = lap(prof, 'route', t);
    if (!route.ok) return reject(route.code, route.message, cls);
    const pool = this.pools.get(route.pool);
    if (pool?.spec.kind === 'external') {
      this.counts.forwarded++;
      return { ok: true, external: true, requestId: req.requestId, pool: route.pool, cls };
    }
    if (!pool || pool.instances.length === 0) return reject('E_NO_POOL', `pool ${route.pool} has no instances`, cls);
    const placed = this.placer.place(req, cls, pool, nowS, prof);
    if (prof) t = prof.now();
    if (!placed.ok) return reject(placed.code, placed.message, cls);
    let inst = this.instances.get(placed.instanceId) as Instance;
    const decodeInst = inst;
    let { tokens: cachedPromptTokens, fetch } = this.placer.cachedTokens(req, inst, placed.prefix);
    let pd: PdState | undefined;
    if (pool.disaggregated && req.maxOutputTokens > 1) {
      const split = splitPrefill(this.split, req, cls, pool, inst, placed.prefix, cachedPromptTokens, nowS);
      if (split) ({ inst, cachedTokens: cachedPromptTokens, fetch, pd } = split);
      if (prof) t = lap(prof, 'disaggregation', t);
    }
    // Under fair share a request waits behind the part of the queue its tenant's share puts ahead of it, not all.
    const queueView = inst.engine.fairShare ? this.placer.tenantQueueView(inst, req.tenant, req.promptTokens - cachedPromptTokens) : inst.view;
    const predictedTtftS = this.placer.predictTtftS(inst, queueView, req.promptTokens - cachedPromptTokens, cachedPromptTokens);
    const admit = this.admission.decide(req, cls, queueView, predictedTtftS);
    if (prof) t = lap(prof, 'admission', t);
    if (!admit.admit) return reject(admit.code, admit.reason, cls, admit.retryAfterS);
    const enq = inst.engine.enqueue(
      {
        requestId: req.requestId,
        shape: cls.shape,
        priority: req.priority ?? 0,
        tenant: req.tenant,
        arrivalS: req.arrivalS,
        promptTokens: req.promptTokens,
        cachedPromptTokens,
        // A disaggregated request's prefill instance samples its first token only, then hands the KV over.
        maxOutputTokens: pd ? 1 : req.maxOutputTokens,
        predictedOutputTokens: pd ? 1 : Math.min(req.maxOutputTokens, cls.output.expectedTokens),
        slo: cls.slo,
      },
      nowS,
    );
    if (!enq.ok) return reject(enq.end.code, enq.end.reason, cls, enq.end.retryAfterS);
    this.sessions.startTurn(req, decodeInst, nowS);
    inst.requests.set(enq.seqId, req.requestId);
    inst.view.inFlightRequests++;
    this.live.set(req.requestId, { req, cls, inst, seqId: enq.seqId, fetch, ...(pd ? { pd } : {}) });
    this.ledger.startRequest(req.requestId, pool.spec.name, nowS, req.sessionId, req.tenant);
    this.counts.live++;
    syncView(inst);
    if (prof) lap(prof, 'enqueue', t);
    return { ok: true, requestId: req.requestId, pool: pool.spec.name, instanceId: inst.setup.instanceId, cls, cachedPromptTokens, fetch };
  }

  // ------------------------------------------------------------------ steps

  /** The next step of one instance (also runs due promotions of demoted sessions). */
  planStep(instanceId: string, nowS: number): EnginePlan {
    const inst = this.instance(instanceId);
    for (const sessionId of inst.retention.duePromotions(nowS)) inst.engine.promoteSession(sessionId);
    const plan = inst.engine.planStep(nowS);
    for (const sessionId of plan.evictedSessions) inst.retention.evicted(sessionId);
    return plan;
  }

  /** Applies a step's outcome; returns the requests that ended in it. */
  completeStep(instanceId: string, plan: EnginePlan, outcome: StepOutcome, nowS: number): EndedRequest[] {
    const inst = this.instance(instanceId);
    chargeStep(this.ledger, inst, plan, outcome, this.shares);
    const finished = inst.engine.completeStep(plan, outcome, nowS);
    const ended: EndedRequest[] = [];
    for (const f of finished) {
      const live = this.live.get(f.seq.requestId);
      // A disaggregated request's prefill sampled its first token without EOS: its KV goes to the decode side.
      if (live?.pd?.phase === 'prefill' && f.end.kind === 'completed' && f.seq.outputTokens < live.req.maxOutputTokens && !outcome.finishedSeqIds.includes(f.seq.seqId)) {
        this.coord.startHandoff(live, inst, f);
        continue;
      }
      ended.push(this.endRequest(inst, f, nowS));
    }
    syncView(inst);
    return ended;
  }

  /** Cancels a running or queued request; undefined when it is unknown or already ended. */
  cancel(requestId: string, reason: string, nowS: number): EndedRequest | undefined {
    const live = this.live.get(requestId);
    if (!live) return undefined;
    if (live.seqId < 0) return this.endRequest(live.inst, this.coord.cancelDetached(live, reason), nowS, false);
    const finished = live.inst.engine.cancel(live.seqId, reason);
    if (!finished) return undefined;
    const ended = this.endRequest(live.inst, finished, nowS);
    syncView(live.inst);
    return ended;
  }

  /** attached: the sequence was on inst (false: in transfer or stopped for migration, already off every instance). */
  private endRequest(inst: Instance, f: FinishedSeq, nowS: number, attached = true): EndedRequest {
    const requestId = f.seq.requestId;
    const live = this.live.get(requestId) as LiveRequest;
    if (live.mig) this.coord.onEnded(live);
    if (attached) {
      inst.requests.delete(f.seq.seqId);
      inst.view.inFlightRequests--;
    }
    this.live.delete(requestId);
    this.counts.live--;
    const seq = f.seq;
    chargeEnd(this.ledger, requestId, seq, this.blockTokens, nowS);
    if (f.end.kind === 'completed') {
      this.counts.completed++;
      this.classification.observeFinished(live.req, seq.shape, seq.outputTokens);
      // The last sampled token is never fed back, so its KV is never written: the worker holds one token less.
      this.sessions.endTurn(live.req, inst, seq.promptTokens + Math.max(0, seq.outputTokens - 1), nowS);
    } else {
      this.counts.cancelled++;
    }
    return endedRecord(inst, live, f, nowS, this.ledger.finishRequest(requestId, nowS));
  }

  // ------------------------------------------------------------------ KV events

  /** A worker's KV events, in order. resyncNeeded: a gap was seen — ask the worker for a snapshot. */
  applyKvEvents(workerId: string, batch: Parameters<KvIndex['applyBatch']>[1]): { resyncNeeded: boolean } {
    return { resyncNeeded: this.kvIndex.applyBatch(workerId, batch).resyncNeeded };
  }

  /** A worker's snapshot after a gap (or a reconnect); events after snapshot.lastEventId apply on top. */
  applyKvSnapshot(workerId: string, snapshot: Parameters<KvIndex['applySnapshot']>[1]): void {
    this.kvIndex.applySnapshot(workerId, snapshot);
  }

  /** A worker's event stream restarted (new process): forget what it held until its snapshot arrives. */
  workerReconnected(workerId: string): void {
    this.kvIndex.markStale(workerId);
  }

  /**
   * The instance lost its KV (its worker died or its stream broke: the worker freed every hold): forget the idle
   * sessions retained there, so that a session's next turn is not credited context the worker no longer has and
   * the blocks stop counting as used. Returns the sessions dropped.
   */
  dropRetainedSessions(instanceId: string, nowS: number): string[] {
    const inst = this.instance(instanceId);
    const dropped = this.sessions.dropRetained(inst, nowS);
    syncView(inst);
    return dropped;
  }

  /** Workers whose index is stale and who should be sent a snapshot request. */
  workersNeedingResync(): string[] {
    return this.kvIndex.needsResync();
  }

  // ------------------------------------------------------------------ views

  instanceIds(): string[] {
    return [...this.instances.keys()];
  }

  instanceView(instanceId: string): Readonly<InstanceView> {
    return this.instance(instanceId).view;
  }

  /**
   * Marks an instance (un)healthy, e.g. when its worker's stream breaks: placement's `healthy` filter stops sending
   * it new requests; what already runs there is the executor's to re-run or end (cancel()).
   */
  setInstanceHealth(instanceId: string, healthy: boolean): void {
    this.instance(instanceId).view.healthy = healthy;
  }

  /** A draining instance finishes what it runs and gets no new requests (its worker is being stopped or rolled). */
  setInstanceDraining(instanceId: string, draining: boolean): void {
    this.instance(instanceId).view.draining = draining;
  }

  /** Where an idle session's retained KV is on this instance (undefined: not retained here). */
  sessionTier(instanceId: string, sessionId: string): 'device' | 'host' | undefined {
    return this.instance(instanceId).engine.sessionTier(sessionId);
  }

  /** When this instance should next plan to promote a demoted session back to HBM (null: none pending). */
  nextPromotionS(instanceId: string): number | null {
    return this.instance(instanceId).retention.nextPromotionS();
  }

  /** A sequence of an instance as its engine sees it, with its request id (for drivers that decide EOS). */
  sequence(instanceId: string, seqId: number): { requestId: string; seq: Readonly<import('./types.js').EngineSequence>; fetch: Readonly<KvFetch> } | undefined {
    const inst = this.instance(instanceId);
    const requestId = inst.requests.get(seqId);
    const seq = inst.engine.get(seqId);
    const live = requestId !== undefined ? this.live.get(requestId) : undefined;
    return requestId !== undefined && seq && live ? { requestId, seq, fetch: live.fetch } : undefined;
  }

  stats(): SchedulerStats {
    return { ...this.counts };
  }

  // ------------------------------------------------------------------ KV hand-off and migration (disagg/)

  /** KV transfers to carry out (hand-offs started by completeStep); the executor calls finishHandoff after each. */
  takeTransfers(): KvTransfer[] {
    return this.coord.takeTransfers();
  }

  /** A hand-off's KV arrived (ok) or its transfer failed (recompute on the decode side). Returns where it decodes. */
  finishHandoff(requestId: string, ok: boolean, nowS: number, options: { keepOnPrefill?: boolean } = {}): { instanceId: string } {
    return this.coord.finishHandoff(requestId, ok, nowS, options);
  }

  /** Seconds between two planMigrations calls; null when the migration policy is `none`. */
  get migrationPeriodS(): number | null {
    return this.coord.migrationPeriodS;
  }

  /** Moves the migration policy wants now: first pre-copy transfers (the requests keep decoding meanwhile). */
  planMigrations(nowS: number): KvTransfer[] {
    return this.coord.planMigrations(migrationGroups(this.pools.values(), this.instances), nowS);
  }

  /** Starts moving one running decode to another instance (policy-free; tests and operators). */
  startMigration(requestId: string, toInstanceId: string, nowS: number): KvTransfer | undefined {
    return this.coord.start(requestId, toInstanceId, nowS);
  }

  /** A pre-copy round is done and the source is between steps: next round, stop-and-copy, or undefined (abandoned). */
  migrationCopied(requestId: string, nowS: number): KvTransfer | undefined {
    return this.coord.copied(requestId, nowS);
  }

  /** The stop-and-copy tail arrived: the request decodes on its new instance. */
  finishMigration(requestId: string, nowS: number, ok = true): { instanceId: string } {
    return this.coord.finishMigration(requestId, nowS, ok);
  }

  /** Where a live request's sequence is now (undefined when ended, or while its KV is in flight). */
  requestInstance(requestId: string): string | undefined {
    const live = this.live.get(requestId);
    return live && live.seqId >= 0 ? live.inst.setup.instanceId : undefined;
  }

  disaggStats(): DisaggStats {
    return { ...this.coord.stats, migrationPausesS: [...this.coord.stats.migrationPausesS] };
  }

  costTotals(): CostRecord {
    return this.ledger.totals();
  }

  /** costTotals() split by tenant (ScheduleRequest.tenant): everything charged to each tenant's requests and sessions. */
  costByTenant(): Record<string, CostRecord> {
    return this.ledger.byTenant();
  }

  private instance(instanceId: string): Instance {
    const inst = this.instances.get(instanceId);
    if (!inst) throw new ConfigError('instanceId', `unknown instance ${JSON.stringify(instanceId)}`);
    return inst;
  }
}

/** Validates the top-level keys of a scheduler config section (the rest is read by each plugin). */
export function checkSchedulerKeys(value: unknown, path = 'scheduler'): void {
  onlyKeys(asParams(value, path), path, ['policy', 'classification', 'pools', 'instances', 'tenants']);
}
