// The report from hand-made runs, with every number worked out by hand in the comments.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseGoodput } from './goodput.js';
import { meetsSlo, tpotS, ttftS } from './latency.js';
import { buildReport } from './metrics.js';
import { percentileSorted } from './stats.js';
import { cancelled, record, rejected, runResult } from './testing/records.js';

// chat (SLO ttft 1 s, tpot 50 ms), simulated 10 s on 4 GPUs, every prompt 100 tokens:
const CHAT = [
  // good: ttft 0.5, tpot (1.5−0.5)/20 = 0.05 exactly at the bound, e2e 1.5
  record({ sessionId: 's1', arrivalS: 0, firstTokenS: 0.5, endS: 1.5, outputTokens: 21, costUsd: 0.01,
    cachedTokens: { device: 50, host: 0, neighbour: 0 } }),
  // not good: ttft 2; tpot (4−3)/10 = 0.1, e2e 3, preempted twice
  record({ sessionId: 's1', arrivalS: 1, firstTokenS: 3, endS: 4, outputTokens: 11, costUsd: 0.02, preemptions: 2,
    cachedTokens: { device: 0, host: 20, neighbour: 0 } }),
  // good: one output token, so no TPOT (judged as 0); ttft 0.25, e2e 0.25
  record({ sessionId: 's2', arrivalS: 2, firstTokenS: 2.25, endS: 2.25, outputTokens: 1, costUsd: 0.01 }),
  // rejected: never good, its prompt is not counted for the KV hit rate
  rejected({ sessionId: 's2', arrivalS: 3, code: 'slo' }),
  // cancelled: never good, not in the latency percentiles, but its cache hits and cost count
  cancelled({ arrivalS: 4, firstTokenS: 4.5, endS: 5, outputTokens: 3, costUsd: 0.03, preemptions: 1,
    cachedTokens: { device: 0, host: 0, neighbour: 30 } }),
  // good: completed with no output token; its TTFT is judged as its e2e (0.5 ≤ 1)
  record({ arrivalS: 5, firstTokenS: undefined, endS: 5.5, outputTokens: 0, costUsd: 0.01 }),
];
// tool_call (ttft 0.5, tpot 30 ms): ttft 0.4, tpot 0.225/9 = 0.025 → good
const TOOL = [record({ shape: 'tool_call', arrivalS: 0, firstTokenS: 0.4, endS: 0.625, outputTokens: 10 })];

test('per-shape metrics: counts, goodput, attainment, percentiles, throughput, KV by tier, cost per request and task', () => {
  const report = buildReport(runResult([...CHAT, ...TOOL]));
  const chat = report.by_shape.chat;
  assert.deepEqual(
    [chat.requests, chat.completed, chat.rejected, chat.cancelled, chat.good],
    [6, 4, 1, 1, 3],
  );
  assert.equal(chat.goodput_rps, 0.3); // 3 good / 10 s
  assert.equal(chat.slo_attainment, 0.5); // 3 of 6 requests
  // TTFT of completed requests with a first token: [0.25, 0.5, 2] → p50 0.5, p90 0.5+0.8·1.5, p99 0.5+0.98·1.5
  assert.deepEqual([chat.ttft_p50_s, chat.ttft_p90_s, chat.ttft_p99_s], [0.5, 1.7, 1.97]);
  assert.equal(chat.ttft_mean_s, 0.916666667);
  // TPOT over requests with ≥ 2 output tokens: [0.05, 0.1]
  assert.deepEqual([chat.tpot_p50_s, chat.tpot_p90_s, chat.tpot_p99_s], [0.075, 0.095, 0.0995]);
  assert.deepEqual([chat.itl_p50_s, chat.itl_p90_s, chat.itl_p99_s], [0.075, 0.095, 0.0995]);
  // e2e of completed: [0.25, 0.5, 1.5, 3]
  assert.deepEqual([chat.e2e_p50_s, chat.e2e_p90_s, chat.e2e_p99_s], [1, 2.55, 2.955]);
  // completed output 21+11+1+0 = 33 tokens over 10 s, 4 GPUs
  assert.equal(chat.throughput_tok_s, 3.3);
  assert.equal(chat.throughput_tok_s_per_gpu, 0.825);
  assert.equal(chat.output_tokens, 36); // the cancelled request's 3 included
  assert.equal(chat.prompt_tok_s, 50); // 5 admitted × 100 / 10 s
  // cached 50 + 20 + 30 of 500 admitted prompt tokens
  assert.equal(chat.kv_hit_rate, 0.2);
  assert.deepEqual(chat.kv_hit_rate_by_tier, { device: 0.1, host: 0.04, neighbour: 0.06 });
  assert.deepEqual([chat.preemptions, chat.preempted_requests], [3, 2]);
  assert.deepEqual(chat.rejections_by_code, { slo: 1 });
  assert.equal(chat.cost_usd, 0.08);
  assert.equal(chat.cost_per_request_usd, 0.02); // 0.08 / 4 completed
  // tasks: s1 (all done), s2 (one rejected), the cancelled one, the last one → 2 of 4 completed
  assert.deepEqual([chat.tasks, chat.tasks_completed, chat.cost_per_task_usd], [4, 2, 0.04]);

  const tool = report.by_shape.tool_call;
  assert.deepEqual([tool.requests, tool.good, tool.goodput_rps, tool.slo_attainment], [1, 1, 0.1, 1]);
  assert.deepEqual([tool.ttft_p50_s, tool.ttft_p99_s, tool.tpot_p99_s], [0.4, 0.4, 0.025]);

  const all = report.overall;
  assert.deepEqual([all.requests, all.completed, all.good, all.goodput_rps], [7, 5, 4, 0.4]);
  assert.equal(all.slo_attainment, 0.571428571);
  assert.deepEqual(all.rejections_by_code, { slo: 1 });
});

test('report header: the run fields in §6 names, every shape present, empty shapes null not NaN', () => {
  const report = buildReport(runResult(TOOL, { simulatedS: 12.5, simWallS: 0.75, policy: 'dynamo-kv' }));
  assert.equal(report.policy, 'dynamo-kv');
  assert.equal(report.cluster, 'gb200-nvl72');
  assert.equal(report.model, 'llama-3.1-70b');
  assert.equal(report.simulated_s, 12.5);
  assert.equal(report.sim_wall_s, 0.75);
  assert.deepEqual(Object.keys(report.by_shape), ['tool_call', 'reasoning', 'terminal', 'chat']);
  const empty = report.by_shape.reasoning;
  assert.equal(empty.requests, 0);
  for (const key of ['goodput_rps', 'slo_attainment', 'ttft_p50_s', 'tpot_p99_s', 'e2e_p99_s', 'kv_hit_rate', 'cost_per_request_usd', 'cost_per_task_usd'] as const) {
    assert.equal(empty[key], key === 'goodput_rps' ? 0 : null, key);
  }
  assert.doesNotMatch(JSON.stringify(report), /NaN|Infinity/);
  for (const key of ['requests', 'completed', 'rejected', 'goodput_rps', 'slo_attainment', 'ttft_p50_s', 'ttft_p90_s',
    'ttft_p99_s', 'tpot_p50_s', 'tpot_p90_s', 'tpot_p99_s', 'e2e_p99_s', 'throughput_tok_s', 'kv_hit_rate', 'preemptions', 'cost_usd']) {
    assert.ok(key in report.overall, `§6 field ${key}`);
  }
});

test('a run of zero simulated seconds or zero GPUs gives null rates', () => {
  const report = buildReport(runResult(TOOL, { simulatedS: 0, gpus: 0 }));
  assert.equal(report.overall.goodput_rps, null);
  assert.equal(report.overall.throughput_tok_s, null);
  assert.equal(report.overall.throughput_tok_s_per_gpu, null);
  assert.equal(report.overall.slo_attainment, 1);
});

test('--goodput overrides change the verdicts: global, then shape-scoped over global', () => {
  // global ttft 2.5 s and tpot 100 ms: the chat request with ttft 2 and tpot 0.1 now meets them; tool_call.ttft
  // 300 ms fails the 0.4 s tool call although the global ttft would pass it
  const report = buildReport(runResult([...CHAT, ...TOOL]), parseGoodput(['ttft:2500', 'tpot:100', 'tool_call.ttft:300']));
  assert.equal(report.by_shape.chat.good, 4);
  assert.equal(report.by_shape.tool_call.good, 0);
  assert.deepEqual(report.goodput_overrides_ms, { ttft: 2500, tpot: 100, 'tool_call.ttft': 300 });
  // a tighter tpot (40 ms) fails the chat request at 50 ms; the one-token request still passes (tpot counts as 0)
  const tight = buildReport(runResult(CHAT), parseGoodput(['tpot:40']));
  assert.equal(tight.by_shape.chat.good, 2);
  // e2el 1 s: of the good ones only those ending within 1 s (0.25 and 0.5 s) stay good
  assert.equal(buildReport(runResult(CHAT), parseGoodput(['e2el:1000'])).by_shape.chat.good, 2);
  assert.deepEqual(buildReport(runResult(CHAT)).goodput_overrides_ms, {});
});

test('TPOT and TTFT edge cases', () => {
  const cases: Array<{ name: string; r: ReturnType<typeof record>; ttft: number | undefined; tpot: number | undefined; good: boolean }> = [
    { name: '0 output tokens', r: record({ outputTokens: 0, firstTokenS: undefined, endS: 0.4 }), ttft: undefined, tpot: undefined, good: true },
    { name: '0 output tokens, slow', r: record({ outputTokens: 0, firstTokenS: undefined, endS: 1.5 }), ttft: undefined, tpot: undefined, good: false },
    { name: '1 output token', r: record({ outputTokens: 1, firstTokenS: 0.8, endS: 0.8 }), ttft: 0.8, tpot: undefined, good: true },
    { name: '2 output tokens', r: record({ outputTokens: 2, firstTokenS: 0.5, endS: 0.56 }), ttft: 0.5, tpot: 0.06000000000000005, good: false },
    // 0.4 − 0.1 = 0.30000000000000004 in doubles: still meets a 0.3 s bound
    { name: 'bound hit after float noise', r: record({ arrivalS: 0.1, firstTokenS: 0.4, endS: 0.4, outputTokens: 1, slo: { ttftS: 0.3, tpotS: 0.05 } }), ttft: 0.3, tpot: undefined, good: true },
    { name: 'just over the bound', r: record({ arrivalS: 0.1, firstTokenS: 0.4001, endS: 0.4001, outputTokens: 1, slo: { ttftS: 0.3, tpotS: 0.05 } }), ttft: 0.3001, tpot: undefined, good: false },
    { name: 'rejected', r: rejected(), ttft: undefined, tpot: undefined, good: false },
    { name: 'cancelled while fast', r: cancelled({ firstTokenS: 0.1, endS: 0.2 }), ttft: 0.1, tpot: 0.1 / 9, good: false },
  ];
  for (const c of cases) {
    assert.equal(ttftS(c.r) === undefined ? undefined : Number(ttftS(c.r)?.toPrecision(12)), c.ttft === undefined ? undefined : Number(c.ttft.toPrecision(12)), c.name);
    const tpot = tpotS(c.r);
    assert.equal(tpot === undefined, c.tpot === undefined, c.name);
    if (tpot !== undefined && c.tpot !== undefined) assert.ok(Math.abs(tpot - c.tpot) < 1e-12, c.name);
    assert.equal(meetsSlo(c.r, { all: {}, byShape: {} }), c.good, c.name);
  }
});

test('percentiles interpolate linearly between closest ranks (numpy default)', () => {
  const cases: Array<[number[], number, number | null]> = [
    [[], 50, null],
    [[7], 99, 7],
    [[1, 2, 3, 4], 50, 2.5],
    [[1, 2, 3, 4], 0, 1],
    [[1, 2, 3, 4], 100, 4],
    [[10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 90, 91],
    [[3, 3, 3], 99, 3],
  ];
  for (const [values, p, expected] of cases) {
    const got = percentileSorted(values, p);
    assert.equal(got === null ? null : Number(got.toPrecision(12)), expected, `${p} of ${values}`);
  }
});

test('a record of an unknown shape is an error naming it', () => {
  const bad = record({ shape: 'batch' as never });
  assert.throws(() => buildReport(runResult([bad])), /unknown shape "batch"/);
});

test('by_tenant: each tenant’s metrics overall and per shape it sent; absent with fewer than two tenants', () => {
  const records = [
    record({ tenant: 'a', shape: 'tool_call', arrivalS: 0, firstTokenS: 0.2, endS: 0.4, costUsd: 0.5 }), // good: tpot 0.2 / 9 < 0.03
    record({ tenant: 'a', shape: 'tool_call', arrivalS: 1, firstTokenS: 1.8, endS: 2, costUsd: 0.25 }), // ttft 0.8 > 0.5
    rejected({ tenant: 'a', shape: 'tool_call', arrivalS: 2, code: 'E_QUEUE_FULL' }),
    record({ tenant: 'b', shape: 'chat', arrivalS: 0, firstTokenS: 0.3, endS: 0.5, costUsd: 1 }),
    record({ shape: 'chat' }), // no tenant: in overall and by_shape only
  ];
  const report = buildReport(runResult(records));
  assert.deepEqual(Object.keys(report.by_tenant ?? {}), ['a', 'b']);
  const a = report.by_tenant?.a;
  assert.deepEqual([a?.overall.requests, a?.overall.rejected, a?.overall.good, a?.overall.cost_usd], [3, 1, 1, 0.75]);
  assert.deepEqual(Object.keys(a?.by_shape ?? {}), ['tool_call']);
  assert.equal(a?.by_shape.tool_call?.ttft_p99_s, 0.794);
  assert.equal(report.by_tenant?.b?.by_shape.chat?.slo_attainment, 1);
  assert.equal(report.overall.requests, 5, 'the §6 fields are unchanged');
  assert.equal(buildReport(runResult(records.filter((r) => r.tenant !== 'b'))).by_tenant, undefined);
  assert.equal(buildReport(runResult([record(), record()])).by_tenant, undefined);
});
