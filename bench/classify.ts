// `nvlsched bench classify [--json]`: the shape classifier and the online output-length predictor on the real Claude
// Code sessions in ../shared/data/traces. Sessions are replayed interleaved (each starts at a seeded random offset);
// every request is classified and predicted at its arrival, and its real output is observed when it ends, so a
// prediction only ever sees requests that finished before it. Two baselines run on the same replay: a constant
// global prior and a per-shape-only predictor. Last stdout line: one JSON object.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

import { flagHelp, parseFlags, usageError, type FlagSpec } from '../scheduler/cli/args.js';
import { makeClassification, type ClassificationStage } from '../scheduler/core/classify/classification.js';
import { makeSessionGaps } from '../scheduler/core/classify/session_gaps.js';
import { SHAPES, type OutputPrediction, type ScheduleRequest, type Shape } from '../scheduler/core/types.js';
import { Rng } from '../scheduler/util/random.js';
import { sharedDir } from '../scheduler/util/paths.js';
import { accuracy, type Accuracy, type Scored } from './classify_metrics.js';
import { loadClaudeCodeSessions, turnEndS, type TraceSession } from './classify_trace.js';

const FLAGS: Record<string, FlagSpec> = {
  json: { type: 'boolean', help: 'only the JSON line' },
  seed: { type: 'number', help: 'seed of the session start offsets (default 1)' },
  sessions: { type: 'number', help: 'replay only the first N session files (default all)' },
  'spread-s': { type: 'number', help: 'session starts are uniform in [0, spread) seconds (default 3600)' },
  'max-output-tokens': { type: 'number', help: 'max_tokens given to every request; the trace lacks it (default 32000, as Claude Code sends)' },
  help: { type: 'boolean', help: 'this text' },
};

export const TENANT = 'claude-code';

/** The predictors compared; they differ only in the streaming-quantiles parameters. */
export const VARIANTS: Readonly<Record<string, unknown>> = {
  online: {},
  shape_only: { levels: ['shape'] },
  // One constant for every request: the chat prior (256 / 1,024) for all shapes, never updated.
  constant_prior: {
    levels: [],
    priorP50Tokens: { tool_call: 256, reasoning: 256, terminal: 256, chat: 256 },
    priorP90Tokens: { tool_call: 1024, reasoning: 1024, terminal: 1024, chat: 1024 },
  },
};

export interface MeasureOptions {
  dir: string;
  seed: number;
  sessions?: number;
  spreadS: number;
  maxOutputTokens: number;
}

export interface VariantReport {
  overall: Accuracy;
  by_shape: Record<Shape, Accuracy>;
  /** Which level answered, over all requests. */
  sources: Record<OutputPrediction['source'], number>;
}

export interface ClassifyReport {
  bench: 'classify';
  trace: string;
  seed: number;
  spread_s: number;
  max_output_tokens: number;
  sessions: number;
  subagent_sessions: number;
  requests: number;
  shapes: Record<Shape, number>;
  reasons: Record<string, number>;
  predictors: Record<string, VariantReport>;
  think_time: { scored: number; actual_p50_s: number | null; median_abs_error_s: number | null; p90_coverage: number | null };
  classify_us_per_request: number;
}

interface Event {
  timeS: number;
  /** 0 = a turn ends, 1 = a turn arrives: at equal times the end comes first (the client answers it). */
  kind: 0 | 1;
  session: number;
  turn: number;
}

export function buildEvents(sessions: readonly TraceSession[], seed: number, spreadS: number): Event[] {
  const rng = new Rng(seed);
  const startS = new Map<string, number>();
  const events: Event[] = [];
  sessions.forEach((s, si) => {
    const base = s.parent === undefined ? rng.next() * spreadS : (startS.get(s.parent) ?? 0) + s.offsetS;
    startS.set(s.sessionId, base);
    s.turns.forEach((t, ti) => {
      events.push({ timeS: base + t.tS, kind: 1, session: si, turn: ti });
      events.push({ timeS: base + turnEndS(s.turns, ti), kind: 0, session: si, turn: ti });
    });
  });
  return events.sort((a, b) => a.timeS - b.timeS || a.kind - b.kind || a.session - b.session || a.turn - b.turn);
}

function toRequest(s: TraceSession, turn: number, arrivalS: number, maxOutputTokens: number): ScheduleRequest {
  const t = s.turns[turn];
  if (!t) throw new Error(`no turn ${turn} in ${s.sessionId}`);
  return {
    requestId: `${s.sessionId}#${turn}`,
    tenant: TENANT,
    arrivalS,
    promptTokens: t.promptTokens,
    maxOutputTokens,
    // The trace records no max_tokens: the value is ours, not the client's.
    maxOutputTokensFromClient: false,
    blockHashes: [],
    hasTools: s.hasTools,
    hasToolResults: t.hasToolResults,
    sessionId: s.sessionId,
    turnIndex: turn,
  };
}

/** Mean µs of one classify (rules + prediction) on the trained online stage: every request, 20 passes. */
function timeClassify(stage: ClassificationStage, reqs: readonly ScheduleRequest[]): number {
  if (reqs.length === 0) return 0;
  let sink = 0;
  const passes = 20;
  const started = performance.now();
  for (let p = 0; p < passes; p++) for (const r of reqs) sink += stage.classify(r).output.expectedTokens;
  const us = ((performance.now() - started) * 1000) / (passes * reqs.length);
  return sink > 0 ? Number(us.toFixed(2)) : NaN;
}

const emptySources = (): VariantReport['sources'] => ({ hint: 0, session: 0, tenant: 0, shape: 0, prior: 0 });

export function measureClassify(opts: MeasureOptions): ClassifyReport {
  const sessions = loadClaudeCodeSessions(opts.dir, opts.sessions);
  const events = buildEvents(sessions, opts.seed, opts.spreadS);
  const names = Object.keys(VARIANTS);
  const stages: ClassificationStage[] = names.map((n) => makeClassification({ predictor: { params: VARIANTS[n] } }, `variants.${n}`));
  const rows: Array<Array<{ shape: Shape; scored: Scored }>> = names.map(() => []);
  const sources = names.map(emptySources);
  const shapes = Object.fromEntries(SHAPES.map((s) => [s, 0])) as Record<Shape, number>;
  const reasons: Record<string, number> = {};
  const gaps = makeSessionGaps(undefined, 'thinkTime');
  const gapRows: Scored[] = [];
  const pendingGap = new Map<string, { expectedS: number; p90S: number }>();
  const live = new Map<string, { req: ScheduleRequest; shape: Shape }>();
  const allRequests: ScheduleRequest[] = [];

  for (const ev of events) {
    const s = sessions[ev.session] as TraceSession;
    const turn = s.turns[ev.turn];
    if (!turn) continue;
    const key = `${ev.session}#${ev.turn}`;
    if (ev.kind === 1) {
      const req = toRequest(s, ev.turn, ev.timeS, opts.maxOutputTokens);
      const gap = pendingGap.get(s.sessionId);
      if (gap && turn.thinkS !== undefined) gapRows.push({ actual: turn.thinkS, expected: gap.expectedS, p90: gap.p90S });
      if (turn.thinkS !== undefined && ev.turn > 0) gaps.observe(s.sessionId, TENANT, turn.thinkS);
      pendingGap.delete(s.sessionId);
      let shape: Shape = 'chat';
      allRequests.push(req);
      for (let v = 0; v < stages.length; v++) {
        const cls = (stages[v] as ClassificationStage).classify(req);
        if (v === 0) reasons[cls.reason] = (reasons[cls.reason] ?? 0) + 1;
        shape = cls.shape;
        (sources[v] as VariantReport['sources'])[cls.output.source]++;
        rows[v]?.push({ shape, scored: { actual: turn.outputTokens, expected: cls.output.expectedTokens, p90: cls.output.p90Tokens } });
      }
      shapes[shape]++;
      live.set(key, { req, shape });
    } else {
      const started = live.get(key);
      if (!started) continue;
      live.delete(key);
      for (const stage of stages) stage.observeFinished(started.req, started.shape, turn.outputTokens);
      // The think-time prediction is made when the turn ends, as KV retention would make it.
      const g = ev.turn + 1 < s.turns.length ? gaps.predict(s.sessionId, TENANT) : undefined;
      if (g) pendingGap.set(s.sessionId, g);
    }
  }

  const classifyUs = timeClassify(stages[0] as ClassificationStage, allRequests);
  const predictors: Record<string, VariantReport> = {};
  names.forEach((n, v) => {
    const all = rows[v] ?? [];
    const byShape = Object.fromEntries(SHAPES.map((sh) => [sh, accuracy(all.filter((r) => r.shape === sh).map((r) => r.scored))])) as Record<Shape, Accuracy>;
    predictors[n] = { overall: accuracy(all.map((r) => r.scored)), by_shape: byShape, sources: sources[v] as VariantReport['sources'] };
  });
  const gapAcc = accuracy(gapRows);
  const requests = rows[0]?.length ?? 0;
  return {
    bench: 'classify',
    trace: path.basename(opts.dir),
    seed: opts.seed,
    spread_s: opts.spreadS,
    max_output_tokens: opts.maxOutputTokens,
    sessions: sessions.filter((s) => s.parent === undefined).length,
    subagent_sessions: sessions.filter((s) => s.parent !== undefined).length,
    requests,
    shapes,
    reasons,
    predictors,
    think_time: {
      scored: gapAcc.count,
      actual_p50_s: gapAcc.actual_p50,
      median_abs_error_s: gapAcc.median_abs_error_tokens === null ? null : Number(gapAcc.median_abs_error_tokens.toFixed(2)),
      p90_coverage: gapAcc.p90_coverage,
    },
    classify_us_per_request: classifyUs,
  };
}

const cell = (x: number | null): string => (x === null ? '–' : String(x));

export function formatTable(report: ClassifyReport): string {
  const lines = [
    `Claude Code sessions: ${report.sessions} sessions + ${report.subagent_sessions} sub-agents, ${report.requests} requests; ` +
      `shapes ${JSON.stringify(report.shapes)}; reasons ${JSON.stringify(report.reasons)}`,
    '',
    '| shape | n | actual p50 | actual p90 | predictor | predicted p50 | median abs err (tok) | median abs err (%) | within 2x | p90 coverage |',
    '| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const shape of ['overall', ...SHAPES] as const) {
    for (const [name, v] of Object.entries(report.predictors)) {
      const a = shape === 'overall' ? v.overall : v.by_shape[shape];
      if (a.count === 0) continue;
      lines.push(`| ${shape} | ${a.count} | ${cell(a.actual_p50)} | ${cell(a.actual_p90)} | ${name} | ${cell(a.predicted_p50)} | ` +
        `${cell(a.median_abs_error_tokens)} | ${cell(a.median_abs_error_pct)} | ${cell(a.within_2x)} | ${cell(a.p90_coverage)} |`);
    }
  }
  lines.push('', `online predictor answered from: ${JSON.stringify(report.predictors.online?.sources)}`);
  const g = report.think_time;
  lines.push(`think time (session-gaps): ${g.scored} gaps, actual p50 ${cell(g.actual_p50_s)} s, median abs error ${cell(g.median_abs_error_s)} s, p90 coverage ${cell(g.p90_coverage)}`);
  lines.push(`classify + predict: ${report.classify_us_per_request} µs per request (trained online stage, all requests × 20, this machine)`);
  return lines.join('\n') + '\n';
}

/** An integer flag ≥ min, or a usage error naming it. */
function positive(flags: Record<string, unknown>, name: string, fallback: number, min: number): number {
  const value = flags[name] ?? fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) throw usageError(`--${name} must be an integer ≥ ${min}, got ${String(value)}`);
  return value;
}

export async function run(argv: string[]): Promise<number> {
  const { flags } = parseFlags(argv, FLAGS);
  if (flags.help) {
    process.stdout.write(`usage: nvlsched bench classify [flags]\n${flagHelp(FLAGS)}\n`);
    return 0;
  }
  const shared = sharedDir();
  const dir = shared ? path.join(shared, 'data', 'traces', 'claude-code-sessions') : undefined;
  if (!dir || !existsSync(dir)) {
    const reason = 'skipped: ../shared (with data/traces/claude-code-sessions) not found; set NVLSCHED_SHARED';
    process.stderr.write(`bench classify: ${reason}\n`);
    process.stdout.write(JSON.stringify({ bench: 'classify', skipped: reason }) + '\n');
    return 0;
  }
  const report = measureClassify({
    dir,
    seed: positive(flags, 'seed', 1, 0),
    ...(flags.sessions !== undefined ? { sessions: positive(flags, 'sessions', 0, 1) } : {}),
    spreadS: positive(flags, 'spread-s', 3600, 0),
    maxOutputTokens: positive(flags, 'max-output-tokens', 32000, 1),
  });
  if (!flags.json) process.stdout.write(formatTable(report));
  process.stdout.write(JSON.stringify(report) + '\n');
  return 0;
}
