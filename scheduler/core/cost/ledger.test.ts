import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CostRecord } from '../types.js';
import { CostLedger, CostLedgerError, emptyCost, type LedgerPool } from './ledger.js';

// Round numbers so expected values are exact: $3,600/GPU-hour = $1 per GPU-second; 1,000 bytes per KV block;
// idle KV at $3,600 per GB-hour = $1e-9 per byte-second.
const POOLS: LedgerPool[] = [
  { name: 'gpu', kind: 'self_hosted', usdPerMInputTokens: 1, usdPerMCachedInputTokens: 1, usdPerMOutputTokens: 1, usdPerGpuHour: 3600, kvBytesPerBlock: 1000, usdPerIdleKvGbHour: 3600 },
  { name: 'api', kind: 'external', usdPerMInputTokens: 1, usdPerMCachedInputTokens: 0.25, usdPerMOutputTokens: 4 },
  { name: 'tok', kind: 'self_hosted', usdPerMInputTokens: 2, usdPerMCachedInputTokens: 2, usdPerMOutputTokens: 8, kvBytesPerBlock: 500 },
];

function near(actual: CostRecord | undefined, expected: Partial<CostRecord>): void {
  assert.ok(actual);
  const want = { ...emptyCost(), ...expected };
  for (const key of Object.keys(want) as (keyof CostRecord)[]) {
    assert.ok(Math.abs(actual[key] - want[key]) <= 1e-12 * Math.max(1, Math.abs(want[key])), `${key}: ${actual[key]} vs ${want[key]}`);
  }
}

test('GPU-seconds split by token share, priced at the GPU-hour; session sums its requests', () => {
  const l = new CostLedger(POOLS);
  l.startRequest('r1', 'gpu', 0, 's');
  l.startRequest('r2', 'gpu', 0, 's');
  l.startRequest('r3', 'gpu', 0);
  // 0.5 s × 4 GPUs = 2 GPU-s over 3 + 1 + 0 tokens: r1 1.5, r2 0.5, r3 0.
  l.onStep({ pool: 'gpu', numGpus: 4 }, 0.5, [{ requestId: 'r1', numTokens: 3 }, { requestId: 'r2', numTokens: 1 }, { requestId: 'r3', numTokens: 0 }]);
  // A decode-only step splits equally: 0.25 s × 4 = 1 GPU-s, 0.5 each.
  l.onStep({ pool: 'gpu', numGpus: 4 }, 0.25, [{ requestId: 'r1', numTokens: 1 }, { requestId: 'r3', numTokens: 1 }]);
  near(l.request('r1'), { gpuSeconds: 2, usd: 2 });
  near(l.request('r2'), { gpuSeconds: 0.5, usd: 0.5 });
  near(l.request('r3'), { gpuSeconds: 0.5, usd: 0.5 });
  near(l.session('s'), { gpuSeconds: 2.5, usd: 2.5 });
  near(l.totals(), { gpuSeconds: 3, usd: 3 });
});

test('tokens: counted always, priced only on token-billed pools', () => {
  const l = new CostLedger(POOLS);
  l.startRequest('ext', 'api', 0);
  l.startRequest('own', 'gpu', 0);
  l.startRequest('tok', 'tok', 0);
  for (const id of ['ext', 'own', 'tok']) l.onTokens(id, { inputTokens: 1000, cachedInputTokens: 400, outputTokens: 500 });
  // api: 600 × $1/M + 400 × $0.25/M + 500 × $4/M = 0.0006 + 0.0001 + 0.002
  near(l.request('ext'), { inputTokens: 1000, cachedInputTokens: 400, outputTokens: 500, usd: 0.0027 });
  // gpu-billed: the tokens are free, the GPU time is what costs.
  near(l.request('own'), { inputTokens: 1000, cachedInputTokens: 400, outputTokens: 500, usd: 0 });
  // self-hosted without usdPerGpuHour bills tokens: 1000 × $2/M + 500 × $8/M.
  near(l.request('tok'), { inputTokens: 1000, cachedInputTokens: 400, outputTokens: 500, usd: 0.006 });
  // Increments add up: 10 more output tokens on the external pool.
  l.onTokens('ext', { outputTokens: 10 });
  near(l.request('ext'), { inputTokens: 1000, cachedInputTokens: 400, outputTokens: 510, usd: 0.00274 });
  assert.deepEqual([l.billingOf('gpu'), l.billingOf('api'), l.billingOf('tok')], ['gpu_time', 'tokens', 'tokens']);
});

test('billing override: a GPU-priced self-hosted pool billed by tokens charges no GPU time', () => {
  const l = new CostLedger([{ ...POOLS[0]!, billing: 'tokens' }]);
  l.startRequest('r', 'gpu', 0);
  l.onStep({ pool: 'gpu', numGpus: 2 }, 1, [{ requestId: 'r', numTokens: 1 }]);
  l.onTokens('r', { inputTokens: 1_000_000 });
  near(l.request('r'), { gpuSeconds: 2, inputTokens: 1_000_000, usd: 1 });
});

test('KV byte-seconds: levels integrated between explicit times, and intervals', () => {
  const l = new CostLedger(POOLS);
  l.startRequest('r', 'gpu', 10, 's');
  l.setKvBlocks('r', 10, 10);
  l.setKvBlocks('r', 20, 12); // 10 blocks × 1000 B × 2 s = 20,000
  l.onKvHeld('r', 5, 0, 4); // 5 × 1000 × 4 = 20,000 (an interval reported directly)
  const done = l.finishRequest('r', 15); // 20 × 1000 × 3 = 60,000
  near(done, { kvByteSeconds: 100_000 });
  near(l.session('s'), { kvByteSeconds: 100_000 });
  assert.equal(l.request('r'), undefined);
});

test('idle retention is charged to the session, not to any request, and ends when the next turn starts', () => {
  const l = new CostLedger(POOLS);
  l.startRequest('turn1', 'gpu', 0, 's');
  l.setKvBlocks('turn1', 20, 0);
  near(l.finishRequest('turn1', 5), { kvByteSeconds: 100_000 });
  l.setIdleKvBlocks('s', 'gpu', 20, 5); // kept in HBM between turns
  l.setIdleKvBlocks('s', 'gpu', 8, 35); // partly dropped after 30 s: 20 × 1000 × 30 = 600,000
  l.startRequest('turn2', 'gpu', 65, 's'); // 8 × 1000 × 30 = 240,000, then idle ends
  l.setKvBlocks('turn2', 30, 65);
  near(l.request('turn2'), {});
  const idle = 840_000;
  near(l.session('s'), { kvByteSeconds: 100_000 + idle, idleKvByteSeconds: idle, usd: idle * 1e-9 });
  l.finishRequest('turn2', 66); // 30 × 1000 × 1 = 30,000
  l.onIdleKvHeld('s', 'tok', 4, 70, 80); // an interval on a token-billed pool: 4 × 500 × 10 = 20,000, no money
  near(l.finishSession('s', 100), { kvByteSeconds: 100_000 + idle + 30_000 + 20_000, idleKvByteSeconds: idle + 20_000, usd: idle * 1e-9 });
  near(l.totals(), { kvByteSeconds: 100_000 + idle + 30_000 + 20_000, idleKvByteSeconds: idle + 20_000, usd: idle * 1e-9 });
});

test('finishSession charges the idle level up to nowS', () => {
  const l = new CostLedger(POOLS);
  l.setIdleKvBlocks('s', 'gpu', 2, 0);
  near(l.finishSession('s', 7), { kvByteSeconds: 14_000, idleKvByteSeconds: 14_000, usd: 14_000e-9 });
  assert.equal(l.finishSession('s', 8), undefined);
});

test('steps with nothing to split are charged to the totals only', () => {
  const l = new CostLedger(POOLS);
  l.startRequest('r', 'gpu', 0);
  l.onStep({ pool: 'gpu', numGpus: 4 }, 1, []);
  l.onStep({ pool: 'gpu', numGpus: 2 }, 1, [{ requestId: 'r', numTokens: 0 }]);
  near(l.request('r'), {});
  near(l.totals(), { gpuSeconds: 6, usd: 6 });
});

test('totals equal the sum of finished and live records', () => {
  const l = new CostLedger(POOLS);
  const sum = emptyCost();
  const addTo = (r: CostRecord): void => {
    for (const k of Object.keys(sum) as (keyof CostRecord)[]) sum[k] += r[k];
  };
  for (let i = 0; i < 50; i++) {
    const pool = i % 3 === 0 ? 'api' : 'gpu';
    l.startRequest(`r${i}`, pool, i);
    l.onTokens(`r${i}`, { inputTokens: 100 + i, cachedInputTokens: i, outputTokens: 2 * i });
    if (pool === 'gpu') l.onStep({ pool, numGpus: 4 }, 0.01 * (i + 1), [{ requestId: `r${i}`, numTokens: 7 }]);
    l.setKvBlocks(`r${i}`, i, i);
    if (i % 2 === 0) addTo(l.finishRequest(`r${i}`, i + 1));
  }
  for (let i = 1; i < 50; i += 2) addTo(l.request(`r${i}`)!);
  near(l.totals(), sum);
});

test('bounded memory: finished requests and sessions are forgotten', () => {
  const l = new CostLedger(POOLS);
  for (let i = 0; i < 10_000; i++) {
    const session = `s${i % 100}`;
    l.startRequest(`r${i}`, 'gpu', i, session);
    l.onStep({ pool: 'gpu', numGpus: 1 }, 1, [{ requestId: `r${i}`, numTokens: 1 }]);
    l.finishRequest(`r${i}`, i);
    if (i >= 9_900) near(l.finishSession(session, i), { gpuSeconds: 100, usd: 100 });
  }
  assert.equal(l.liveRequests, 0);
  assert.equal(l.liveSessions, 0);
  assert.equal(l.request('r5'), undefined);
  assert.equal(l.session('s5'), undefined);
  near(l.totals(), { gpuSeconds: 10_000, usd: 10_000 });
});

test('records returned are copies', () => {
  const l = new CostLedger(POOLS);
  l.startRequest('r', 'api', 0);
  const copy = l.request('r')!;
  copy.usd = 99;
  assert.equal(l.request('r')!.usd, 0);
});

const ERRORS: [string, (l: CostLedger) => void, string, RegExp][] = [
  ['unknown pool', (l) => l.startRequest('x', 'nope', 0), 'E_UNKNOWN_POOL', /unknown pool "nope"; known: gpu, api, tok/],
  ['duplicate request', (l) => l.startRequest('r', 'gpu', 0), 'E_DUPLICATE_REQUEST', /request "r" already started/],
  ['unknown request', (l) => l.onTokens('zz', { outputTokens: 1 }), 'E_UNKNOWN_REQUEST', /"zz" was not started/],
  ['step for an unknown request', (l) => l.onStep({ pool: 'gpu', numGpus: 1 }, 1, [{ requestId: 'r', numTokens: 1 }, { requestId: 'zz', numTokens: 1 }]), 'E_UNKNOWN_REQUEST', /"zz"/],
  ['negative duration', (l) => l.onStep({ pool: 'gpu', numGpus: 1 }, -1, []), 'E_BAD_CHARGE', /≥ 0, got -1 s/],
  ['NaN tokens in a step', (l) => l.onStep({ pool: 'gpu', numGpus: 1 }, 1, [{ requestId: 'r', numTokens: NaN }]), 'E_BAD_CHARGE', /numTokens must be ≥ 0, got NaN/],
  ['cached > input', (l) => l.onTokens('r', { inputTokens: 1, cachedInputTokens: 2 }), 'E_BAD_CHARGE', /cached ≤ input/],
  ['negative output', (l) => l.onTokens('r', { outputTokens: -1 }), 'E_BAD_CHARGE', /≥ 0/],
  ['KV time going back', (l) => l.setKvBlocks('r', 1, 4), 'E_BAD_CHARGE', /nowS ≥ 5, got 1 at 4/],
  ['KV interval reversed', (l) => l.onKvHeld('r', 1, 3, 2), 'E_BAD_CHARGE', /toS ≥ fromS/],
  ['idle time going back', (l) => { l.setIdleKvBlocks('s2', 'gpu', 1, 10); l.setIdleKvBlocks('s2', 'gpu', 1, 9); }, 'E_BAD_CHARGE', /must not go back: nowS 9 < 10/],
  ['idle on an unknown pool', (l) => l.setIdleKvBlocks('s', 'nope', 1, 10), 'E_UNKNOWN_POOL', /"nope"/],
  ['finishing a session with a live request', (l) => l.finishSession('s', 10), 'E_SESSION_BUSY', /session "s" has 1 live request/],
];
for (const [name, act, code, message] of ERRORS) {
  test(`ledger error: ${name}`, () => {
    const l = new CostLedger(POOLS);
    l.startRequest('r', 'gpu', 5, 's');
    const before = l.totals();
    assert.throws(() => act(l), (e: unknown) => e instanceof CostLedgerError && e.code === code && message.test(e.message) ? true : assert.fail(String(e)));
    assert.deepEqual(l.totals(), before, 'a refused charge changes nothing');
  });
}

test('per tenant: every charge of a tenant’s requests and its sessions’ idle retention; tenants sum to the totals', () => {
  const l = new CostLedger(POOLS);
  l.startRequest('a1', 'gpu', 0, 's', 'acme');
  l.startRequest('b1', 'gpu', 0, undefined, 'beta');
  l.onStep({ pool: 'gpu', numGpus: 2 }, 1, [{ requestId: 'a1', numTokens: 3 }, { requestId: 'b1', numTokens: 1 }]);
  l.onTokens('b1', { inputTokens: 10, outputTokens: 2 });
  l.finishRequest('a1', 1);
  l.setIdleKvBlocks('s', 'gpu', 4, 1); // 4 blocks × 1,000 bytes for 2 s = 8,000 byte-s = $8e-6
  l.startRequest('a2', 'gpu', 3, 's', 'acme');
  l.finishRequest('a2', 3);
  l.finishRequest('b1', 3);
  const by = l.byTenant();
  assert.deepEqual(Object.keys(by).sort(), ['acme', 'beta']);
  near(by.acme, { gpuSeconds: 1.5, kvByteSeconds: 8000, idleKvByteSeconds: 8000, usd: 1.5 + 8e-6 });
  near(by.beta, { gpuSeconds: 0.5, inputTokens: 10, outputTokens: 2, usd: 0.5 });
  near(l.totals(), { gpuSeconds: 2, kvByteSeconds: 8000, idleKvByteSeconds: 8000, inputTokens: 10, outputTokens: 2, usd: 2 + 8e-6 });
  // Requests without a tenant are in the totals only.
  l.startRequest('x', 'gpu', 3);
  l.onStep({ pool: 'gpu', numGpus: 1 }, 1, [{ requestId: 'x', numTokens: 1 }]);
  assert.deepEqual(Object.keys(l.byTenant()).sort(), ['acme', 'beta']);
});
