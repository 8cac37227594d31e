// KV moves over real loopback gRPC: a session turn whose context the scheduler retains stays held on the worker
// between turns (the next turn gets it as a prefix hit, then the hold passes to the new turn), and a swap
// preemption moves a sequence to Grace and back on the worker, with every request still completing in full.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { generate, startRig } from './testing.js';

const ids = (n: number, base: number): number[] => Array.from({ length: n }, (_, i) => base + i);

async function until(what: string, cond: () => boolean, limitMs = 5000): Promise<void> {
  for (let waited = 0; !cond(); waited += 10) {
    if (waited >= limitMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('a retained session turn is held on the worker and the next turn starts from it', async () => {
  const rig = await startRig(1);
  try {
    const worker = rig.workers[0];
    assert.ok(worker);
    const first = ids(300, 5);
    const t1 = await generate(rig.client, { promptTokenIds: first, maxTokens: 20, sessionId: 'sess-a', turnIndex: 0, numTools: 2 });
    assert.equal(t1.tokens.length, 20);
    const home = rig.gateway.sched.instanceIds().find((id) => rig.gateway.sched.sessionTier(id, 'sess-a') !== undefined);
    assert.ok(home, 'the scheduler retained the session');
    assert.equal(rig.gateway.driver.heldSessionCount, 1);
    await until('the worker to hold the turn', () => worker.backend.heldSessions === 1);
    assert.equal(worker.backend.liveSequences, 0, 'held, not live');

    // Turn 2 = turn 1's prompt + tool output + more: its cached prefix covers turn 1's full blocks.
    const second = [...first, ...ids(120, 70_000)];
    const t2 = await generate(rig.client, { promptTokenIds: second, maxTokens: 10, sessionId: 'sess-a', turnIndex: 1, numTools: 2, hasToolResults: true });
    assert.equal(t2.tokens.length, 10);
    assert.ok((t2.last?.usage?.cachedPromptTokens ?? 0) >= Math.floor(first.length / 16) * 16, `cached ${t2.last?.usage?.cachedPromptTokens}`);
    // Turn 1's hold was released when turn 2 ran; turn 2 is held now (one hold per session).
    await until('one hold again', () => worker.backend.heldSessions === 1 && worker.backend.liveSequences === 0);
    assert.equal(rig.gateway.driver.heldSessionCount, 1);
  } finally {
    await rig.close();
  }
});

test('swap preemptions move sequences to Grace and back; every request completes in full', async () => {
  // A tight pool and swapping for any context of 64+ tokens: preemptions are swaps, not recomputes.
  const policy = { base: 'shape-aware', batch: { name: 'shape-aware', params: { swapAboveTokens: 64 } } };
  const rig = await startRig(1, { kvBlocksPerGpu: 24, policy });
  try {
    const outs = await Promise.all(Array.from({ length: 20 }, (_, i) => generate(rig.client, { promptTokenIds: ids(80 + (i % 4) * 40, i * 1000), maxTokens: 40 + (i % 5) * 10 })));
    outs.forEach((o, i) => {
      assert.equal(o.error, undefined, o.error?.details);
      assert.equal(o.tokens.length, 40 + (i % 5) * 10);
    });
    assert.ok(rig.gateway.driver.swapsOut > 0, `swaps ${rig.gateway.driver.swapsOut}, preemptions ${rig.gateway.driver.preemptions}`);
    const worker = rig.workers[0];
    await until('the worker to hold nothing live', () => (worker?.backend.liveSequences ?? 1) === 0);
  } finally {
    await rig.close();
  }
});
