// Synthetic mixes: the default mix, arrival processes, sessions, prefixes, and validation errors naming the field.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { ConfigError } from '../core/config/params.js';
import { SHAPES } from '../core/types.js';
import { DEFAULT_MIX_YAML, defaultMix } from './default_mix.js';
import { parseMix, readMix } from './mix.js';
import { readTrace } from './read_trace.js';
import type { OpenLoopWorkload, WorkloadRequest } from './types.js';

const summary = (w: OpenLoopWorkload) => w.requests.map((r) => [r.req.requestId, r.req.arrivalS, r.req.promptTokens, r.outputTokens, r.req.blockHashes.length]);

function bySession(w: OpenLoopWorkload): Map<string, WorkloadRequest[]> {
  const out = new Map<string, WorkloadRequest[]>();
  for (const r of w.requests) if (r.req.sessionId) out.set(r.req.sessionId, [...(out.get(r.req.sessionId) ?? []), r]);
  return out;
}

test('default mix: all four shapes, sorted arrivals within its duration, deterministic by seed', () => {
  const w = defaultMix();
  assert.equal(w.name, 'default');
  assert.equal(w.durationS, 120);
  assert.ok(w.requests.length > 500 && w.requests.length < 1500, `${w.requests.length} requests`);
  for (const shape of SHAPES) assert.ok(w.requests.some((r) => r.traceShape === shape), shape);
  assert.ok(w.requests.every((r, i) => r.req.arrivalS >= 0 && r.req.arrivalS < 120 && (i === 0 || r.req.arrivalS >= (w.requests[i - 1]?.req.arrivalS as number))));
  assert.equal(new Set(w.requests.map((r) => r.req.requestId)).size, w.requests.length);
  assert.ok(w.requests.every((r) => r.outputTokens >= 1 && r.outputTokens <= r.req.maxOutputTokens));
  assert.ok(w.requests.every((r) => r.req.blockHashes.length === Math.floor(r.req.promptTokens / 64)));
  assert.deepEqual(summary(defaultMix()), summary(w));
  assert.notDeepEqual(summary(defaultMix({ seed: 2 })), summary(w));
  // The block size changes the hashes only: arrivals and lengths are the same draws.
  const lengths = (x: OpenLoopWorkload) => x.requests.map((r) => [r.req.arrivalS, r.req.promptTokens, r.outputTokens]);
  const coarse = defaultMix({ blockTokens: 16 });
  assert.deepEqual(lengths(coarse), lengths(w));
  assert.ok(coarse.requests.every((r) => r.req.blockHashes.length === Math.floor(r.req.promptTokens / 16)));
  assert.deepEqual(summary(readMix(parse(DEFAULT_MIX_YAML) as object)), summary(w)); // YAML text or parsed object
});

test('default mix: sessions grow their context turn by turn, extending the same hash chain', () => {
  const sessions = bySession(defaultMix());
  assert.ok(sessions.size >= 10);
  let multiTurn = 0;
  let toolTurns = 0;
  for (const turns of sessions.values()) {
    assert.deepEqual(turns.map((t) => t.req.turnIndex), turns.map((_, k) => k));
    assert.equal(turns[0]?.req.hasToolResults, false); // a session opens with the user's text
    for (let k = 1; k < turns.length; k++) {
      const [prev, cur] = [turns[k - 1] as WorkloadRequest, turns[k] as WorkloadRequest];
      assert.ok(cur.req.promptTokens >= prev.req.promptTokens + prev.outputTokens);
      assert.ok(cur.req.arrivalS >= prev.req.arrivalS + prev.outputTokens * 0.03 - 1e-9);
      assert.deepEqual(cur.req.blockHashes.slice(0, prev.req.blockHashes.length), prev.req.blockHashes);
      assert.equal(cur.req.tenant, prev.req.tenant);
      if (cur.req.hasToolResults) toolTurns++;
      assert.equal(cur.traceShape, cur.req.hasToolResults && cur.outputTokens <= 256 ? 'tool_call' : 'terminal');
    }
    if (turns.length > 1) multiTurn++;
  }
  assert.ok(multiTurn >= 10 && toolTurns >= 10, `${multiTurn} multi-turn sessions, ${toolTurns} tool-result turns`);
});

test('default mix: requests of one tenant share the system prefix, other tenants and shapes do not', () => {
  const w = defaultMix();
  const tools = w.requests.filter((r) => r.traceShape === 'tool_call' && !r.req.sessionId);
  const prefixBlocks = Math.floor(12000 / 64);
  const first = (tenant: string) => tools.find((r) => r.req.tenant === tenant)?.req.blockHashes ?? assert.fail(tenant);
  for (const r of tools.filter((x) => x.req.tenant === 'tool_call-0')) assert.deepEqual(r.req.blockHashes.slice(0, prefixBlocks), first('tool_call-0').slice(0, prefixBlocks));
  assert.deepEqual(first('tool_call-2').slice(0, prefixBlocks), first('tool_call-0').slice(0, prefixBlocks)); // 4 tenants, 2 variants
  assert.notEqual(first('tool_call-1')[0], first('tool_call-0')[0]);
  const a = first('tool_call-0');
  const b = tools.filter((x) => x.req.tenant === 'tool_call-0')[1]?.req.blockHashes ?? [];
  assert.notEqual(b[prefixBlocks], a[prefixBlocks]); // the unique suffix
  const chat = w.requests.find((r) => r.traceShape === 'chat')?.req.blockHashes ?? [];
  assert.notEqual(chat[0], a[0]);
  assert.ok(tools.some((r) => r.req.hasToolResults) && tools.some((r) => !r.req.hasToolResults));
  assert.ok(w.requests.filter((r) => r.traceShape === 'reasoning').every((r) => r.req.reasoningEffort === 'high'));
});

const one = (shape: object, extra: object = {}) => ({ durationS: 200, ...extra, shapes: { chat: { outputTokens: 10, ...shape } } });

test('arrival processes: poisson and gamma keep their rate; gamma bursts have the configured cv; rateScale scales', () => {
  const gapsCv = (w: OpenLoopWorkload) => {
    const a = w.requests.map((r) => r.req.arrivalS);
    const gaps = a.slice(1).map((t, i) => t - (a[i] as number));
    const mean = gaps.reduce((s, g) => s + g, 0) / gaps.length;
    return Math.sqrt(gaps.reduce((s, g) => s + (g - mean) ** 2, 0) / gaps.length) / mean;
  };
  const poisson = readMix(one({ arrival: { process: 'poisson', ratePerS: 20 } }));
  const bursts = readMix(one({ arrival: { process: 'gamma', ratePerS: 20, cv: 3 } }, { durationS: 2000 }));
  assert.ok(Math.abs(poisson.requests.length / 4000 - 1) < 0.05, `${poisson.requests.length}`);
  assert.ok(Math.abs(bursts.requests.length / 40000 - 1) < 0.1, `${bursts.requests.length}`);
  assert.ok(Math.abs(gapsCv(poisson) - 1) < 0.1, `poisson cv ${gapsCv(poisson)}`);
  assert.ok(Math.abs(gapsCv(bursts) / 3 - 1) < 0.15, `gamma cv ${gapsCv(bursts)}`);
  const doubled = readMix(one({ arrival: { process: 'poisson', ratePerS: 20 } }), 'mix', { rateScale: 2 });
  assert.ok(Math.abs(doubled.requests.length / 8000 - 1) < 0.05, `${doubled.requests.length}`);
  assert.equal(readMix(one({ arrival: { ratePerS: 0 } })).requests.length, 0);
  assert.equal(readMix(one({ arrival: { ratePerS: 20 } }), 'mix', { maxRequests: 5, durationS: 10 }).requests.length, 5);
});

test('length distributions stay within their bounds and honour their parameters', () => {
  const draw = (outputTokens: unknown, uniqueTokens: unknown = 0) =>
    readMix({ durationS: 100, shapes: { chat: { arrival: { ratePerS: 20 }, outputTokens, uniqueTokens, maxOutputTokens: 100000 } } }).requests;
  const outs = (dist: unknown) => draw(dist).map((r) => r.outputTokens);
  assert.ok(outs(7).every((o) => o === 7));
  assert.ok(outs({ dist: 'fixed', value: 9 }).every((o) => o === 9));
  const u = outs({ dist: 'uniform', min: 10, max: 12 });
  assert.deepEqual(new Set(u), new Set([10, 11, 12]));
  const e = outs({ dist: 'empirical', values: [5, 50], weights: [3, 1] });
  assert.ok(Math.abs(e.filter((o) => o === 5).length / e.length - 0.75) < 0.03);
  const ln = outs({ dist: 'lognormal', median: 1000, sigma: 1, max: 5000 }).sort((a, b) => a - b);
  assert.ok(Math.abs((ln[ln.length >> 1] as number) / 1000 - 1) < 0.1 && (ln[ln.length - 1] as number) <= 5000);
  const ex = outs({ dist: 'exponential', mean: 300 });
  assert.ok(Math.abs(ex.reduce((s, x) => s + x, 0) / ex.length / 300 - 1) < 0.06);
  assert.ok(draw(5, { dist: 'uniform', min: 64, max: 64 }).every((r) => r.req.promptTokens === 64 && r.req.blockHashes.length === 1));
});

test('sessions end at maxContextTokens and at the mix duration', () => {
  const w = readMix(one({ arrival: { ratePerS: 0.5 }, uniqueTokens: 1000, session: { turns: 50, thinkTimeS: 1, turnTokens: 1000, maxContextTokens: 5000, assumedTpotS: 0 } }, { durationS: 20 }));
  for (const turns of bySession(w).values()) {
    assert.ok(turns.length <= 4); // prompts 1000, 2010, 3020, 4030; the next, 5040, is past 5000
    assert.ok(turns.every((t) => t.req.promptTokens <= 5000 && t.req.arrivalS < 20));
  }
  assert.ok([...bySession(w).values()].some((t) => t.length === 4));
});

test('bad mixes throw ConfigError naming the field', () => {
  const chat = (fields: object) => ({ shapes: { chat: { arrival: { ratePerS: 1 }, outputTokens: 10, ...fields } } });
  const cases: Array<[unknown, string]> = [
    ['shapes: [', 'mix'],
    [{ shapes: {} }, 'mix.shapes'],
    [{ shapes: { tool_calls: {} } }, 'mix.shapes.tool_calls'],
    [{ shapes: { chat: { outputTokens: 10 } } }, 'mix.shapes.chat.arrival'],
    [{ shapes: { chat: { arrival: { ratePerS: 1 } } } }, 'mix.shapes.chat.outputTokens'],
    [{ durationS: 0, ...chat({}) }, 'mix.durationS'],
    [{ colour: 1, ...chat({}) }, 'mix.colour'],
    [chat({ arrival: { process: 'weird', ratePerS: 1 } }), 'mix.shapes.chat.arrival.process'],
    [chat({ arrival: { process: 'gamma', ratePerS: 1, cv: -1 } }), 'mix.shapes.chat.arrival.cv'],
    [chat({ arrival: { process: 'poisson', ratePerS: 1, cv: 2 } }), 'mix.shapes.chat.arrival.cv'],
    [chat({ arrival: { ratePerS: -1 } }), 'mix.shapes.chat.arrival.ratePerS'],
    [chat({ outputTokens: 0 }), 'mix.shapes.chat.outputTokens'],
    [chat({ outputTokens: { dist: 'lognormal', sigma: 1 } }), 'mix.shapes.chat.outputTokens.median'],
    [chat({ outputTokens: { dist: 'uniform', min: 10, max: 5 } }), 'mix.shapes.chat.outputTokens.max'],
    [chat({ outputTokens: { dist: 'uniform', min: 10 } }), 'mix.shapes.chat.outputTokens.max'],
    [chat({ outputTokens: { dist: 'empirical', values: [1, 'x'] } }), 'mix.shapes.chat.outputTokens.values[1]'],
    [chat({ outputTokens: { dist: 'empirical', values: [1, 2], weights: [1] } }), 'mix.shapes.chat.outputTokens.weights'],
    [chat({ outputTokens: { dist: 'zipf' } }), 'mix.shapes.chat.outputTokens.dist'],
    [chat({ outputTokens: { dist: 'fixed', value: 3, extra: 1 } }), 'mix.shapes.chat.outputTokens.extra'],
    [chat({ uniqueTokens: 1.5 }), 'mix.shapes.chat.uniqueTokens'],
    [chat({ toolResultsShare: 2 }), 'mix.shapes.chat.toolResultsShare'],
    [chat({ reasoningEffort: 'max' }), 'mix.shapes.chat.reasoningEffort'],
    [chat({ prefix: { sharedTokens: -1 } }), 'mix.shapes.chat.prefix.sharedTokens'],
    [chat({ session: {} }), 'mix.shapes.chat.session.turns'],
    [chat({ session: { turns: 3, thinkTimeS: { dist: 'exponential' } } }), 'mix.shapes.chat.session.thinkTimeS.mean'],
    [chat({ session: { turns: 3, toolTurnShare: -0.1 } }), 'mix.shapes.chat.session.toolTurnShare'],
  ];
  for (const [mix, field] of cases) {
    assert.throws(
      () => parseMix(mix as object),
      (e: unknown) => e instanceof ConfigError && e.field === field,
      `${JSON.stringify(mix)} should name ${field}`,
    );
  }
  assert.throws(() => readMix(chat({}), 'mix', { seed: 1.5 }), /mix\(options\)\.seed/);
});

test("a mix file through readTrace (simulate --trace mix.yaml): no limits given → the mix own duration, no cap", () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'mix-'));
  const file = path.join(dir, 'mix.yaml');
  writeFileSync(file, DEFAULT_MIX_YAML);
  const all = readTrace(file).workload as OpenLoopWorkload;
  assert.ok(all.requests.length > 10);
  assert.equal(all.requests.length, (readMix(DEFAULT_MIX_YAML, 'mix') as OpenLoopWorkload).requests.length);
  assert.equal((readTrace(file, { maxRequests: 7 }).workload as OpenLoopWorkload).requests.length, 7);
});

test('named tenants: each stream carries its tenant, streams of one shape are independent, ids stay unique', () => {
  const tools = { arrival: { ratePerS: 20 }, prefix: { sharedTokens: 640 }, outputTokens: 40, hasTools: true };
  const doc = {
    durationS: 30,
    shapes: { chat: { arrival: { ratePerS: 1 }, outputTokens: 50 } },
    tenants: {
      A: { shapes: { tool_call: tools } },
      B: { shapes: { tool_call: { ...tools, arrival: { ratePerS: 1 } }, chat: { arrival: { ratePerS: 1 }, outputTokens: 50 } } },
    },
  };
  const w = readMix(doc, 'mix', { seed: 3 });
  const count = (tenant: string, shape: string) => w.requests.filter((r) => r.req.tenant === tenant && r.traceShape === shape).length;
  assert.ok(count('A', 'tool_call') > 450 && count('A', 'tool_call') < 750, `A: ${count('A', 'tool_call')} tool calls (20/s × 30 s)`);
  assert.ok(count('B', 'tool_call') > 10 && count('B', 'tool_call') < 60);
  assert.ok(count('B', 'chat') > 10);
  assert.ok(w.requests.some((r) => r.req.tenant === 'chat-0'), 'the anonymous stream keeps its <shape>-<i> tenants');
  assert.equal(new Set(w.requests.map((r) => r.req.requestId)).size, w.requests.length);
  // B's chat stream is not a copy of the anonymous chat stream (its own seeds), nor A's prefix B's.
  const arrivals = (tenant: string) => w.requests.filter((r) => r.req.tenant.startsWith(tenant) && r.traceShape === 'chat').map((r) => r.req.arrivalS);
  assert.notDeepEqual(arrivals('B'), arrivals('chat-'));
  const prefixOf = (tenant: string) => w.requests.find((r) => r.req.tenant === tenant && r.traceShape === 'tool_call')?.req.blockHashes.slice(0, 10);
  assert.notDeepEqual(prefixOf('A'), prefixOf('B'));
  // The anonymous part samples exactly as the same mix without tenants.
  const alone = readMix({ durationS: 30, shapes: doc.shapes }, 'mix', { seed: 3 });
  assert.deepEqual(summary({ ...w, requests: w.requests.filter((r) => r.req.tenant === 'chat-0') }), summary(alone));
  // A tenants-only mix needs no shapes section.
  assert.ok(readMix({ durationS: 5, tenants: { A: { shapes: { tool_call: tools } } } }).requests.every((r) => r.req.tenant === 'A'));
});

test('bad tenant streams name the field', () => {
  const stream = { arrival: { ratePerS: 1 }, outputTokens: 10 };
  const cases: Array<[unknown, string]> = [
    [{ tenants: { 'bad name': { shapes: { chat: stream } } } }, 'mix.tenants.bad name'],
    [{ tenants: { A: { chat: stream } } }, 'mix.tenants.A.chat'],
    [{ tenants: { A: { shapes: {} } } }, 'mix.tenants.A.shapes'],
    [{ tenants: { A: { shapes: { chat: { ...stream, tenants: 3 } } } } }, 'mix.tenants.A.shapes.chat.tenants'],
    [{ tenants: { A: { shapes: { chat: { outputTokens: 10 } } } } }, 'mix.tenants.A.shapes.chat.arrival'],
    [{ tenants: [] }, 'mix.tenants'],
  ];
  for (const [mix, field] of cases) {
    assert.throws(() => parseMix(mix as object), (e: unknown) => e instanceof ConfigError && e.field === field, `${JSON.stringify(mix)} should name ${field}`);
  }
});
