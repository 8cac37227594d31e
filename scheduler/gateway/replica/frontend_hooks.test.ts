// The frontend's forwarder hooks on a real gateway (no Redis needed): a forwarder that declines leaves serving as it
// was and hears admissions and ends; one that takes a request gets its Cancel by id and counts as live; one that
// throws is logged once and the request is served here; the local-only view never asks it.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { Finished, Forwarder, ForwardStart, StreamSink } from '../frontend.js';
import type { ParsedRequest } from '../request.js';
import { generate, startRig, unary } from '../testing.js';

const ids = (n: number, base: number): number[] => Array.from({ length: n }, (_, i) => base + i);

class FakeForwarder implements Forwarder {
  take = false;
  throwing = false;
  readonly admittedAt: string[] = [];
  readonly ends: Finished[] = [];
  readonly asked: string[] = [];
  sink: StreamSink | null = null;
  cancelled: string | null = null;

  forward(parsed: ParsedRequest, sink: StreamSink): ForwardStart | null {
    this.asked.push(parsed.req.requestId);
    if (this.throwing) throw new Error('boom');
    if (!this.take) return null;
    this.sink = sink;
    return {
      shape: 'chat',
      pool: 'elsewhere',
      instanceId: 'peer/i0',
      cancel: (reason) => {
        this.cancelled = reason;
        sink.onEnd({ requestId: parsed.req.requestId, finishReason: 'cancelled', cancelReason: reason, usage: { promptTokens: parsed.req.promptTokens, completionTokens: 1, cachedPromptTokens: 0, costUsd: 0 }, timings: { queueS: 0, ttftS: 0, tpotS: 0, e2eS: 0 }, shape: 'chat' });
        return true;
      },
    };
  }

  admitted(_parsed: ParsedRequest, instanceId: string): void {
    this.admittedAt.push(instanceId);
  }

  ended(_parsed: ParsedRequest, _instanceId: string, f: Finished): void {
    this.ends.push(f);
  }
}

test('forwarder hooks: decline, take (cancel by id, live count), throw; the local-only view never forwards', async () => {
  const logs: string[] = [];
  const rig = await startRig(1, { log: (l) => void logs.push(l) });
  const fe = rig.gateway.frontend;
  const fake = new FakeForwarder();
  fe.setForwarder(fake);
  try {
    const declined = await generate(rig.client, { requestId: 'r-local', promptTokenIds: ids(100, 1), maxTokens: 5 });
    assert.equal(declined.tokens.length, 5);
    assert.deepEqual(fake.asked, ['r-local']);
    assert.equal(fake.admittedAt.length, 1);
    assert.ok(rig.gateway.sched.instanceIds().includes(fake.admittedAt[0] as string));
    assert.equal(fake.ends[0]?.usage.completionTokens, 5);

    fake.take = true;
    const taken = generate(rig.client, { requestId: 'r-away', promptTokenIds: ids(100, 1), maxTokens: 5 }, (c) => {
      if (c.tokenIds.length > 0) void unary(rig.client.Cancel.bind(rig.client), { requestId: 'r-away' });
    });
    await waitFor(() => fake.sink !== null);
    assert.equal(fe.liveRequests, 1, 'a forwarded request counts as live');
    fake.sink?.onTokens([42]);
    const out = await taken;
    assert.deepEqual(out.tokens, [42]);
    assert.equal(out.last?.finishReason, 'cancelled');
    assert.equal(fake.cancelled, 'cancelled by the client');
    assert.equal(fe.liveRequests, 0);
    assert.equal(rig.gateway.sched.stats().submitted, 1, 'the taken request never reached the local scheduler');

    fake.take = false;
    fake.throwing = true;
    for (const id of ['r-t1', 'r-t2']) assert.equal((await generate(rig.client, { requestId: id, promptTokenIds: ids(50, 3), maxTokens: 2 })).tokens.length, 2);
    assert.equal(logs.filter((l) => l.includes('replica forwarder: boom')).length, 1, 'said once');

    fake.throwing = false;
    const view = fe.localOnly();
    const asked = fake.asked.length;
    await new Promise<void>((resolve) => {
      const r = view.start({ req: { requestId: 'r-view', tenant: 'default', arrivalS: view.now(), promptTokens: 40, maxOutputTokens: 2, blockHashes: [], hasTools: false, hasToolResults: false }, maxTokens: 2 }, { onTokens: () => {}, onEnd: () => resolve() });
      assert.ok(r.ok);
    });
    assert.equal(fake.asked.length, asked, 'the view did not ask the forwarder');
    assert.equal(fake.admittedAt.length, 4, 'but reported its admission');
    assert.throws(() => view.setForwarder(null), /main frontend/);
  } finally {
    fe.setForwarder(null);
    await rig.close();
  }
});

async function waitFor(cond: () => boolean, limitMs = 5000): Promise<void> {
  for (let waited = 0; !cond(); waited += 10) {
    if (waited >= limitMs) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}
