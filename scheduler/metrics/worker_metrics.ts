// The worker's Prometheus recorder: one object per worker (tray), owning its own Registry with the worker's id (and
// NVLink domain, when known) as labels on every series. The worker's own view — steps it ran, sequences it holds,
// its KV manager's blocks per GPU and tier, KV events it emitted, errors it answered — as the gateway's view of the
// same things comes from gateway_metrics.ts. Names carry `nvlsched_worker_` so that both registries can be served
// from one process and summed apart in Prometheus. Bad values throw MetricsInputError naming the field.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { addProcessMetrics } from './process_metrics.js';
import { STEP_BUCKETS_S, STEP_SEQUENCE_BUCKETS, STEP_TOKEN_BUCKETS } from './buckets.js';
import {
  count, DEFAULT_MAX_LABEL_VALUES, errorCode, KV_TIERS, LabelGuard, MetricsInputError, nonNegative, oneOf, type KvTier,
} from './labels.js';

export const KV_EVENT_KINDS = ['stored', 'removed', 'moved'] as const;
export type KvEventKind = (typeof KV_EVENT_KINDS)[number];

export interface WorkerMetricsOptions {
  /** The worker id the gateway uses (the tray); a label on every series. */
  workerId: string;
  /** NVLink domain of the tray; a label on every series when given. */
  domain?: string;
  processMetrics?: boolean;
  maxLabelValues?: number;
}

export interface WorkerKvUsage {
  /** GPU index on the tray; omit for the tray's host (Grace) tier. */
  gpu?: number;
  tier: KvTier;
  usedBlocks: number;
  totalBlocks: number;
}

/** What onCollect returns at scrape time; a field given replaces that family's values. */
export interface WorkerSnapshot {
  liveSequences?: number;
  kv?: readonly WorkerKvUsage[];
}

const ID = /^[A-Za-z0-9_.:/@+-]{1,128}$/;

export class WorkerMetrics {
  readonly registry = new Registry();
  private readonly guard: LabelGuard;
  private source: (() => WorkerSnapshot) | undefined;
  private tickSnapshot: WorkerSnapshot | undefined;
  private kvPulledFrom: WorkerSnapshot | undefined;

  private readonly steps: Counter;
  private readonly stepDuration: Histogram;
  private readonly stepTokens: Histogram;
  private readonly stepSequences: Histogram;
  private readonly live: Gauge;
  private readonly kvUsed: Gauge<'gpu' | 'tier'>;
  private readonly kvCapacity: Gauge<'gpu' | 'tier'>;
  private readonly kvEventsTotal: Counter<'kind'>;
  private readonly errors: Counter<'code'>;

  constructor(opts: WorkerMetricsOptions) {
    const labels: Record<string, string> = {};
    for (const key of ['workerId', 'domain'] as const) {
      const v = opts[key];
      if (v === undefined && key === 'domain') continue;
      if (typeof v !== 'string' || !ID.test(v)) throw new MetricsInputError(`WorkerMetrics.${key}`, `must be 1-128 characters of letters, digits and _.:/@+-, got ${JSON.stringify(v)}`);
      labels[key === 'workerId' ? 'worker' : 'domain'] = v;
    }
    this.registry.setDefaultLabels(labels);
    const registers = [this.registry];
    this.steps = new Counter({ name: 'nvlsched_worker_steps_total', help: 'Step plans executed.', registers });
    this.stepDuration = new Histogram({ name: 'nvlsched_worker_step_duration_seconds', help: 'Duration of one step (modelled or measured, as sent in duration_s), seconds.', buckets: STEP_BUCKETS_S, registers });
    this.stepTokens = new Histogram({ name: 'nvlsched_worker_step_tokens', help: 'Tokens in one step (prefill chunks + decodes).', buckets: STEP_TOKEN_BUCKETS, registers });
    this.stepSequences = new Histogram({ name: 'nvlsched_worker_step_sequences', help: 'Sequences that ran in one step.', buckets: STEP_SEQUENCE_BUCKETS, registers });
    this.live = new Gauge({ name: 'nvlsched_worker_live_sequences', help: 'Sequences the worker holds KV for.', registers, collect: () => this.pullLive() });
    this.kvUsed = new Gauge({ name: 'nvlsched_worker_kv_cache_used_blocks', help: 'KV blocks in use in the worker KV manager, per GPU and tier.', labelNames: ['gpu', 'tier'], registers, collect: () => this.pullKv() });
    this.kvCapacity = new Gauge({ name: 'nvlsched_worker_kv_cache_capacity_blocks', help: 'KV blocks in all in the worker KV manager, per GPU and tier (free = capacity - used).', labelNames: ['gpu', 'tier'], registers, collect: () => this.pullKv() });
    this.kvEventsTotal = new Counter({ name: 'nvlsched_worker_kv_events_total', help: 'KV events emitted to the gateway, by kind.', labelNames: ['kind'], registers });
    this.errors = new Counter({ name: 'nvlsched_worker_errors_total', help: 'Sequences or plans refused, by error code.', labelNames: ['code'], registers });
    const overflow = new Counter({ name: 'nvlsched_worker_metrics_label_overflow_total', help: 'Label values folded into "other" because a label reached its distinct-value limit.', labelNames: ['label'], registers });
    this.guard = new LabelGuard(opts.maxLabelValues ?? DEFAULT_MAX_LABEL_VALUES, overflow);
    if (opts.processMetrics) addProcessMetrics(this.registry);
  }

  /** One step plan executed (its StepResult sent). */
  stepCompleted(e: { numTokens: number; numSeqs: number; durationS: number }): void {
    const tokens = count('stepCompleted.numTokens', e.numTokens);
    const seqs = count('stepCompleted.numSeqs', e.numSeqs);
    const durationS = nonNegative('stepCompleted.durationS', e.durationS);
    this.steps.inc();
    this.stepDuration.observe(durationS);
    this.stepTokens.observe(tokens);
    this.stepSequences.observe(seqs);
  }

  setLiveSequences(n: number): void {
    this.live.set(count('setLiveSequences', n));
  }

  setKv(u: WorkerKvUsage): void {
    this.writeKv('setKv', u);
  }

  /** KV events drained into one StepResult (or a batch), by kind. */
  kvEvents(counts: Partial<Record<KvEventKind, number>>): void {
    for (const [kind, n] of Object.entries(counts)) {
      if (n === undefined) continue;
      const k = oneOf('kvEvents key', kind, KV_EVENT_KINDS);
      const c = count(`kvEvents.${k}`, n);
      if (c > 0) this.kvEventsTotal.inc({ kind: k }, c);
    }
  }

  /** A sequence or plan refused with this code (E_OUT_OF_BLOCKS, E_DRAINING, ...). */
  error(code: string): void {
    this.errors.inc({ code: this.guard.id('error', 'code', errorCode('error', code)) });
  }

  onCollect(source: () => WorkerSnapshot): void {
    if (typeof source !== 'function') throw new MetricsInputError('onCollect', 'expects a function returning a WorkerSnapshot');
    this.source = source;
  }

  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  private writeKv(at: string, u: WorkerKvUsage): void {
    const labels = { gpu: u.gpu === undefined ? '' : String(count(`${at}.gpu`, u.gpu)), tier: oneOf(`${at}.tier`, u.tier, KV_TIERS) };
    const used = count(`${at}.usedBlocks`, u.usedBlocks);
    const total = count(`${at}.totalBlocks`, u.totalBlocks);
    if (used > total) throw new MetricsInputError(`${at}.usedBlocks`, `${used} exceeds totalBlocks ${total}`);
    labels.gpu = labels.gpu === '' ? '' : this.guard.id(`${at}.gpu`, 'gpu', labels.gpu);
    this.kvUsed.set(labels, used);
    this.kvCapacity.set(labels, total);
  }

  /** Once per scrape (see GatewayMetrics.snapshot). */
  private snapshot(): WorkerSnapshot | undefined {
    if (!this.source) return undefined;
    if (this.tickSnapshot === undefined) {
      this.tickSnapshot = this.source();
      queueMicrotask(() => { this.tickSnapshot = undefined; });
    }
    return this.tickSnapshot;
  }

  private pullLive(): void {
    const n = this.snapshot()?.liveSequences;
    if (n !== undefined) this.live.set(count('onCollect.liveSequences', n));
  }

  private pullKv(): void {
    const snap = this.snapshot();
    if (!snap?.kv || this.kvPulledFrom === snap) return;
    this.kvPulledFrom = snap;
    queueMicrotask(() => { this.kvPulledFrom = undefined; });
    this.kvUsed.reset();
    this.kvCapacity.reset();
    snap.kv.forEach((u, i) => this.writeKv(`onCollect.kv[${i}]`, u));
  }
}
