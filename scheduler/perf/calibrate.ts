// Calibration: loads a deterministic subsample of ../shared/data/perf, fits the efficiency parameters per op
// family, GPU generation and variant (fit.ts), and reports median and p90 absolute percentage error per GPU and
// family, held-in (fitted on all GPUs of its generation, this one included) and leave-one-GPU-out (fitted on
// the other GPUs of its generation; where it is the only one with that table — B200 attention — on all other
// GPUs, i.e. Hopper efficiencies with Blackwell catalog figures).
//
// GB300 extrapolation: no GB300 data is used. Its predictions are the Blackwell-fitted efficiencies applied to
// the GB300 catalog figures (gpus.ts): same HBM bandwidth and bf16/fp8 peaks as GB200, 1.5x fp4 peak, 2x exp
// throughput. The leave-one-GPU-out rows for B200 and GB200 (each predicted from the other's fit and its own
// catalog figures) measure how well that transfer works between Blackwell parts.
import { GPUS, type Generation, type GpuName } from './gpus.js';
import { type BadLine, PERF_TABLES, type PerfTable, hashKeep, perfDataDir, readPerfTable, tablePath } from './data.js';
import { type Sample, absPercentErrors, fitParams, quantile } from './fit.js';
import { CONTEXT_INIT, GENERATION_INIT } from './ops/attention.js';
import { GEMM_INIT } from './ops/gemm.js';
import { type Family, prepareOp } from './ops/index.js';
import { NCCL_INIT } from './ops/nccl.js';
import { type ParamTable } from './ops/params.js';

const INIT: Readonly<Record<Family, readonly number[]>> = {
  gemm: GEMM_INIT, context_attention: CONTEXT_INIT, generation_attention: GENERATION_INIT, nccl: NCCL_INIT,
};
/** Keep about 1 line in N per table (deterministic hash of the line number). */
const KEEP_EVERY: Readonly<Record<PerfTable, number>> = { gemm: 16, context_attention: 3, generation_attention: 3, nccl: 1 };
export const MEASURED_GPUS: readonly GpuName[] = ['h100', 'h200', 'b200', 'gb200'];

/** samples[gpu][family][variant] */
export type SampleSet = Map<GpuName, Map<Family, Map<string, Sample[]>>>;

export async function loadSamples(scale = 1, onBadLine: (bad: BadLine) => void = () => {}): Promise<SampleSet> {
  const dir = perfDataDir();
  const set: SampleSet = new Map();
  for (const gpuName of MEASURED_GPUS) {
    const byFamily = new Map<Family, Map<string, Sample[]>>();
    set.set(gpuName, byFamily);
    for (const table of PERF_TABLES) {
      const file = tablePath(dir, gpuName, table);
      if (!file) continue;
      for await (const row of readPerfTable(file, onBadLine, hashKeep(KEEP_EVERY[table] * scale))) {
        const op = prepareOp(row);
        let byVariant = byFamily.get(op.family);
        if (!byVariant) byFamily.set(op.family, (byVariant = new Map()));
        let list = byVariant.get(op.variant);
        if (!list) byVariant.set(op.variant, (list = []));
        list.push({ gpu: GPUS[gpuName], args: op.args, latencyMs: row.latency_ms });
      }
    }
  }
  return set;
}

function samplesOf(set: SampleSet, gpus: readonly GpuName[], family: Family): Map<string, Sample[]> {
  const out = new Map<string, Sample[]>();
  for (const g of gpus) {
    for (const [variant, list] of set.get(g)?.get(family) ?? []) out.set(variant, [...(out.get(variant) ?? []), ...list]);
  }
  return out;
}

/** Fits every family/variant of one training set of GPUs. */
export function fitOn(set: SampleSet, gpus: readonly GpuName[], families: readonly Family[]): Record<string, Record<string, number[]>> {
  const out: Record<string, Record<string, number[]>> = {};
  for (const family of families) {
    out[family] = {};
    for (const [variant, samples] of samplesOf(set, gpus, family)) {
      (out[family] as Record<string, number[]>)[variant] = fitParams(family, INIT[family], samples);
    }
  }
  return out;
}

const FAMILIES: readonly Family[] = ['gemm', 'context_attention', 'generation_attention', 'nccl'];

export function fitAll(set: SampleSet): ParamTable {
  const table: ParamTable = {};
  for (const generation of ['hopper', 'blackwell'] as Generation[]) {
    const gpus = MEASURED_GPUS.filter((g) => GPUS[g].generation === generation);
    const fitted = fitOn(set, gpus, FAMILIES);
    for (const family of FAMILIES) ((table[family] ??= {})[generation] = fitted[family] ?? {});
  }
  return table;
}

export interface ErrorRow {
  gpu: GpuName;
  family: Family;
  mode: 'held-in' | 'leave-one-gpu-out';
  trainedOn: GpuName[];
  samples: number;
  /** Samples whose variant had no parameters in the training set (not predicted). */
  uncovered: number;
  medianPct: number;
  p90Pct: number;
}

export function errorRow(set: SampleSet, gpu: GpuName, family: Family, params: Record<string, number[]>,
  mode: ErrorRow['mode'], trainedOn: GpuName[]): ErrorRow | undefined {
  const byVariant = set.get(gpu)?.get(family);
  if (!byVariant) return undefined;
  const errors: number[] = [];
  let uncovered = 0;
  for (const [variant, samples] of byVariant) {
    const p = params[variant];
    if (p) errors.push(...absPercentErrors(family, p, samples));
    else uncovered += samples.length;
  }
  return { gpu, family, mode, trainedOn, samples: errors.length, uncovered,
    medianPct: quantile(errors, 0.5), p90Pct: quantile(errors, 0.9) };
}

/** Held-in rows from `table`, plus leave-one-GPU-out rows (re-fits; the slow part) when `loo`. */
export function calibrationRows(set: SampleSet, table: ParamTable, loo: boolean): ErrorRow[] {
  const rows: ErrorRow[] = [];
  for (const gpu of MEASURED_GPUS) {
    const generation = GPUS[gpu].generation;
    const peers = MEASURED_GPUS.filter((g) => g !== gpu && GPUS[g].generation === generation);
    for (const family of FAMILIES) {
      if (!set.get(gpu)?.has(family)) continue;
      const row = errorRow(set, gpu, family, table[family]?.[generation] ?? {}, 'held-in', [...peers, gpu]);
      if (row) rows.push(row);
      if (!loo) continue;
      let trainOn = peers.filter((g) => set.get(g)?.has(family));
      if (trainOn.length === 0) trainOn = MEASURED_GPUS.filter((g) => g !== gpu && set.get(g)?.has(family));
      const fitted = fitOn(set, trainOn, [family])[family] ?? {};
      const looRow = errorRow(set, gpu, family, fitted, 'leave-one-gpu-out', trainOn);
      if (looRow) rows.push(looRow);
    }
  }
  return rows;
}

export function formatRows(rows: readonly ErrorRow[]): string {
  const head = 'gpu    family                mode               trained on          n      median%  p90%   uncovered';
  const lines = rows.map((r) => [r.gpu.padEnd(6), r.family.padEnd(21), r.mode.padEnd(18), r.trainedOn.join('+').padEnd(19),
    String(r.samples).padEnd(6), r.medianPct.toFixed(1).padStart(7), r.p90Pct.toFixed(1).padStart(6),
    String(r.uncovered).padStart(6)].join(' '));
  return [head, ...lines].join('\n');
}
