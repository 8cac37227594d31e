// Seeded random workloads through every batch policy: arrivals, cancels, EOS, idle sessions, tight KV with swap and
// recompute. Invariants checked at every step; the run then drains and every request must have ended exactly once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../util/random.js';
import { SHAPES } from '../types.js';
import type { InstanceEngine } from './engine.js';
import { numTokens, type Seq } from './seq.js';
import { makeEngine, seqInit } from './testing.js';
import type { EnginePlan } from './types.js';

const KV_BLOCKS = 120;
const HOST_BLOCKS = 40;
const BUDGET = 256;

interface RunResult {
  /** Each plan as JSON, taken before its completeStep (recycled plans are rewritten later). */
  plans: string[];
  enqueued: number;
  ended: Map<string, string>;
}

function checkPlan(e: InstanceEngine, plan: EnginePlan): void {
  const seen = new Set<number>();
  let used = 0;
  for (const item of plan.items) {
    assert.ok(!seen.has(item.seqId), `seq ${item.seqId} twice in step ${plan.stepId}`);
    seen.add(item.seqId);
    assert.ok(item.numNewTokens >= 1);
    if (item.kind === 'decode') assert.equal(item.numNewTokens, 1);
    used += item.numNewTokens;
  }
  assert.equal(plan.usedTokens, used);
  assert.ok(used <= BUDGET, `step ${plan.stepId} used ${used} > ${BUDGET}`);
  const v = e.view();
  assert.ok(v.kvBlocksUsed + v.kvBlocksRetained <= KV_BLOCKS, `KV ${v.kvBlocksUsed}+${v.kvBlocksRetained} > ${KV_BLOCKS}`);
  assert.ok(v.hostKvBlocksUsed <= HOST_BLOCKS);
}

/** The engine's O(1) counters against a recount over the live sequences. */
function checkCounters(e: InstanceEngine, live: Set<number>): void {
  let queued = 0, running = 0, decoding = 0, pending = 0, deviceBlocks = 0;
  for (const id of live) {
    const s = e.get(id) as Seq;
    assert.ok(s, `live seq ${id} unknown to the engine`);
    if (s.phase === 'running') running++;
    else queued++;
    if (s.phase === 'running' && s.decoding) decoding++;
    if (!s.decoding) pending += numTokens(s) - s.computedTokens;
    if (!s.swapped) deviceBlocks += s.kvBlocks;
  }
  const v = e.view();
  assert.deepEqual([v.queuedRequests, v.runningRequests, v.decodingSequences, v.pendingPrefillTokens, v.kvBlocksUsed], [queued, running, decoding, pending, deviceBlocks]);
}

function run(seed: number, policy: string, recyclePlans = false): RunResult {
  const rng = new Rng(seed);
  const e = makeEngine(
    {
      kvBlocksTotal: KV_BLOCKS,
      hostKvBlocksTotal: HOST_BLOCKS,
      blockTokens: 16,
      stepTokenBudget: BUDGET,
      maxRunningSeqs: 12,
      maxQueuedSeqs: 30,
      longPrefillThresholdTokens: rng.int(2) ? 96 : 0,
      preemptionMode: { tool_call: 'recompute', reasoning: 'swap', terminal: 'swap', chat: 'recompute' },
    },
    policy === 'shape-aware' ? { name: policy, params: { prefillChunkTokens: 128, decodeStepPrefillTokens: 160, swapAboveTokens: 200 } } : policy,
    undefined,
    recyclePlans,
  );
  const live = new Set<number>();
  const ended = new Map<string, string>();
  const plans: string[] = [];
  let enqueued = 0;
  const end = (requestId: string, how: string) => {
    assert.ok(!ended.has(requestId), `${requestId} ended twice (${ended.get(requestId)}, then ${how})`);
    ended.set(requestId, how);
  };
  let nowS = 0;
  for (let stepNo = 0; stepNo < 2000; stepNo++) {
    const arriving = stepNo < 250 ? rng.int(3) : 0;
    for (let k = 0; k < arriving; k++) {
      const requestId = `r${enqueued++}`;
      const promptTokens = 1 + rng.int(400);
      const init = seqInit({
        requestId,
        shape: rng.pick(SHAPES),
        priority: rng.int(3) - 1,
        arrivalS: nowS,
        promptTokens,
        cachedPromptTokens: rng.int(2) ? rng.int(promptTokens + 1) : 0,
        maxOutputTokens: 1 + rng.int(80),
        predictedOutputTokens: rng.int(30),
      });
      const r = e.enqueue(init, nowS);
      if (r.ok) live.add(r.seqId);
      else end(requestId, `rejected ${r.end.code}`);
    }
    if (live.size > 0 && rng.next() < 0.05) {
      const victim = [...live][rng.int(live.size)] as number;
      const fin = e.cancel(victim, 'random cancel');
      assert.ok(fin);
      end(fin.seq.requestId, 'cancelled');
      live.delete(victim);
    }
    if (rng.next() < 0.05) e.retainSession(`s${rng.int(5)}`, 1 + rng.int(8), rng.int(2) ? 'device' : 'host');
    if (rng.next() < 0.03) e.releaseSession(`s${rng.int(5)}`);
    const plan = e.planStep(nowS);
    checkPlan(e, plan);
    plans.push(JSON.stringify(plan));
    const eos = plan.items.filter((i) => i.kind === 'decode' && rng.next() < 0.08).map((i) => i.seqId);
    nowS += 0.01 + plan.usedTokens * 1e-5;
    for (const f of e.completeStep(plan, { stepId: plan.stepId, durationS: 0.01, finishedSeqIds: eos }, nowS)) {
      assert.equal(f.end.kind, 'completed');
      end(f.seq.requestId, 'completed');
      live.delete(f.seq.seqId);
    }
    checkCounters(e, live);
    if (stepNo >= 250 && live.size === 0) break;
  }
  assert.equal(live.size, 0, `${live.size} sequences never ended`);
  return { plans, enqueued, ended };
}

for (const policy of ['fcfs', 'priority', 'shape-aware']) {
  test(`${policy}: random workloads lose nothing, keep KV within capacity and the budget within bounds`, () => {
    const exercised = new Set<string>();
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const r = run(seed, policy);
      assert.equal(r.ended.size, r.enqueued, `seed ${seed}: every request ends exactly once`);
      for (const how of r.ended.values()) exercised.add(how.split(' ')[0] as string);
      for (const p of r.plans) for (const x of (JSON.parse(p) as EnginePlan).preempted) exercised.add(x.mode);
    }
    // The seeds must reach every way out and both preemption modes, or the invariants above prove little.
    assert.deepEqual([...exercised].sort(), ['cancelled', 'completed', 'recompute', 'rejected', 'swap']);
  });

  test(`${policy}: the same seed gives the same plans, recycled or not; another seed does not`, () => {
    const a = run(7, policy).plans;
    assert.deepEqual(run(7, policy).plans, a);
    assert.deepEqual(run(7, policy, true).plans, a, 'recyclePlans changes no decision');
    assert.notDeepEqual(run(8, policy).plans, a);
  });
}
