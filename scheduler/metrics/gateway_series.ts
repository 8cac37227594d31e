// The gateway's per-token and per-step recording: label values resolved once into local_metrics.ts series, each
// event a few additions. Lookups go by the caller's raw values (a Map per label, no string built, no pattern tested);
// the label guard (labels.ts) sees a raw value only the first time — or every time, for one it folded into "other",
// so that nvlsched_metrics_label_overflow_total counts every call as it did when each call went through the guard.
// Validation and field names are GatewayMetrics' (`tokensEmitted.numTokens: must be an integer >= 0, got 1.5`), each
// check made before anything is recorded.
import type { GatewayFamilies } from './gateway_families.js';
import { count, type LabelGuard, nonNegative, oneOf, OVERFLOW_VALUE, SHAPE_LABELS, type ShapeLabel } from './labels.js';
import type { CounterSeries, HistogramSeries } from './local_metrics.js';

/** Records one request's token emissions (the frontend keeps one per request). */
export interface TokenRecorder {
  /** numTokens written to the client; gapS = seconds since this request's previous emission (omit for the first). */
  emitted(numTokens: number, gapS?: number): void;
}

/** The generation-token counter and ITL histogram of one (shape, pool). */
class TokenSeries implements TokenRecorder {
  constructor(private readonly tokens: CounterSeries, private readonly itl: HistogramSeries) {}

  emitted(numTokens: number, gapS?: number): void {
    const n = count('tokensEmitted.numTokens', numTokens);
    const gap = gapS === undefined ? undefined : nonNegative('tokensEmitted.gapS', gapS);
    if (n > 0) this.tokens.add(n);
    if (gap !== undefined) this.itl.observe(gap);
  }
}

/** One instance's step series; the three histograms are its pool's (shared by the pool's instances). */
interface StepSeries {
  steps: CounterSeries;
  preemptions: CounterSeries;
  duration: HistogramSeries;
  tokens: HistogramSeries;
  sequences: HistogramSeries;
}

export interface StepEvent {
  instanceId: string;
  pool: string;
  numTokens: number;
  numSeqs: number;
  durationS: number;
  preemptions: number;
}

/** Cached by raw value: `pool → shape index → series`, `pool → instance → series`, `plugin → series`. */
export class GatewaySeries {
  private readonly tokensByRaw = new Map<string, (TokenSeries | undefined)[]>();
  private readonly tokensByLabels = new Map<string, TokenSeries>();
  private readonly stepsByRaw = new Map<string, Map<string, StepSeries>>();
  private readonly stepsByLabels = new Map<string, StepSeries>();
  private readonly poolSteps = new Map<string, Pick<StepSeries, 'duration' | 'tokens' | 'sequences'>>();
  private readonly pluginsByRaw = new Map<string, HistogramSeries>();
  private readonly pluginsByLabel = new Map<string, HistogramSeries>();

  constructor(private readonly f: GatewayFamilies, private readonly guard: LabelGuard) {}

  /** GatewayMetrics.tokensEmitted. */
  tokensEmitted(shape: ShapeLabel, pool: string, numTokens: number, gapS: number | undefined): void {
    this.tokenSeries(shape, pool).emitted(numTokens, gapS);
  }

  /**
   * A recorder for one request's emissions, each exactly as a tokensEmitted call would record it. Once the raw
   * (shape, pool) has been seen (every request but the first of its pair) it is the series itself: no lookup per
   * emission. Otherwise each emission goes the tokensEmitted way (the guard sees the pool at its first emission, as
   * before, and a pool it folded is counted as overflow at every one).
   */
  tokenRecorder(shape: ShapeLabel, pool: string): TokenRecorder {
    const i = SHAPE_LABELS.indexOf(shape);
    const cached = i < 0 ? undefined : this.tokensByRaw.get(pool)?.[i];
    return cached ?? { emitted: (numTokens, gapS) => this.tokensEmitted(shape, pool, numTokens, gapS) };
  }

  private tokenSeries(shape: unknown, pool: string): TokenSeries {
    const i = SHAPE_LABELS.indexOf(shape as ShapeLabel);
    const hit = i < 0 ? undefined : this.tokensByRaw.get(pool)?.[i];
    if (hit) return hit;
    const shapeLabel = oneOf('tokensEmitted.shape', shape, SHAPE_LABELS);
    const poolLabel = this.guard.id('tokensEmitted.pool', 'pool', pool);
    const key = `${shapeLabel}\n${poolLabel}`;
    let series = this.tokensByLabels.get(key);
    if (!series) {
      series = new TokenSeries(this.f.generationTokens.series([shapeLabel, poolLabel]), this.f.itl.series([shapeLabel, poolLabel]));
      this.tokensByLabels.set(key, series);
    }
    if (poolLabel !== OVERFLOW_VALUE) {
      let row = this.tokensByRaw.get(pool);
      if (!row) this.tokensByRaw.set(pool, (row = []));
      row[i] = series;
    }
    return series;
  }

  /** GatewayMetrics.stepCompleted. */
  stepCompleted(e: StepEvent): void {
    const at = 'stepCompleted';
    const s = this.stepsByRaw.get(e.pool)?.get(e.instanceId) ?? this.stepSeries(e.pool, e.instanceId);
    const tokens = count(`${at}.numTokens`, e.numTokens);
    const seqs = count(`${at}.numSeqs`, e.numSeqs);
    const durationS = nonNegative(`${at}.durationS`, e.durationS);
    const preemptions = count(`${at}.preemptions`, e.preemptions);
    s.steps.add(1);
    s.duration.observe(durationS);
    s.tokens.observe(tokens);
    s.sequences.observe(seqs);
    if (preemptions > 0) s.preemptions.add(preemptions);
  }

  private stepSeries(pool: string, instanceId: string): StepSeries {
    const poolLabel = this.guard.id('stepCompleted.pool', 'pool', pool);
    const instLabel = this.guard.id('stepCompleted.instanceId', 'model_instance', instanceId);
    const key = `${poolLabel}\n${instLabel}`;
    let s = this.stepsByLabels.get(key);
    if (!s) {
      let perPool = this.poolSteps.get(poolLabel);
      if (!perPool) {
        perPool = { duration: this.f.stepDuration.series([poolLabel]), tokens: this.f.stepTokens.series([poolLabel]), sequences: this.f.stepSequences.series([poolLabel]) };
        this.poolSteps.set(poolLabel, perPool);
      }
      s = { steps: this.f.steps.series([poolLabel, instLabel]), preemptions: this.f.preemptions.series([poolLabel, instLabel]), ...perPool };
      this.stepsByLabels.set(key, s);
    }
    if (poolLabel !== OVERFLOW_VALUE && instLabel !== OVERFLOW_VALUE) {
      let row = this.stepsByRaw.get(pool);
      if (!row) this.stepsByRaw.set(pool, (row = new Map()));
      row.set(instanceId, s);
    }
    return s;
  }

  /** GatewayMetrics.schedulingLatency. */
  schedulingLatency(plugin: string, seconds: number): void {
    const s = this.pluginsByRaw.get(plugin) ?? this.pluginSeries(plugin);
    s.observe(nonNegative('schedulingLatency.seconds', seconds));
  }

  private pluginSeries(plugin: string): HistogramSeries {
    const label = this.guard.id('schedulingLatency.plugin', 'plugin', plugin);
    let s = this.pluginsByLabel.get(label);
    if (!s) this.pluginsByLabel.set(label, (s = this.f.schedulingLatency.series([label])));
    if (label !== OVERFLOW_VALUE) this.pluginsByRaw.set(plugin, s);
    return s;
  }
}
