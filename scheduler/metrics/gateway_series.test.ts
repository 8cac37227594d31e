// The per-token and per-step families (gateway_series.ts over local_metrics.ts) against the way they were recorded
// before — straight into prom-client Counters and Histograms, every call through the label guard — kept here as the
// reference: the same seeded events go to both, and at scrapes between them each family's exposition text (and its
// JSON) must be identical, label overflow included. Scraping reads totals and changes nothing: a scrape repeated at
// once gives the same text, and totals after many scrapes equal those of one.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Counter, Histogram, Registry } from 'prom-client';

import { Rng } from '../util/random.js';
import { GatewayMetrics, type TokenRecorder } from './gateway_metrics.js';
import { count, LabelGuard, MetricsInputError, nonNegative, oneOf, SHAPE_LABELS, type ShapeLabel } from './labels.js';
import { LocalCounter, LocalHistogram } from './local_metrics.js';

/** The pre-change recording (gateway_metrics.ts before local series), on prom-client families of the same config. */
class DirectReference {
  readonly registry = new Registry();
  private readonly guard: LabelGuard;
  private readonly c = new Map<string, Counter>();
  private readonly h = new Map<string, Histogram>();

  constructor(model: GatewayMetrics, maxLabelValues: number) {
    const registers = [this.registry];
    for (const m of model.registry.getMetricsAsArray() as unknown[]) {
      if (m instanceof LocalCounter) this.c.set(m.name, new Counter({ name: m.name, help: m.help, labelNames: m.labelNames, registers }));
      if (m instanceof LocalHistogram) this.h.set(m.name, new Histogram({ name: m.name, help: m.help, labelNames: m.labelNames, buckets: [...m.upperBounds], registers }));
    }
    const overflow = new Counter({ name: 'nvlsched_metrics_label_overflow_total', help: 'Label values folded into "other" because a label reached its distinct-value limit.', labelNames: ['label'], registers });
    this.guard = new LabelGuard(maxLabelValues, overflow);
  }

  private counter(name: string): Counter { return this.c.get(name)!; }
  private histogram(name: string): Histogram { return this.h.get(name)!; }

  tokensEmitted(e: { shape: ShapeLabel; pool: string; numTokens: number; gapS?: number }): void {
    const labels = { shape: oneOf('tokensEmitted.shape', e.shape, SHAPE_LABELS), pool: this.guard.id('tokensEmitted.pool', 'pool', e.pool) };
    const n = count('tokensEmitted.numTokens', e.numTokens);
    const gapS = e.gapS === undefined ? undefined : nonNegative('tokensEmitted.gapS', e.gapS);
    if (n > 0) this.counter('nvlsched_generation_tokens_total').inc(labels, n);
    if (gapS !== undefined) this.histogram('nvlsched_inter_token_latency_seconds').observe(labels, gapS);
  }

  stepCompleted(e: { instanceId: string; pool: string; numTokens: number; numSeqs: number; durationS: number; preemptions: number }): void {
    const at = 'stepCompleted';
    const pool = this.guard.id(`${at}.pool`, 'pool', e.pool);
    const inst = { pool, model_instance: this.guard.id(`${at}.instanceId`, 'model_instance', e.instanceId) };
    const tokens = count(`${at}.numTokens`, e.numTokens);
    const seqs = count(`${at}.numSeqs`, e.numSeqs);
    const durationS = nonNegative(`${at}.durationS`, e.durationS);
    const preemptions = count(`${at}.preemptions`, e.preemptions);
    this.counter('nvlsched_steps_total').inc(inst);
    this.histogram('nvlsched_step_duration_seconds').observe({ pool }, durationS);
    this.histogram('nvlsched_iteration_tokens').observe({ pool }, tokens);
    this.histogram('nvlsched_iteration_sequences').observe({ pool }, seqs);
    if (preemptions > 0) this.counter('nvlsched_num_preemptions_total').inc(inst, preemptions);
  }

  schedulingLatency(plugin: string, seconds: number): void {
    const p = this.guard.id('schedulingLatency.plugin', 'plugin', plugin);
    this.histogram('nvlsched_scheduling_latency_seconds').observe({ plugin: p }, nonNegative('schedulingLatency.seconds', seconds));
  }

  names(): string[] {
    return [...this.c.keys(), ...this.h.keys(), 'nvlsched_metrics_label_overflow_total'];
  }
}

/** Both sides' text and JSON for every family the reference has; equal or the first difference. */
async function assertSame(m: GatewayMetrics, ref: DirectReference, when: string): Promise<void> {
  for (const name of ref.names()) {
    assert.equal(await m.registry.getSingleMetricAsString(name), await ref.registry.getSingleMetricAsString(name), `${name} text ${when}`);
    assert.deepEqual(await m.registry.getSingleMetric(name)!.get(), await ref.registry.getSingleMetric(name)!.get(), `${name} JSON ${when}`);
  }
}

// Values on bucket edges, between them, past the last bound (only +Inf), zero.
const GAPS_S = [0, 0.005, 0.0051, 0.02, 0.03, 0.04999, 0.05, 0.3, 1, 2.5, 4.9, 5, 7.5, 60];
const DURATIONS_S = [0, 0.001, 0.0137, 0.015, 0.02, 0.0201, 0.1, 2.5, 3];
const TOKENS = [0, 1, 7, 8, 64, 65, 2048, 16384, 20_000];
const SECONDS = [0, 1e-6, 3.3e-6, 1e-5, 2.4e-5, 5e-5, 0.05, 0.2];

test('per-token and per-step families: the same exposition as direct prom-client recording, scraped between events', async () => {
  const maxLabelValues = 4; // pools, instances and plugins past it fold into "other", counted per call
  const m = new GatewayMetrics({ maxLabelValues });
  const ref = new DirectReference(m, maxLabelValues);
  assert.equal(ref.names().length, 9, 'eight hot families and the overflow counter');
  const rng = new Rng(20240611);
  const pools = ['llama-70b', 'llama-8b', 'p3', 'p4', 'p5', 'p6'];
  const instances = ['rack0/i0', 'rack0/i1', 'rack1/i0', 'rack1/i1', 'rack2/i0', 'rack2/i1'];
  const plugins = ['submit', 'plan_step', 'classify', 'route', 'filter:healthy', 'scorer:kv'];
  // Requests as the frontend sees them: a recorder per request, made at admission; the reference is called per event.
  const live: Array<{ shape: ShapeLabel; pool: string; rec: TokenRecorder; first: boolean }> = [];
  for (let round = 0; round < 40; round++) {
    for (let i = 0; i < 50; i++) {
      const what = rng.int(10);
      if (what < 2 || live.length === 0) {
        const shape = rng.pick(SHAPE_LABELS);
        const pool = rng.pick(pools);
        live.push({ shape, pool, rec: m.tokenRecorder(shape, pool), first: true });
      } else if (what < 6) {
        const r = live[rng.int(live.length)]!;
        const numTokens = rng.int(5) === 0 ? 0 : 1 + rng.int(4);
        const gapS = r.first ? undefined : rng.pick(GAPS_S);
        r.first = false;
        r.rec.emitted(numTokens, gapS);
        ref.tokensEmitted({ shape: r.shape, pool: r.pool, numTokens, ...(gapS !== undefined ? { gapS } : {}) });
      } else if (what < 8) {
        const e = { instanceId: rng.pick(instances), pool: rng.pick(pools.slice(0, 5)), numTokens: rng.pick(TOKENS), numSeqs: rng.pick(TOKENS), durationS: rng.pick(DURATIONS_S), preemptions: rng.int(3) === 0 ? rng.int(4) : 0 };
        m.stepCompleted(e);
        ref.stepCompleted(e);
      } else if (what < 9) {
        const plugin = rng.pick(plugins);
        const s = rng.pick(SECONDS);
        m.schedulingLatency(plugin, s);
        ref.schedulingLatency(plugin, s);
      } else {
        // The non-recorder path for tokens (tests, other callers).
        const e = { shape: rng.pick(SHAPE_LABELS), pool: rng.pick(pools), numTokens: 1 + rng.int(3), gapS: rng.pick(GAPS_S) };
        m.tokensEmitted(e);
        ref.tokensEmitted(e);
      }
    }
    if (round % 3 === 0) {
      await assertSame(m, ref, `after round ${round}`);
      assert.equal(await m.metrics(), await m.metrics(), 'a scrape changes nothing');
    }
  }
  await assertSame(m, ref, 'at the end');
  // The run did fold labels (so the per-call overflow counting was compared too) and filled every family.
  assert.match(await m.registry.getSingleMetricAsString('nvlsched_metrics_label_overflow_total'), /label="pool"\} [1-9]/);
  assert.match(await m.registry.getSingleMetricAsString('nvlsched_metrics_label_overflow_total'), /label="model_instance"\} [1-9]/);
  for (const name of ref.names()) assert.match(await m.registry.getSingleMetricAsString(name), /\} [1-9]/m, name);
});

test('bad values: the same MetricsInputError (field, message) as before, nothing recorded on either side', async () => {
  const m = new GatewayMetrics();
  const ref = new DirectReference(m, 1024);
  const same = (call: (x: GatewayMetrics | DirectReference) => void, field: string) => {
    let mine: unknown, theirs: unknown;
    try { call(m); } catch (e) { mine = e; }
    try { call(ref); } catch (e) { theirs = e; }
    assert.ok(mine instanceof MetricsInputError && theirs instanceof MetricsInputError, field);
    assert.equal(mine.field, field);
    assert.equal(mine.message, theirs.message);
  };
  same((x) => x.tokensEmitted({ shape: 'poem' as ShapeLabel, pool: 'p', numTokens: 1 }), 'tokensEmitted.shape');
  same((x) => x.tokensEmitted({ shape: 'chat', pool: 'a b', numTokens: 1 }), 'tokensEmitted.pool');
  same((x) => x.tokensEmitted({ shape: 'chat', pool: 'p', numTokens: 1.5 }), 'tokensEmitted.numTokens');
  same((x) => x.tokensEmitted({ shape: 'chat', pool: 'p', numTokens: 1, gapS: -1 }), 'tokensEmitted.gapS');
  same((x) => x.stepCompleted({ instanceId: 'i', pool: 'p', numTokens: 1, numSeqs: 1, durationS: Number.NaN, preemptions: 0 }), 'stepCompleted.durationS');
  same((x) => x.stepCompleted({ instanceId: 'i j', pool: 'p', numTokens: 1, numSeqs: 1, durationS: 0, preemptions: 0 }), 'stepCompleted.instanceId');
  same((x) => x.stepCompleted({ instanceId: 'i', pool: 'p', numTokens: 1, numSeqs: 1, durationS: 0, preemptions: -1 }), 'stepCompleted.preemptions');
  same((x) => x.schedulingLatency('plan_step', Infinity), 'schedulingLatency.seconds');
  assert.throws(() => m.tokenRecorder('poem' as ShapeLabel, 'p').emitted(1), (e: unknown) => e instanceof MetricsInputError && e.field === 'tokensEmitted.shape');
  m.tokensEmitted({ shape: 'chat', pool: 'p', numTokens: 0 }); // (chat, p) known: the recorder is its series
  ref.tokensEmitted({ shape: 'chat', pool: 'p', numTokens: 0 });
  const rec = m.tokenRecorder('chat', 'p');
  assert.throws(() => rec.emitted(-1), (e: unknown) => e instanceof MetricsInputError && e.field === 'tokensEmitted.numTokens');
  assert.throws(() => rec.emitted(1, Number.NaN), (e: unknown) => e instanceof MetricsInputError && e.field === 'tokensEmitted.gapS');
  await assertSame(m, ref, 'after bad calls only');
  assert.doesNotMatch(await m.metrics(), /^nvlsched_(generation_tokens_total|steps_total|iteration_tokens_count)\{/m, 'nothing recorded');
});

test('registry.resetMetrics() zeroes the local series; they show again from their next event', async () => {
  const m = new GatewayMetrics();
  const rec = m.tokenRecorder('chat', 'p');
  rec.emitted(3, 0.02);
  m.stepCompleted({ instanceId: 'i', pool: 'p', numTokens: 64, numSeqs: 64, durationS: 0.02, preemptions: 1 });
  m.registry.resetMetrics();
  assert.doesNotMatch(await m.metrics(), /^nvlsched_(generation_tokens_total|inter_token_latency_seconds_count|steps_total)\{/m);
  rec.emitted(2, 0.03);
  const text = await m.metrics();
  assert.match(text, /^nvlsched_generation_tokens_total\{shape="chat",pool="p"\} 2$/m);
  assert.match(text, /^nvlsched_inter_token_latency_seconds_count\{shape="chat",pool="p"\} 1$/m);
  assert.doesNotMatch(text, /^nvlsched_steps_total\{/m);
});
