// The Mooncake and Azure readers on tiny fixtures (testdata/), corrupt lines included.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../core/config/params.js';
import { readTrace } from './read_trace.js';
import { TraceError } from './problems.js';
import type { OpenLoopWorkload } from './types.js';

const DATA = path.join(path.dirname(fileURLToPath(import.meta.url)), 'testdata');
const MOONCAKE = path.join(DATA, 'mooncake.jsonl');
const AZURE = path.join(DATA, 'azure.csv');

function open(target: string, options = {}): { w: OpenLoopWorkload; problems: Array<{ line: number; message: string }> } {
  const { workload, problems } = readTrace(target, options);
  assert.equal(workload.kind, 'open');
  return { w: workload as OpenLoopWorkload, problems };
}

test('mooncake: corrupt lines are reported with their line and field, and skipped', () => {
  const { w, problems } = open(MOONCAKE);
  assert.deepEqual(problems.map((p) => p.line), [3, 4, 5, 9]);
  assert.match(problems[0]?.message ?? '', /^not JSON \(/);
  assert.match(problems[3]?.message ?? '', /^hash_ids: expected an array of block ids, got nothing/);
  assert.match(problems[1]?.message ?? '', /input_length: expected an integer ≥ 1, got -5/);
  assert.match(problems[2]?.message ?? '', /timestamp: 400 ms is before the previous line's 500 ms/);
  assert.ok(problems.every((p) => p.message && (p as { file?: string }).file === MOONCAKE));
  assert.deepEqual(w.requests.map((r) => r.req.arrivalS), [0, 0.5, 1, 1.5, 2]);
  assert.deepEqual(w.requests.map((r) => r.req.promptTokens), [1100, 1600, 600, 2100, 1700]);
  assert.deepEqual(w.requests.map((r) => r.outputTokens), [10, 20, 1, 30, 3]); // output 0 still yields a first token
  assert.equal(w.durationS, 2);
  assert.ok(w.requests.every((r) => r.traceShape === 'chat' && r.req.maxOutputTokens === 4096 && !r.req.hasTools));
});

test('mooncake: strict stops at the first corrupt line with the same message', () => {
  assert.throws(() => readTrace(MOONCAKE, { strict: true }), (e: unknown) => e instanceof TraceError && e.message.startsWith(`${MOONCAKE}:3: not JSON`));
});

test('mooncake: 512-token ids expand into chained 64-token blocks; only full blocks are hashed', () => {
  const { w } = open(MOONCAKE);
  const [r0, r1, , r3] = w.requests.map((r) => r.req.blockHashes);
  assert.equal(r0?.length, 17); // floor(1100 / 64): 16 from ids 1, 2 and one from the partial id 3
  assert.equal(r1?.length, 25);
  assert.deepEqual(r1?.slice(0, 16), r0?.slice(0, 16)); // ids [1, 2] shared
  assert.notEqual(r1?.[16], r0?.[16]); // id 4 vs id 3
  assert.deepEqual(r3?.slice(0, 25), r1); // [1, 2, 4, 5] shared, and r1 ends on a full block
  // The same request at 512-token blocks: the 64-token block ending a 512 block carries the same hash.
  const coarse = open(MOONCAKE, { blockTokens: 512 }).w.requests[0]?.req.blockHashes;
  assert.deepEqual(coarse, [r0?.[7], r0?.[15]]);
});

test('mooncake: a request extending an earlier one\'s full-block prefix is its next turn; a second extension forks', () => {
  const { w } = open(MOONCAKE);
  const sessions = w.requests.map((r) => [r.req.sessionId, r.req.turnIndex]);
  assert.deepEqual(sessions, [
    ['mooncake-s0', 0],
    ['mooncake-s0', 1],
    [undefined, undefined], // unrelated single request: no session
    ['mooncake-s0', 2],
    [undefined, undefined], // forks off turn 1, which turn 2 already continued: a new, single-request conversation
  ]);
  const off = open(MOONCAKE, { inferSessions: false }).w;
  assert.ok(off.requests.every((r) => r.req.sessionId === undefined));
});

test('mooncake: rateScale divides arrival times, durationS keeps the first simulated seconds, maxRequests the first ones', () => {
  const cases: Array<{ options: object; arrivals: number[]; durationS: number }> = [
    { options: { rateScale: 2 }, arrivals: [0, 0.25, 0.5, 0.75, 1], durationS: 1 },
    { options: { durationS: 1.2 }, arrivals: [0, 0.5, 1], durationS: 1.2 },
    { options: { rateScale: 2, durationS: 0.6 }, arrivals: [0, 0.25, 0.5], durationS: 0.6 },
    { options: { maxRequests: 2 }, arrivals: [0, 0.5], durationS: 0.5 },
  ];
  for (const c of cases) {
    const { w } = open(MOONCAKE, c.options);
    assert.deepEqual(w.requests.map((r) => r.req.arrivalS), c.arrivals, JSON.stringify(c.options));
    assert.equal(w.durationS, c.durationS);
  }
});

test('azure: rows become tool_call-like requests, arrivals exact to the 7th digit, corrupt rows reported', () => {
  const { w, problems } = open(AZURE, { seed: 3 });
  assert.deepEqual(
    problems.map((p) => [p.line, p.message.split(':')[0]]),
    [
      [4, 'ContextTokens'],
      [5, 'TIMESTAMP'],
      [6, 'GeneratedTokens'],
      [7, 'TIMESTAMP'],
    ],
  );
  assert.equal(w.requests.length, 3);
  const arrivals = w.requests.map((r) => r.req.arrivalS);
  assert.equal(arrivals[0], 0);
  assert.ok(Math.abs((arrivals[1] as number) - 0.052) < 1e-9);
  assert.ok(Math.abs((arrivals[2] as number) - 3.0) < 1e-9);
  assert.deepEqual(w.requests.map((r) => r.outputTokens), [10, 8, 2048]); // 3000 clamped to the default max_tokens
  assert.deepEqual(w.requests.map((r) => r.req.blockHashes.length), [75, 49, 1]);
  assert.ok(w.requests.every((r) => r.traceShape === 'tool_call' && r.req.hintShape === undefined));
  // No prefix information: no hash is shared between requests.
  const all = w.requests.flatMap((r) => [...r.req.blockHashes]);
  assert.equal(new Set(all).size, all.length);
});

test('azure: random hashes follow the seed; hintShapes turns the tag into a hint', () => {
  const a = open(AZURE, { seed: 3 }).w.requests[0]?.req.blockHashes;
  assert.deepEqual(open(AZURE, { seed: 3 }).w.requests[0]?.req.blockHashes, a);
  assert.notDeepEqual(open(AZURE, { seed: 4 }).w.requests[0]?.req.blockHashes, a);
  assert.ok(open(AZURE, { hintShapes: true }).w.requests.every((r) => r.req.hintShape === 'tool_call'));
  assert.throws(() => readTrace(AZURE, { strict: true }), /azure\.csv:4: ContextTokens: expected an integer ≥ 1, got "abc"/);
});

test('format detection, explicit formats and bad options', () => {
  assert.equal(readTrace(MOONCAKE).workload.name, 'mooncake.jsonl');
  assert.equal(readTrace(path.join(DATA, 'claude-code')).workload.kind, 'closed');
  assert.equal(readTrace(path.join(DATA, 'servegen'), { durationS: 60 }).workload.kind, 'open');
  const cases: Array<[string, object, RegExp | (new (...a: never[]) => Error)]> = [
    [path.join(DATA, 'nope.jsonl'), {}, /no such file or directory/],
    [DATA, {}, /cannot tell the trace format/],
    [MOONCAKE, { format: 'servegen' }, /reads a directory/],
    [MOONCAKE, { format: 'parquet' }, ConfigError],
    [MOONCAKE, { rateScale: 0 }, /readTrace\.rateScale: expected a number > 0/],
    [MOONCAKE, { blockTokens: 2.5 }, /readTrace\.blockTokens/],
    [MOONCAKE, { colour: 'red' }, /readTrace\.colour: unknown field/],
    [AZURE, { format: 'mooncake', strict: true }, /azure\.csv:1: not JSON/],
    [MOONCAKE, { format: 'azure' }, /expected the header TIMESTAMP,ContextTokens,GeneratedTokens/],
  ];
  for (const [target, options, want] of cases) assert.throws(() => readTrace(target, options), want as RegExp, `${target} ${JSON.stringify(options)}`);
});
