// Streaming reader for the measured kernel tables in ../shared/data/perf (never copied into the project).
// Rows come out one at a time with numeric columns already numbers; a malformed line is reported through
// `onBadLine` with its 1-based line number and skipped, never guessed.
import { createReadStream, existsSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { type GpuName } from './gpus.js';
import { sharedDir } from '../util/paths.js';

export const PERF_TABLES = ['gemm', 'context_attention', 'generation_attention', 'nccl'] as const;
export type PerfTable = (typeof PERF_TABLES)[number];

/** File prefix per GPU in ../shared/data/perf; GB300 has no measurements (kept aside to judge predictions). */
const FILE_PREFIX: Readonly<Record<GpuName, string | undefined>> = {
  h100: 'h100_sxm', h200: 'h200_sxm', b200: 'b200_sxm', gb200: 'gb200', gb300: undefined,
};

const NUMERIC_COLUMNS = new Set(['m', 'n', 'k', 'batch_size', 'isl', 'num_heads', 'num_key_value_heads', 'head_dim',
  'window_size', 'step', 'num_gpus', 'message_size', 'latency_ms']);

export type PerfRow = Record<string, string | number> & { latency_ms: number };

export interface BadLine {
  file: string;
  line: number;
  reason: string;
}

/** ../shared/data/perf, or a clear error naming where it was looked for. */
export function perfDataDir(): string {
  const shared = sharedDir();
  const dir = shared && path.join(shared, 'data', 'perf');
  if (!dir || !existsSync(dir)) {
    throw new Error('perf data not found: expected ../shared/data/perf next to the checkout (or set NVLSCHED_SHARED)');
  }
  return dir;
}

/** Path of one GPU's table, or undefined when that GPU has no such measurements. */
export function tablePath(dataDir: string, gpu: GpuName, table: PerfTable): string | undefined {
  const prefix = FILE_PREFIX[gpu];
  if (!prefix) return undefined;
  const file = path.join(dataDir, `${prefix}_${table}_perf.csv`);
  return existsSync(file) ? file : undefined;
}

/** Parses one CSV line (the tables have no quoted fields) against the header; a string is the reason it is bad. */
export function parseCsvLine(header: readonly string[], text: string): PerfRow | string {
  const cells = text.split(',');
  if (cells.length !== header.length) return `expected ${header.length} columns, found ${cells.length}`;
  const row: Record<string, string | number> = {};
  for (let i = 0; i < header.length; i++) {
    const name = header[i] as string;
    const cell = cells[i] as string;
    if (NUMERIC_COLUMNS.has(name)) {
      const value = Number(cell);
      if (cell.trim() === '' || !Number.isFinite(value)) return `column ${name}: not a number '${cell}'`;
      row[name] = value;
    } else {
      row[name] = cell;
    }
  }
  if (typeof row.latency_ms !== 'number' || row.latency_ms <= 0) return 'column latency_ms: missing or not positive';
  return row as PerfRow;
}

/** Streams the rows of a perf CSV. `keep(lineNumber)` can subsample before parsing (cheap). */
export async function* readPerfTable(
  file: string, onBadLine: (bad: BadLine) => void, keep: (line: number) => boolean = () => true,
): AsyncGenerator<PerfRow> {
  const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  let header: string[] | undefined;
  let lineNumber = 0;
  for await (const text of lines) {
    lineNumber++;
    if (!header) {
      header = text.split(',');
      continue;
    }
    if (text === '' || !keep(lineNumber)) continue;
    const row = parseCsvLine(header, text);
    if (typeof row === 'string') onBadLine({ file, line: lineNumber, reason: row });
    else yield row;
  }
}

/** Deterministic subsample: keeps about 1 line in `every`, spread by a multiplicative hash (no grid aliasing). */
export function hashKeep(every: number): (line: number) => boolean {
  if (every <= 1) return () => true;
  return (line) => ((Math.imul(line, 2654435761) >>> 0) % every) === 0;
}
