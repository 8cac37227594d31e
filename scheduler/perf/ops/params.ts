// Fitted efficiency parameters (scheduler/perf/fitted.json, written by `nvlsched perf calibrate --refit`), looked
// up per op family, GPU generation and variant. GB300 has no measurements: it uses the Blackwell parameters
// (fitted on B200 + GB200) with its own catalog figures (fp4 15 PF, 2x exp throughput, 288 GB).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { type Gpu } from '../gpus.js';
import { packageRoot } from '../../util/paths.js';
import { type Family, OpInputError } from './index.js';

export type ParamTable = Record<string, Record<string, Record<string, number[]>>>;

export interface FittedFile {
  version: 1;
  note: string;
  params: ParamTable;
}

export function fittedPath(): string {
  return path.join(packageRoot(), 'scheduler', 'perf', 'fitted.json');
}

let cached: FittedFile | undefined;

export function loadFitted(): FittedFile {
  cached ??= JSON.parse(readFileSync(fittedPath(), 'utf8')) as FittedFile;
  return cached;
}

/** Parameters of a family/variant for a GPU's generation; an OpInputError names what is missing. */
export function resolveParams(table: ParamTable, gpu: Gpu, family: Family, variant: string): number[] {
  const byVariant = table[family]?.[gpu.generation];
  const p = byVariant?.[variant];
  if (!p) {
    const field = family === 'gemm' ? 'gemm_dtype' : family === 'nccl' ? 'nccl_dtype' : 'kernel_source';
    throw new OpInputError(field, `no ${family} model for '${variant}' on ${gpu.name} (${gpu.generation}); ` +
      `known: ${Object.keys(byVariant ?? {}).join(', ') || 'none'}`);
  }
  return p;
}
