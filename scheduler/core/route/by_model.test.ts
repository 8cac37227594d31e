import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PoolLoad, PoolSpec, ScheduleRequest } from '../types.js';
import { createByModelRouter } from './by_model.js';
import { classification, load, pool, request } from './testing/fixtures.js';

interface Case {
  name: string;
  pools: PoolSpec[];
  loads?: PoolLoad[];
  req?: Partial<ScheduleRequest>;
  expectedTokens?: number;
  pool?: string;
  code?: string;
  message?: RegExp;
}

const a = pool('a', { model: 'llama', usdPerMInputTokens: 9 });
const b = pool('b', { model: 'llama', usdPerMInputTokens: 0.1 });
const c = pool('c', { model: 'r1', maxContextTokens: 1_000_000, reliableContextTokens: 100_000 });

const CASES: Case[] = [
  { name: 'no model: the first pool, whatever it costs', pools: [a, b, c], pool: 'a' },
  { name: 'req.model names a pool', pools: [a, b, c], req: { model: 'c' }, pool: 'c' },
  { name: 'req.model names a model: its first pool', pools: [a, b, c], req: { model: 'llama' }, pool: 'a' },
  { name: "first pool unhealthy: the next (LiteLLM's cooldown)", pools: [a, b, c], loads: [load('a', { healthy: false }), load('b'), load('c')], pool: 'b' },
  { name: 'saturated pool skipped', pools: [a, b], loads: [load('a', { saturation: 1 }), load('b')], pool: 'b' },
  { name: 'ignores the reliable context: 200K goes to a 1M-max pool reliable to 100K', pools: [a, c], req: { promptTokens: 200_000 }, pool: 'c' },
  { name: 'context past the first pool’s maximum: the next that holds it', pools: [a, b, c], req: { promptTokens: 140_000 }, pool: 'c' },
  { name: 'past every maximum: E_CONTEXT_TOO_LONG', pools: [a, b], req: { promptTokens: 140_000 }, code: 'E_CONTEXT_TOO_LONG', message: /exceeds every pool's maximum context \(largest 131072 tokens \(pool a\)\)/ },
  { name: 'predicted output counts (131,000 + 1,000 > 131,072)', pools: [a], req: { promptTokens: 131_000 }, expectedTokens: 1000, code: 'E_CONTEXT_TOO_LONG' },
  { name: 'unknown model: E_NO_POOL', pools: [a, b, c], req: { model: 'gpt-9' }, code: 'E_NO_POOL', message: /pools: a, b, c; models: llama, r1/ },
  { name: 'all down: E_POOL_SATURATED', pools: [a, b], loads: [load('a', { healthy: false }), load('b', { healthy: false })], code: 'E_POOL_SATURATED' },
  { name: 'no pools: E_NO_POOL', pools: [], code: 'E_NO_POOL' },
];

for (const name of ['by-model', 'first-pool']) {
  for (const t of CASES) {
    test(`${name}: ${t.name}`, () => {
      const router = createByModelRouter(name)({}, 'router.params');
      assert.equal(router.name, name);
      const d = router.route(request(t.req), classification('chat', t.expectedTokens ?? 100), t.pools, t.loads ?? t.pools.map((p) => load(p.name)));
      if (t.pool !== undefined) {
        assert.ok(d.ok, JSON.stringify(d));
        assert.equal(d.pool, t.pool);
      } else {
        assert.ok(!d.ok, JSON.stringify(d));
        assert.equal(d.code, t.code);
        if (t.message) assert.match(d.message, t.message);
      }
    });
  }
}

test('by-model: bad parameters name the field', () => {
  assert.throws(() => createByModelRouter('by-model')({ maxSaturation: 2 }, 'router.params'), /router\.params\.maxSaturation: expected a number > 0 and ≤ 1, got 2/);
  assert.throws(() => createByModelRouter('by-model')({ weight: 1 }, 'router.params'), /router\.params\.weight: unknown field/);
});
