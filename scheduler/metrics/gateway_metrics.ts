// The gateway's Prometheus recorder: one object per gateway, owning its own prom-client Registry (never the global
// one — several gateways run in one test process). The gateway calls the typed methods at the moments named on
// each; state that is cheap to read at any time (queue depths, running counts, KV usage, cost totals) can instead
// be pulled at scrape time through onCollect. No per-request state is kept here: labels are bounded (labels.ts).
// Every method throws MetricsInputError naming the field on a bad value, and nothing else.
import { Counter, Histogram, Registry } from 'prom-client';
import { addProcessMetrics } from './process_metrics.js';
import { defineGatewayFamilies, type GatewayFamilies } from './gateway_families.js';
import { GatewaySeries, type StepEvent, type TokenRecorder } from './gateway_series.js';
import {
  count, DEFAULT_MAX_LABEL_VALUES, errorCode, HIT_TIERS, KV_TIERS, LabelGuard, LINKS, MetricsInputError, nonNegative,
  oneOf, OUTCOMES, OVERFLOW_VALUE, SHAPE_LABELS, type HitTier, type KvTier, type Link, type Outcome, type ShapeLabel,
} from './labels.js';

/** Why the edge refused a tenant's request before scheduling (gateway/tenancy/quotas.ts). */
export const QUOTA_REASONS = ['rate', 'concurrency', 'burst'] as const;
/** Why an API key was refused (gateway/tenancy/auth.ts). */
export const AUTH_FAILURES = ['missing', 'invalid', 'disabled'] as const;

/** KV hand-offs and live migrations between workers (gateway/disagg.ts). Pauses: 1 ms … 2.5 s. */
function defineKvMoveFamilies(registry: Registry) {
  const registers = [registry];
  const buckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
  return {
    handoffSeconds: new Histogram({ name: 'nvlsched_handoff_duration_seconds', help: 'Prefill to decode KV hand-offs, from the first token to the decode side taking over, by outcome (ok, failed: recomputed, local: no move).', labelNames: ['outcome'] as const, buckets, registers }),
    migrationPause: new Histogram({ name: 'nvlsched_migration_pause_seconds', help: 'Pause of each live migration of a running decode (the request ran on no instance: the tail after a pre-copy, or the whole stop-and-copy), by outcome.', labelNames: ['outcome'] as const, buckets, registers }),
    migrationPrecopy: new Histogram({ name: 'nvlsched_migration_precopy_seconds', help: 'Pre-copy of each live migration (the request kept decoding meanwhile).', buckets, registers }),
    moveBytes: new Counter({ name: 'nvlsched_kv_move_bytes_total', help: 'KV bytes moved worker to worker, by kind (handoff, migration).', labelNames: ['kind'] as const, registers }),
  };
}

/** Per-tenant accounting (the edge's): labels bounded like every identifier (tenant folds into "other"). */
function defineTenantFamilies(registry: Registry) {
  const registers = [registry];
  return {
    requests: new Counter({ name: 'nvlsched_tenant_requests_total', help: 'Requests ended per tenant, by outcome (completed, rejected, cancelled, error); quota rejections included.', labelNames: ['tenant', 'outcome'] as const, registers }),
    promptTokens: new Counter({ name: 'nvlsched_tenant_prompt_tokens_total', help: 'Prompt tokens of requests that ran, per tenant.', labelNames: ['tenant'] as const, registers }),
    completionTokens: new Counter({ name: 'nvlsched_tenant_completion_tokens_total', help: 'Output tokens of ended requests, per tenant (counted at the end).', labelNames: ['tenant'] as const, registers }),
    cost: new Counter({ name: 'nvlsched_tenant_cost_usd_total', help: 'Cost of ended requests in US dollars, per tenant (the scheduler cost ledger per request).', labelNames: ['tenant'] as const, registers }),
    quotaRejections: new Counter({ name: 'nvlsched_tenant_quota_rejections_total', help: 'Requests refused by a tenant quota before scheduling, by reason (rate, concurrency, burst).', labelNames: ['tenant', 'reason'] as const, registers }),
    authFailures: new Counter({ name: 'nvlsched_auth_failures_total', help: 'Requests refused for their API key, by reason (missing, invalid, disabled).', labelNames: ['reason'] as const, registers }),
  };
}

export interface GatewayMetricsOptions {
  /** Also export prom-client's process_* and nodejs_* metrics (enable in one registry per process). Default false. */
  processMetrics?: boolean;
  /** Distinct values per identifier label before folding into "other". Default 1024. */
  maxLabelValues?: number;
}

/** A request's end, as Frontend's `Finished` (or a rejection) describes it. */
export interface RequestEndedEvent {
  shape: ShapeLabel;
  /** Pool that ran it; omit when rejected before routing ("none"). */
  pool?: string;
  outcome: Outcome;
  /** Required when outcome is 'rejected' (E_QUEUE_FULL, E_SLO_UNREACHABLE, ...). */
  rejectCode?: string;
  /** Latencies in seconds; observed for completed requests only (TPOT only when outputTokens > 1). */
  ttftS?: number;
  tpotS?: number;
  e2eS?: number;
  queueS?: number;
  promptTokens: number;
  outputTokens: number;
  cachedPromptTokens: number;
  costUsd: number;
  /** Completed within both its TTFT and TPOT targets: counts toward goodput. */
  sloMet?: boolean;
  /** The tenant (from its API key, or x-tenant without auth): per-tenant counters when given. */
  tenant?: string;
}

/** One step of one instance; `preemptions`: sequences preempted by this step's plan. */
export type StepCompletedEvent = StepEvent;
export type { TokenRecorder };

export interface KvUsage {
  /** NVLink domain (rack or clique) of the worker. */
  domain: string;
  workerId: string;
  /** GPU index on the tray; omit for tiers not tied to one GPU (host = the tray's Grace memory). */
  gpu?: number | string;
  tier: KvTier;
  usedBlocks: number;
  totalBlocks: number;
}

/** What onCollect returns at scrape time. A field given replaces that family's series; a field left out keeps
 *  what the push methods set. */
export interface GatewaySnapshot {
  queueDepth?: readonly { shape: ShapeLabel; pool: string; requests: number }[];
  running?: readonly { instanceId: string; pool: string; requests: number }[];
  kv?: readonly KvUsage[];
  /** Scheduler.costTotals(): monotonic over the gateway's life. */
  costTotals?: { usd: number; gpuSeconds: number; kvByteSeconds: number; idleKvByteSeconds: number };
}

export class GatewayMetrics {
  readonly registry = new Registry();
  private readonly f: GatewayFamilies;
  private readonly t: ReturnType<typeof defineTenantFamilies>;
  private readonly d: ReturnType<typeof defineKvMoveFamilies>;
  private readonly guard: LabelGuard;
  /** Per-token and per-step recording (gateway_series.ts): local series, read by the registry at scrape time. */
  private readonly hot: GatewaySeries;
  private source: (() => GatewaySnapshot) | undefined;
  private tickSnapshot: GatewaySnapshot | undefined;

  constructor(opts: GatewayMetricsOptions = {}) {
    this.f = defineGatewayFamilies(this.registry, {
      queueDepth: () => this.pullQueueDepth(),
      running: () => this.pullRunning(),
      kv: () => this.pullKv(),
      cost: () => this.pullCost(),
    });
    this.t = defineTenantFamilies(this.registry);
    this.d = defineKvMoveFamilies(this.registry);
    this.guard = new LabelGuard(opts.maxLabelValues ?? DEFAULT_MAX_LABEL_VALUES, this.f.labelOverflow);
    this.hot = new GatewaySeries(this.f, this.guard);
    if (opts.processMetrics) addProcessMetrics(this.registry);
  }

  /** Call once per request end: completion, rejection (at submit), cancel, or failure. */
  requestEnded(e: RequestEndedEvent): void {
    const at = 'requestEnded';
    const labels = this.shapePool(at, e.shape, e.pool ?? 'none');
    const outcome = oneOf(`${at}.outcome`, e.outcome, OUTCOMES);
    const prompt = count(`${at}.promptTokens`, e.promptTokens);
    const output = count(`${at}.outputTokens`, e.outputTokens);
    const cached = count(`${at}.cachedPromptTokens`, e.cachedPromptTokens);
    if (cached > prompt) throw new MetricsInputError(`${at}.cachedPromptTokens`, `${cached} exceeds promptTokens ${prompt}`);
    const costUsd = nonNegative(`${at}.costUsd`, e.costUsd);
    const code = outcome === 'rejected' ? errorCode(`${at}.rejectCode`, e.rejectCode) : undefined;
    const optional = (name: 'ttftS' | 'tpotS' | 'e2eS' | 'queueS') =>
      e[name] === undefined ? undefined : nonNegative(`${at}.${name}`, e[name]);
    const ttftS = optional('ttftS'), tpotS = optional('tpotS'), e2eS = optional('e2eS'), queueS = optional('queueS');
    if (e.sloMet !== undefined && typeof e.sloMet !== 'boolean') throw new MetricsInputError(`${at}.sloMet`, 'must be a boolean');

    this.f.requests.inc({ ...labels, outcome });
    if (costUsd > 0) this.f.requestCost.inc(labels, costUsd);
    if (e.tenant !== undefined) {
      const tenant = this.tenantLabel(`${at}.tenant`, e.tenant);
      this.t.requests.inc({ tenant, outcome });
      if (outcome !== 'rejected') {
        this.t.promptTokens.inc({ tenant }, prompt);
        this.t.completionTokens.inc({ tenant }, output);
      }
      if (costUsd > 0) this.t.cost.inc({ tenant }, costUsd);
    }
    if (code !== undefined) {
      this.f.rejected.inc({ ...labels, code: this.guard.id(`${at}.rejectCode`, 'code', code) });
      return;
    }
    this.f.promptTokens.inc(labels, prompt);
    this.f.cachedPromptTokens.inc(labels, cached);
    if (outcome !== 'completed') return;
    if (e.sloMet === true) this.f.sloMet.inc(labels);
    if (ttftS !== undefined) this.f.ttft.observe(labels, ttftS);
    if (tpotS !== undefined && output > 1) this.f.tpot.observe(labels, tpotS);
    if (e2eS !== undefined) this.f.e2e.observe(labels, e2eS);
    if (queueS !== undefined) this.f.queueTime.observe(labels, queueS);
  }

  /** Tokens streamed to one request's client; gapS = seconds since that request's previous emission (omit for the first). */
  tokensEmitted(e: { shape: ShapeLabel; pool: string; numTokens: number; gapS?: number }): void {
    this.hot.tokensEmitted(e.shape, e.pool, e.numTokens, e.gapS);
  }

  /**
   * tokensEmitted for one request (the frontend makes one at admission): each emission records what a tokensEmitted
   * call would (errors included), without looking its labels up once the (shape, pool) is known. Never throws itself.
   */
  tokenRecorder(shape: ShapeLabel, pool: string): TokenRecorder {
    return this.hot.tokenRecorder(shape, pool);
  }

  /** One step of one instance came back (StepResult applied). */
  stepCompleted(e: StepCompletedEvent): void {
    this.hot.stepCompleted(e);
  }

  setQueueDepth(shape: ShapeLabel, pool: string, requests: number): void {
    this.f.waiting.set(this.shapePool('setQueueDepth', shape, pool), count('setQueueDepth.requests', requests));
  }

  setRunning(instanceId: string, pool: string, requests: number): void {
    this.f.running.set(this.instanceLabels('setRunning', instanceId, pool), count('setRunning.requests', requests));
  }

  setKv(u: KvUsage): void {
    this.writeKv('setKv', u);
  }

  /** A request's prefix lookup at placement, in tokens: queried = its prompt tokens; hits by where they were found. */
  prefixLookup(e: { instanceId: string; pool: string; queriedTokens: number; hitTokens: Partial<Record<HitTier, number>> }): void {
    const at = 'prefixLookup';
    const inst = this.instanceLabels(at, e.instanceId, e.pool);
    const queried = count(`${at}.queriedTokens`, e.queriedTokens);
    const hits: [HitTier, number][] = [];
    let total = 0;
    for (const [tier, n] of Object.entries(e.hitTokens ?? {})) {
      if (n === undefined) continue;
      const t = oneOf(`${at}.hitTokens key`, tier, HIT_TIERS);
      const tokens = count(`${at}.hitTokens.${t}`, n);
      hits.push([t, tokens]);
      total += tokens;
    }
    if (total > queried) throw new MetricsInputError(`${at}.hitTokens`, `${total} hit tokens exceed queriedTokens ${queried}`);
    this.f.prefixQueries.inc(inst, queried);
    for (const [tier, tokens] of hits) if (tokens > 0) this.f.prefixHits.inc({ ...inst, tier }, tokens);
  }

  eviction(e: { workerId: string; tier: KvTier; blocks: number }): void {
    const worker = this.guard.id('eviction.workerId', 'worker', e.workerId);
    const tier = oneOf('eviction.tier', e.tier, KV_TIERS);
    const blocks = count('eviction.blocks', e.blocks);
    if (blocks > 0) this.f.evicted.inc({ worker, tier }, blocks);
  }

  tierMove(e: { link: Link; bytes: number }): void {
    const link = oneOf('tierMove.link', e.link, LINKS);
    const bytes = nonNegative('tierMove.bytes', e.bytes);
    this.f.transfers.inc({ link });
    if (bytes > 0) this.f.transferBytes.inc({ link }, bytes);
  }

  schedulingLatency(plugin: string, seconds: number): void {
    this.hot.schedulingLatency(plugin, seconds);
  }

  workerFailure(workerId: string): void {
    this.f.workerFailures.inc({ worker: this.guard.id('workerFailure.workerId', 'worker', workerId) });
  }

  /** A prefill → decode KV hand-off ended (gateway/disagg.ts): ok, failed (the decode side recomputed) or local. */
  handoff(e: { outcome: 'ok' | 'failed' | 'local'; seconds: number; bytes: number }): void {
    const outcome = oneOf('handoff.outcome', e.outcome, ['ok', 'failed', 'local'] as const);
    this.d.handoffSeconds.observe({ outcome }, nonNegative('handoff.seconds', e.seconds));
    const bytes = nonNegative('handoff.bytes', e.bytes);
    if (bytes > 0) this.d.moveBytes.inc({ kind: 'handoff' }, bytes);
  }

  /** A live migration ended: the stop-and-copy pause its request saw (it ran nowhere meanwhile). */
  migration(e: { outcome: 'ok' | 'failed'; pauseS: number; bytes: number; precopyS?: number }): void {
    const outcome = oneOf('migration.outcome', e.outcome, ['ok', 'failed'] as const);
    this.d.migrationPause.observe({ outcome }, nonNegative('migration.pauseS', e.pauseS));
    if (e.precopyS !== undefined && e.precopyS > 0) this.d.migrationPrecopy.observe(nonNegative('migration.precopyS', e.precopyS));
    const bytes = nonNegative('migration.bytes', e.bytes);
    if (bytes > 0) this.d.moveBytes.inc({ kind: 'migration' }, bytes);
  }

  /** A request continued on another instance after its worker failed. */
  rerun(e: { shape: ShapeLabel; pool: string }): void {
    this.f.reruns.inc(this.shapePool('rerun', e.shape, e.pool));
  }

  /** A tenant quota refused a request (gateway/tenancy/quotas.ts); requestEnded counts it as rejected too. */
  quotaRejected(e: { tenant: string; reason: (typeof QUOTA_REASONS)[number] }): void {
    const reason = oneOf('quotaRejected.reason', e.reason, QUOTA_REASONS);
    this.t.quotaRejections.inc({ tenant: this.tenantLabel('quotaRejected.tenant', e.tenant), reason });
  }

  /** An API key was refused (no tenant is known then). */
  authFailed(reason: (typeof AUTH_FAILURES)[number]): void {
    this.t.authFailures.inc({ reason: oneOf('authFailed.reason', reason, AUTH_FAILURES) });
  }

  /**
   * A tenant label: without auth the name is the client's x-tenant, so a value no label may hold folds into "other"
   * (counted as overflow) instead of failing the call; past maxLabelValues tenants fold the same way.
   */
  private tenantLabel(field: string, tenant: string): string {
    try {
      return this.guard.id(field, 'tenant', tenant);
    } catch (e) {
      if (!(e instanceof MetricsInputError)) throw e;
      this.f.labelOverflow.inc({ label: 'tenant' });
      return OVERFLOW_VALUE;
    }
  }

  /** Register the scrape-time source (replaces an earlier one). It must be cheap and must not block. */
  onCollect(source: () => GatewaySnapshot): void {
    if (typeof source !== 'function') throw new MetricsInputError('onCollect', 'expects a function returning a GatewaySnapshot');
    this.source = source;
  }

  /** The exposition text (what GET /metrics serves). */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  // ------------------------------------------------------------ labels

  private shapePool(at: string, shape: unknown, pool: unknown): { shape: ShapeLabel; pool: string } {
    return { shape: oneOf(`${at}.shape`, shape, SHAPE_LABELS), pool: this.guard.id(`${at}.pool`, 'pool', pool) };
  }

  private instanceLabels(at: string, instanceId: unknown, pool: unknown): { pool: string; model_instance: string } {
    return { pool: this.guard.id(`${at}.pool`, 'pool', pool), model_instance: this.guard.id(`${at}.instanceId`, 'model_instance', instanceId) };
  }

  private writeKv(at: string, u: KvUsage): void {
    const labels = {
      domain: this.guard.id(`${at}.domain`, 'domain', u.domain),
      worker: this.guard.id(`${at}.workerId`, 'worker', u.workerId),
      // Empty = the label is absent (Prometheus semantics): the tier is not per GPU.
      gpu: u.gpu === undefined ? '' : this.guard.id(`${at}.gpu`, 'gpu', u.gpu),
      tier: oneOf(`${at}.tier`, u.tier, KV_TIERS),
    };
    const used = count(`${at}.usedBlocks`, u.usedBlocks);
    const total = count(`${at}.totalBlocks`, u.totalBlocks);
    if (used > total) throw new MetricsInputError(`${at}.usedBlocks`, `${used} exceeds totalBlocks ${total}`);
    this.f.kvUsed.set(labels, used);
    this.f.kvCapacity.set(labels, total);
    this.f.kvUsage.set(labels, total === 0 ? 0 : used / total);
  }

  // ------------------------------------------------------------ pull at scrape time

  /** The source's snapshot, taken once per scrape: prom-client runs every family's collect in one synchronous pass,
   *  so the cached value is dropped at the next microtask. (Were that to change, the source is merely called more.) */
  private snapshot(): GatewaySnapshot | undefined {
    if (!this.source) return undefined;
    if (this.tickSnapshot === undefined) {
      this.tickSnapshot = this.source();
      queueMicrotask(() => { this.tickSnapshot = undefined; });
    }
    return this.tickSnapshot;
  }

  private pullQueueDepth(): void {
    const rows = this.snapshot()?.queueDepth;
    if (!rows) return;
    this.f.waiting.reset();
    rows.forEach((r, i) => this.f.waiting.set(this.shapePool(`onCollect.queueDepth[${i}]`, r.shape, r.pool), count(`onCollect.queueDepth[${i}].requests`, r.requests)));
  }

  private pullRunning(): void {
    const rows = this.snapshot()?.running;
    if (!rows) return;
    this.f.running.reset();
    rows.forEach((r, i) => this.f.running.set(this.instanceLabels(`onCollect.running[${i}]`, r.instanceId, r.pool), count(`onCollect.running[${i}].requests`, r.requests)));
  }

  // kvUsed, kvCapacity and kvUsage share this hook: the first of them in a scrape rewrites all three.
  private kvPulledFrom: GatewaySnapshot | undefined;
  private pullKv(): void {
    const snap = this.snapshot();
    if (!snap?.kv || this.kvPulledFrom === snap) return;
    this.kvPulledFrom = snap;
    queueMicrotask(() => { this.kvPulledFrom = undefined; });
    for (const g of [this.f.kvUsed, this.f.kvCapacity, this.f.kvUsage]) g.reset();
    snap.kv.forEach((u, i) => this.writeKv(`onCollect.kv[${i}]`, u));
  }

  private costPulledFrom: GatewaySnapshot | undefined;
  private pullCost(): void {
    const snap = this.snapshot();
    const c = snap?.costTotals;
    if (!c || this.costPulledFrom === snap) return;
    this.costPulledFrom = snap;
    queueMicrotask(() => { this.costPulledFrom = undefined; });
    const set = (counter: GatewayFamilies['costUsd'], field: keyof typeof c) => {
      const v = nonNegative(`onCollect.costTotals.${field}`, c[field]);
      counter.reset();
      counter.inc(v);
    };
    set(this.f.costUsd, 'usd');
    set(this.f.gpuSeconds, 'gpuSeconds');
    set(this.f.kvByteSeconds, 'kvByteSeconds');
    set(this.f.idleKvByteSeconds, 'idleKvByteSeconds');
  }
}
