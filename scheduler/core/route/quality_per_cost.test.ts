import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Params } from '../config/params.js';
import type { Classification, PoolLoad, PoolSpec, ScheduleRequest } from '../types.js';
import { createQualityPerCostRouter, expectedRequestCostUsd } from './quality_per_cost.js';
import { classification, load, pool, q, request } from './testing/fixtures.js';

interface Case {
  name: string;
  pools: PoolSpec[];
  /** Default: every pool healthy at 0.1 s TTFT, in pool order. */
  loads?: PoolLoad[];
  req?: Partial<ScheduleRequest>;
  cls?: Classification;
  params?: Params;
  pool?: string;
  code?: string;
  message?: RegExp;
  reason?: RegExp;
  costUsd?: number;
}

// Worked example (quality vs price), a 10,000-token prompt with 1,000 expected output tokens:
//   cheap:  q 0.6, $0.1/M in, $0.4/M out → cost (10,000·0.1 + 1,000·0.4)/1e6 = $0.0014; per completed task
//           0.0014/0.6 = $0.002333; score = q / per-task = 0.6 / 0.002333 = 257.1
//   strong: q 0.9, $1/M in, $4/M out, tokenEfficiency 0.5 → (10,000·1 + 500·4)/1e6 = $0.012; per task $0.01333;
//           score 0.9 / 0.01333 = 67.5 → cheap wins: its quality does not make up for 8.6x the price.
// With a 1,000-token prompt and 20,000 output tokens (a reasoning trace):
//   cheap:  (1,000·0.1 + 20,000·0.4)/1e6 = $0.0081 → per task $0.0135 → score 0.6/0.0135 = 44.4
//   strong: (1,000·1 + 10,000·4)/1e6 = $0.041 → per task $0.04556 → score 0.9/0.04556 = 19.8 → still cheap.
// Make cheap fail more (q 0.2): per task 0.0081/0.2 = $0.0405, score 0.2/0.0405 = 4.9 < 19.8 → strong wins.
const cheap = (o: Partial<PoolSpec> = {}): PoolSpec => pool('cheap', { quality: q(0.6), usdPerMInputTokens: 0.1, usdPerMCachedInputTokens: 0.1, usdPerMOutputTokens: 0.4, ...o });
const strong = (o: Partial<PoolSpec> = {}): PoolSpec => pool('strong', { quality: q(0.9), usdPerMInputTokens: 1, usdPerMCachedInputTokens: 1, usdPerMOutputTokens: 4, tokenEfficiency: 0.5, ...o });
const external = (name: string, o: Partial<PoolSpec> = {}): PoolSpec =>
  pool(name, { kind: 'external', external: { baseUrl: 'https://upstream.example/v1', ttftS: 0.5, tpotS: 0.02 }, maxContextTokens: 1_000_000, reliableContextTokens: 600_000, ...o });

const CASES: Case[] = [
  { name: 'worked example: cheap wins on price', pools: [strong(), cheap()], cls: classification('chat', 1000), pool: 'cheap', costUsd: 0.0014, reason: /highest quality per expected cost/ },
  { name: 'worked example: reasoning trace, still cheap', pools: [strong(), cheap()], req: { promptTokens: 1000 }, cls: classification('reasoning', 20_000), pool: 'cheap', costUsd: 0.0081 },
  { name: 'a cheaper pool that fails more often costs more per completed task', pools: [cheap({ quality: q(0.2) }), strong()], req: { promptTokens: 1000 }, cls: classification('reasoning', 20_000), pool: 'strong', costUsd: 0.041 },
  {
    // 2x the token price but 60% fewer output tokens: a (2,000·2 + 4,000·20) = $0.084 vs b (2,000·1 + 10,000·10) = $0.102.
    name: 'token efficiency: 2x the price, 60% fewer tokens is cheaper per task',
    pools: [pool('b', { usdPerMInputTokens: 1, usdPerMOutputTokens: 10 }), pool('a', { usdPerMInputTokens: 2, usdPerMOutputTokens: 20, tokenEfficiency: 0.4 })],
    req: { promptTokens: 2000 },
    cls: classification('reasoning', 10_000),
    pool: 'a',
    costUsd: 0.084,
  },
  {
    // a: q 0.5, cost (10,000·1)/1e6 = $0.01 → q/per-task = 0.25/0.01 = 25 (exponent 1), 0.5/0.01 = 50 (exponent 0)
    // b: q 1.0, cost $0.03 → 33.3 either way. Exponent 1 picks b, exponent 0 (cheapest per completed task) picks a.
    name: 'qualityExponent 1 weighs quality: b',
    pools: [pool('a', { quality: q(0.5), usdPerMOutputTokens: 0 }), pool('b', { quality: q(1), usdPerMInputTokens: 3, usdPerMOutputTokens: 0 })],
    cls: classification('chat', 100),
    pool: 'b',
  },
  {
    name: 'qualityExponent 0 is cheapest per completed task: a',
    pools: [pool('a', { quality: q(0.5), usdPerMOutputTokens: 0 }), pool('b', { quality: q(1), usdPerMInputTokens: 3, usdPerMOutputTokens: 0 })],
    cls: classification('chat', 100),
    params: { qualityExponent: 0 },
    pool: 'a',
  },
  {
    name: 'quality is per shape',
    pools: [pool('a', { quality: { ...q(0.9), tool_call: 0.1 } }), pool('b', { quality: q(0.5) })],
    cls: classification('tool_call', 100),
    pool: 'b',
  },
  // ---- context
  {
    name: 'only a pool reliable for the context may take it, however cheap the other',
    pools: [cheap({ reliableContextTokens: 65536 }), strong({ reliableContextTokens: 131072 })],
    req: { promptTokens: 100_000 },
    cls: classification('chat', 1000),
    pool: 'strong',
  },
  {
    name: 'a reliable pool wins over a cheaper one accepting beyond reliable',
    pools: [cheap({ acceptBeyondReliable: true }), strong({ reliableContextTokens: 131072 })],
    req: { promptTokens: 100_000 },
    cls: classification('chat', 1000),
    pool: 'strong',
  },
  {
    name: 'acceptBeyondReliable takes what no pool holds reliably',
    pools: [strong(), cheap({ acceptBeyondReliable: true })],
    req: { promptTokens: 100_000 },
    cls: classification('chat', 1000),
    pool: 'cheap',
    reason: /beyond their reliable context/,
  },
  {
    name: 'beyond every reliable context and nobody accepts: E_CONTEXT_TOO_LONG naming sizes',
    pools: [strong(), cheap({ reliableContextTokens: 32768 })],
    req: { promptTokens: 100_000 },
    cls: classification('chat', 1000),
    code: 'E_CONTEXT_TOO_LONG',
    message: /prompt of 100000 tokens \+ 1000 predicted output tokens exceeds every pool's reliable context \(largest 65536 tokens \(pool strong\)\).*largest maximum 131072 tokens/,
  },
  {
    name: 'beyond the maximum even where accepted: E_CONTEXT_TOO_LONG',
    pools: [cheap({ acceptBeyondReliable: true })],
    req: { promptTokens: 131_000 },
    cls: classification('chat', 1000),
    code: 'E_CONTEXT_TOO_LONG',
  },
  { name: 'predicted output counts toward the context (60K + 8K > 64K)', pools: [cheap()], req: { promptTokens: 60_000 }, cls: classification('chat', 8000), code: 'E_CONTEXT_TOO_LONG' },
  { name: "…at the pool's token efficiency (60K + 0.5 × 8K ≤ 64K)", pools: [cheap({ tokenEfficiency: 0.5 })], req: { promptTokens: 60_000 }, cls: classification('chat', 8000), pool: 'cheap' },
  { name: '…capped at max_tokens (60K + min(8K, 4K) ≤ 64K)', pools: [cheap()], req: { promptTokens: 60_000, maxOutputTokens: 4000 }, cls: classification('chat', 8000), pool: 'cheap' },
  {
    name: 'outputEstimate p90 sizes the context with the p90 (60K + 2 × 2K > 64K)',
    pools: [cheap()],
    req: { promptTokens: 60_000 },
    cls: classification('chat', 2000, { p90Tokens: 6000 }),
    params: { outputEstimate: 'p90' },
    code: 'E_CONTEXT_TOO_LONG',
  },
  {
    name: 'an exact fit at the reliable context is reliable (≤)',
    pools: [cheap()],
    req: { promptTokens: 65536 - 1000 },
    cls: classification('chat', 1000),
    pool: 'cheap',
  },
  // ---- external pools
  {
    name: 'external pool chosen when cheapest per completed task',
    pools: [strong(), external('api', { quality: q(0.9), usdPerMInputTokens: 0.5, usdPerMOutputTokens: 2, tokenEfficiency: 0.5 })],
    cls: classification('chat', 1000),
    pool: 'api',
    costUsd: (10_000 * 0.5 + 500 * 2) / 1e6,
  },
  {
    name: 'external pool takes a long context no self-hosted pool holds',
    pools: [cheap(), strong(), external('api', { usdPerMInputTokens: 3, usdPerMOutputTokens: 15 })],
    req: { promptTokens: 400_000 },
    cls: classification('terminal', 1000),
    pool: 'api',
  },
  {
    name: 'external pool without a load entry is usable at its configured TTFT',
    pools: [strong(), external('api', { usdPerMInputTokens: 0.1, usdPerMOutputTokens: 0.1 })],
    loads: [load('strong')],
    cls: classification('chat', 100),
    pool: 'api',
  },
  {
    name: "external pool's configured TTFT above the SLO → not preferred",
    pools: [strong(), external('api', { usdPerMInputTokens: 0.1, usdPerMOutputTokens: 0.1, external: { baseUrl: 'http://u', ttftS: 3, tpotS: 0.02 } })],
    loads: [load('strong')],
    cls: classification('chat', 100),
    pool: 'strong',
  },
  // ---- req.model
  { name: 'req.model pins a pool by name', pools: [cheap(), strong()], req: { model: 'strong' }, cls: classification('chat', 1000), pool: 'strong' },
  {
    name: 'req.model names a model: best pool serving it',
    pools: [cheap(), pool('m1', { model: 'm', usdPerMInputTokens: 2 }), pool('m2', { model: 'm', usdPerMInputTokens: 1.5 })],
    req: { model: 'm' },
    cls: classification('chat', 1000),
    pool: 'm2',
  },
  {
    name: 'a pool name wins over another pool serving a model of that name',
    pools: [pool('x', { model: 'strong', usdPerMInputTokens: 0.01 }), strong()],
    req: { model: 'strong' },
    cls: classification('chat', 1000),
    pool: 'strong',
  },
  { name: 'req.model naming nothing: E_NO_POOL listing pools and models', pools: [cheap(), strong()], req: { model: 'gpt-9' }, cls: classification('chat', 10), code: 'E_NO_POOL', message: /"gpt-9" names no pool or model; pools: cheap, strong; models: cheap-model, strong-model/ },
  { name: 'empty req.model lets the router choose', pools: [strong(), cheap()], req: { model: '' }, cls: classification('chat', 1000), pool: 'cheap' },
  {
    name: 'pinned pool too small for the context: E_CONTEXT_TOO_LONG names the pinned pool only',
    pools: [cheap(), strong({ reliableContextTokens: 131072 })],
    req: { model: 'cheap', promptTokens: 100_000 },
    cls: classification('chat', 1000),
    code: 'E_CONTEXT_TOO_LONG',
    message: /largest 65536 tokens \(pool cheap\)/,
  },
  // ---- health, saturation, SLO
  { name: 'unhealthy pool skipped', pools: [cheap(), strong()], loads: [load('cheap', { healthy: false }), load('strong')], cls: classification('chat', 1000), pool: 'strong' },
  { name: 'saturated pool skipped', pools: [cheap(), strong()], loads: [load('cheap', { saturation: 1 }), load('strong')], cls: classification('chat', 1000), pool: 'strong' },
  { name: 'maxSaturation 0.9 skips a pool at 0.95', pools: [cheap(), strong()], loads: [load('cheap', { saturation: 0.95 }), load('strong')], params: { maxSaturation: 0.9 }, cls: classification('chat', 1000), pool: 'strong' },
  { name: 'self-hosted pool with no load is unknown, skipped', pools: [cheap(), strong()], loads: [load('strong')], cls: classification('chat', 1000), pool: 'strong' },
  { name: 'loads in another order are matched by name', pools: [cheap(), strong()], loads: [load('strong'), load('cheap', { healthy: false })], cls: classification('chat', 1000), pool: 'strong' },
  {
    name: 'every fitting pool down: E_POOL_SATURATED',
    pools: [cheap(), strong()],
    loads: [load('cheap', { healthy: false }), load('strong', { saturation: 1 })],
    cls: classification('chat', 1000),
    code: 'E_POOL_SATURATED',
    message: /chat request is unhealthy or saturated/,
  },
  { name: 'best pool misses the TTFT SLO: next within it', pools: [cheap(), strong()], loads: [load('cheap', { ttftS: 1.5 }), load('strong', { ttftS: 0.9 })], cls: classification('chat', 1000), pool: 'strong' },
  {
    name: 'no pool meets the SLO: lowest predicted TTFT, best effort',
    pools: [cheap(), strong(), pool('slow')],
    loads: [load('cheap', { ttftS: 3 }), load('strong', { ttftS: 2 }), load('slow', { ttftS: 5 })],
    cls: classification('chat', 1000),
    pool: 'strong',
    reason: /best effort/,
  },
  { name: 'TTFT exactly at the SLO meets it', pools: [cheap()], loads: [load('cheap', { ttftS: 1 })], cls: classification('chat', 1000), pool: 'cheap', reason: /within the TTFT SLO/ },
  // ---- quality floor
  { name: 'quality 0 never takes the shape', pools: [cheap({ quality: { ...q(0.6), reasoning: 0 } }), strong()], cls: classification('reasoning', 1000), pool: 'strong' },
  { name: 'a pool of quality 0 is no candidate even alone: E_NO_POOL', pools: [cheap({ quality: { ...q(0.6), reasoning: 0 } })], cls: classification('reasoning', 1000), code: 'E_NO_POOL', message: /quality > 0/ },
  { name: 'minQuality drops pools below it', pools: [cheap(), strong()], params: { minQuality: 0.7 }, cls: classification('chat', 1000), pool: 'strong' },
  { name: 'nothing above minQuality: E_NO_POOL naming the shape', pools: [cheap(), strong()], params: { minQuality: 0.95 }, cls: classification('tool_call', 10), code: 'E_NO_POOL', message: /for shape tool_call/ },
  // ---- prices: zero, cache hits, ties
  {
    name: 'zero-priced pools compare by quality (minCostUsd floor)',
    pools: [pool('free-a', { quality: q(0.5), usdPerMInputTokens: 0, usdPerMCachedInputTokens: 0, usdPerMOutputTokens: 0 }), pool('free-b', { quality: q(0.7), usdPerMInputTokens: 0, usdPerMCachedInputTokens: 0, usdPerMOutputTokens: 0 }), cheap()],
    cls: classification('chat', 1000),
    pool: 'free-b',
    costUsd: 0,
  },
  {
    // a: 10,000 uncached × $1 = $0.010; b: 9,000 cached × $0.1 + 1,000 × $2 = $0.0029 → b.
    name: 'cached prompt tokens on a pool (load.cachedPromptTokens) make it cheaper',
    pools: [pool('a', { usdPerMOutputTokens: 0 }), pool('b', { usdPerMInputTokens: 2, usdPerMCachedInputTokens: 0.1, usdPerMOutputTokens: 0 })],
    loads: [load('a'), load('b', { cachedPromptTokens: 9000 })],
    cls: classification('chat', 1000),
    pool: 'b',
    costUsd: 0.0029,
  },
  { name: 'tie → first pool in order', pools: [pool('p1'), pool('p2'), pool('p3')], cls: classification('chat', 1000), pool: 'p1' },
  { name: 'tie, other order → first pool in that order', pools: [pool('p3'), pool('p2'), pool('p1')], cls: classification('chat', 1000), pool: 'p3' },
  { name: 'tie on best-effort TTFT → first pool', pools: [pool('p1'), pool('p2')], loads: [load('p1', { ttftS: 2 }), load('p2', { ttftS: 2 })], cls: classification('chat', 1000), pool: 'p1' },
  // ---- empty
  { name: 'no pools: E_NO_POOL', pools: [], cls: classification('chat', 10), code: 'E_NO_POOL', message: /no pools are configured/ },
];

for (const c of CASES) {
  test(`quality-per-cost: ${c.name}`, () => {
    const router = createQualityPerCostRouter(c.params ?? {}, 'router.params');
    const loads = c.loads ?? c.pools.map((p) => load(p.name));
    const d = router.route(request(c.req), c.cls ?? classification('chat', 1000), c.pools, loads);
    if (c.pool !== undefined) {
      assert.ok(d.ok, `expected ${c.pool}, got ${JSON.stringify(d)}`);
      assert.equal(d.pool, c.pool);
      if (c.costUsd !== undefined) assert.ok(Math.abs(d.expectedCostUsd - c.costUsd) <= 1e-12, `cost ${d.expectedCostUsd} vs ${c.costUsd}`);
      if (c.reason) assert.match(d.reason, c.reason);
    } else {
      assert.ok(!d.ok, `expected ${c.code}, got ${JSON.stringify(d)}`);
      assert.equal(d.code, c.code);
      if (c.message) assert.match(d.message, c.message);
    }
  });
}

test('quality-per-cost: score is quality^(1+exponent) / expected cost, as in the worked example', () => {
  const d = createQualityPerCostRouter({}, 'r').route(request(), classification('chat', 1000), [cheap()], [load('cheap')]);
  assert.ok(d.ok);
  assert.ok(Math.abs(d.score - (0.6 * 0.6) / 0.0014) < 1e-9, String(d.score));
});

test('expectedRequestCostUsd clamps cached tokens to [0, prompt]', () => {
  const p = pool('a', { usdPerMInputTokens: 1, usdPerMCachedInputTokens: 0.5, usdPerMOutputTokens: 0 });
  const r = request({ promptTokens: 1000 });
  assert.equal(expectedRequestCostUsd(r, p, 0, 5000), 1000 * 0.5 / 1e6);
  assert.equal(expectedRequestCostUsd(r, p, 0, -5), 1000 / 1e6);
});

const BAD_PARAMS: [Params, RegExp][] = [
  [{ qualityExponent: -1 }, /router\.params\.qualityExponent: expected a number ≥ 0/],
  [{ minQuality: 2 }, /router\.params\.minQuality: expected a number ≥ 0 and ≤ 1, got 2/],
  [{ maxSaturation: 0 }, /router\.params\.maxSaturation: expected a number > 0/],
  [{ minCostUsd: 0 }, /router\.params\.minCostUsd: expected a number > 0/],
  [{ outputEstimate: 'p99' }, /router\.params\.outputEstimate: expected one of expected, p50, p90/],
  [{ qualityWeight: 1 }, /router\.params\.qualityWeight: unknown field; allowed: qualityExponent/],
];
for (const [params, message] of BAD_PARAMS) {
  test(`quality-per-cost: bad parameter ${JSON.stringify(params)}`, () => {
    assert.throws(() => createQualityPerCostRouter(params, 'router.params'), message);
  });
}
