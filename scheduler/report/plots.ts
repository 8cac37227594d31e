// The report's plots: latency CDFs per shape (TTFT and TPOT, log x) for one run, and goodput against load with
// one line per policy and each policy's goodput capacity marked.
import { SHAPES } from '../core/types.js';
import type { RequestRecord } from '../workload/types.js';
import type { CapacityResult } from './capacity.js';
import { tpotS, ttftS } from './latency.js';
import { cdfPoints, lineChartSvg } from './svg.js';

export type LatencyMetric = 'ttft' | 'tpot';

const LATENCY: Record<LatencyMetric, { name: string; of: (r: RequestRecord) => number | undefined }> = {
  ttft: { name: 'TTFT', of: ttftS },
  tpot: { name: 'TPOT', of: tpotS },
};

function secondsLabel(valueS: number): string {
  return valueS >= 1 ? `${Number(valueS.toPrecision(3))} s` : `${Number((valueS * 1000).toPrecision(3))} ms`;
}

/** CDF of one latency over completed requests, a line per shape that has any. */
export function latencyCdfSvg(records: readonly RequestRecord[], metric: LatencyMetric, title: string): string {
  const { name, of } = LATENCY[metric];
  const series = SHAPES.map((shape) => {
    const values: number[] = [];
    for (const r of records) {
      if (r.shape !== shape || r.end.kind !== 'completed') continue;
      const v = of(r);
      if (v !== undefined) values.push(v);
    }
    return { label: `${shape} (${values.length})`, points: cdfPoints(values) };
  });
  return lineChartSvg({
    title: `${name} CDF per shape — ${title}`,
    xLabel: `${name} (log scale)`,
    yLabel: 'fraction of completed requests',
    xLog: true,
    yRange: [0, 1],
    series,
    xTickFormat: secondsLabel,
  });
}

/** Goodput (req/s) against the load probed, a line per policy; capacity points circled and labelled. */
export function goodputVsLoadSvg(results: ReadonlyArray<{ policy: string; capacity: CapacityResult }>, loadLabel: string): string {
  const series = results.map(({ policy, capacity }) => ({
    label: policy,
    points: [...capacity.probes].sort((a, b) => a.load - b.load).map((p) => [p.load, p.goodput_rps ?? 0] as const),
  }));
  const markers = results.flatMap(({ policy, capacity }) => {
    const at = capacity.probes.find((p) => p.load === capacity.capacity);
    return at ? [{ x: at.load, y: at.goodput_rps ?? 0, label: `${policy} ${Number(at.load.toPrecision(3))}` }] : [];
  });
  return lineChartSvg({
    title: 'Goodput against load (circle: highest load with SLO attainment ≥ 90 %)',
    xLabel: loadLabel,
    yLabel: 'goodput (requests/s meeting SLO)',
    series,
    markers,
  });
}
