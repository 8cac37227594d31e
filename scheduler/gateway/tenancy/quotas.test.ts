// Tenant quotas and the edge guard with a stepped clock: the token bucket (burst, refill, Retry-After, refunds),
// concurrency slots released exactly once on every end path, unnamed tenants sharing `default`, and the idle and
// total timeouts cancelling through the frontend's handle with the limit named.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { parseTenants } from '../../core/config/tenants.js';
import type { Finished, StreamSink } from '../frontend.js';
import type { ParsedRequest } from '../request.js';
import { EdgeGuard } from './guard.js';
import { TenantQuotas } from './quotas.js';

function clock(startS = 1000) {
  let now = startS;
  return { now: () => now, step: (s: number) => void (now += s) };
}

const tenants = parseTenants({
  default: { maxConcurrentRequests: 3 },
  acme: { tokensPerMinute: 6000, burstTokens: 1000 },
  solo: { maxConcurrentRequests: 1 },
});

function parsed(tenant: string, promptTokens: number, maxTokens: number, requestId = `r-${Math.random()}`): ParsedRequest {
  return {
    maxTokens,
    req: { requestId, tenant, arrivalS: 0, promptTokens, maxOutputTokens: maxTokens, maxOutputTokensFromClient: true, blockHashes: [], hasTools: false, hasToolResults: false, priority: 0 },
  };
}

function finished(completionTokens: number, reason: Finished['finishReason'] = 'length', cancelReason?: string): Finished {
  return {
    requestId: 'x', finishReason: reason, ...(cancelReason ? { cancelReason } : {}), shape: 'chat',
    usage: { promptTokens: 0, completionTokens, cachedPromptTokens: 0, costUsd: 0 }, timings: { queueS: 0, ttftS: 0, tpotS: 0, e2eS: 0 },
  };
}

const sinkLog = () => {
  const ends: Finished[] = [];
  const sink: StreamSink = { onTokens: () => undefined, onEnd: (f) => ends.push(f) };
  return { sink, ends };
};

describe('token bucket', () => {
  test('burst, then refusal with the refill time as Retry-After, refill over time, refund of unused output', () => {
    const c = clock();
    const q = new TenantQuotas(tenants, c.now);
    // 6000 tokens/min = 100/s, bucket 1000.
    const a = q.acquire('acme', 600);
    assert.ok(a.ok);
    assert.equal(q.usage('acme').tokens, 400);
    const b = q.acquire('acme', 500);
    assert.ok(!b.ok);
    assert.equal(b.refusal.reason, 'rate');
    assert.ok(Math.abs(b.refusal.retryAfterS - 1) < 1e-9, `deficit 100 tokens at 100/s = 1 s, got ${b.refusal.retryAfterS}`);
    assert.match(b.refusal.message, /tenants\.acme\.tokensPerMinute = 6000: the request costs 500 tokens .* 400 available/);
    c.step(1);
    assert.ok(q.acquire('acme', 500).ok, 'after 1 s the deficit has refilled');
    assert.equal(q.usage('acme').tokens, 0);
    // a asked for 600 (say 100 prompt + 500 output) and used 50 of its output: 450 come back.
    a.lease.release(450);
    assert.equal(q.usage('acme').tokens, 450);
    a.lease.release(450);
    assert.equal(q.usage('acme').tokens, 450, 'a second release does nothing');
    c.step(100);
    assert.equal(q.usage('acme').tokens, 1000, 'never above the bucket');
  });

  test('a request larger than the bucket is refused as burst (it could never pass)', () => {
    const q = new TenantQuotas(tenants, clock().now);
    const r = q.acquire('acme', 1001);
    assert.ok(!r.ok);
    assert.equal(r.refusal.reason, 'burst');
    assert.match(r.refusal.message, /more than tenant acme's bucket of 1000 \(tenants\.acme\.burstTokens\)/);
    assert.equal(q.usage('acme').tokens, 1000, 'a refusal takes nothing');
  });
});

describe('concurrency', () => {
  test('slots per entry; unnamed tenants share default; a refusal consumes no tokens', () => {
    const q = new TenantQuotas(tenants, clock().now);
    const solo = q.acquire('solo', 10);
    assert.ok(solo.ok);
    const again = q.acquire('solo', 10);
    assert.ok(!again.ok);
    assert.equal(again.refusal.reason, 'concurrency');
    assert.equal(again.refusal.retryAfterS, 1);
    assert.match(again.refusal.message, /tenant solo has 1 requests in flight, the limit tenants\.solo\.maxConcurrentRequests = 1/);
    solo.lease.release(0);
    assert.ok(q.acquire('solo', 10).ok);
    // x, y, z are not in the section: they share default's 3 slots (inventing names buys nothing).
    assert.ok(q.acquire('x', 1).ok && q.acquire('y', 1).ok && q.acquire('z', 1).ok);
    const w = q.acquire('w', 1);
    assert.ok(!w.ok);
    assert.match(w.refusal.message, /tenant w \(under the default entry\) has 3 requests in flight/);
  });
});

describe('edge guard', () => {
  test('the slot is released exactly once on every end path: completed, cancelled, error, rejection after admission', () => {
    const q = new TenantQuotas(tenants, clock().now);
    const g = new EdgeGuard({ clock: clock().now, quotas: q });
    for (const end of ['length', 'cancelled', 'error'] as const) {
      const { sink, ends } = sinkLog();
      const adm = g.admit(parsed('solo', 5, 10), sink);
      assert.ok(adm.ok);
      assert.equal(q.usage('solo').inFlight, 1);
      const refused = g.admit(parsed('solo', 5, 10), sinkLog().sink);
      assert.ok(!refused.ok && refused.rejection.code === 'E_CONCURRENCY_LIMITED' && refused.rejection.apiCode === 'concurrency_limit_exceeded' && refused.rejection.kind === 'overloaded');
      adm.sink.onEnd(finished(3, end));
      adm.sink.onEnd(finished(3, end));
      adm.rejected();
      assert.equal(q.usage('solo').inFlight, 0, end);
      assert.equal(ends.length, 1, 'the caller hears one end');
    }
    const adm = g.admit(parsed('solo', 5, 10), sinkLog().sink);
    assert.ok(adm.ok);
    adm.rejected();
    adm.rejected();
    assert.equal(q.usage('solo').inFlight, 0);
  });

  test('refunds: the unused output at the end, everything on a rejection after admission', () => {
    const q = new TenantQuotas(tenants, clock().now);
    const g = new EdgeGuard({ clock: clock().now, quotas: q });
    const a = g.admit(parsed('acme', 100, 500), sinkLog().sink);
    assert.ok(a.ok);
    assert.equal(q.usage('acme').tokens, 400);
    a.sink.onEnd(finished(120));
    assert.equal(q.usage('acme').tokens, 780, '380 unused output tokens refunded');
    const b = g.admit(parsed('acme', 100, 500), sinkLog().sink);
    assert.ok(b.ok);
    b.rejected();
    assert.equal(q.usage('acme').tokens, 780);
    const big = g.admit(parsed('acme', 100, 2000), sinkLog().sink);
    assert.ok(!big.ok);
    assert.equal(big.rejection.kind, 'invalid');
    assert.equal(big.rejection.param, 'max_tokens');
    assert.equal(big.rejection.code, 'E_QUOTA_BURST');
    const rate = g.admit(parsed('acme', 100, 700), sinkLog().sink);
    assert.ok(!rate.ok);
    assert.equal(rate.rejection.apiCode, 'rate_limit_exceeded');
    assert.ok(rate.rejection.retryAfterS !== undefined && Math.abs(rate.rejection.retryAfterS - 0.2) < 1e-9);
  });

  test('timeouts: idle (no token) and total, cancelled through the handle, the end names the limit', () => {
    const c = clock();
    const g = new EdgeGuard({ clock: c.now, streamIdleTimeoutS: 10, totalTimeoutS: 30, sweepEveryMs: null });
    const cancels: string[] = [];
    const start = () => {
      const { sink, ends } = sinkLog();
      const adm = g.admit(parsed('t', 1, 1), sink);
      assert.ok(adm.ok);
      adm.started((reason) => {
        cancels.push(reason);
        // The driver ends a cancelled request with its reason.
        adm.sink.onEnd(finished(0, 'cancelled', reason));
        return true;
      });
      return { adm, ends };
    };
    const idle = start();
    const busy = start();
    c.step(9);
    busy.adm.sink.onTokens([1]);
    assert.equal(g.sweep(), 0);
    c.step(2);
    assert.equal(g.sweep(), 1, 'idle for 11 s');
    assert.deepEqual(cancels, ['limits.streamIdleTimeoutS: no token for 10 s']);
    assert.equal(idle.ends[0]?.limit, 'streamIdleTimeoutS');
    for (let i = 0; i < 2; i++) {
      c.step(9);
      busy.adm.sink.onTokens([1]);
      assert.equal(g.sweep(), 0);
    }
    c.step(9.5);
    busy.adm.sink.onTokens([1]);
    assert.equal(g.sweep(), 1, 'still streaming, but past 30 s in all');
    assert.equal(cancels[1], 'limits.totalTimeoutS: the request ran past 30 s');
    assert.equal(busy.ends[0]?.limit, 'totalTimeoutS');
    assert.equal(g.tracked, 0);
    // A request that completes on its own carries no limit, and a normal cancel is not blamed on one.
    const done = start();
    done.adm.sink.onEnd(finished(1, 'cancelled', 'client disconnected'));
    assert.equal(done.ends[0]?.limit, undefined);
  });

  test('the live sweep runs on an unref\'d interval only while requests are tracked', async () => {
    const g = new EdgeGuard({ clock: () => performance.now() / 1000, totalTimeoutS: 0.05, sweepEveryMs: 10 });
    const { sink } = sinkLog();
    const adm = g.admit(parsed('t', 1, 1), sink);
    assert.ok(adm.ok);
    const reason = await new Promise<string>((resolve) => {
      const keepAlive = setTimeout(() => resolve('no sweep within 5 s'), 5000);
      adm.started((r) => {
        clearTimeout(keepAlive);
        adm.sink.onEnd(finished(0, 'cancelled', r));
        resolve(r);
        return true;
      });
    });
    assert.equal(reason, 'limits.totalTimeoutS: the request ran past 0.05 s');
    assert.equal(g.tracked, 0);
  });
});
