// Counters and histograms recorded in plain numbers and arrays, handed to the registry only when it is scraped.
// prom-client hashes a call's labels into a key on every inc/observe (and the label guard tests its pattern): at 64
// streams that was 60–80 µs of every gateway step (scheduler/worker/README.md). Here a caller resolves its labels once
// into a series (a cell it keeps), and each event is a few additions on it; the family builds prom-client's own
// value records at scrape time, so the registry formats them exactly as it formats a prom-client Counter/Histogram
// (same names, labels, order, numbers — local_metrics.test.ts compares the text against prom-client's).
//
// Series appear in the exposition in the order of their first event, as prom-client's do (its hash map keeps insertion
// order); a counter series appears at its first add(), a histogram series at its first observe(). Values are totals
// since the start: a scrape reads them and changes nothing, so no event is lost or counted twice across scrapes.
//
// prom-client has no public way to load bucket counts into a Histogram, hence a metric object of our own: the
// registry asks any registered metric for get() / getForPromString() and formats what they return.
import type { Metric, Registry } from 'prom-client';

type Labels = Readonly<Record<string, string>>;

interface FamilyConfig {
  name: string;
  help: string;
  /** The series' label names, in the order the exposition shows them (as prom-client: the labels object's order). */
  labelNames: readonly string[];
  registers: Registry[];
}

/** A counter series: one label set's running total. */
export class CounterSeries {
  value = 0;
  exposed = false;

  constructor(readonly labels: Labels, private readonly family: LocalCounter) {}

  /** Adds `v` (≥ 0, checked by the caller); the series shows from its first add, as prom-client's from its first inc. */
  add(v: number): void {
    if (!this.exposed) this.family.expose(this);
    this.value += v;
  }
}

/** A histogram series: per-bucket counts (not cumulative), sum and count of one label set. */
export class HistogramSeries {
  readonly counts: number[];
  sum = 0;
  count = 0;

  constructor(readonly labels: Labels, private readonly family: LocalHistogram) {
    this.counts = new Array<number>(family.upperBounds.length).fill(0);
  }

  /** One observation (finite, checked by the caller); values above the last bound count in +Inf only (as prom-client). */
  observe(v: number): void {
    if (this.count === 0) this.family.expose(this);
    const bounds = this.family.upperBounds;
    for (let i = 0; i < bounds.length; i++) {
      if (v <= bounds[i]!) {
        this.counts[i]!++;
        break;
      }
    }
    this.sum += v;
    this.count++;
  }
}

abstract class LocalFamily<S> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  readonly aggregator = 'sum';
  protected shown: S[] = [];

  constructor(c: FamilyConfig) {
    this.name = c.name;
    this.help = c.help;
    this.labelNames = [...c.labelNames];
    for (const r of c.registers) r.registerMetric(this as unknown as Metric);
  }

  /** The labels object of a new series: values in labelNames order (checked, formatted elsewhere). */
  protected labelsOf(values: readonly string[]): Labels {
    if (values.length !== this.labelNames.length) throw new Error(`${this.name}: ${values.length} label values for labels ${this.labelNames.join(', ')}`);
    const labels: Record<string, string> = {};
    this.labelNames.forEach((name, i) => { labels[name] = values[i]!; });
    return labels;
  }

  /** Called by a series at its first event: it joins the exposition, in first-event order. */
  expose(s: S): void {
    this.shown.push(s);
  }
}

export class LocalCounter extends LocalFamily<CounterSeries> {
  readonly type = 'counter';

  /** A new series for these label values, in labelNames order (the caller keeps it: nothing here looks labels up). */
  series(values: readonly string[]): CounterSeries {
    return new CounterSeries(this.labelsOf(values), this);
  }

  override expose(s: CounterSeries): void {
    s.exposed = true;
    super.expose(s);
  }

  /** What prom-client's Counter.get() returns: `{value, labels}` per series. */
  async get() {
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: this.shown.map((s) => ({ value: s.value, labels: s.labels })) };
  }

  /** registry.resetMetrics(): every series back to zero and out of the exposition until its next add. */
  reset(): void {
    for (const s of this.shown) {
      s.value = 0;
      s.exposed = false;
    }
    this.shown = [];
  }
}

interface HistogramValue {
  labels: Record<string, string | number>;
  sharedLabels: Labels;
  value: number;
  metricName: string;
  exemplar: null | undefined;
}

export class LocalHistogram extends LocalFamily<HistogramSeries> {
  readonly type = 'histogram';
  readonly upperBounds: readonly number[];

  constructor(c: FamilyConfig & { buckets: readonly number[] }) {
    super(c);
    this.upperBounds = [...c.buckets];
  }

  series(values: readonly string[]): HistogramSeries {
    return new HistogramSeries(this.labelsOf(values), this);
  }

  /** prom-client's Histogram.getForPromString(): per series the cumulative buckets, +Inf, sum, count. */
  async getForPromString() {
    const bucketName = `${this.name}_bucket`;
    const values: HistogramValue[] = [];
    for (const s of this.shown) {
      let cumulative = 0;
      for (let i = 0; i < this.upperBounds.length; i++) {
        cumulative += s.counts[i]!;
        values.push({ labels: { le: this.upperBounds[i]! }, sharedLabels: s.labels, value: cumulative, metricName: bucketName, exemplar: null });
      }
      values.push({ labels: { le: '+Inf' }, sharedLabels: s.labels, value: s.count, metricName: bucketName, exemplar: null });
      values.push({ labels: {}, sharedLabels: s.labels, value: s.sum, metricName: `${this.name}_sum`, exemplar: undefined });
      values.push({ labels: {}, sharedLabels: s.labels, value: s.count, metricName: `${this.name}_count`, exemplar: undefined });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  /** prom-client's Histogram.get(): the same values with the series labels merged in (JSON, cluster merges). */
  async get() {
    const data = await this.getForPromString();
    const values = data.values.map(({ sharedLabels, labels, ...rest }) => ({ ...rest, labels: { ...labels, ...sharedLabels } }));
    return { ...data, values };
  }

  reset(): void {
    for (const s of this.shown) {
      s.counts.fill(0);
      s.sum = 0;
      s.count = 0;
    }
    this.shown = [];
  }
}
