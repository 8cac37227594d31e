import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CountingKvLedger } from './kv_ledger.js';
import { add, makeEngine, seqInit, step, tokensBySeq } from './testing.js';
import type { Seq } from './seq.js';

test('a long prompt is chunked by the budget and by longPrefillThresholdTokens; the step never exceeds the budget', () => {
  const cases = [
    { threshold: 0, chunks: [8192, 8192, 3616] },
    { threshold: 5000, chunks: [5000, 5000, 5000, 5000] },
  ];
  for (const { threshold, chunks } of cases) {
    const e = makeEngine({ kvBlocksTotal: 2000, longPrefillThresholdTokens: threshold });
    const id = add(e, { promptTokens: 20000, maxOutputTokens: 10 });
    let cached = 0;
    for (const [i, chunk] of chunks.entries()) {
      const { plan } = step(e, i);
      assert.deepEqual(plan.items, [{ seqId: id, kind: 'prefill', numNewTokens: chunk, numCachedTokens: cached }], `threshold ${threshold} step ${i}`);
      assert.ok(plan.usedTokens <= plan.budgetTokens);
      cached += chunk;
    }
    assert.equal(e.get(id)?.outputTokens, 1, 'the step that finishes the prompt samples the first token');
    assert.equal(e.get(id)?.firstTokenS, chunks.length - 1 + 0.01);
    assert.deepEqual(step(e, 10).plan.items, [{ seqId: id, kind: 'decode', numNewTokens: 1, numCachedTokens: 20000 }]);
  }
});

test('running sequences are scheduled before waiting ones; new prefills take what the budget leaves', () => {
  const e = makeEngine({ stepTokenBudget: 100, blockTokens: 4 });
  const a = add(e, { promptTokens: 10 });
  const b = add(e, { promptTokens: 150 });
  assert.deepEqual(tokensBySeq(step(e, 0).plan), { [a]: 10, [b]: 90 });
  const c = add(e, { promptTokens: 500 }, 0.5);
  const { plan } = step(e, 1);
  assert.deepEqual(plan.items.map((i) => [i.seqId, i.kind, i.numNewTokens]), [[a, 'decode', 1], [b, 'prefill', 60], [c, 'prefill', 39]]);
  assert.deepEqual(plan.admitted, [c]);
  assert.equal(plan.usedTokens, 100);
});

test('shape-aware lists decodes before prefills and caps the prefill of a step that carries decodes', () => {
  // The cap is a parameter (default: the step budget, see policies/shape_aware.ts); here at 2,048.
  const capped = { name: 'shape-aware', params: { decodeStepPrefillTokens: 2048, prefillChunkTokens: 2048 } };
  const cases = [
    { policy: 'fcfs' as unknown, prefill: 5000 },
    { policy: capped as unknown, prefill: 2048 },
    { policy: 'shape-aware' as unknown, prefill: 5000 },
  ];
  for (const { policy, prefill } of cases) {
    const e = makeEngine({ kvBlocksTotal: 5000 }, policy as string);
    const decoders = [1, 2, 3].map(() => add(e, { promptTokens: 64, predictedOutputTokens: 100, maxOutputTokens: 200 }));
    step(e, 0);
    const long = add(e, { promptTokens: 5000, arrivalS: 0.5 }, 0.5);
    const { plan } = step(e, 1);
    assert.deepEqual(plan.items.map((i) => i.seqId), [...decoders, long], JSON.stringify(policy));
    assert.equal(tokensBySeq(plan)[long], prefill, JSON.stringify(policy));
  }
  // A long prefill admitted earlier stays ahead of later decodes in fcfs order, behind them in shape-aware.
  for (const policy of ['fcfs', 'shape-aware']) {
    const e = makeEngine({ kvBlocksTotal: 5000, longPrefillThresholdTokens: 5 }, policy);
    const long = add(e, { promptTokens: 100 });
    const [s1, s2] = [1, 2].map(() => add(e, { promptTokens: 5, cachedPromptTokens: 4 }));
    step(e, 0);
    const items = step(e, 1).plan.items.map((i) => [i.seqId, i.kind]);
    const expected = policy === 'fcfs'
      ? [[long, 'prefill'], [s1, 'decode'], [s2, 'decode']]
      : [[s1, 'decode'], [s2, 'decode'], [long, 'prefill']];
    assert.deepEqual(items, expected, policy);
  }
});

test('prefix-cached prompt tokens are not recomputed; a fully cached prompt still computes its last token', () => {
  const cases = [
    { prompt: 1200, cached: 1000, first: { numNewTokens: 200, numCachedTokens: 1000 } },
    { prompt: 1200, cached: 1200, first: { numNewTokens: 1, numCachedTokens: 1199 } },
    { prompt: 1200, cached: 0, first: { numNewTokens: 1200, numCachedTokens: 0 } },
  ];
  for (const c of cases) {
    const e = makeEngine({});
    const id = add(e, { promptTokens: c.prompt, cachedPromptTokens: c.cached });
    assert.equal(e.view().pendingPrefillTokens, c.first.numNewTokens);
    const { plan } = step(e, 0);
    assert.deepEqual(plan.items, [{ seqId: id, kind: 'prefill', ...c.first }]);
    assert.equal(e.view().pendingPrefillTokens, 0);
    assert.equal(e.view().decodingSequences, 1);
  }
});

test('KV reservation: fcfs holds what is computed, shape-aware (reserveOutputFraction 1) the prompt plus the predicted output', () => {
  const cases = [
    { policy: 'fcfs' as unknown, blocks: 2, secondAdmitted: true },
    { policy: { name: 'shape-aware', params: { reserveOutputFraction: 1 } } as unknown, blocks: 8, secondAdmitted: false },
    { policy: 'shape-aware' as unknown, blocks: 2, secondAdmitted: true },
  ];
  for (const c of cases) {
    const e = makeEngine({ kvBlocksTotal: 10, blockTokens: 64 }, c.policy as string);
    const a = add(e, { promptTokens: 100, predictedOutputTokens: 400, maxOutputTokens: 500 });
    const b = add(e, { promptTokens: 100, predictedOutputTokens: 400, maxOutputTokens: 500 });
    const { plan } = step(e, 0);
    assert.equal(e.get(a)?.kvBlocks, c.blocks, JSON.stringify(c.policy));
    assert.equal(plan.admitted.includes(b), c.secondAdmitted, JSON.stringify(c.policy));
    assert.ok(e.view().kvBlocksUsed <= 10);
  }
});

test('the first waiting sequence that does not fit stops admission (no skipping ahead)', () => {
  const e = makeEngine({ kvBlocksTotal: 10, blockTokens: 64 });
  add(e, { promptTokens: 500, maxOutputTokens: 10 });
  const big = add(e, { promptTokens: 400, maxOutputTokens: 10 });
  const small = add(e, { promptTokens: 10, maxOutputTokens: 10 });
  const { plan } = step(e, 0);
  assert.equal(plan.admitted.length, 1);
  assert.equal(e.get(big)?.phase, 'waiting');
  assert.equal(e.get(small)?.phase, 'waiting');
});

/** Three sequences of 4-token prompts on 4-token blocks: after the prefill each needs a second block to decode. */
function victimScenario(policy: string) {
  const e = makeEngine({ kvBlocksTotal: 3, blockTokens: 4 }, policy);
  const b = add(e, { requestId: 'b', promptTokens: 3, priority: -1, maxOutputTokens: 8 });
  step(e, 0);
  const a = add(e, { requestId: 'a', promptTokens: 4, maxOutputTokens: 8 }, 0.1);
  const c = add(e, { requestId: 'c', promptTokens: 4, maxOutputTokens: 8 }, 0.2);
  step(e, 1);
  return { e, a, b, c };
}

test('preemption victims follow the policy (vLLM fcfs: last running; priority: lowest priority, latest arrival)', () => {
  {
    const { e, a, b, c } = victimScenario('fcfs');
    const { plan } = step(e, 2);
    assert.deepEqual(plan.preempted.map((p) => [p.seqId, p.mode]), [[c, 'recompute'], [a, 'recompute']]);
    assert.deepEqual(plan.items.map((i) => i.seqId), [b]);
    assert.deepEqual(plan.admitted, [], 'nothing is admitted in a step that preempted');
  }
  {
    const { e, a, b, c } = victimScenario('priority');
    const first = step(e, 2).plan;
    assert.deepEqual(first.preempted.map((p) => p.seqId), [b], 'b has the lowest priority and preempts itself');
    assert.deepEqual(first.items, [], 'as vLLM, no running sequence is scheduled after one preempts itself');
    const second = step(e, 3).plan;
    assert.deepEqual(second.items.map((i) => i.seqId), [a]);
    assert.deepEqual(second.preempted.map((p) => p.seqId), [c], 'equal priority: the latest arrival goes');
  }
});

test('shape-aware victims: chat before tool calls, and a reasoning decode near its predicted end is protected', () => {
  const params = { reserveOutputFraction: 0, waitWindowS: { tool_call: 0, reasoning: 0, terminal: 0, chat: 0 }, swapAboveTokens: 1_000_000 };
  const cases = [
    { name: 'chat goes first', shapes: ['tool_call', 'chat', 'reasoning'], priorities: [0, 0, 0], reasoningPredicted: 100, victim: 'chat' },
    { name: 'unprotected reasoning of lower priority goes', shapes: ['tool_call', 'reasoning'], priorities: [1, 0, 0], reasoningPredicted: 100, victim: 'reasoning' },
    { name: 'protected reasoning stays; the tool call preempts itself', shapes: ['tool_call', 'reasoning'], priorities: [1, 0, 0], reasoningPredicted: 1, victim: 'tool_call' },
  ] as const;
  for (const c of cases) {
    const e = makeEngine({ kvBlocksTotal: c.shapes.length, blockTokens: 4 }, { name: 'shape-aware', params });
    const ids: Record<string, number> = {};
    c.shapes.forEach((shape, i) => {
      const promptTokens = shape === 'reasoning' ? 3 : 4;
      ids[shape] = add(e, { requestId: shape, shape, promptTokens, maxOutputTokens: 4, priority: c.priorities[i] ?? 0, predictedOutputTokens: shape === 'reasoning' ? c.reasoningPredicted : 50 });
    });
    step(e, 0);
    const { plan } = step(e, 1);
    assert.deepEqual(plan.preempted.map((p) => p.seqId), [ids[c.victim]], c.name);
  }
});

test('recompute throws the KV away and re-prefills prompt + outputs; swap keeps progress through Grace', () => {
  // Recompute: seq c (last) is the victim; its 1 output is prefilled again with the prompt when it comes back.
  {
    const { e, a, b, c } = victimScenario('fcfs');
    step(e, 2);
    const seq = e.get(c) as Seq;
    assert.deepEqual([seq.phase, seq.kvBlocks, seq.computedTokens, seq.prefilledTokens, seq.outputTokens, seq.preemptions], ['preempted', 0, 0, 0, 1, 1]);
    assert.equal(e.view().queuedRequests, 2);
    assert.equal(e.view().pendingPrefillTokens, 10, 'a and c must recompute prompt + output (5 tokens each)');
    step(e, 3, [b]); // b finishes: its blocks let a back in
    const back = step(e, 4).plan;
    assert.deepEqual(back.items, [{ seqId: a, kind: 'prefill', numNewTokens: 5, numCachedTokens: 0 }]);
    assert.deepEqual([e.get(a)?.outputTokens, e.get(a)?.firstTokenS], [2, 1.01], 'outputs and first-token time survive');
  }
  // Swap: the victim's blocks go to Grace, then come back when there is room, with its computed tokens intact.
  {
    const e = makeEngine({ kvBlocksTotal: 4, blockTokens: 4, hostKvBlocksTotal: 10, preemptionMode: { chat: 'swap' } });
    const a = add(e, { promptTokens: 4, maxOutputTokens: 3 });
    const b = add(e, { promptTokens: 4, maxOutputTokens: 12 });
    const c = add(e, { promptTokens: 4, maxOutputTokens: 12 });
    step(e, 0);
    const p1 = step(e, 1).plan;
    assert.deepEqual(p1.preempted, [{ seqId: c, mode: 'swap', reason: `no free KV block: seq ${b} needs 2 blocks` }]);
    assert.deepEqual(p1.swappedOut, [{ seqId: c, kvBlocks: 1 }]);
    assert.deepEqual([e.view().swappedSequences, e.view().hostKvBlocksUsed, e.view().queuedRequests], [1, 1, 1]);
    assert.equal((e.get(c) as Seq).computedTokens, 4);
    const p2 = step(e, 2, [a]).plan; // a finishes: its 2 blocks free up
    assert.deepEqual(p2.swappedIn, []);
    const p3 = step(e, 3).plan;
    assert.deepEqual(p3.swappedIn, [{ seqId: c, kvBlocks: 1 }]);
    assert.deepEqual(p3.items.find((i) => i.seqId === c), { seqId: c, kind: 'decode', numNewTokens: 1, numCachedTokens: 4 });
    assert.deepEqual([e.view().swappedSequences, e.view().hostKvBlocksUsed], [0, 0]);
  }
  // Swap with a full Grace tier falls back to recompute and says so.
  {
    const e = makeEngine({ kvBlocksTotal: 3, blockTokens: 4, hostKvBlocksTotal: 0, preemptionMode: { chat: 'swap' } });
    [1, 2, 3].forEach(() => add(e, { promptTokens: 4, maxOutputTokens: 8 }));
    step(e, 0);
    const { plan } = step(e, 1);
    assert.equal(plan.preempted[0]?.mode, 'recompute');
    assert.match(plan.preempted[0]?.reason ?? '', /Grace tier full, recompute instead/);
  }
});

test('a step that preempted admits nothing, even what would fit in the blocks it freed (vLLM)', () => {
  const e = makeEngine({ kvBlocksTotal: 5, blockTokens: 4, hostKvBlocksTotal: 10, preemptionMode: { chat: 'swap' } });
  const [a, b, c] = [1, 2, 3].map(() => add(e, { promptTokens: 4, maxOutputTokens: 8 }));
  step(e, 0);
  const d = add(e, { promptTokens: 2, maxOutputTokens: 2 }, 0.5);
  const p1 = step(e, 1).plan;
  assert.deepEqual([p1.items.map((i) => i.seqId), p1.preempted.map((p) => p.seqId), p1.admitted], [[a, b], [c], []]);
  assert.equal(e.view().kvBlocksUsed, 4, 'one block free, yet d waits');
  assert.deepEqual(step(e, 2).plan.admitted, [d]);
});

test('shape-aware swaps long contexts and recomputes short ones', () => {
  const params = { reserveOutputFraction: 0, swapAboveTokens: 8 };
  for (const [prompt, mode] of [[4, 'recompute'], [8, 'swap']] as const) {
    const e = makeEngine({ kvBlocksTotal: 3 * (prompt / 4), blockTokens: 4, hostKvBlocksTotal: 100 }, { name: 'shape-aware', params });
    [1, 2, 3].forEach(() => add(e, { promptTokens: prompt, maxOutputTokens: 8 }));
    step(e, 0);
    assert.equal(step(e, 1).plan.preempted[0]?.mode, mode, `prompt ${prompt}`);
  }
});

test('finishing (EOS or max tokens) frees the KV and reports the end once', () => {
  const e = makeEngine({ blockTokens: 4 });
  const a = add(e, { promptTokens: 10, maxOutputTokens: 2 });
  const b = add(e, { promptTokens: 10, maxOutputTokens: 50 });
  assert.deepEqual(step(e, 0).finished, []);
  const { finished } = step(e, 1, [b]);
  assert.deepEqual(finished.map((f) => [f.seq.seqId, f.end]), [
    [a, { kind: 'completed', outputTokens: 2 }],
    [b, { kind: 'completed', outputTokens: 2 }],
  ]);
  assert.deepEqual([e.view().kvBlocksUsed, e.view().runningRequests, e.view().decodingSequences], [0, 0, 0]);
  assert.equal(e.get(a), undefined);
  assert.equal(e.cancel(a, 'late'), undefined);
  assert.deepEqual(step(e, 2).plan.items, []);
});

test('EOS for a sequence that sampled nothing this step (mid-prefill) is ignored', () => {
  const e = makeEngine({ stepTokenBudget: 50 });
  const a = add(e, { promptTokens: 100 });
  assert.deepEqual(step(e, 0, [a]).finished, []);
  assert.equal(e.get(a)?.phase, 'running');
});

test('cancel ends a sequence in every phase, frees its KV, and it never ends twice', () => {
  const phases = ['waiting', 'running', 'in-flight', 'preempted', 'swapped'] as const;
  for (const phase of phases) {
    const swap = phase === 'swapped';
    const e = makeEngine({ kvBlocksTotal: 3, blockTokens: 4, hostKvBlocksTotal: 10, preemptionMode: { chat: swap ? 'swap' : 'recompute' } });
    const ids = [1, 2, 3].map((n) => add(e, { requestId: `r${n}`, promptTokens: 4, maxOutputTokens: 8 }));
    const target = phase === 'preempted' || phase === 'swapped' ? (ids[2] as number) : (ids[0] as number);
    if (phase !== 'waiting') step(e, 0);
    if (phase === 'preempted' || phase === 'swapped') step(e, 1);
    let inflight;
    if (phase === 'in-flight') inflight = e.planStep(1);
    const end = e.cancel(target, 'client went away');
    assert.deepEqual(end?.end, { kind: 'cancelled', reason: 'client went away' }, phase);
    assert.equal(end?.seq.phase, 'finished');
    assert.equal(e.cancel(target, 'again'), undefined, phase);
    if (inflight) {
      const finished = e.completeStep(inflight, { stepId: inflight.stepId, durationS: 0.01, finishedSeqIds: [target] }, 1.01);
      assert.ok(!finished.some((f) => f.seq.seqId === target), 'a cancelled in-flight sequence does not finish again');
    }
    for (const id of ids) if (id !== target) e.cancel(id, 'cleanup');
    const v = e.view();
    assert.deepEqual([v.queuedRequests, v.runningRequests, v.kvBlocksUsed, v.hostKvBlocksUsed, v.pendingPrefillTokens, v.decodingSequences], [0, 0, 0, 0, 0, 0], phase);
    assert.deepEqual(step(e, 5).plan.items, [], phase);
  }
});

test('bounded queue and impossible requests are rejected with a code, never queued', () => {
  const e = makeEngine({ kvBlocksTotal: 10, blockTokens: 64, maxQueuedSeqs: 2 });
  add(e);
  add(e);
  const full = e.enqueue(seqInit(), 0);
  assert.deepEqual(full.ok ? null : [full.end.code, full.end.reason], ['E_QUEUE_FULL', '2 sequences queued (maxQueuedSeqs 2)']);
  step(e, 0);
  assert.equal(e.enqueue(seqInit(), 1).ok, true, 'room again once the queue drained');
  const huge = e.enqueue(seqInit({ promptTokens: 600, maxOutputTokens: 100 }), 1);
  assert.deepEqual(huge.ok ? null : huge.end.code, 'E_KV_CAPACITY');
});

test('wait windows hold a lone prefill only while decodes run, and never once the step carries a prefill', () => {
  const sa = { name: 'shape-aware', params: { waitWindowS: { tool_call: 0.25, reasoning: 0, terminal: 0, chat: 0 } } };
  // Idle instance: admitted at once.
  {
    const e = makeEngine({}, sa);
    const t = add(e, { shape: 'tool_call' }, 0);
    assert.deepEqual(step(e, 0).plan.admitted, [t]);
  }
  // Decodes running: held until enqueued + window, and the plan says until when.
  {
    const e = makeEngine({}, sa);
    add(e, { maxOutputTokens: 100 });
    step(e, 0);
    const t = add(e, { shape: 'tool_call' }, 1);
    const held = step(e, 1.125).plan;
    assert.deepEqual([held.admitted, held.holdUntilS], [[], 1.25]);
    const due = step(e, 1.25).plan;
    assert.deepEqual([due.admitted, due.holdUntilS], [[t], null]);
  }
  // A chat prefill (no window) is admitted; the held tool call joins the same step.
  {
    const e = makeEngine({}, sa);
    add(e, { maxOutputTokens: 100 });
    step(e, 0);
    const t = add(e, { shape: 'tool_call', arrivalS: 1 }, 1);
    const c = add(e, { shape: 'chat', arrivalS: 1 }, 1);
    assert.deepEqual(step(e, 1.125).plan.admitted, [c, t]);
  }
});

test('shape-aware orders the queue by TTFT deadline: a tool call overtakes recent chat, not old chat', () => {
  const e = makeEngine({ stepTokenBudget: 100, maxRunningSeqs: 1 }, { name: 'shape-aware', params: { waitWindowS: { tool_call: 0, reasoning: 0, terminal: 0, chat: 0 } } });
  const oldChat = add(e, { shape: 'chat', arrivalS: 0 }, 0);
  const recentChat = add(e, { shape: 'chat', arrivalS: 0.8 }, 0.8);
  const tool = add(e, { shape: 'tool_call', slo: { ttftS: 0.5, tpotS: 0.03 }, arrivalS: 1 }, 1);
  const ids = [oldChat, recentChat, tool];
  const order: number[] = [];
  for (let t = 1; order.length < 3 && t < 20; t++) {
    const running = ids.filter((id) => e.get(id)?.phase === 'running');
    order.push(...step(e, t, running).plan.admitted);
  }
  assert.deepEqual(order, [oldChat, tool, recentChat]);
});

test('idle sessions: kept HBM is reclaimed before any preemption; demote and promote are moves in the next plan', () => {
  const e = makeEngine({ kvBlocksTotal: 4, blockTokens: 4, hostKvBlocksTotal: 10 });
  assert.equal(e.retainSession('s1', 2, 'device'), true);
  assert.equal(e.retainSession('s2', 1, 'device'), true);
  assert.deepEqual([e.view().kvBlocksRetained, e.view().kvBlocksUsed], [3, 0]);
  const a = add(e, { promptTokens: 8, maxOutputTokens: 8 });
  const p = step(e, 0).plan;
  assert.deepEqual([p.evictedSessions, p.preempted, tokensBySeq(p)], [['s1'], [], { [a]: 8 }]);
  assert.equal(e.sessionTier('s1'), undefined);
  assert.equal(e.retainSession('s2', 1, 'host'), true);
  assert.equal(e.promoteSession('s2'), true);
  assert.equal(e.promoteSession('nope'), false);
  assert.deepEqual(step(e, 1).plan.sessionMoves, [
    { sessionKey: 's2', kvBlocks: 1, to: 'host' },
    { sessionKey: 's2', kvBlocks: 1, to: 'device' },
  ]);
  assert.equal(e.releaseSession('s2'), 1);
  assert.equal(e.view().kvBlocksRetained, 0);
  assert.equal(e.retainSession('big', 100, 'device'), false, 'no room: the caller treats it as dropped');
});

test('misuse is refused with a code: overlapping plans, a foreign or mismatched outcome, bad sequences', () => {
  const e = makeEngine({});
  const plan = e.planStep(0);
  assert.throws(() => e.planStep(0), { code: 'E_PLAN_OUTSTANDING' });
  assert.throws(() => e.completeStep(plan, { stepId: plan.stepId + 1, durationS: 0, finishedSeqIds: [] }, 0), { code: 'E_STEP_MISMATCH' });
  e.completeStep(plan, { stepId: plan.stepId, durationS: 0, finishedSeqIds: [] }, 0);
  assert.throws(() => e.completeStep(plan, { stepId: plan.stepId, durationS: 0, finishedSeqIds: [] }, 0), { code: 'E_NOT_OUTSTANDING' });
  const bad = [
    [{ promptTokens: 0 }, /seq\.promptTokens: expected an integer ≥ 1, got 0/],
    [{ cachedPromptTokens: 200 }, /seq\.cachedPromptTokens: 200 exceeds promptTokens 100/],
    [{ shape: 'poem' as never }, /seq\.shape: expected one of tool_call, reasoning, terminal, chat/],
    [{ maxOutputTokens: 1.5 }, /seq\.maxOutputTokens/],
    [{ predictedOutputTokens: Number.NaN }, /seq\.predictedOutputTokens/],
    [{ slo: { ttftS: 0, tpotS: 1 } }, /seq\.slo/],
  ] as const;
  for (const [over, message] of bad) assert.throws(() => e.enqueue(seqInit(over), 0), { code: 'E_BAD_SEQ', message });
});

test('bad engine and policy parameters name the field', () => {
  const cases: [Record<string, unknown>, unknown, RegExp][] = [
    [{ kvBlocksTotal: undefined }, 'fcfs', /engine\.kvBlocksTotal: required/],
    [{ stepTokenBudget: '8k' }, 'fcfs', /engine\.stepTokenBudget: expected an integer ≥ 1, got "8k"/],
    [{ blockTokens: 0 }, 'fcfs', /engine\.blockTokens: expected an integer ≥ 1, got 0/],
    [{ preemptionMode: { chat: 'evict' } }, 'fcfs', /engine\.preemptionMode\.chat: expected one of recompute, swap, got "evict"/],
    [{ preemptionMode: { poem: 'swap' } }, 'fcfs', /engine\.preemptionMode\.poem: unknown field/],
    [{ maxRunSeqs: 3 }, 'fcfs', /engine\.maxRunSeqs: unknown field/],
    [{}, { name: 'lifo' }, /engine\.batch\.name: unknown batch policy "lifo"; known: fcfs, priority, shape-aware/],
    [{}, { name: 'fcfs', params: { x: 1 } }, /engine\.batch\.params\.x: unknown field; allowed: \(none\)/],
    [{}, { name: 'shape-aware', params: { waitWindowS: { tool_call: -1 } } }, /engine\.batch\.params\.waitWindowS\.tool_call: expected a number ≥ 0 and ≤ 1, got -1/],
    [{}, { name: 'shape-aware', params: { prefillChunkTokens: 0 } }, /engine\.batch\.params\.prefillChunkTokens: expected an integer ≥ 1, got 0/],
    [{}, { name: 'shape-aware', params: { protectReasoningProgress: 0 } }, /engine\.batch\.params\.protectReasoningProgress: expected a number > 0 and ≤ 1, got 0/],
  ];
  for (const [config, policy, message] of cases) {
    assert.throws(() => makeEngine(config, policy as never), { code: 'E_BAD_CONFIG', message });
  }
  assert.throws(() => new CountingKvLedger(0), /deviceBlocksTotal: expected an integer ≥ 1, got 0/);
});

test('decodeSloWeightPerS sums 1 / (predicted output · TPOT SLO) over decoding sequences only, and returns to 0', () => {
  const e = makeEngine({ kvBlocksTotal: 1000, blockTokens: 16 });
  const tool = add(e, { requestId: 't', shape: 'tool_call', promptTokens: 64, predictedOutputTokens: 80, slo: { ttftS: 0.5, tpotS: 0.03 } });
  const reasoning = add(e, { requestId: 'r', shape: 'reasoning', promptTokens: 64, predictedOutputTokens: 2000, slo: { ttftS: 2, tpotS: 0.05 } });
  assert.equal(e.view().decodeSloWeightPerS, 0, 'queued: not decoding yet');
  step(e, 0);
  const both = 1 / (80 * 0.03) + 1 / (2000 * 0.05);
  assert.ok(Math.abs((e.view().decodeSloWeightPerS ?? NaN) - both) < 1e-12, `${e.view().decodeSloWeightPerS} vs ${both}`);
  step(e, 1, [tool]);
  assert.ok(Math.abs((e.view().decodeSloWeightPerS ?? NaN) - 1 / (2000 * 0.05)) < 1e-12, 'the finished tool call left the sum');
  assert.ok(e.cancel(reasoning, 'test'));
  assert.equal(e.view().decodeSloWeightPerS, 0);
  assert.equal(e.view().decodingSequences, 0);
});
