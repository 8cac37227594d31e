// ServeGen (arXiv:2505.09999) per-client distributions, sampled into an open-loop workload.
//
// chunk-<client>-trace.csv: one row per 10-minute window, `window_start_s,rate,cv,pattern,shape,scale` (pattern
// Gamma or Weibull, empty when the client is idle). chunk-<client>-dataset.json: 6-hour windows → PMFs (Python dict
// literals) of input_tokens, output_tokens, reason_ratio. As ServeGen's own generator does, a window's arrivals are
// gaps drawn from its fitted distribution and rescaled to span the window, so the fit sets the burstiness and
// `rate` the count. Two deliberate differences: the count is rate·600 rounded stochastically (ServeGen takes the
// ceiling and then drops the last arrival, which lands on the window's end), and input and output lengths are drawn
// independently (ServeGen reuses one uniform for both, making them rank-identical).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Rng } from '../util/random.js';
import { deriveSeed } from './hash.js';
import { clampOutput, openWorkload, tagShape, type ReaderOptions } from './options.js';
import { csvNumber, FieldError, jsonErrorLine, TraceError, type ProblemLog } from './problems.js';
import { parseNumberDict } from './pylit.js';
import { Discrete, gamma, randomHashes, weibull } from './sample.js';
import type { OpenLoopWorkload, WorkloadRequest } from './types.js';

/** DeepSeek-R1's max_tokens: the data's longest output is exactly 32,768. */
export const SERVEGEN_MAX_OUTPUT_TOKENS = 32768;
export const SERVEGEN_WINDOW_S = 600;
export const SERVEGEN_DEFAULT_DURATION_S = 600;

interface WindowRow {
  startS: number;
  ratePerS: number;
  pattern: 'Gamma' | 'Weibull';
  shape: number;
  scale: number;
}

interface Lengths {
  input: Discrete;
  output: Discrete;
}

const TRACE_FILE = /^chunk-(.+)-trace\.csv$/;

export function isServeGenDir(dir: string): boolean {
  return readdirSync(dir).some((name) => TRACE_FILE.test(name));
}

export function readServeGen(dir: string, opts: ReaderOptions, log: ProblemLog): OpenLoopWorkload {
  const clients = readdirSync(dir)
    .map((name) => TRACE_FILE.exec(name)?.[1])
    .filter((id): id is string => id !== undefined)
    .sort((a, b) => Number(a) - Number(b) || a.localeCompare(b));
  if (clients.length === 0) throw new TraceError(`${dir}: no chunk-<client>-trace.csv files (ServeGen format)`);
  const durationS = opts.durationS ?? SERVEGEN_DEFAULT_DURATION_S;
  const fromS = opts.offsetS;
  const toS = opts.offsetS + durationS;
  const maxOutputTokens = opts.maxOutputTokens ?? SERVEGEN_MAX_OUTPUT_TOKENS;
  const requests: WorkloadRequest[] = [];
  for (const client of clients) {
    const traceFile = path.join(dir, `chunk-${client}-trace.csv`);
    const rows = readRows(readFileSync(traceFile, 'utf8'), traceFile, log).filter(
      (row) => row.startS < toS && row.startS + SERVEGEN_WINDOW_S > fromS,
    );
    if (rows.length === 0) continue;
    const dataset = new Dataset(path.join(dir, `chunk-${client}-dataset.json`), log);
    for (const row of rows) {
      const rng = new Rng(deriveSeed(opts.seed, 'servegen', client, row.startS));
      const hashRng = new Rng(deriveSeed(opts.seed, 'servegen', client, row.startS, 'hashes')); // block size moves no length
      const arrivals = windowArrivals(rng, row, opts.rateScale).filter((t) => t >= fromS && t < toS);
      if (arrivals.length === 0) continue;
      const lengths = dataset.lengthsAt(row.startS);
      if (lengths === undefined) continue;
      for (const t of arrivals) {
        const promptTokens = Math.max(1, lengths.input.sample(rng));
        const outputTokens = clampOutput(lengths.output.sample(rng), maxOutputTokens);
        const request: WorkloadRequest = {
          req: {
            requestId: '',
            tenant: `servegen-client-${client}`,
            arrivalS: t - fromS,
            promptTokens,
            maxOutputTokens,
            maxOutputTokensFromClient: false, // the trace records no max_tokens: ours, not the client's
            blockHashes: randomHashes(hashRng, Math.floor(promptTokens / opts.blockTokens)),
            hasTools: false,
            hasToolResults: false,
          },
          outputTokens,
        };
        requests.push(tagShape(request, 'reasoning', opts));
      }
    }
  }
  requests.sort((a, b) => a.req.arrivalS - b.req.arrivalS); // stable: ties keep client order
  if (requests.length > opts.maxRequests) requests.length = opts.maxRequests;
  requests.forEach((r, i) => (r.req.requestId = `servegen-${i}`));
  return openWorkload(path.basename(dir), requests, durationS);
}

function readRows(text: string, file: string, log: ProblemLog): WindowRow[] {
  const rows: WindowRow[] = [];
  let lastStartS = -Infinity;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || (i === 0 && /^[A-Za-z_]/.test(line))) return; // blank, or a header
    try {
      const row = parseRow(line.split(','));
      if (row.startS <= lastStartS) throw new FieldError(`window_start_s: ${row.startS} does not follow the previous row's ${lastStartS}`);
      lastStartS = row.startS;
      if (row.ratePerS > 0) rows.push(row);
    } catch (error) {
      if (!(error instanceof FieldError)) throw error;
      log.report(file, i + 1, error.message);
    }
  });
  return rows;
}

function parseRow(cells: string[]): WindowRow {
  if (cells.length < 6) throw new FieldError(`expected 6 columns window_start_s,rate,cv,pattern,shape,scale, got ${cells.length}`);
  const startS = csvNumber(cells[0], 'window_start_s', 0, false);
  const ratePerS = csvNumber(cells[1], 'rate', 0, false);
  csvNumber(cells[2], 'cv', 0, false);
  const pattern = (cells[3] ?? '').trim();
  if (pattern === '') {
    if (ratePerS > 0) throw new FieldError(`pattern: expected Gamma or Weibull for a window with rate ${ratePerS}, got nothing`);
    return { startS, ratePerS, pattern: 'Gamma', shape: 1, scale: 1 };
  }
  if (pattern !== 'Gamma' && pattern !== 'Weibull') throw new FieldError(`pattern: expected Gamma or Weibull, got ${JSON.stringify(pattern)}`);
  const shape = csvNumber(cells[4], 'shape', Number.MIN_VALUE, false);
  const scale = csvNumber(cells[5], 'scale', Number.MIN_VALUE, false);
  return { startS, ratePerS, pattern, shape, scale };
}

/** Absolute arrival times in one window: rate·600 (scaled) arrivals, gaps from the fit rescaled to the window. */
export function windowArrivals(rng: Rng, row: WindowRow, rateScale: number): number[] {
  const expected = row.ratePerS * rateScale * SERVEGEN_WINDOW_S;
  const count = Math.floor(expected) + (rng.next() < expected % 1 ? 1 : 0);
  if (count === 0) return [];
  // count + 1 gaps span the window, so all `count` arrivals fall strictly inside it.
  const gaps = new Float64Array(count + 1);
  let sum = 0;
  for (let i = 0; i <= count; i++) {
    const gap = row.pattern === 'Gamma' ? gamma(rng, row.shape, row.scale) : weibull(rng, row.shape, row.scale);
    gaps[i] = gap;
    sum += gap;
  }
  const out = new Array<number>(count);
  let t = 0;
  for (let i = 0; i < count; i++) {
    // Degenerate draws (every gap underflowed to 0) fall back to even spacing.
    t += sum > 0 && Number.isFinite(sum) ? ((gaps[i] as number) / sum) * SERVEGEN_WINDOW_S : SERVEGEN_WINDOW_S / (count + 1);
    out[i] = row.startS + t;
  }
  return out;
}

/** A client's dataset file: parsed once, each 6-hour window's PMFs parsed when first needed. */
class Dataset {
  private windows: Map<number, Record<string, unknown>> | undefined;
  private readonly parsed = new Map<number, Lengths | undefined>();
  private warned = false;

  constructor(private readonly file: string, private readonly log: ProblemLog) {}

  /** PMFs of the latest 6-hour window starting at or before startS that has data, else the nearest one with data. */
  lengthsAt(startS: number): Lengths | undefined {
    const windows = this.load();
    const starts = [...windows.keys()].sort((a, b) => Math.abs(a - startS) - Math.abs(b - startS) || b - a);
    const atOrBefore = starts.filter((s) => s <= startS).sort((a, b) => b - a);
    for (const s of [...atOrBefore, ...starts]) {
      const lengths = this.lengths(s, windows.get(s) as Record<string, unknown>);
      if (lengths !== undefined) return lengths;
    }
    if (!this.warned) {
      this.warned = true;
      this.log.report(this.file, 1, 'no window has input_tokens and output_tokens distributions; the client\'s arrivals are skipped');
    }
    return undefined;
  }

  private load(): Map<number, Record<string, unknown>> {
    if (this.windows) return this.windows;
    this.windows = new Map();
    if (!existsSync(this.file)) {
      this.log.report(this.file, 0, 'missing (each chunk-<client>-trace.csv needs its chunk-<client>-dataset.json)');
      return this.windows;
    }
    const text = readFileSync(this.file, 'utf8');
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      this.log.report(this.file, jsonErrorLine(text, error), `not JSON (${(error as Error).message})`);
      return this.windows;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      this.log.report(this.file, 1, 'expected an object {window_start_s: {input_tokens, output_tokens, reason_ratio}}');
      return this.windows;
    }
    for (const [key, window] of Object.entries(value)) {
      const startS = Number(key);
      if (!Number.isFinite(startS) || typeof window !== 'object' || window === null) {
        this.log.report(this.file, 1, `${JSON.stringify(key)}: expected a window start in seconds mapping to {input_tokens, output_tokens}`);
        continue;
      }
      this.windows.set(startS, window as Record<string, unknown>);
    }
    return this.windows;
  }

  private lengths(startS: number, window: Record<string, unknown>): Lengths | undefined {
    if (this.parsed.has(startS)) return this.parsed.get(startS);
    let lengths: Lengths | undefined;
    try {
      const input = this.pmf(window, 'input_tokens', startS);
      const output = this.pmf(window, 'output_tokens', startS);
      lengths = input && output ? { input, output } : undefined;
    } catch (error) {
      if (!(error instanceof FieldError)) throw error;
      this.log.report(this.file, 1, error.message);
    }
    this.parsed.set(startS, lengths);
    return lengths;
  }

  /** The PMF of one field; undefined when empty ({}), FieldError when malformed. */
  private pmf(window: Record<string, unknown>, field: string, startS: number): Discrete | undefined {
    const where = `"${startS}".${field}`;
    const text = window[field];
    if (typeof text !== 'string') throw new FieldError(`${where}: expected a dict literal string, got ${JSON.stringify(text)?.slice(0, 40)}`);
    let dict: { keys: number[]; values: number[] };
    try {
      dict = parseNumberDict(text);
    } catch (error) {
      throw new FieldError(`${where}: ${(error as Error).message}`);
    }
    dict.keys.forEach((k, i) => {
      if (!Number.isSafeInteger(k) || k < 0) throw new FieldError(`${where}: token count ${k} is not an integer ≥ 0`);
      if (!((dict.values[i] as number) >= 0)) throw new FieldError(`${where}: probability of ${k} is ${dict.values[i]}, expected ≥ 0`);
    });
    const pmf = new Discrete(dict.keys, dict.values);
    return pmf.total > 0 ? pmf : undefined;
  }
}
