// The Claude Code session reader on tiny fixtures (testdata/claude-code): namespaces, the shared prefix,
// sub-agents, tool-result turns, think times, corrupt entries.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { readTrace } from './read_trace.js';
import { sharedHashesOf } from './sessions.js';
import type { ClosedLoopWorkload, SessionScript } from './types.js';

const DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'testdata', 'claude-code');

function read(options = {}) {
  const result = readTrace(DIR, options);
  assert.equal(result.workload.kind, 'closed');
  const workload = result.workload as ClosedLoopWorkload;
  const byId = new Map(workload.sessions.map((s) => [s.sessionId, s]));
  const session = (id: string): SessionScript => byId.get(id) ?? assert.fail(`no session ${id}`);
  const hashes = (id: string, turn: number) => session(id).turns[turn]?.request.req.blockHashes ?? assert.fail(`no turn ${id}#${turn}`);
  return { ...result, workload, session, hashes };
}

test('claude-code: each session file becomes a closed-loop script, sub-agents their own scripts after their parent', () => {
  const { workload } = read();
  assert.deepEqual(
    workload.sessions.map((s) => [s.sessionId, s.turns.length, s.parent]),
    [
      ['trace_a', 4, undefined],
      ['trace_a/ag1', 2, { sessionId: 'trace_a', afterTurn: 1 }],
      ['trace_b', 2, undefined],
      ['trace_b/ag1', 1, { sessionId: 'trace_b', afterTurn: 1 }],
    ],
  );
  assert.ok(workload.sessions.every((s) => s.tenant === 'claude-code'));
});

test('claude-code: corrupt entries and files are reported with the field, and skipped', () => {
  const { problems } = read();
  const got = problems.map((p) => [path.basename(p.file), p.line, p.message]);
  assert.equal(got.length, 3);
  assert.deepEqual(got[0], ['trace_a.json', 1, 'requests[3].in: expected an integer ≥ 1, got "oops"']);
  assert.equal(got[1]?.[0], 'trace_bad.json');
  assert.equal(got[1]?.[1], 2); // the line the JSON error is on
  assert.match(String(got[1]?.[2]), /^not JSON/);
  assert.deepEqual(got[2], ['trace_c.json', 1, 'block_size: expected an integer ≥ 1, got nothing']);
  assert.throws(() => readTrace(DIR, { strict: true }), /trace_a\.json:1: requests\[3\]\.in: expected an integer ≥ 1, got "oops"/);
});

test('claude-code: turns carry think times, tool results, shapes and per-turn fields', () => {
  const { session } = read();
  const a = session('trace_a');
  assert.deepEqual(
    a.turns.map((t) => [t.thinkTimeS, t.request.req.hasToolResults, t.request.traceShape, t.request.req.turnIndex, t.request.outputTokens]),
    [
      [0, false, 'terminal', 0, 100],
      [3, true, 'terminal', 1, 500], // no think_time: t − (previous t + api_time) = 5 − 2; output 500 > 256
      [25, false, 'terminal', 2, 50],
      [7, true, 'terminal', 3, 300], // no input_types: the previous turn stopped with tool_use
    ],
  );
  const sub = session('trace_a/ag1');
  assert.deepEqual(
    sub.turns.map((t) => [t.thinkTimeS, t.request.req.hasToolResults, t.request.traceShape]),
    [
      [1, false, 'terminal'], // spawned at t 16, one second after the parent's turn ended (5 + 10)
      [1, true, 'tool_call'], // a tool-result turn answering in 30 tokens
    ],
  );
  const req = a.turns[1]?.request.req;
  assert.equal(req?.requestId, 'trace_a#1');
  assert.equal(req?.sessionId, 'trace_a');
  assert.equal(req?.maxOutputTokens, 32000);
  assert.equal(req?.hasTools, true); // tool_tokens > 0
  assert.equal(sub.turns[0]?.request.req.hasTools, false); // the sub-agent has no tool tokens
  assert.equal(req?.promptTokens, 300);
  assert.equal(req?.blockHashes.length, 4);
  assert.equal(read({ maxOutputTokens: 100 }).session('trace_a').turns[1]?.request.outputTokens, 100);
});

test('claude-code: the tools + system blocks are shared by all sessions, the rest is namespaced per session', () => {
  const { hashes, workload, sharedHashes } = read();
  const a0 = hashes('trace_a', 0);
  const b0 = hashes('trace_b', 0);
  assert.deepEqual(b0.slice(0, 2), a0.slice(0, 2)); // (64 + 64) / 64 = 2 global blocks
  assert.notEqual(b0[2], a0[2]); // both are local id 3: different sessions, different hashes
  assert.deepEqual(hashes('trace_a', 1).slice(0, 3), a0); // within a session, the prefix is reused
  // trace_b's second prompt drifted at block 1: block 0 is still global, block 1 and all after are local.
  const b1 = hashes('trace_b', 1);
  assert.equal(b1[0], a0[0]);
  assert.notEqual(b1[1], a0[1]);
  assert.notEqual(b1[2], b0[2]); // id 3 again, but after a different block: a different chain
  assert.deepEqual([...(sharedHashes ?? [])].sort(), [a0[0], a0[1], hashes('trace_a/ag1', 0)[0]].sort());
  assert.equal(sharedHashesOf(workload), sharedHashes);
});

test('claude-code: sub-agents run in a fresh cache context but share their type\'s tools + system prefix', () => {
  const { hashes } = read();
  const subA = hashes('trace_a/ag1', 0);
  const subB = hashes('trace_b/ag1', 0);
  assert.equal(subA.length, 2);
  assert.equal(subA[0], subB[0]); // Explore's one-block prefix
  assert.notEqual(subA[1], subB[1]);
  const parent = new Set([0, 1, 2, 3].flatMap((k) => [...hashes('trace_a', k)]));
  assert.ok(subA.every((h) => !parent.has(h)), 'no block of the sub-agent is in its parent\'s context');
});

test('claude-code: block size conversion keeps the prefix structure; a single file reads alone; maxRequests keeps whole sessions', () => {
  const fine = readTrace(DIR, { blockTokens: 16 }).workload as ClosedLoopWorkload;
  const a0 = fine.sessions[0]?.turns[0]?.request.req.blockHashes ?? [];
  const b0 = fine.sessions[2]?.turns[0]?.request.req.blockHashes ?? [];
  assert.equal(a0.length, 12); // 200 / 16, limited by 3 ids × 4
  assert.deepEqual(b0.slice(0, 8), a0.slice(0, 8));
  assert.notEqual(b0[8], a0[8]);
  const one = readTrace(path.join(DIR, 'trace_b.json')).workload as ClosedLoopWorkload;
  assert.deepEqual(one.sessions.map((s) => s.sessionId), ['trace_b', 'trace_b/ag1']);
  const capped = readTrace(DIR, { maxRequests: 3 }).workload as ClosedLoopWorkload;
  assert.deepEqual(capped.sessions.map((s) => s.sessionId), ['trace_a', 'trace_a/ag1']);
});
