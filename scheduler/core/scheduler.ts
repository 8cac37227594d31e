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
import { checkRoles } from './config/roles.js';
import { Coordinator, type DisaggStats, type KvTransfer } from './disagg/coordinator.js';
import { makeDisaggregationPolicy } from './disagg/decide.js';
import { makeMigrationPolicy } from './disagg/migrate.js';
import type { DisaggregationPolicy } from './disagg/types.js';
import { makePlugin, THINK_TIME_PREDICTORS } from './classify/registry.js';
import { ConfigError, asParams, onlyKeys } from './config/params.js';
import type { TenantsConfig } from './config/tenants.js';
import { CostLedger, type LedgerPool } from './cost/ledger.js';
import type { EngineConfig } from './engine/config.js';
import { InstanceEngine } from './engine/engine.js';
import { makeBatchPolicy } from './engine/registry.js';
import type { EnginePlan, FinishedSeq } from './engine/types.js';
import { KvIndex, type KvIndexMember } from './kvindex/kv_index.js';
import { makePrefixColumns, type PrefixColumns } from './kvindex/prefix_walk.js';
import { makePlacementPolicy, withoutKvCapacity } from './place/profiles.js';
import type { PlacementPolicy } from './place/pipeline.js';
import { readPolicy } from './policy.js';
import { makeRetentionPolicy } from './retention/registry.js';
import { SessionRetention } from './retention/tracker.js';
import { createPoolRouter } from './route/registry.js';
import type { Instance, InstanceSetup, KvFetch, LiveRequest, PdState, Pool } from './scheduler_state.js';
import {
  SHAPES,
  type AdmissionPolicy,
  type Classification,
  type CostRecord,
  type InstanceView,
  type PlacementContext,
  type PlacementCostModel,
  type PoolLoad,
  type PoolRouter,
  type PoolSpec,
  type PrefixHit,
  type RandomSource,
  type RequestEnd,
  type ScheduleRequest,
  type Shape,
  type StageProfiler,
  type StepItem,
  type StepOutcome,
  type ThinkTimePredictor,
} from './types.js';

/** Records the time since `t0` under `stage`; returns now (the next stage's start). */
function lap(prof: StageProfiler, stage: string, t0: number): number {
  const now = prof.now();
  prof.record(stage, now - t0);
  return now;
}

export interface SchedulerOptions {
  /** A policy name (shape-aware, round-robin, ...) or a mapping (see policy.ts). */
  policy?: unknown;
  /** Classification section (classifier, predictor, SLO table). */
  classification?: unknown;
  pools: readonly (PoolSpec & { kvBytesPerBlock?: number })[];
  instances: readonly InstanceSetup[];
  /** Time estimates (the performance model, scheduler/perf/placement_cost.ts). */
  cost: PlacementCostModel;
  rng: RandomSource;
  /**
   * The `tenants` section (config/tenants.ts parseTenants): weighted fair share and priority bands between tenants
   * in every instance's queue, and admission judged on the queue as each tenant meets it. Absent: no fair share
   * (one queue order for all, as before); cost per tenant is kept either way.
   */
  tenants?: TenantsConfig;
  /**
   * Times the stages of sampled routing decisions (classify, route, kv_lookup, each placement plugin, disaggregation,
   * admission, enqueue) for the metrics; `sample()` is asked once per submit. Absent: nothing is timed.
   */
  profiler?: StageProfiler & { sample(): boolean };
}

export type SubmitResult =
  | { ok: true; external?: false; requestId: string; pool: string; instanceId: string; cls: Classification; cachedPromptTokens: number; fetch: KvFetch }
  /** Routed to an external (OpenAI-compatible upstream) pool: the caller forwards it; the scheduler is done with it. */
  | { ok: true; external: true; requestId: string; pool: string; cls: Classification }
  | { ok: false; requestId: string; end: Extract<RequestEnd, { kind: 'rejected' }>; cls?: Classification };

export interface EndedRequest {
  requestId: string;
  pool: string;
  instanceId: string;
  sessionId?: string;
  shape: Shape;
  slo: Classification['slo'];
  end: RequestEnd;
  arrivalS: number;
  firstTokenS?: number;
  endS: number;
  promptTokens: number;
  cachedPromptTokens: number;
  outputTokens: number;
  preemptions: number;
  cost: CostRecord;
}

export interface SchedulerStats {
  submitted: number;
  /** Handed to an external pool's upstream (they end there). */
  forwarded: number;
  rejected: number;
  completed: number;
  cancelled: number;
  live: number;
}

/** Largest number of sessions whose home instance is remembered (oldest forgotten first). */
const MAX_SESSION_HOMES = 200_000;

export type { InstanceSetup, KvFetch } from './scheduler_state.js';
export type { DisaggStats, KvTransfer } from './disagg/coordinator.js';

export class Scheduler {
  readonly policyName: string;
  readonly kvIndex = new KvIndex();
  private readonly classification: ClassificationStage;
  private readonly router: PoolRouter;
  private readonly placement: PlacementPolicy;
  /** With tenants: the placement without its kv-capacity filter, tried when every instance's HBM is full. */
  private readonly placementQueued: PlacementPolicy | undefined;
  private readonly admission: AdmissionPolicy;
  private readonly pools = new Map<string, Pool>();
  private readonly poolList: PoolSpec[] = [];
  private readonly instances = new Map<string, Instance>();
  private readonly live = new Map<string, LiveRequest>();
  private readonly sessionHome = new Map<string, string>();
  private readonly ledger: CostLedger;
  private readonly counts: SchedulerStats = { submitted: 0, forwarded: 0, rejected: 0, completed: 0, cancelled: 0, live: 0 };
  private readonly loads: PoolLoad[] = [];
  private readonly blockTokens: number;
  private readonly shares: { requestId: string; numTokens: number }[] = [];
  private scratchView: InstanceView | undefined;
  private readonly disagg: DisaggregationPolicy;
  /** Hand-offs and migrations (disagg/coordinator.ts); idle unless roles or migration are configured. */
  private readonly coord: Coordinator;

  constructor(private readonly opts: SchedulerOptions) {
    const policy = readPolicy(opts.policy);
    this.policyName = policy.name;
    this.classification = makeClassification(opts.classification, 'classification');
    this.router = createPoolRouter(policy.config.router, 'policy.router');
    this.placement = makePlacementPolicy(policy.config.placement, 'policy.placement');
    const queued = opts.tenants ? withoutKvCapacity(policy.config.placement) : undefined;
    this.placementQueued = queued ? makePlacementPolicy(queued, 'policy.placement') : undefined;
    this.admission = makeAdmissionPolicy(policy.config.admission, 'policy.admission', { rng: opts.rng });
    const retentionPolicy = makeRetentionPolicy(policy.config.retention, 'policy.retention');
    const thinkTime = makePlugin<ThinkTimePredictor>(undefined, 'classification.thinkTime', THINK_TIME_PREDICTORS, 'session-gaps');
    this.disagg = makeDisaggregationPolicy(policy.config.disaggregation, 'policy.disaggregation');
    const self = this;
    this.coord = new Coordinator({
      instances: this.instances,
      live: this.live,
      get blockTokens() { return self.blockTokens; },
      cost: opts.cost,
      syncView: (inst) => this.syncView(inst),
      kvBytesPerBlock: (pool) => opts.pools.find((p) => p.name === pool)?.kvBytesPerBlock ?? 0,
    }, makeMigrationPolicy(policy.config.migration, 'policy.migration'));
    if (opts.pools.length === 0) throw new ConfigError('pools', 'expected at least one pool');
    for (const spec of opts.pools) {
      this.pools.set(spec.name, { spec, instances: [], prefillSPerToken: 0, hits: [], columns: makePrefixColumns(8), instanceIds: [], slots: new Int32Array(0), slotsVersion: -1, views: [], disaggregated: false, decodeViews: [], prefillViews: [] });
      this.poolList.push(spec);
    }
    const blockTokens = new Set(opts.instances.map((i) => i.engine.blockTokens));
    if (blockTokens.size > 1) throw new ConfigError('instances', `every instance must use one KV block size, got ${[...blockTokens].join(', ')}`);
    this.blockTokens = opts.instances[0]?.engine.blockTokens ?? 64;
    opts.instances.forEach((setup, i) => this.addInstance(setup, i, policy.config.batch, retentionPolicy, thinkTime));
    for (const pool of this.pools.values()) this.finishPool(pool);
    this.ledger = new CostLedger(opts.pools.map((p): LedgerPool => ({ ...p, ...(p.kvBytesPerBlock !== undefined ? { kvBytesPerBlock: p.kvBytesPerBlock } : {}) })));
  }

  private addInstance(setup: InstanceSetup, i: number, batch: unknown, retention: ReturnType<typeof makeRetentionPolicy>, thinkTime: ThinkTimePredictor): void {
    const path = `instances[${i}]`;
    const pool = this.pools.get(setup.pool);
    if (!pool) throw new ConfigError(`${path}.pool`, `unknown pool ${JSON.stringify(setup.pool)}; known: ${[...this.pools.keys()].join(', ')}`);
    if (pool.spec.kind !== 'self_hosted') throw new ConfigError(`${path}.pool`, `pool ${setup.pool} is external: it has no instances`);
    if (this.instances.has(setup.instanceId)) throw new ConfigError(`${path}.instanceId`, `duplicate instance ${setup.instanceId}`);
    const engine = new InstanceEngine({
      instanceId: setup.instanceId, config: setup.engine, policy: makeBatchPolicy(batch, 'policy.batch'), recyclePlans: true,
      ...(this.opts.tenants ? { tenants: this.opts.tenants } : {}),
    });
    this.kvIndex.registerInstance(setup.instanceId, setup.domainId, setup.members);
    const numGpus = setup.members.reduce((n, m) => n + m.gpus.length, 0);
    const inst: Instance = {
      setup,
      engine,
      retention: new SessionRetention(retention, thinkTime),
      view: {
        instanceId: setup.instanceId,
        pool: setup.pool,
        domainId: setup.domainId,
        workerIds: [...new Set(setup.members.map((m) => m.workerId))],
        numGpus,
        healthy: true,
        draining: false,
        maxContextTokens: pool.spec.maxContextTokens,
        queuedRequests: 0,
        runningRequests: 0,
        pendingPrefillTokens: 0,
        decodingSequences: 0,
        kvBlocksTotal: setup.engine.kvBlocksTotal,
        kvBlocksUsed: 0,
        kvBlocksRetained: 0,
        stepTokenBudget: setup.engine.stepTokenBudget,
        inFlightRequests: 0,
        ...(setup.role !== undefined ? { role: setup.role } : {}),
      },
      poolColumn: pool.instances.length,
      requests: new Map(),
      numGpus,
      stepInstance: { pool: setup.pool, numGpus },
    };
    pool.instances.push(inst);
    this.instances.set(setup.instanceId, inst);
  }

  private finishPool(pool: Pool): void {
    pool.instanceIds = pool.instances.map((i) => i.setup.instanceId);
    pool.views = pool.instances.map((i) => i.view);
    checkRoles(pool.views.map((v) => v.role), `pools.${pool.spec.name}.roles`);
    pool.prefillViews = pool.views.filter((v) => v.role === 'prefill');
    pool.disaggregated = pool.prefillViews.length > 0 && !this.disagg.ignoresRoles;
    pool.decodeViews = pool.disaggregated ? pool.views.filter((v) => v.role !== 'prefill') : pool.views;
    pool.columns = makePrefixColumns(Math.max(1, pool.instances.length));
    pool.hits = pool.instances.map(() => ({ deviceBlocks: 0, hostBlocks: 0, neighbourBlocks: 0 }));
    const first = pool.instances[0];
    pool.prefillSPerToken = first ? this.opts.cost.prefillS(first.view, 2048, 0) / 2048 : 0;
    this.loads.push({ pool: pool.spec.name, predictedTtftS: { tool_call: 0, reasoning: 0, terminal: 0, chat: 0 }, saturation: 0, healthy: pool.spec.kind === 'external' || pool.instances.length > 0 });
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
    this.refreshLoads();
    const route = this.router.route(req, cls, this.poolList, this.loads);
    if (prof) t = lap(prof, 'route', t);
    if (!route.ok) return reject(route.code, route.message, cls);
    const pool = this.pools.get(route.pool);
    if (pool?.spec.kind === 'external') {
      this.counts.forwarded++;
      return { ok: true, external: true, requestId: req.requestId, pool: route.pool, cls };
    }
    if (!pool || pool.instances.length === 0) return reject('E_NO_POOL', `pool ${route.pool} has no instances`, cls);
    const placed = this.place(req, cls, pool, nowS, prof);
    if (prof) t = prof.now();
    if (!placed.ok) return reject(placed.code, placed.message, cls);
    let inst = this.instances.get(placed.instanceId) as Instance;
    const decodeInst = inst;
    let { tokens: cachedPromptTokens, fetch } = this.cachedTokens(req, inst, placed.prefix);
    let pd: PdState | undefined;
    if (pool.disaggregated && req.maxOutputTokens > 1) {
      const split = this.splitPrefill(req, cls, pool, inst, placed.prefix, cachedPromptTokens, nowS);
      if (split) ({ inst, cachedTokens: cachedPromptTokens, fetch, pd } = split);
      if (prof) t = lap(prof, 'disaggregation', t);
    }
    // Under fair share a request waits behind the part of the queue its tenant's share puts ahead of it, not all.
    const queueView = inst.engine.fairShare ? this.tenantQueueView(inst, req.tenant, req.promptTokens - cachedPromptTokens) : inst.view;
    const predictedTtftS = this.predictTtftS(pool, queueView, req.promptTokens - cachedPromptTokens, cachedPromptTokens);
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
    this.startSessionTurn(req, decodeInst, nowS);
    inst.requests.set(enq.seqId, req.requestId);
    inst.view.inFlightRequests++;
    this.live.set(req.requestId, { req, cls, inst, seqId: enq.seqId, fetch, ...(pd ? { pd } : {}) });
    this.ledger.startRequest(req.requestId, pool.spec.name, nowS, req.sessionId, req.tenant);
    this.counts.live++;
    this.syncView(inst);
    if (prof) lap(prof, 'enqueue', t);
    return { ok: true, requestId: req.requestId, pool: pool.spec.name, instanceId: inst.setup.instanceId, cls, cachedPromptTokens, fetch };
  }

  /**
   * Prefill elsewhere? The best prefill candidate of the decode candidate's domain (placement over the prefill
   * instances), priced against keeping the request, by the disaggregation policy; a decode-role candidate never
   * prefills more than the policy's localPrefillMaxTokens itself. Undefined: aggregated on the decode candidate.
   */
  private splitPrefill(req: ScheduleRequest, cls: Classification, pool: Pool, decode: Instance, decodeHit: PrefixHit, decodeCached: number, nowS: number) {
    const policy = this.disagg;
    const domain = decode.setup.domainId;
    const views = pool.prefillViews.filter((v) => v.healthy && !v.draining && (policy.crossDomain || v.domainId === domain));
    const stats = this.coord.stats;
    if (views.length === 0) {
      stats.noPrefillInstance++;
      return undefined;
    }
    const placed = this.placeAmong(req, cls, pool, nowS, views);
    if (!placed.ok) {
      stats.noPrefillInstance++;
      return undefined;
    }
    const prefill = this.instances.get(placed.instanceId) as Instance;
    const { tokens: prefillCached, fetch } = this.cachedTokens(req, prefill, placed.prefix);
    const bt = this.blockTokens;
    const decodeDeviceTokens = Math.min(req.promptTokens, decodeHit.deviceBlocks * bt);
    const forced = decode.setup.role === 'decode' && req.promptTokens - decodeCached > policy.localPrefillMaxTokens;
    const go = forced || policy.decide({
      req, cls, promptTokens: req.promptTokens,
      decode: decode.view, decodeCachedTokens: decodeCached,
      prefill: prefill.view, prefillCachedTokens: prefillCached,
      transferBlocks: Math.max(0, Math.ceil(req.promptTokens / bt) - Math.floor(decodeDeviceTokens / bt)),
      predictedOutputTokens: Math.min(req.maxOutputTokens, cls.output.expectedTokens),
      prefillSPerToken: pool.prefillSPerToken,
      cost: this.opts.cost,
    });
    if (!go) {
      stats.aggregated++;
      return undefined;
    }
    stats.disaggregated++;
    if (forced) stats.forcedByRole++;
    const pd: PdState = { phase: 'prefill', prefillInstanceId: prefill.setup.instanceId, decodeInstanceId: decode.setup.instanceId, decodeDeviceTokens };
    return { inst: prefill, cachedTokens: prefillCached, fetch, pd };
  }

  private place(req: ScheduleRequest, cls: Classification, pool: Pool, nowS: number, prof?: StageProfiler) {
    const t0 = prof ? prof.now() : 0;
    // Slots, not ids: resolving 72 instance ids per request was a tenth of the walk (bench sched).
    if (pool.slotsVersion !== this.kvIndex.topologyVersion) {
      pool.slots = Int32Array.from(pool.instanceIds, (id) => this.kvIndex.instanceSlot(id));
      pool.slotsVersion = this.kvIndex.topologyVersion;
    }
    this.kvIndex.prefixHitsBySlot(req.blockHashes, pool.slots, pool.slots.length, pool.columns);
    const c = pool.columns;
    for (let i = 0; i < pool.hits.length; i++) {
      const hit = pool.hits[i] as PrefixHit;
      hit.deviceBlocks = c.deviceBlocks[i] as number;
      hit.hostBlocks = c.hostBlocks[i] as number;
      hit.neighbourBlocks = c.neighbourBlocks[i] as number;
    }
    if (prof) lap(prof, 'kv_lookup', t0);
    return this.placeAmong(req, cls, pool, nowS, pool.decodeViews, prof);
  }

  /** Placement among `views` (some of the pool's), on the prefix hits of the pool's last walk. */
  private placeAmong(req: ScheduleRequest, cls: Classification, pool: Pool, nowS: number, views: InstanceView[], prof?: StageProfiler) {
    const home = req.sessionId !== undefined ? this.sessionHome.get(req.sessionId) : undefined;
    const instances = this.instances;
    const ctx: PlacementContext = {
      req,
      cls,
      nowS,
      blockTokens: this.blockTokens,
      prefix: (view) => pool.hits[(instances.get(view.instanceId) as Instance).poolColumn] as PrefixHit,
      ...(home !== undefined ? { sessionHome: home } : {}),
      cost: this.opts.cost,
      rng: this.opts.rng,
      ...(prof ? { profiler: prof } : {}),
    };
    const placed = this.placement.place(ctx, views);
    // Under fair share a full HBM is a wait, not a refusal: the tenant-aware admission below judges the wait.
    if (placed.ok || !this.placementQueued) return placed;
    const queued = this.placementQueued.place(ctx, views);
    return queued.ok ? queued : placed;
  }

  /**
   * Prompt tokens that need no prefill on this instance, and the KV blocks to bring in for them first. Device hits
   * are free; the leading blocks that follow them in the tray's Grace tier (promote over NVLink-C2C) and then on a
   * neighbour in the NVLink domain (fetch over NVLink) are used when moving them is faster than recomputing them —
   * the executor (worker or simulator) moves them before the sequence's first step and charges the time. A session
   * turn placed back home while its context is retained there counts the retained context (in HBM, or in Grace to
   * promote).
   */
  private cachedTokens(req: ScheduleRequest, inst: Instance, hit: PrefixHit): { tokens: number; fetch: KvFetch } {
    const bt = this.blockTokens;
    const promptBlocks = Math.floor(req.promptTokens / bt);
    const fetch: KvFetch = { hostBlocks: 0, neighbourBlocks: 0 };
    let blocks = Math.min(hit.deviceBlocks, promptBlocks);
    const tier = req.sessionId !== undefined ? inst.engine.sessionTier(req.sessionId) : undefined;
    // The retained context covers the previous turn (prompt + output), not what this turn adds after it.
    const retained = tier !== undefined ? Math.min(inst.engine.sessionKvBlocks(req.sessionId as string), req.blockHashes.length, promptBlocks) : 0;
    if (tier !== undefined && retained > blocks) {
      if (tier === 'host') fetch.hostBlocks = retained - blocks;
      blocks = retained;
    } else {
      const cost = this.opts.cost;
      const host = Math.min(hit.hostBlocks, promptBlocks - blocks);
      if (host > 0 && cost.fetchS(inst.view, host, 'c2c') < cost.prefillS(inst.view, host * bt, blocks * bt)) {
        fetch.hostBlocks = host;
        blocks += host;
        const near = Math.min(hit.neighbourBlocks, promptBlocks - blocks);
        if (near > 0 && cost.fetchS(inst.view, near, 'nvlink') < cost.prefillS(inst.view, near * bt, blocks * bt)) {
          fetch.neighbourBlocks = near;
          blocks += near;
        }
      } else if (hit.hostBlocks === 0) {
        const near = Math.min(hit.neighbourBlocks, promptBlocks - blocks);
        if (near > 0 && cost.fetchS(inst.view, near, 'nvlink') < cost.prefillS(inst.view, near * bt, blocks * bt)) {
          fetch.neighbourBlocks = near;
          blocks += near;
        }
      }
    }
    return { tokens: Math.min(req.promptTokens, blocks * bt), fetch };
  }

  private predictTtftS(pool: Pool, view: InstanceView, uncachedTokens: number, cachedTokens: number): number {
    const waitS = view.pendingPrefillTokens * pool.prefillSPerToken;
    return waitS + this.opts.cost.prefillS(view, Math.max(1, uncachedTokens), cachedTokens);
  }

  /** The instance's view with its queue replaced by what a request of `tenant` finds ahead of it (a reused object). */
  private tenantQueueView(inst: Instance, tenant: string, uncachedTokens: number): InstanceView {
    const v = Object.assign(this.scratchView ??= { ...inst.view }, inst.view);
    const ahead = inst.engine.queueAhead(tenant, uncachedTokens);
    v.queuedRequests = ahead.queuedRequests;
    v.pendingPrefillTokens = ahead.pendingPrefillTokens;
    return v;
  }

  private startSessionTurn(req: ScheduleRequest, inst: Instance, nowS: number): void {
    if (req.sessionId === undefined) return;
    const homeId = this.sessionHome.get(req.sessionId);
    const home = homeId !== undefined ? this.instances.get(homeId) : undefined;
    if (home) {
      home.retention.turnStarted(req.sessionId, req.tenant, nowS);
      home.engine.releaseSession(req.sessionId);
      this.ledger.setIdleKvBlocks(req.sessionId, home.setup.pool, 0, nowS);
    }
    this.sessionHome.delete(req.sessionId);
    this.sessionHome.set(req.sessionId, inst.setup.instanceId);
    if (this.sessionHome.size > MAX_SESSION_HOMES) {
      const oldest = this.sessionHome.keys().next().value as string;
      this.sessionHome.delete(oldest);
    }
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
    const n = plan.items.length;
    if (n > 0) {
      // Reused share objects: this runs at every step of every instance.
      const shares = this.shares;
      while (shares.length < n) shares.push({ requestId: '', numTokens: 0 });
      let m = 0;
      for (let i = 0; i < n; i++) {
        const item = plan.items[i] as StepItem;
        // A sequence cancelled while its step ran (the engine allows it) has left: the step is shared by the rest.
        const requestId = inst.requests.get(item.seqId);
        if (requestId === undefined) continue;
        const share = shares[m++] as { requestId: string; numTokens: number };
        share.requestId = requestId;
        share.numTokens = item.numNewTokens;
      }
      shares.length = m;
      if (m > 0) this.ledger.onStep(inst.stepInstance, outcome.durationS, shares);
    }
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
    this.syncView(inst);
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
    this.syncView(live.inst);
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
    this.ledger.onTokens(requestId, { inputTokens: seq.promptTokens, cachedInputTokens: seq.cachedPromptTokens, outputTokens: seq.outputTokens });
    // KV held: charged at the mean footprint (prompt + half the output) from admission to end — the engine does not
    // report per-step block counts, and the mean is exact for linear growth.
    const meanBlocks = Math.ceil((seq.promptTokens + seq.outputTokens / 2) / this.blockTokens);
    this.ledger.onKvHeld(requestId, meanBlocks, seq.enqueuedS, nowS);
    if (f.end.kind === 'completed') {
      this.counts.completed++;
      this.classification.observeFinished(live.req, seq.shape, seq.outputTokens);
      // The last sampled token is never fed back, so its KV is never written: the worker holds one token less.
      this.endSessionTurn(live.req, inst, seq.promptTokens + Math.max(0, seq.outputTokens - 1), nowS);
    } else {
      this.counts.cancelled++;
    }
    const cost = this.ledger.finishRequest(requestId, nowS);
    return {
      requestId,
      pool: inst.setup.pool,
      instanceId: inst.setup.instanceId,
      ...(live.req.sessionId !== undefined ? { sessionId: live.req.sessionId } : {}),
      shape: seq.shape,
      slo: live.cls.slo,
      end: f.end,
      arrivalS: seq.arrivalS,
      ...(seq.firstTokenS !== undefined ? { firstTokenS: seq.firstTokenS } : {}),
      endS: nowS,
      promptTokens: seq.promptTokens,
      cachedPromptTokens: seq.cachedPromptTokens,
      outputTokens: seq.outputTokens,
      preemptions: seq.preemptions,
      cost,
    };
  }

  /** A session's turn ended: the retention policy keeps, demotes or drops its context on this instance. */
  private endSessionTurn(req: ScheduleRequest, inst: Instance, contextTokens: number, nowS: number): void {
    if (req.sessionId === undefined) return;
    const kvBlocks = Math.max(1, Math.ceil(contextTokens / this.blockTokens));
    const load = inst.engine.view();
    const decision = inst.retention.turnEnded({
      sessionId: req.sessionId,
      tenant: req.tenant,
      nowS,
      kvBlocks,
      contextTokens,
      devicePressure: (load.kvBlocksUsed + load.kvBlocksRetained) / Math.max(1, load.kvBlocksTotal),
      hostPressure: 0,
      deviceKvBlocksTotal: load.kvBlocksTotal,
      recomputeS: this.opts.cost.prefillS(inst.view, contextTokens, 0),
      promoteS: this.opts.cost.fetchS(inst.view, kvBlocks, 'c2c'),
    });
    let heldBlocks = 0;
    if (decision.action === 'keep' && inst.engine.retainSession(req.sessionId, kvBlocks, 'device')) heldBlocks = kvBlocks;
    else if (decision.action === 'demote' && inst.engine.retainSession(req.sessionId, kvBlocks, 'host')) heldBlocks = kvBlocks;
    else if (decision.action !== 'drop') inst.retention.evicted(req.sessionId);
    if (heldBlocks > 0) this.ledger.setIdleKvBlocks(req.sessionId, inst.setup.pool, heldBlocks, nowS);
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
    const dropped = inst.engine.retainedSessions();
    for (const sessionId of dropped) {
      inst.engine.releaseSession(sessionId);
      inst.retention.evicted(sessionId);
      this.ledger.setIdleKvBlocks(sessionId, inst.setup.pool, 0, nowS);
      if (this.sessionHome.get(sessionId) === instanceId) this.sessionHome.delete(sessionId);
    }
    this.syncView(inst);
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
    const groups: Instance[][] = [];
    for (const pool of this.pools.values()) {
      const byDomain = new Map<string, Instance[]>();
      for (const v of pool.decodeViews) {
        const inst = this.instances.get(v.instanceId) as Instance;
        const list = byDomain.get(v.domainId) ?? [];
        list.push(inst);
        byDomain.set(v.domainId, list);
      }
      groups.push(...byDomain.values());
    }
    return this.coord.planMigrations(groups, nowS);
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

  private syncView(inst: Instance): void {
    const load = inst.engine.view();
    const v = inst.view;
    v.queuedRequests = load.queuedRequests;
    v.runningRequests = load.runningRequests;
    v.pendingPrefillTokens = load.pendingPrefillTokens;
    v.decodingSequences = load.decodingSequences;
    v.kvBlocksUsed = load.kvBlocksUsed;
    v.kvBlocksRetained = load.kvBlocksRetained;
  }

  /** Pool loads for the router: the best instance's predicted queue wait per shape, and mean saturation. */
  private refreshLoads(): void {
    let i = 0;
    for (const pool of this.pools.values()) {
      const load = this.loads[i++] as PoolLoad;
      if (pool.instances.length === 0) continue;
      let bestWaitS = Infinity;
      let saturation = 0;
      for (const inst of pool.instances) {
        const v = inst.view;
        bestWaitS = Math.min(bestWaitS, v.pendingPrefillTokens * pool.prefillSPerToken);
        saturation += Math.min(1, (v.kvBlocksUsed + v.kvBlocksRetained) / Math.max(1, v.kvBlocksTotal));
      }
      for (const shape of SHAPES) load.predictedTtftS[shape] = bestWaitS;
      load.saturation = saturation / pool.instances.length;
    }
  }
}

/** Validates the top-level keys of a scheduler config section (the rest is read by each plugin). */
export function checkSchedulerKeys(value: unknown, path = 'scheduler'): void {
  onlyKeys(asParams(value, path), path, ['policy', 'classification', 'pools', 'instances', 'tenants']);
}
