// The driver's sink calls (driver_delivery.ts) in both orders: made at once (tokensAfterNextPlan false), or queued
// and made together in a setImmediate, after what the current turn of the event loop does (true, the default); in
// order either way, a request's end after its tokens, a sink that throws logged and the others still called.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { EndedRequest } from '../core/scheduler.js';
import { Deliveries } from './driver_delivery.js';
import type { RequestSink } from './driver_types.js';

function recorder(name: string, calls: string[], throwOnTokens = false): RequestSink {
  return {
    onTokens: (ids) => {
      calls.push(`${name}:tokens ${ids.join(',')}`);
      if (throwOnTokens) throw new Error(`${name} broke`);
    },
    onEnd: (e) => void calls.push(`${name}:end ${e.requestId}`),
  };
}

const end = (requestId: string): [EndedRequest, { queueS: number }] => [{ requestId } as EndedRequest, { queueS: 0 }];
const nextImmediate = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('tokensAfterNextPlan (default): queued, then made in order in one setImmediate after the current turn', async () => {
  const calls: string[] = [];
  const logs: string[] = [];
  let flushes = 0;
  const d = new Deliveries((line) => logs.push(line), () => flushes++);
  assert.equal(d.tokensAfterNextPlan, true);
  const a = recorder('a', calls, true);
  const b = recorder('b', calls);
  d.deliverTokens(a, [1]);
  d.deliverTokens(b, [2]);
  d.deliver({ sink: b, end: end('b') });
  d.deliverTokens(a, [3]);
  // What the step does next in this turn (send the next plan) comes first.
  calls.push('next plan sent');
  assert.equal(d.size, 4);
  await nextImmediate();
  assert.deepEqual(calls, ['next plan sent', 'a:tokens 1', 'b:tokens 2', 'b:end b', 'a:tokens 3']);
  assert.equal(d.size, 0);
  assert.equal(flushes, 1);
  assert.deepEqual(logs, ["a request's sink threw: a broke", "a request's sink threw: a broke"]);
});

test('tokensAfterNextPlan false: every call made at once, a throwing sink logged', () => {
  const calls: string[] = [];
  const logs: string[] = [];
  let flushes = 0;
  const d = new Deliveries((line) => logs.push(line), () => flushes++);
  d.tokensAfterNextPlan = false;
  const a = recorder('a', calls, true);
  d.deliverTokens(a, [1, 2]);
  d.deliver({ sink: a, end: end('a') });
  calls.push('next plan sent');
  assert.deepEqual(calls, ['a:tokens 1,2', 'a:end a', 'next plan sent']);
  assert.equal(d.size, 0);
  // Ends go through the queue (the driver's idle check runs after them); tokens need not.
  assert.equal(flushes, 1);
  assert.deepEqual(logs, ["a request's sink threw: a broke"]);
});

test('switching to at-once with calls still queued: the new ones wait their turn behind them', async () => {
  const calls: string[] = [];
  const d = new Deliveries(() => undefined, () => undefined);
  const a = recorder('a', calls);
  d.deliverTokens(a, [1]);
  d.tokensAfterNextPlan = false;
  d.deliverTokens(a, [2]);
  assert.deepEqual(calls, ['a:tokens 1', 'a:tokens 2']);
  await nextImmediate();
  assert.deepEqual(calls, ['a:tokens 1', 'a:tokens 2']);
});
