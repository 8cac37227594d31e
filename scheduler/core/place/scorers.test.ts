import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Params } from '../config/params.js';
import type { InstanceView } from '../types.js';
import { PLACEMENT_SCORERS } from './registry.js';
import { dynamoCost, readDynamoParams } from './scorers/dynamo_cost.js';
import { analyticCostModel, context, instance, type ContextOptions } from './testing.js';

function run(name: string, instances: InstanceView[], ctx: ContextOptions = {}, params: Params = {}): number[] {
  const factory = PLACEMENT_SCORERS[name];
  assert.ok(factory, name);
  const out = new Float64Array(instances.length);
  factory(params, 's').score(context(ctx), instances, out);
  return [...out];
}

function close(actual: number[], expected: number[], message?: string): void {
  assert.equal(actual.length, expected.length, message);
  actual.forEach((a, i) => assert.ok(Math.abs(a - (expected[i] as number)) < 1e-9, `${message ?? ''} [${i}]: ${a} vs ${expected[i]}`));
}

// The analytic model's prefill seconds (testing.ts defaults): linear 5e-5 s/token + attention 1e-9 s/(token·token).
const prefillS = (n: number, cached: number): number => n * 5e-5 + n * (cached + n / 2) * 1e-9;
const FULL = prefillS(1600, 0);

interface Case { scorer: string; name: string; instances: InstanceView[]; ctx?: ContextOptions; params?: Params; want: number[] }

const CASES: Case[] = [
  { scorer: 'queue-scorer', name: 'min–max of waiting queues', instances: [instance('a'), instance('b', { queuedRequests: 5 }), instance('c', { queuedRequests: 10 })], want: [1, 0.5, 0] },
  { scorer: 'queue-scorer', name: 'all equal → 1', instances: [instance('a', { queuedRequests: 3 }), instance('b', { queuedRequests: 3 })], want: [1, 1] },
  { scorer: 'queue-scorer', name: 'empty', instances: [], want: [] },
  { scorer: 'kv-cache-utilization-scorer', name: '1 − usage, retained counted', instances: [instance('a', { kvBlocksUsed: 2500, kvBlocksRetained: 2500 }), instance('b')], want: [0.5, 1] },
  { scorer: 'kv-cache-utilization-scorer', name: 'countRetained: false', params: { countRetained: false }, instances: [instance('a', { kvBlocksUsed: 2500, kvBlocksRetained: 2500 })], want: [0.75] },
  { scorer: 'kv-cache-utilization-scorer', name: 'no KV reported → 0', instances: [instance('a', { kvBlocksTotal: 0 })], want: [0] },
  { scorer: 'prefix-cache-scorer', name: 'matchBlocks / totalBlocks (device)', ctx: { hits: { a: { deviceBlocks: 50, hostBlocks: 25 }, b: { neighbourBlocks: 100 } } }, instances: [instance('a'), instance('b'), instance('c')], want: [0.5, 0, 0] },
  { scorer: 'prefix-cache-scorer', name: 'tiers device+host', params: { tiers: 'device+host' }, ctx: { hits: { a: { deviceBlocks: 50, hostBlocks: 25 } } }, instances: [instance('a')], want: [0.75] },
  {
    scorer: 'prefix-cache-scorer', name: 'capped at 256 llm-d blocks of 64 tokens (1,024 of 16)',
    ctx: { req: { promptTokens: 32000, blockHashes: Array.from({ length: 2000 }, (_, i) => BigInt(i + 1)) }, hits: { a: { deviceBlocks: 1500 }, b: { deviceBlocks: 512 } } },
    instances: [instance('a'), instance('b')], want: [1, 0.5],
  },
  { scorer: 'prefix-cache-scorer', name: 'no full block → 0', ctx: { req: { promptTokens: 10, blockHashes: [] } }, instances: [instance('a')], want: [0] },
  { scorer: 'session-affinity', name: '1 for the home only', ctx: { sessionHome: 'b' }, instances: [instance('a'), instance('b')], want: [0, 1] },
  { scorer: 'session-affinity', name: 'no session → 0', instances: [instance('a'), instance('b')], want: [0, 0] },
  { scorer: 'active-requests', name: 'min–max of in-flight', instances: [instance('a', { inFlightRequests: 2 }), instance('b', { inFlightRequests: 4 }), instance('c', { inFlightRequests: 6 })], want: [1, 0.5, 0] },
  {
    scorer: 'load', name: 'retained KV counts as load',
    instances: [instance('idle'), instance('retained', { kvBlocksUsed: 2000, kvBlocksRetained: 3000, queuedRequests: 4 }), instance('full', { kvBlocksUsed: 10000, queuedRequests: 100 })],
    want: [1, 0.5, 0],
  },
  { scorer: 'load', name: 'retainedWeight 0 and kv only', params: { retainedWeight: 0, queueWeight: 0 }, instances: [instance('r', { kvBlocksUsed: 2000, kvBlocksRetained: 3000, queuedRequests: 4 })], want: [0.8] },
  {
    scorer: 'domain-locality', name: 'the session home\'s domain wins over a longer prefix elsewhere',
    ctx: { sessionHome: 'h', hits: { a: { deviceBlocks: 90 } } },
    instances: [instance('a', { domainId: 'd0' }), instance('h', { domainId: 'd1' }), instance('b', { domainId: 'd1' })], want: [0, 1, 1],
  },
  {
    scorer: 'domain-locality', name: 'else the domain of the longest local prefix',
    ctx: { hits: { a: { deviceBlocks: 10 }, b: { hostBlocks: 30 } } },
    instances: [instance('a', { domainId: 'd0' }), instance('b', { domainId: 'd1' }), instance('c', { domainId: 'd1' })], want: [0, 1, 1],
  },
  { scorer: 'domain-locality', name: 'nothing known → 0', instances: [instance('a'), instance('b', { domainId: 'd1' })], want: [0, 0] },
  {
    scorer: 'prefix-tiered', name: 'device hit is worth its recompute time',
    ctx: { hits: { a: { deviceBlocks: 50 } } }, instances: [instance('a'), instance('none')],
    want: [(FULL - prefillS(800, 800)) / FULL, 0],
  },
  {
    scorer: 'prefix-tiered', name: 'Grace hit is worth recompute minus promote time',
    ctx: { hits: { a: { hostBlocks: 50 } } }, instances: [instance('a')],
    want: [(FULL - prefillS(800, 800) - (1e-5 + 50 * 4e-6)) / FULL],
  },
  {
    scorer: 'prefix-tiered', name: 'a fetch slower than recompute is worth nothing',
    ctx: { hits: { a: { hostBlocks: 50 } }, cost: analyticCostModel({ c2cBlockS: 1 }) }, instances: [instance('a')], want: [0],
  },
  {
    scorer: 'prefix-tiered', name: 'device + Grace + neighbour over NVLink',
    ctx: { hits: { a: { deviceBlocks: 20, hostBlocks: 30, neighbourBlocks: 50 } } }, instances: [instance('a')],
    want: [(FULL - (1e-5 + 30 * 4e-6) - (1e-5 + 50 * 2e-6)) / FULL],
  },
  {
    scorer: 'prefix-tiered', name: 'useNeighbour: false ignores the neighbour', params: { useNeighbour: false },
    ctx: { hits: { a: { deviceBlocks: 20, neighbourBlocks: 80 } } }, instances: [instance('a')],
    want: [(FULL - prefillS(1280, 320)) / FULL],
  },
  {
    scorer: 'prefix-tiered', name: 'useHost: false also cuts off the neighbour behind the host blocks', params: { useHost: false },
    ctx: { hits: { a: { deviceBlocks: 20, hostBlocks: 10, neighbourBlocks: 70 } } }, instances: [instance('a')],
    want: [(FULL - prefillS(1280, 320)) / FULL],
  },
  { scorer: 'predicted-ttft', name: 'idle, no hit: 1 − ttft/(2·slo)', instances: [instance('a')], want: [1 - FULL / 2] },
  {
    scorer: 'predicted-ttft', name: 'backlog at this prompt\'s seconds per token (linear)',
    instances: [instance('a', { pendingPrefillTokens: 16000 }), instance('late', { pendingPrefillTokens: 40000 })],
    want: [1 - (FULL * 11) / 2, 0.5 / (FULL * 26)],
  },
  {
    scorer: 'predicted-ttft', name: 'queueWait: cost-model prices the backlog itself', params: { queueWait: 'cost-model' },
    instances: [instance('a', { pendingPrefillTokens: 16000 })], want: [0.5 / (prefillS(16000, 0) + FULL)], // past the 1 s SLO
  },
  {
    scorer: 'predicted-ttft', name: 'decode steps bound it from below; request SLO overrides the shape\'s',
    ctx: { cost: analyticCostModel({ decodeStepS: 0.05 }), req: { slo: { ttftS: 0.5, tpotS: 0.05 } } },
    instances: [instance('a', { decodingSequences: 10, stepTokenBudget: 512 })], want: [1 - 0.2 / 1],
  },
  { scorer: 'predicted-ttft', name: 'a cache hit shortens it', ctx: { hits: { a: { deviceBlocks: 50 } } }, instances: [instance('a')], want: [1 - prefillS(800, 800) / 2] },
];

for (const tc of CASES) {
  test(`scorer ${tc.scorer}: ${tc.name}`, () => close(run(tc.scorer, tc.instances, tc.ctx, tc.params), tc.want));
}

test('dynamo-cost: the worked example from the Dynamo docs (costs 18, 10, 11 → worker 2)', () => {
  // 160 prompt tokens = 10 blocks of 16; overlaps 2, 5, 8 blocks → prefill blocks 8, 5, 2; decode blocks
  // 10, 5, 9 = active (2, 0, 7) + the request's blocks not already there (8, 5, 2).
  const workers = [instance('w1', { kvBlocksUsed: 2 }), instance('w2', { kvBlocksUsed: 0 }), instance('w3', { kvBlocksUsed: 7 })];
  const ctxOptions: ContextOptions = { req: { promptTokens: 160, blockHashes: Array.from({ length: 10 }, (_, i) => BigInt(i + 1)) }, hits: { w1: { deviceBlocks: 2 }, w2: { deviceBlocks: 5 }, w3: { deviceBlocks: 8 } } };
  const ctx = context(ctxOptions);
  const p = readDynamoParams({}, 'd');
  assert.deepEqual(workers.map((w) => dynamoCost(ctx, w, ctx.prefix(w), p, 0)), [18, 10, 11]);
  close(run('dynamo-cost', workers, ctxOptions), [0, 1, 7 / 8]);
  assert.deepEqual(workers.map((w) => dynamoCost(ctx, w, ctx.prefix(w), readDynamoParams({ selectionPolicy: 'lmetric' }, 'd'), 0)), [88, 30, 20]);
});

test('dynamo-cost: host credit 0.75, prefill backlog, credit decay, neighbour credit off by default', () => {
  const ctx = context({ req: { promptTokens: 160 }, hits: { a: { hostBlocks: 4, neighbourBlocks: 4 } } });
  const a = instance('a', { pendingPrefillTokens: 160 });
  const hit = ctx.prefix(a);
  // raw (160 + 160)/16 = 20, credit 0.75·4 = 3 → 17; decode 0 + 10.
  assert.equal(dynamoCost(ctx, a, hit, readDynamoParams({}, 'd'), 0), 27);
  assert.equal(dynamoCost(ctx, a, hit, readDynamoParams({ neighbourCacheHitWeight: 1 }, 'd'), 0), 23);
  assert.equal(dynamoCost(ctx, a, hit, readDynamoParams({ prefillLoadScale: 2 }, 'd'), 0), 44);
  const dctx = context({ req: { promptTokens: 160 }, hits: { a: { deviceBlocks: 8 } } });
  // decay: excess 10 blocks / 10 request blocks = 1 → credit 8 / (1 + 1) = 4 → raw 20 − 4 = 16; decode 2.
  assert.equal(dynamoCost(dctx, a, dctx.prefix(a), readDynamoParams({ overlapScoreCreditDecay: 1 }, 'd'), 0), 18);
  assert.equal(dynamoCost(dctx, a, dctx.prefix(a), readDynamoParams({ overlapScoreCreditDecay: 1 }, 'd'), 160), 14, 'no excess, full credit');
});

test('scorers write NaN-free values for every candidate, including ones that never saw a hit', () => {
  const instances = [instance('a', { kvBlocksTotal: 0 }), instance('b', { stepTokenBudget: 0, decodingSequences: 3 })];
  for (const name of Object.keys(PLACEMENT_SCORERS)) {
    const values = run(name, instances, { req: { promptTokens: 0, blockHashes: [] } });
    values.forEach((v) => assert.ok(Number.isFinite(v), `${name}: ${v}`));
  }
});

const BAD_PARAMS: Array<[string, Params, RegExp]> = [
  ['queue-scorer', { x: 1 }, /s\.x: unknown field; allowed: \(none\)/],
  ['prefix-cache-scorer', { maxPrefixBlocksToMatch: 0 }, /s\.maxPrefixBlocksToMatch: expected an integer ≥ 1, got 0/],
  ['prefix-cache-scorer', { tiers: 'all' }, /s\.tiers: expected one of device, device\+host, got "all"/],
  ['load', { kvWeight: 0, queueWeight: 0 }, /s\.kvWeight: kvWeight and queueWeight cannot both be 0/],
  ['load', { queueSaturation: 0 }, /s\.queueSaturation: expected a number > 0, got 0/],
  ['prefix-tiered', { useHost: 1 }, /s\.useHost: expected true or false, got 1/],
  ['predicted-ttft', { queueWait: 'exact' }, /s\.queueWait: expected one of linear, cost-model, got "exact"/],
  ['dynamo-cost', { hostCacheHitWeight: -1 }, /s\.hostCacheHitWeight: expected a number ≥ 0, got -1/],
  ['dynamo-cost', { selectionPolicy: 'cubic' }, /s\.selectionPolicy: expected one of linear, lmetric, got "cubic"/],
];

for (const [name, params, message] of BAD_PARAMS) {
  test(`scorer ${name}: bad params name the field (${Object.keys(params).join(', ')})`, () => {
    const factory = PLACEMENT_SCORERS[name];
    assert.ok(factory);
    assert.throws(() => factory(params, 's'), message);
  });
}
