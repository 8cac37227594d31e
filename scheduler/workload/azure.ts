// Azure LLM inference trace 2023 (Splitwise): CSV `TIMESTAMP,ContextTokens,GeneratedTokens`, open loop, arrivals
// relative to the first row. The timestamp has 7 fractional digits, more than a double holds next to epoch seconds,
// so whole seconds and the fraction are kept apart until subtracted. No prefix information: every request gets its
// own random block hashes (seeded). The code trace stands for short tool-call-like requests (traces README).
import path from 'node:path';
import { Rng } from '../util/random.js';
import { clampOutput, openWorkload, tagShape, type ReaderOptions } from './options.js';
import { csvNumber, FieldError, TraceError, type ProblemLog } from './problems.js';
import { randomHashes } from './sample.js';
import type { OpenLoopWorkload, WorkloadRequest } from './types.js';

/** Code completions; the trace has no max_tokens (its longest output is 1,899 tokens). */
export const AZURE_MAX_OUTPUT_TOKENS = 2048;

const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?$/;

interface Instant {
  wholeS: number;
  fractionS: number;
}

export function parseTimestamp(text: string): Instant {
  const m = TIMESTAMP.exec(text.trim());
  if (!m) throw new FieldError(`TIMESTAMP: expected "YYYY-MM-DD hh:mm:ss.fffffff", got ${JSON.stringify(text.slice(0, 40))}`);
  const [, y, mo, d, h, mi, s, frac = ''] = m.map((part) => part ?? '');
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  if (!Number.isFinite(ms) || Number(mo) > 12 || Number(d) > 31 || Number(h) > 23 || Number(mi) > 59 || Number(s) > 60) {
    throw new FieldError(`TIMESTAMP: not a valid date and time: ${JSON.stringify(text.trim())}`);
  }
  return { wholeS: ms / 1000, fractionS: frac === '' ? 0 : Number(frac) / 10 ** frac.length };
}

function secondsBetween(from: Instant, to: Instant): number {
  return to.wholeS - from.wholeS + (to.fractionS - from.fractionS);
}

interface Columns {
  timestamp: number;
  context: number;
  generated: number;
}

function readHeader(line: string, file: string): Columns {
  const names = line.split(',').map((name) => name.trim());
  const columns = { timestamp: names.indexOf('TIMESTAMP'), context: names.indexOf('ContextTokens'), generated: names.indexOf('GeneratedTokens') };
  if (columns.timestamp < 0 || columns.context < 0 || columns.generated < 0) {
    throw new TraceError(`${file}:1: expected the header TIMESTAMP,ContextTokens,GeneratedTokens, got ${JSON.stringify(line.slice(0, 80))}`);
  }
  return columns;
}

export function readAzure(text: string, file: string, opts: ReaderOptions, log: ProblemLog): OpenLoopWorkload {
  const lines = text.split('\n');
  const columns = readHeader((lines[0] ?? '').trim(), file);
  const rng = new Rng(opts.seed);
  const maxOutputTokens = opts.maxOutputTokens ?? AZURE_MAX_OUTPUT_TOKENS;
  const requests: WorkloadRequest[] = [];
  let first: Instant | undefined;
  let previous: Instant | undefined;
  for (let i = 1; i < lines.length && requests.length < opts.maxRequests; i++) {
    const raw = (lines[i] as string).trim();
    if (raw === '') continue;
    let at: Instant;
    let contextTokens: number;
    let generatedTokens: number;
    try {
      const cells = raw.split(',');
      at = parseTimestamp(cells[columns.timestamp] ?? '');
      contextTokens = csvNumber(cells[columns.context], 'ContextTokens', 1, true);
      generatedTokens = csvNumber(cells[columns.generated], 'GeneratedTokens', 0, true);
      if (previous && secondsBetween(previous, at) < 0) throw new FieldError(`TIMESTAMP: ${raw.split(',')[columns.timestamp]} is before the previous row's`);
    } catch (error) {
      if (!(error instanceof FieldError)) throw error;
      log.report(file, i + 1, error.message);
      continue;
    }
    first ??= at;
    const arrivalS = secondsBetween(first, at) / opts.rateScale;
    if (opts.durationS !== undefined && arrivalS >= opts.durationS) break;
    previous = at;
    requests.push(
      tagShape(
        {
          req: {
            requestId: `azure-${requests.length}`,
            tenant: 'azure-code',
            arrivalS,
            promptTokens: contextTokens,
            maxOutputTokens,
            maxOutputTokensFromClient: false, // the trace records no max_tokens: ours, not the client's
            blockHashes: randomHashes(rng, Math.floor(contextTokens / opts.blockTokens)),
            hasTools: false,
            hasToolResults: false,
          },
          outputTokens: clampOutput(generatedTokens, maxOutputTokens),
        },
        'tool_call',
        opts,
      ),
    );
  }
  return openWorkload(path.basename(file), requests, opts.durationS);
}
