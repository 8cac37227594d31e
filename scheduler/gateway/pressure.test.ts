// The gateway under KV pressure, over real loopback gRPC: a tiny KV pool forces queueing and preemption (the worker
// frees preempted sequences and re-allocates them when they run again) and every request still completes with
// exactly max_tokens tokens. Worker loss is failover.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { generate, startRig } from './testing.js';

const ids = (n: number, base: number): number[] => Array.from({ length: n }, (_, i) => base + i);

test('tight KV: 24 concurrent requests all complete with max_tokens tokens; worker ends with nothing held', async () => {
  // 4 GPUs × 24 blocks × 16 tokens: each instance holds ~384 tokens, requests need up to ~300.
  const rig = await startRig(1, { kvBlocksPerGpu: 24 });
  try {
    const outs = await Promise.all(Array.from({ length: 24 }, (_, i) => generate(rig.client, { promptTokenIds: ids(60 + (i % 5) * 40, i * 1000), maxTokens: 20 + (i % 7) * 10 })));
    outs.forEach((o, i) => {
      assert.equal(o.error, undefined, o.error?.details);
      assert.equal(o.tokens.length, 20 + (i % 7) * 10, `request ${i}: ${o.last?.finishReason} ${o.last?.text}`);
    });
    assert.equal(rig.gateway.sched.stats().completed, 24);
    assert.ok(rig.gateway.driver.preemptions > 0, 'the pool is small enough to force preemptions');
    for (let i = 0; i < 100 && rig.workers[0]?.backend.liveSequences; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(rig.workers[0]?.backend.liveSequences, 0);
  } finally {
    await rig.close();
  }
});
