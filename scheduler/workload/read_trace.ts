// readTrace: one entry point for every trace format (architecture §6 `simulate --trace <file|dir> --trace-format`).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { readAzure } from './azure.js';
import { ClaudeCodeContext, readClaudeCodeSession } from './claude_code.js';
import { readMix } from './mix.js';
import { readMooncake } from './mooncake.js';
import { resolveOptions, TRACE_FORMATS, type ReadTraceOptions, type ReaderOptions, type TraceFormat } from './options.js';
import { ProblemLog, TraceError } from './problems.js';
import { isServeGenDir, readServeGen } from './servegen.js';
import { rememberSharedHashes } from './sessions.js';
import type { ClosedLoopWorkload, SessionScript, TraceProblem, Workload } from './types.js';

export interface ReadTraceResult {
  workload: Workload;
  problems: TraceProblem[];
  /** Claude Code: hashes of the prefix shared by all sessions (kept when a session is reused; see sessions.ts). */
  sharedHashes?: ReadonlySet<bigint>;
}

const CLAUDE_CODE_FILE = /^trace_.*\.json$/;

/** The format of a file or directory, from its name, extension or first bytes. */
export function detectFormat(target: string): TraceFormat {
  if (!existsSync(target)) throw new TraceError(`${target}: no such file or directory`);
  if (statSync(target).isDirectory()) {
    const names = readdirSync(target);
    if (names.some((name) => CLAUDE_CODE_FILE.test(name))) return 'claude-code';
    if (isServeGenDir(target)) return 'servegen';
    throw new TraceError(`${target}: cannot tell the trace format of this directory (expected trace_*.json sessions or chunk-*-trace.csv); pass --trace-format (${TRACE_FORMATS.join(', ')})`);
  }
  const ext = path.extname(target).toLowerCase();
  if (ext === '.jsonl') return 'mooncake';
  if (ext === '.csv') return 'azure';
  if (ext === '.yaml' || ext === '.yml') return 'mix';
  const head = readFileSync(target, 'utf8').slice(0, 4096);
  if (/"hash_ids"/.test(head) && /"timestamp"/.test(head)) return 'mooncake';
  if (/"requests"/.test(head) && /"block_size"/.test(head)) return 'claude-code';
  if (/^\s*TIMESTAMP\s*,/.test(head)) return 'azure';
  throw new TraceError(`${target}: cannot tell the trace format; pass --trace-format (${TRACE_FORMATS.join(', ')})`);
}

/**
 * Reads a trace into a workload. Corrupt lines come back as problems (or throw TraceError under `strict`); a
 * missing path, an unknown format or bad options throw (TraceError / ConfigError) with a one-line reason.
 */
export function readTrace(target: string, options: ReadTraceOptions = {}): ReadTraceResult {
  const opts = resolveOptions(options);
  const format = opts.format ?? detectFormat(target);
  if (!existsSync(target)) throw new TraceError(`${target}: no such file or directory`);
  const log = new ProblemLog(opts.strict);
  switch (format) {
    case 'mooncake':
      return { workload: readMooncake(readText(target, format), target, opts, log), problems: log.list };
    case 'azure':
      return { workload: readAzure(readText(target, format), target, opts, log), problems: log.list };
    case 'servegen':
      if (!statSync(target).isDirectory()) throw new TraceError(`${target}: the servegen format reads a directory of chunk-<client>-trace.csv and -dataset.json`);
      return { workload: readServeGen(target, opts, log), problems: log.list };
    case 'claude-code':
      return readClaudeCode(target, opts, log);
    case 'mix':
      return { workload: readMix(readText(target, format), 'mix', mixOptions(opts)), problems: [] };
  }
}

function readText(target: string, format: TraceFormat): string {
  if (statSync(target).isDirectory()) throw new TraceError(`${target}: the ${format} format reads a file, not a directory`);
  return readFileSync(target, 'utf8');
}

function mixOptions(opts: ReaderOptions) {
  // Unset limits stay unset: the mix has its own defaults (its duration, no request cap), and Infinity is no integer.
  return {
    seed: opts.seed,
    blockTokens: opts.blockTokens,
    rateScale: opts.rateScale,
    hintShapes: opts.hintShapes,
    ...(Number.isFinite(opts.durationS) ? { durationS: opts.durationS } : {}),
    ...(Number.isFinite(opts.maxRequests) ? { maxRequests: opts.maxRequests } : {}),
  };
}

/** A directory of trace_*.json sessions (or one session file), closed loop. maxRequests keeps whole sessions. */
function readClaudeCode(target: string, opts: ReaderOptions, log: ProblemLog): ReadTraceResult {
  const files = statSync(target).isDirectory()
    ? readdirSync(target).filter((name) => CLAUDE_CODE_FILE.test(name)).sort().map((name) => path.join(target, name))
    : [target];
  if (files.length === 0) throw new TraceError(`${target}: no trace_*.json session files`);
  const ctx = new ClaudeCodeContext(opts, log);
  const sessions: SessionScript[] = [];
  let turns = 0;
  for (const file of files) {
    if (turns >= opts.maxRequests) break;
    for (const script of readClaudeCodeSession(readFileSync(file, 'utf8'), file, ctx)) {
      sessions.push(script);
      turns += script.turns.length;
    }
  }
  const workload: ClosedLoopWorkload = { kind: 'closed', name: path.basename(target), sessions };
  rememberSharedHashes(workload, ctx.sharedHashes);
  return { workload, problems: log.list, sharedHashes: ctx.sharedHashes };
}
