// Options every trace reader shares, validated once (bad values throw ConfigError naming the option).
import { asParams, onlyKeys, readBool, readEnum, readNumber } from '../core/config/params.js';
import type { Shape } from '../core/types.js';
import type { OpenLoopWorkload, WorkloadRequest } from './types.js';

export const TRACE_FORMATS = ['mooncake', 'azure', 'claude-code', 'servegen', 'mix'] as const;
export type TraceFormat = (typeof TRACE_FORMATS)[number];

export interface ReadTraceOptions {
  /** Absent: detected from the file name, extension or content. */
  format?: TraceFormat;
  /** The simulation's KV block size in tokens (default 64). */
  blockTokens?: number;
  /** Seed of everything random (sampled arrivals, random hashes); default 1. */
  seed?: number;
  /** Stop at the first corrupt line instead of skipping it. */
  strict?: boolean;
  /** Keep at most this many requests (open loop: the first ones). */
  maxRequests?: number;
  /** Keep the first durationS simulated seconds (open loop; after rateScale). ServeGen and mixes: span sampled. */
  durationS?: number;
  /** Multiplies open-loop arrival rates (divides inter-arrival times). Default 1. */
  rateScale?: number;
  /** Overrides the format's default max_tokens (the traces carry none). */
  maxOutputTokens?: number;
  /** Mooncake: infer multi-turn sessions from prefix extension (default true). */
  inferSessions?: boolean;
  /** ServeGen: where in the 24-hour data to start sampling, seconds (default 0). */
  offsetS?: number;
  /** Set req.hintShape to the trace's own shape tag (as a client sending x-nvlsched-shape would). Default false. */
  hintShapes?: boolean;
}

export interface ReaderOptions {
  blockTokens: number;
  seed: number;
  strict: boolean;
  maxRequests: number;
  durationS: number | undefined;
  rateScale: number;
  maxOutputTokens: number | undefined;
  inferSessions: boolean;
  offsetS: number;
  hintShapes: boolean;
}

const KEYS = ['format', 'blockTokens', 'seed', 'strict', 'maxRequests', 'durationS', 'rateScale', 'maxOutputTokens', 'inferSessions', 'offsetS', 'hintShapes'];

export function resolveOptions(options: ReadTraceOptions, path = 'readTrace'): ReaderOptions & { format: TraceFormat | undefined } {
  const p = asParams(options, path);
  onlyKeys(p, path, KEYS);
  const durationS = p.durationS === undefined ? undefined : readNumber(p, 'durationS', path, 0, { above: 0 });
  const maxOutputTokens = p.maxOutputTokens === undefined ? undefined : readNumber(p, 'maxOutputTokens', path, 1, { min: 1, integer: true });
  return {
    format: p.format === undefined ? undefined : readEnum(p, 'format', path, TRACE_FORMATS, 'mooncake'),
    blockTokens: readNumber(p, 'blockTokens', path, 64, { min: 1, integer: true }),
    seed: readNumber(p, 'seed', path, 1, { integer: true }),
    strict: readBool(p, 'strict', path, false),
    maxRequests: readNumber(p, 'maxRequests', path, Number.POSITIVE_INFINITY, { min: 1, integer: true }),
    durationS,
    rateScale: readNumber(p, 'rateScale', path, 1, { above: 0 }),
    maxOutputTokens,
    inferSessions: readBool(p, 'inferSessions', path, true),
    offsetS: readNumber(p, 'offsetS', path, 0, { min: 0 }),
    hintShapes: readBool(p, 'hintShapes', path, false),
  };
}

/** A tool-result turn answering with at most this many tokens is tagged tool_call (architecture §3: ≤ ~256). */
export const TOOL_CALL_MAX_OUTPUT_TOKENS = 256;

/** The shape tag of a request, and the hint when the options ask for hints. */
export function tagShape(request: WorkloadRequest, shape: Shape, opts: Pick<ReaderOptions, 'hintShapes'>): WorkloadRequest {
  request.traceShape = shape;
  if (opts.hintShapes) request.req.hintShape = shape;
  return request;
}

/** Output tokens as the engine will produce them: at least the first token, at most max_tokens. */
export function clampOutput(outputTokens: number, maxOutputTokens: number): number {
  return Math.min(Math.max(outputTokens, 1), maxOutputTokens);
}

/** Open-loop wrap-up: requests are sorted by arrival already; durationS (nominal span) or the last arrival. */
export function openWorkload(name: string, requests: WorkloadRequest[], durationS: number | undefined): OpenLoopWorkload {
  const first = requests[0]?.req.arrivalS ?? 0;
  const last = requests[requests.length - 1]?.req.arrivalS ?? 0;
  return { kind: 'open', name, requests, durationS: durationS ?? last - first };
}
