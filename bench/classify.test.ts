import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { SHAPES } from '../scheduler/core/types.js';
import { sharedDir } from '../scheduler/util/paths.js';
import { VARIANTS, measureClassify, run, type ClassifyReport } from './classify.js';
import { accuracy } from './classify_metrics.js';
import { loadClaudeCodeSessions, turnEndS } from './classify_trace.js';

const shared = sharedDir();
const traces = shared ? path.join(shared, 'data', 'traces', 'claude-code-sessions') : undefined;
const dir = traces && existsSync(traces) ? traces : undefined;
const skip = dir ? false : 'skipped: ../shared (data/traces/claude-code-sessions) not found; set NVLSCHED_SHARED';
if (skip) console.log(`bench classify tests ${skip}`);

test('accuracy: hand-computed table; empty input gives nulls', () => {
  const a = accuracy([
    { actual: 100, expected: 100, p90: 150 },
    { actual: 0, expected: 2, p90: 1 },
    { actual: 400, expected: 100, p90: 500 },
    { actual: 50, expected: 120, p90: 40 },
  ]);
  assert.deepEqual(a, {
    count: 4, actual_p50: 50, actual_p90: 400, predicted_p50: 100,
    // errors 0, 2, 300, 70 → lower median 2; % errors 0, 100 (actual floored at 1), 75, 140 → lower median 75.
    // within 2x: 100 vs 100 and 2 vs 1 (the bound is inclusive); covered: all but 50 > 40.
    median_abs_error_tokens: 2, median_abs_error_pct: 75, within_2x: 0.5, p90_coverage: 0.75,
  });
  assert.equal(accuracy([]).count, 0);
  assert.equal(accuracy([]).median_abs_error_tokens, null);
});

test('turn end: API time when recorded, else the fitted estimate; always after arrival', () => {
  const turns = [
    { tS: 10, promptTokens: 1, outputTokens: 100, apiS: 4, hasToolResults: false },
    { tS: 20, promptTokens: 1, outputTokens: 100, hasToolResults: false },
    { tS: 30, promptTokens: 1, outputTokens: 0, apiS: 0, hasToolResults: false },
  ];
  assert.equal(turnEndS(turns, 0), 14);
  assert.ok(Math.abs(turnEndS(turns, 1) - (20 + 2.92 + 1.54)) < 1e-9);
  assert.ok(turnEndS(turns, 2) > 30);
});

test('trace: sub-agents are sessions of their own, after their parent', { skip }, () => {
  const sessions = loadClaudeCodeSessions(dir as string);
  const subs = sessions.filter((s) => s.parent !== undefined);
  assert.equal(sessions.length - subs.length, 70);
  assert.ok(subs.length >= 1);
  for (const s of subs) {
    const parentAt = sessions.findIndex((p) => p.sessionId === s.parent);
    assert.ok(parentAt >= 0 && parentAt < sessions.indexOf(s), s.sessionId);
  }
  // Tool results are seen (most agent turns carry them).
  assert.ok(sessions.flatMap((s) => s.turns).filter((t) => t.hasToolResults).length > 1000);
});

test('measure on 8 sessions: report structure; online beats the constant prior', { skip }, () => {
  const opts = { dir: dir as string, seed: 3, sessions: 8, spreadS: 3600, maxOutputTokens: 32000 };
  const report: ClassifyReport = measureClassify(opts);
  assert.equal(report.sessions, 8);
  assert.ok(report.requests > 100);
  assert.equal(Object.values(report.shapes).reduce((a, b) => a + b, 0), report.requests);
  assert.equal(Object.values(report.reasons).reduce((a, b) => a + b, 0), report.requests);
  assert.deepEqual(Object.keys(report.predictors), Object.keys(VARIANTS));
  for (const v of Object.values(report.predictors)) {
    assert.equal(v.overall.count, report.requests);
    assert.deepEqual(Object.keys(v.by_shape), [...SHAPES]);
    assert.equal(SHAPES.reduce((n, s) => n + v.by_shape[s].count, 0), report.requests);
    assert.equal(Object.values(v.sources).reduce((a, b) => a + b, 0), report.requests);
  }
  const online = report.predictors.online?.overall;
  const constant = report.predictors.constant_prior?.overall;
  assert.ok(online && constant && online.median_abs_error_tokens !== null && constant.median_abs_error_tokens !== null);
  assert.ok(online.median_abs_error_tokens <= constant.median_abs_error_tokens, `online ${online.median_abs_error_tokens} vs constant ${constant.median_abs_error_tokens}`);
  assert.equal(report.predictors.constant_prior?.sources.prior, report.requests);
  assert.ok((report.predictors.online?.sources.session ?? 0) > report.requests / 2);
  // Same seed, same replay (timing aside).
  const again = measureClassify(opts);
  assert.deepEqual({ ...again, classify_us_per_request: 0 }, { ...report, classify_us_per_request: 0 });
});

test('CLI: last stdout line is the JSON report; bad flags are usage errors', { skip }, async () => {
  const lines: string[] = [];
  const write = process.stdout.write;
  process.stdout.write = ((chunk: string) => (lines.push(String(chunk)), true)) as typeof process.stdout.write;
  let code: number;
  try {
    code = await run(['--json', '--sessions', '2']);
  } finally {
    process.stdout.write = write;
  }
  assert.equal(code, 0);
  const last = JSON.parse(lines.join('').trim().split('\n').at(-1) as string);
  assert.equal(last.bench, 'classify');
  assert.equal(last.sessions, 2);
  await assert.rejects(run(['--sessions', '0']), /--sessions must be an integer ≥ 1, got 0/);
  await assert.rejects(run(['--seed', '1.5']), /--seed must be an integer ≥ 0/);
  await assert.rejects(run(['--bogus']), /unknown flag --bogus/);
});
