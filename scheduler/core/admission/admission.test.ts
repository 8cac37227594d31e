import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AdmissionPolicy, Classification, InstanceView, ScheduleRequest } from '../types.js';
import { makeAdmissionPolicy } from './registry.js';
import { predictTtft } from './ttft.js';

const REQ: ScheduleRequest = { requestId: 'r', tenant: 't', arrivalS: 0, promptTokens: 2000, maxOutputTokens: 100, blockHashes: [], hasTools: true, hasToolResults: false };
const CLS: Classification = {
  shape: 'tool_call',
  reason: 'tools',
  output: { expectedTokens: 100, p50Tokens: 100, p90Tokens: 200, samples: 0, source: 'prior' },
  slo: { ttftS: 0.5, tpotS: 0.03 },
};

function view(over: Partial<InstanceView> = {}): InstanceView {
  return {
    instanceId: 'i7', pool: 'p', domainId: 'd', workerIds: ['w'], numGpus: 4, healthy: true, draining: false, maxContextTokens: 128000,
    queuedRequests: 10, runningRequests: 100, pendingPrefillTokens: 40000, decodingSequences: 90,
    kvBlocksTotal: 1000, kvBlocksUsed: 400, kvBlocksRetained: 0, stepTokenBudget: 8192, inFlightRequests: 110, ...over,
  };
}

test('predictTtft: queue wait from the uncached prefill ahead, then the own uncached prefill', () => {
  assert.deepEqual(predictTtft(view(), 2000, 20000), { queueWaitS: 2, ownPrefillS: 0.1, ttftS: 2.1 });
  assert.deepEqual(predictTtft(view({ pendingPrefillTokens: 0 }), 0, 1000), { queueWaitS: 0, ownPrefillS: 0, ttftS: 0 });
  assert.throws(() => predictTtft(view(), 1, 0), /prefillTokensPerS: expected a number > 0, got 0/);
});

test('slo admission: table of admit, unreachable and queue-full, with the retry hint', () => {
  const cases: { name: string; params?: object; inst?: Partial<InstanceView>; ttft: number; want: unknown }[] = [
    { name: 'within target', ttft: 0.5, want: { admit: true, predictedTtftS: 0.5 } },
    { name: 'over target: retry after the excess', ttft: 1.7, want: { admit: false, code: 'E_SLO_UNREACHABLE', retryAfterS: 1.2 } },
    { name: 'slack widens the target', params: { slack: 4 }, ttft: 1.7, want: { admit: true, predictedTtftS: 1.7 } },
    { name: 'nothing ahead: admitted even when slow', inst: { queuedRequests: 0, pendingPrefillTokens: 0 }, ttft: 3, want: { admit: true, predictedTtftS: 3 } },
    { name: 'own prefill alone misses: admitted (waiting cannot help)', params: { prefillTokensPerS: 40000 }, inst: { pendingPrefillTokens: 4000 }, ttft: 1.7, want: { admit: true, predictedTtftS: 1.7 } },
    { name: 'known throughput, the wait ahead is the excess: rejected', params: { prefillTokensPerS: 40000 }, inst: { pendingPrefillTokens: 48000 }, ttft: 1.7, want: { admit: false, code: 'E_SLO_UNREACHABLE', retryAfterS: 1.2 } },
    { name: 'retry at least minRetryAfterS', ttft: 0.52, want: { admit: false, code: 'E_SLO_UNREACHABLE', retryAfterS: 0.1 } },
    { name: 'retry at most maxRetryAfterS', params: { maxRetryAfterS: 5 }, ttft: 100, want: { admit: false, code: 'E_SLO_UNREACHABLE', retryAfterS: 5 } },
    { name: 'queue full: drain time of the overflow', params: { maxQueuedRequests: 8 }, ttft: 2, want: { admit: false, code: 'E_QUEUE_FULL', retryAfterS: 0.6 } },
    { name: 'queue full beats a fast prediction', params: { maxQueuedRequests: 10 }, ttft: 0.1, want: { admit: false, code: 'E_QUEUE_FULL', retryAfterS: 0.1 } },
  ];
  for (const c of cases) {
    const policy = makeAdmissionPolicy({ name: 'slo', params: c.params }, 'admission');
    const got = policy.decide(REQ, CLS, view(c.inst), c.ttft);
    const { reason, ...rest } = got as { reason?: string };
    if (!got.admit) {
      assert.ok(Math.abs(got.retryAfterS - (c.want as { retryAfterS: number }).retryAfterS) < 1e-9, `${c.name}: retryAfterS ${got.retryAfterS}`);
      assert.deepEqual({ ...rest, retryAfterS: 0 }, { ...(c.want as object), retryAfterS: 0 }, c.name);
      assert.match(reason ?? '', /i7/, `${c.name}: the reason names the instance`);
    } else {
      assert.deepEqual(got, c.want, c.name);
    }
  }
});

/** A RandomSource that replays the given draws. */
function draws(...values: number[]) {
  let i = 0;
  return { next: () => values[i++ % values.length] as number };
}

test('llm-d-shed: only sheddable requests, with probability min(sat^power · k, 1)', () => {
  // sat = max(queued / 5, kvUsed / total / 0.8); p = min(sat^5 · 300, 1)
  const cases: { name: string; priority?: number; inst: Partial<InstanceView>; draw: number; admit: boolean }[] = [
    { name: 'priority 0 is never shed, even saturated', priority: 0, inst: { queuedRequests: 50 }, draw: 0, admit: true },
    { name: 'idle: p = 0', priority: -1, inst: { queuedRequests: 0, kvBlocksUsed: 0 }, draw: 0, admit: true },
    { name: 'sat 0.3 from KV (0.24 / 0.8): p = 0.729, draw 0.7 sheds', priority: -1, inst: { queuedRequests: 0, kvBlocksUsed: 240 }, draw: 0.7, admit: false },
    { name: 'sat 0.3: draw 0.75 passes', priority: -1, inst: { queuedRequests: 0, kvBlocksUsed: 240 }, draw: 0.75, admit: true },
    { name: 'sat 0.4 from the queue (2 / 5): p = 1', priority: -1, inst: { queuedRequests: 2, kvBlocksUsed: 0 }, draw: 0.999, admit: false },
    { name: 'retained blocks are not usage', priority: -1, inst: { queuedRequests: 0, kvBlocksUsed: 0, kvBlocksRetained: 900 }, draw: 0, admit: true },
  ];
  for (const c of cases) {
    const policy = makeAdmissionPolicy({ name: 'llm-d-shed' }, 'admission', { rng: draws(c.draw) });
    const got = policy.decide({ ...REQ, ...(c.priority !== undefined ? { priority: c.priority } : {}) }, CLS, view(c.inst), 0.3);
    assert.equal(got.admit, c.admit, c.name);
    if (!got.admit) assert.deepEqual([got.code, got.retryAfterS], ['E_QUEUE_FULL', 1], c.name);
    if (!got.admit) assert.match(got.reason, /^shed: saturation /);
  }
});

test('always admits; the same seed sheds the same requests', () => {
  assert.deepEqual(makeAdmissionPolicy(undefined, 'admission').decide(REQ, CLS, view({ queuedRequests: 10 ** 6 }), 99), { admit: true, predictedTtftS: 99 });
  const run = (seed: number) => {
    const policy: AdmissionPolicy = makeAdmissionPolicy({ name: 'llm-d-shed', params: { seed } }, 'admission');
    return Array.from({ length: 64 }, () => policy.decide({ ...REQ, priority: -1 }, CLS, view({ queuedRequests: 0, kvBlocksUsed: 240 }), 0).admit);
  };
  assert.deepEqual(run(1), run(1));
  assert.notDeepEqual(run(1), run(2));
});

test('bad admission parameters name the field', () => {
  const cases: [unknown, RegExp][] = [
    [{ name: 'token-bucket' }, /admission\.name: unknown admission policy "token-bucket"; known: always, slo, llm-d-shed/],
    [{ name: 'slo', params: { slack: 0 } }, /admission\.params\.slack: expected a number > 0, got 0/],
    [{ name: 'slo', params: { maxQueuedRequests: 2.5 } }, /admission\.params\.maxQueuedRequests: expected an integer ≥ 1, got 2\.5/],
    [{ name: 'slo', params: { minRetryAfterS: 5, maxRetryAfterS: 1 } }, /admission\.params\.maxRetryAfterS: expected a number ≥ minRetryAfterS \(5\), got 1/],
    [{ name: 'llm-d-shed', params: { power: 0 } }, /admission\.params\.power: expected a number > 0, got 0/],
    [{ name: 'llm-d-shed', params: { queueDepthThreshold: 0 } }, /admission\.params\.queueDepthThreshold: expected an integer ≥ 1, got 0/],
    [{ name: 'always', params: { k: 1 } }, /admission\.params\.k: unknown field; allowed: \(none\)/],
  ];
  for (const [spec, message] of cases) assert.throws(() => makeAdmissionPolicy(spec, 'admission'), { code: 'E_BAD_CONFIG', message });
});
