import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Params } from '../config/params.js';
import type { InstanceView } from '../types.js';
import { PLACEMENT_FILTERS } from './registry.js';
import { context, instance, type ContextOptions } from './testing.js';

interface Case {
  filter: string;
  name: string;
  params?: Params;
  ctx?: ContextOptions;
  instances: InstanceView[];
  keep: string[];
}

const CASES: Case[] = [
  { filter: 'healthy', name: 'drops unhealthy and draining', instances: [instance('a'), instance('b', { healthy: false }), instance('c', { draining: true })], keep: ['a'] },
  { filter: 'healthy', name: 'empty input', instances: [], keep: [] },
  {
    filter: 'context-fits', name: 'prompt + expected output must fit',
    ctx: { req: { promptTokens: 7900 } },
    instances: [instance('small', { maxContextTokens: 8000 }), instance('edge', { maxContextTokens: 8100 }), instance('big', { maxContextTokens: 131072 })],
    keep: ['edge', 'big'],
  },
  {
    filter: 'context-fits', name: 'output: max uses max_tokens', params: { output: 'max' },
    ctx: { req: { promptTokens: 7000, maxOutputTokens: 2000 } },
    instances: [instance('a', { maxContextTokens: 8192 }), instance('b', { maxContextTokens: 9000 })],
    keep: ['b'],
  },
  {
    filter: 'context-fits', name: 'output: p90, capped by max_tokens', params: { output: 'p90' },
    ctx: { req: { promptTokens: 7000, maxOutputTokens: 500 } },
    instances: [instance('a', { maxContextTokens: 7499 }), instance('b', { maxContextTokens: 7500 })],
    keep: ['b'],
  },
  {
    filter: 'kv-capacity', name: 'needs free blocks for the uncached prompt only',
    ctx: { req: { promptTokens: 1600 }, hits: { cached: { deviceBlocks: 90 } } },
    instances: [instance('full', { kvBlocksTotal: 1000, kvBlocksUsed: 950 }), instance('cached', { kvBlocksTotal: 1000, kvBlocksUsed: 990 }), instance('free', { kvBlocksTotal: 1000, kvBlocksUsed: 900 })],
    keep: ['cached', 'free'],
  },
  {
    filter: 'kv-capacity', name: 'retained blocks are reclaimable by default',
    ctx: { req: { promptTokens: 1600 } },
    instances: [instance('a', { kvBlocksTotal: 1000, kvBlocksUsed: 500, kvBlocksRetained: 450 })],
    keep: ['a'],
  },
  {
    filter: 'kv-capacity', name: 'retainedReclaimable: false keeps them out; reserveOutput adds the output', params: { retainedReclaimable: false, reserveOutput: true },
    ctx: { req: { promptTokens: 1600 } },
    instances: [instance('a', { kvBlocksTotal: 1000, kvBlocksUsed: 500, kvBlocksRetained: 450 }), instance('b', { kvBlocksTotal: 1000, kvBlocksUsed: 887 }), instance('c', { kvBlocksTotal: 1000, kvBlocksUsed: 888 })],
    keep: ['b'],
  },
  {
    filter: 'llm-d-saturation', name: 'drops Q > 5 or KV > 0.8',
    instances: [instance('q5', { queuedRequests: 5 }), instance('q6', { queuedRequests: 6 }), instance('kv80', { kvBlocksUsed: 7000, kvBlocksRetained: 1000 }), instance('kv81', { kvBlocksUsed: 8100 })],
    keep: ['q5', 'kv80'],
  },
  {
    filter: 'llm-d-saturation', name: 'headroom 0.2 allows Q ≤ 6 and KV ≤ 0.96', params: { headroom: 0.2 },
    instances: [instance('q6', { queuedRequests: 6 }), instance('q7', { queuedRequests: 7 }), instance('kv96', { kvBlocksUsed: 9600 }), instance('kv97', { kvBlocksUsed: 9700 })],
    keep: ['q6', 'kv96'],
  },
  {
    filter: 'llm-d-saturation', name: 'fails open when every endpoint is saturated',
    instances: [instance('a', { queuedRequests: 50 }), instance('b', { kvBlocksUsed: 9900 })],
    keep: ['a', 'b'],
  },
];

for (const tc of CASES) {
  test(`filter ${tc.filter}: ${tc.name}`, () => {
    const factory = PLACEMENT_FILTERS[tc.filter];
    assert.ok(factory);
    const f = factory(tc.params ?? {}, 'f');
    const kept = f.filter(context(tc.ctx), tc.instances);
    assert.deepEqual(kept.map((i) => i.instanceId), tc.keep);
    assert.deepEqual(tc.instances.length, tc.instances.length, 'input untouched');
  });
}

test('filters return their input when nothing is removed and reuse one buffer otherwise', () => {
  const f = (PLACEMENT_FILTERS.healthy as NonNullable<(typeof PLACEMENT_FILTERS)['healthy']>)({}, 'f');
  const all = [instance('a'), instance('b')];
  assert.equal(f.filter(context(), all), all);
  const first = f.filter(context(), [instance('x', { healthy: false }), instance('y')]);
  const second = f.filter(context(), [instance('z'), instance('w', { healthy: false })]);
  assert.equal(first, second, 'same buffer');
  assert.deepEqual(second.map((i) => i.instanceId), ['z']);
});

const BAD_PARAMS: Array<[string, Params, RegExp]> = [
  ['healthy', { strict: true }, /^ConfigError: f\.strict: unknown field; allowed: \(none\)/],
  ['context-fits', { output: 'p99' }, /f\.output: expected one of expected, p90, max, got "p99"/],
  ['kv-capacity', { reserveOutput: 'yes' }, /f\.reserveOutput: expected true or false, got "yes"/],
  ['llm-d-saturation', { queueDepthThreshold: 0 }, /f\.queueDepthThreshold: expected an integer > 0, got 0/],
  ['llm-d-saturation', { kvCacheUtilThreshold: 1.5 }, /f\.kvCacheUtilThreshold: expected a number > 0 and ≤ 1, got 1\.5/],
  ['llm-d-saturation', { headroom: -0.1 }, /f\.headroom: expected a number ≥ 0, got -0\.1/],
];

for (const [name, params, message] of BAD_PARAMS) {
  test(`filter ${name}: bad params name the field (${Object.keys(params)[0]})`, () => {
    const factory = PLACEMENT_FILTERS[name];
    assert.ok(factory);
    assert.throws(() => factory(params, 'f'), (e: Error) => message.test(`${e.name}: ${e.message}`));
  });
}
