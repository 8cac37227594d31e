// Predicted vs published serving throughput: for each published point (published.ts) the throughput estimator
// (throughput.ts) on the fitted op times picks the best candidate instance that meets the point's per-user floor
// and fits in memory, and the ratio predicted / published is reported. Nothing here is fitted to these figures:
// the ratios are what the kernel-level model implies (see the README's performance-model section for how to read
// them). A point whose floor no candidate reaches at any concurrency has no prediction (ratio null) and says so.
import { getModel } from './models.js';
import { PUBLISHED_POINTS, type PublishedPoint } from './published.js';
import { makeThroughputEstimator, type ThroughputEstimate } from './throughput.js';
import type { InstanceSpec, OpTimes } from './step_types.js';

export interface PublishedComparison {
  id: string;
  source: string;
  benchmark: string;
  model: string;
  gpu: string;
  islTokens: number;
  oslTokens: number;
  minPerUserTokensPerS: number | null;
  /** The candidate instance of the prediction; null when none reaches the floor. */
  instance: InstanceSpec | null;
  concurrency: number | null;
  perUserTokensPerS: number | null;
  predictedTokensPerSPerGpu: number | null;
  /** The figure as published, and what it counts. */
  publishedTokensPerSPerGpu: number;
  publishedCounts: 'output' | 'input+output';
  /** Published output tokens/s per GPU: input + output figures scaled by osl / (isl + osl). */
  publishedOutputTokensPerSPerGpu: number;
  /** predicted / published output; null when there is no prediction. */
  ratio: number | null;
  /** Fastest per-user speed any candidate reaches (one request): context for unreachable floors. */
  maxPerUserTokensPerS: number;
  note: string;
}

function comparePoint(point: PublishedPoint, opTimes: OpTimes): PublishedComparison {
  const model = getModel(point.model);
  const scenario = { islTokens: point.islTokens, oslTokens: point.oslTokens };
  let best: { instance: InstanceSpec; estimate: ThroughputEstimate } | undefined;
  let maxPerUser = 0;
  for (const instance of point.candidates) {
    const estimator = makeThroughputEstimator(model, instance, opTimes, scenario);
    if (estimator.maxConcurrency < 1) continue; // weights do not fit
    maxPerUser = Math.max(maxPerUser, estimator.at(1).perUserTokensPerS);
    const estimate = estimator.best(point.minPerUserTokensPerS);
    if (estimate && (!best || estimate.outputTokensPerSPerGpu > best.estimate.outputTokensPerSPerGpu)) {
      best = { instance, estimate };
    }
  }
  const predicted = best ? best.estimate.outputTokensPerSPerGpu : null;
  const outputShare = point.counts === 'output' ? 1 : point.oslTokens / (point.islTokens + point.oslTokens);
  const publishedOutput = point.publishedTokensPerSPerGpu * outputShare;
  return {
    id: point.id,
    source: point.source,
    benchmark: point.benchmark,
    model: point.model,
    gpu: point.gpu,
    islTokens: point.islTokens,
    oslTokens: point.oslTokens,
    minPerUserTokensPerS: point.minPerUserTokensPerS ?? null,
    instance: best ? best.instance : null,
    concurrency: best ? best.estimate.concurrency : null,
    perUserTokensPerS: best ? best.estimate.perUserTokensPerS : null,
    predictedTokensPerSPerGpu: predicted,
    publishedTokensPerSPerGpu: point.publishedTokensPerSPerGpu,
    publishedCounts: point.counts,
    publishedOutputTokensPerSPerGpu: publishedOutput,
    ratio: predicted === null ? null : predicted / publishedOutput,
    maxPerUserTokensPerS: maxPerUser,
    note: point.note,
  };
}

export function comparePublished(opTimes: OpTimes, points: readonly PublishedPoint[] = PUBLISHED_POINTS): PublishedComparison[] {
  return points.map((p) => comparePoint(p, opTimes));
}

/** Median of the ratios that exist; NaN when none does. */
export function medianRatio(rows: readonly PublishedComparison[]): number {
  const ratios = rows.flatMap((r) => (r.ratio === null ? [] : [r.ratio])).sort((a, b) => a - b);
  if (ratios.length === 0) return Number.NaN;
  const mid = ratios.length >> 1;
  return ratios.length % 2 ? (ratios[mid] as number) : ((ratios[mid - 1] as number) + (ratios[mid] as number)) / 2;
}

function instanceLabel(i: InstanceSpec | null): string {
  if (!i) return '-';
  return `tp${i.tensorParallel}${i.expertParallel > 1 ? ` ep${i.expertParallel}` : ''} ${i.gemmDtype ?? 'bfloat16'}/${i.kvDtype ?? 'bfloat16'}`;
}

const fmt = (x: number | null, digits = 0): string => (x === null ? '-' : x.toFixed(digits));

export function formatPublished(rows: readonly PublishedComparison[]): string {
  const head = ['source'.padEnd(13), 'benchmark'.padEnd(34), 'model'.padEnd(13), 'gpu'.padEnd(5), 'isl/osl'.padEnd(10),
    'instance'.padEnd(20), 'conc'.padStart(5), 'tok/s/user'.padStart(10), 'predicted'.padStart(9), 'published'.padStart(9),
    'ratio'.padStart(6)].join(' ');
  const lines = rows.map((r) => [r.source.padEnd(13), r.benchmark.padEnd(34), r.model.padEnd(13), r.gpu.padEnd(5),
    `${r.islTokens}/${r.oslTokens}`.padEnd(10), instanceLabel(r.instance).padEnd(20), fmt(r.concurrency).padStart(5),
    fmt(r.perUserTokensPerS, 1).padStart(10), fmt(r.predictedTokensPerSPerGpu).padStart(9),
    `${r.publishedCounts === 'output' ? '' : '*'}${fmt(r.publishedOutputTokensPerSPerGpu)}`.padStart(9), fmt(r.ratio, 2).padStart(6),
    ...(r.ratio === null ? [` unreachable: at most ${r.maxPerUserTokensPerS.toFixed(0)} tok/s/user predicted`] : [])].join(' '));
  const missing = rows.filter((r) => r.ratio === null).length;
  const summary = `median ratio predicted/published ${medianRatio(rows).toFixed(2)} over ${rows.length - missing} points` +
    (missing ? ` (${missing} without a prediction)` : '');
  return ['published throughput (output tok/s per GPU; ratio = predicted / published; * = input + output figure',
    'as published, scaled by osl / (isl + osl))', head, ...lines, summary].join('\n');
}
