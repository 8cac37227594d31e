// A dependency-free SVG line chart: linear or log x, linear y, one path per series, a legend, optional point
// markers. Output is deterministic (fixed palette, fixed number formatting, no ids or timestamps), so the same data
// always gives the same bytes; non-finite points are dropped and never reach a coordinate.

export interface Series {
  label: string;
  points: ReadonlyArray<readonly [number, number]>;
}

export interface Marker {
  x: number;
  y: number;
  label: string;
}

export interface ChartSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  xLog?: boolean;
  /** Fixed y range; default [0, nice max of the data]. */
  yRange?: readonly [number, number];
  series: readonly Series[];
  markers?: readonly Marker[];
  xTickFormat?: (value: number) => string;
  yTickFormat?: (value: number) => string;
}

const WIDTH = 720;
const HEIGHT = 420;
const MARGIN = { left: 70, right: 170, top: 40, bottom: 56 };
const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** One decimal, and never "-0.0". */
function coord(value: number): string {
  const s = value.toFixed(1);
  return s === '-0.0' ? '0.0' : s;
}

function compact(value: number): string {
  return String(Number(value.toPrecision(3)));
}

/** 1, 2 or 5 × 10^k steps giving about `count` ticks over [lo, hi]. */
export function linearTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  const ticks: number[] = [];
  for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k++) ticks.push(Number((k * step).toPrecision(12)));
  return ticks;
}

const clean = (value: number) => Number(value.toPrecision(12));

/** Mantissas of log-axis bounds and ticks, finest first. */
const LOG_STEPS = [[1, 1.5, 2, 3, 5, 7], [1, 2, 5], [1]] as const;

/** The nearest values m × 10^k (m in 1, 1.5, 2, 3, 5, 7) at or outside [min, max] (min > 0); never zero-width. */
export function logBounds(min: number, max: number): [number, number] {
  const fine = LOG_STEPS[0];
  const kLo = Math.floor(Math.log10(min));
  const lo = clean([...fine].reverse().map((m) => m * 10 ** kLo).find((v) => v <= min * (1 + 1e-12)) ?? 10 ** kLo);
  const kHi = Math.floor(Math.log10(max));
  const hi = clean([...fine, 10].map((m) => m * 10 ** kHi).find((v) => v >= max * (1 - 1e-12) && v > lo) ?? 10 ** (kHi + 1));
  return [lo, hi];
}

/** Ticks of a log axis [lo, hi]: the finest mantissa set that gives at most 10 ticks (decades at worst). */
export function logTicks(lo: number, hi: number): number[] {
  let ticks: number[] = [];
  for (const steps of LOG_STEPS) {
    ticks = [];
    for (let k = Math.floor(Math.log10(lo)); k <= Math.ceil(Math.log10(hi)); k++) {
      for (const m of steps) {
        const v = clean(m * 10 ** k);
        if (v >= lo * (1 - 1e-12) && v <= hi * (1 + 1e-12)) ticks.push(v);
      }
    }
    if (ticks.length <= 10) return ticks;
  }
  return ticks;
}

function niceMax(value: number): number {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  return ([1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10].find((m) => m * power >= value) ?? 10) * power;
}

interface Axis {
  toPx: (value: number) => number;
  ticks: number[];
}

function xAxis(spec: ChartSpec, xs: number[]): Axis {
  const left = MARGIN.left;
  const span = WIDTH - MARGIN.left - MARGIN.right;
  if (spec.xLog) {
    const positive = xs.filter((x) => x > 0);
    const [lo, hi] = positive.length ? logBounds(Math.min(...positive), Math.max(...positive)) : [1, 10];
    const [logLo, logHi] = [Math.log10(lo), Math.log10(hi)];
    // Values ≤ 0 cannot sit on a log axis: they are clamped to its left edge.
    const toPx = (x: number) => left + ((Math.log10(Math.max(x, lo)) - logLo) / (logHi - logLo)) * span;
    return { toPx, ticks: logTicks(lo, hi) };
  }
  const lo = xs.length ? Math.min(0, ...xs) : 0;
  const hi = xs.length ? niceMax(Math.max(...xs)) : 1;
  const width = hi > lo ? hi - lo : 1;
  return { toPx: (x) => left + ((x - lo) / width) * span, ticks: linearTicks(lo, hi) };
}

function yAxis(spec: ChartSpec, ys: number[]): Axis {
  const [lo, hi] = spec.yRange ?? [0, niceMax(ys.length ? Math.max(...ys) : 1)];
  const span = HEIGHT - MARGIN.top - MARGIN.bottom;
  const height = hi > lo ? hi - lo : 1;
  return { toPx: (y) => HEIGHT - MARGIN.bottom - ((Math.min(Math.max(y, lo), hi) - lo) / height) * span, ticks: linearTicks(lo, hi) };
}

function axesSvg(spec: ChartSpec, x: Axis, y: Axis): string[] {
  const bottom = HEIGHT - MARGIN.bottom;
  const right = WIDTH - MARGIN.right;
  const fx = spec.xTickFormat ?? compact;
  const fy = spec.yTickFormat ?? compact;
  const out = [
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${right - MARGIN.left}" height="${bottom - MARGIN.top}" fill="none" stroke="#888"/>`,
  ];
  for (const t of x.ticks) {
    const px = coord(x.toPx(t));
    out.push(`<line class="grid" x1="${px}" y1="${MARGIN.top}" x2="${px}" y2="${bottom}" stroke="#eee"/>`,
      `<text class="tick" x="${px}" y="${bottom + 16}" text-anchor="middle">${escapeXml(fx(t))}</text>`);
  }
  for (const t of y.ticks) {
    const py = coord(y.toPx(t));
    out.push(`<line class="grid" x1="${MARGIN.left}" y1="${py}" x2="${right}" y2="${py}" stroke="#eee"/>`,
      `<text class="tick" x="${MARGIN.left - 6}" y="${py}" text-anchor="end" dominant-baseline="middle">${escapeXml(fy(t))}</text>`);
  }
  out.push(`<text class="title" x="${WIDTH / 2}" y="22" text-anchor="middle" font-size="15">${escapeXml(spec.title)}</text>`,
    `<text class="xlabel" x="${coord((MARGIN.left + right) / 2)}" y="${HEIGHT - 14}" text-anchor="middle">${escapeXml(spec.xLabel)}</text>`,
    `<text class="ylabel" transform="translate(18 ${coord((MARGIN.top + bottom) / 2)}) rotate(-90)" text-anchor="middle">${escapeXml(spec.yLabel)}</text>`);
  return out;
}

function finitePoints(series: Series): Array<readonly [number, number]> {
  return series.points.filter(([px, py]) => Number.isFinite(px) && Number.isFinite(py));
}

/** The chart as an SVG document. Series without finite points are left out (legend included). */
export function lineChartSvg(spec: ChartSpec): string {
  const series = spec.series.map((s) => ({ label: s.label, points: finitePoints(s) }))
    .filter((s) => s.points.length > 0);
  const markers = (spec.markers ?? []).filter((m) => Number.isFinite(m.x) && Number.isFinite(m.y));
  const xs = [...series.flatMap((s) => s.points.map((p) => p[0])), ...markers.map((m) => m.x)];
  const ys = [...series.flatMap((s) => s.points.map((p) => p[1])), ...markers.map((m) => m.y)];
  const x = xAxis(spec, xs);
  const y = yAxis(spec, ys);
  const out = [`<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" ` +
    `font-family="sans-serif" font-size="12">`, `<rect width="${WIDTH}" height="${HEIGHT}" fill="#fff"/>`, ...axesSvg(spec, x, y)];
  series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length] as string;
    const d = s.points.map(([px, py], k) => `${k === 0 ? 'M' : 'L'}${coord(x.toPx(px))} ${coord(y.toPx(py))}`).join(' ');
    const ly = MARGIN.top + 10 + i * 18;
    out.push(`<path class="series" data-label="${escapeXml(s.label)}" d="${d}" fill="none" stroke="${color}" stroke-width="2"/>`,
      `<line class="legend" x1="${WIDTH - MARGIN.right + 12}" y1="${ly}" x2="${WIDTH - MARGIN.right + 32}" y2="${ly}" stroke="${color}" stroke-width="2"/>`,
      `<text class="legend" x="${WIDTH - MARGIN.right + 38}" y="${ly}" dominant-baseline="middle">${escapeXml(s.label)}</text>`);
  });
  for (const m of markers) {
    const mx = coord(x.toPx(m.x));
    const my = coord(y.toPx(m.y));
    out.push(`<circle class="marker" cx="${mx}" cy="${my}" r="5" fill="none" stroke="#000" stroke-width="1.5"/>`,
      `<text class="marker" x="${mx}" y="${coord(y.toPx(m.y) - 9)}" text-anchor="middle" font-size="11">${escapeXml(m.label)}</text>`);
  }
  if (series.length === 0) {
    out.push(`<text class="empty" x="${WIDTH / 2}" y="${HEIGHT / 2}" text-anchor="middle">no data</text>`);
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/**
 * Empirical CDF points (value, fraction ≤ value) of `values`, at most `maxPoints` of them taken at evenly spaced
 * ranks (the last always kept), so a 100k-request run still writes a small file.
 */
export function cdfPoints(values: readonly number[], maxPoints = 200): Array<[number, number]> {
  const sorted = Float64Array.from(values.filter(Number.isFinite)).sort();
  const n = sorted.length;
  if (n === 0) return [];
  const count = Math.min(n, Math.max(2, maxPoints));
  const out: Array<[number, number]> = [];
  for (let k = 0; k < count; k++) {
    const i = count === 1 ? n - 1 : Math.round((k * (n - 1)) / (count - 1));
    out.push([sorted[i] as number, (i + 1) / n]);
  }
  return out;
}
