// The real traces in ../shared/data/traces (skipped, visibly, when ../shared is absent).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { sharedDir } from '../util/paths.js';
import { readTrace } from './read_trace.js';
import type { ClosedLoopWorkload, OpenLoopWorkload } from './types.js';

const shared = sharedDir();
const TRACES = shared === undefined ? undefined : path.join(shared, 'data', 'traces');

function traces(t: TestContext): string | undefined {
  if (TRACES === undefined) t.skip('../shared is absent (set NVLSCHED_SHARED to run against the real traces)');
  return TRACES;
}

function timed<T>(t: TestContext, what: string, read: () => T): T {
  const started = performance.now();
  const out = read();
  t.diagnostic(`${what}: loaded in ${(performance.now() - started).toFixed(0)} ms`);
  return out;
}

test('shared Mooncake trace: 3,993 requests over 1,022 s, prefix sharing and inferred conversations', (t) => {
  const dir = traces(t);
  if (!dir) return;
  const { workload, problems } = timed(t, 'mooncake', () => readTrace(path.join(dir, 'synthetic_trace.jsonl')));
  const w = workload as OpenLoopWorkload;
  assert.deepEqual(problems, []);
  assert.equal(w.requests.length, 3993);
  assert.equal(w.durationS, 1022.025);
  const hashes = new Set(w.requests.flatMap((r) => [...r.req.blockHashes]));
  const total = w.requests.reduce((s, r) => s + r.req.blockHashes.length, 0);
  assert.ok(hashes.size < total * 0.7, `${hashes.size} distinct of ${total} blocks: the trace reuses prefixes`);
  const sessions = new Set(w.requests.map((r) => r.req.sessionId).filter(Boolean));
  assert.ok(sessions.size > 100, `${sessions.size} inferred conversations`);
  assert.ok(w.requests.every((r) => r.req.blockHashes.length === Math.floor(r.req.promptTokens / 64)));
});

test('shared Azure code trace: 8,819 tool_call-like requests over the hour', (t) => {
  const dir = traces(t);
  if (!dir) return;
  const { workload, problems } = timed(t, 'azure', () => readTrace(path.join(dir, 'AzureLLMInferenceTrace_code.csv')));
  const w = workload as OpenLoopWorkload;
  assert.deepEqual(problems, []);
  assert.equal(w.requests.length, 8819);
  assert.ok(Math.abs(w.durationS - 3435.948056) < 1e-6, `${w.durationS}`); // 19:14:19.9280160 − 18:17:03.9799600
  assert.ok(w.requests.every((r) => r.traceShape === 'tool_call'));
  const half = readTrace(path.join(dir, 'AzureLLMInferenceTrace_code.csv'), { rateScale: 2, durationS: 600 }).workload as OpenLoopWorkload;
  assert.equal(half.requests.length, w.requests.filter((r) => r.req.arrivalS < 1200).length);
});

test('shared Claude Code sessions: 70 sessions and their sub-agents, the global prefix shared', (t) => {
  const dir = traces(t);
  if (!dir) return;
  const target = path.join(dir, 'claude-code-sessions');
  const { workload, problems, sharedHashes } = timed(t, 'claude-code', () => readTrace(target));
  const w = workload as ClosedLoopWorkload;
  assert.deepEqual(problems, []);
  const files = readdirSync(target).filter((n) => /^trace_.*\.json$/.test(n));
  assert.equal(files.length, 70);
  const top = w.sessions.filter((s) => !s.parent);
  assert.equal(top.length, 70);
  assert.equal(w.sessions.length - top.length, 4); // sub-agents
  assert.equal(w.sessions.reduce((s, x) => s + x.turns.length, 0), 4012);
  // Every session's first prompt starts with the same global block.
  assert.equal(new Set(top.map((s) => s.turns[0]?.request.req.blockHashes[0])).size, 1);
  assert.ok((sharedHashes?.size ?? 0) >= 100);
  const shapes = w.sessions.flatMap((s) => s.turns.map((x) => x.request.traceShape));
  assert.ok(shapes.includes('tool_call') && shapes.includes('terminal'));
});

test('shared ServeGen DeepSeek-R1: 73 clients sampled over 600 s at the summed rate', (t) => {
  const dir = traces(t);
  if (!dir) return;
  const target = path.join(dir, 'servegen-deepseek-r1');
  const { workload, problems } = timed(t, 'servegen', () => readTrace(target, { seed: 1 }));
  const w = workload as OpenLoopWorkload;
  assert.deepEqual(problems, []);
  assert.equal(readdirSync(target).filter((n) => /^chunk-.*-trace\.csv$/.test(n)).length, 73);
  assert.equal(w.durationS, 600);
  // Expected count: Σ rate × 600 over the clients' first windows; stochastic rounding moves it by < 1 per client.
  let expected = 0;
  for (const name of readdirSync(target).filter((n) => n.endsWith('-trace.csv'))) {
    const first = readFileSync(path.join(target, name), 'utf8').split('\n')[0]?.split(',') ?? [];
    expected += Number(first[1]) * 600;
  }
  assert.ok(Math.abs(w.requests.length - expected) < 73, `${w.requests.length} requests, expected ≈ ${expected.toFixed(0)}`);
  assert.ok(w.requests.every((r) => r.traceShape === 'reasoning' && r.outputTokens <= 32768));
});
