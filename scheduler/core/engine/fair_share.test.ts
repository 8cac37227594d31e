import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseTenants, type TenantsConfig } from '../config/tenants.js';
import { Rng } from '../../util/random.js';
import { SHAPES } from '../types.js';
import { readEngineConfig } from './config.js';
import { InstanceEngine } from './engine.js';
import { makeBatchPolicy } from './registry.js';
import { seqInit } from './testing.js';
import type { SeqInit } from './types.js';

function engine(config: Record<string, unknown>, tenants?: TenantsConfig, policy = 'fcfs'): InstanceEngine {
  return new InstanceEngine({
    instanceId: 'i0',
    config: readEngineConfig({ kvBlocksTotal: 100_000, ...config }, 'engine'),
    policy: makeBatchPolicy({ name: policy }, 'engine.batch'),
    ...(tenants ? { tenants } : {}),
  });
}

function enqueue(e: InstanceEngine, over: Partial<SeqInit>, nowS = 0): number {
  const r = e.enqueue(seqInit(over), nowS);
  if (!r.ok) throw new Error(`refused: ${r.end.reason}`);
  return r.seqId;
}

/** Runs steps until `count` sequences were admitted (each finishes at its first decode); returns them in order. */
function admissionOrder(e: InstanceEngine, count: number): number[] {
  const order: number[] = [];
  let nowS = 0;
  for (let guard = 0; order.length < count && guard < 10_000; guard++) {
    const plan = e.planStep(nowS);
    order.push(...plan.admitted);
    const eos = plan.items.filter((i) => i.kind === 'decode').map((i) => i.seqId);
    e.completeStep(plan, { stepId: plan.stepId, durationS: 0.01, finishedSeqIds: eos }, (nowS += 0.01));
  }
  return order.slice(0, count);
}

test('weights 1:3 get 1:3 of the admissions under a backlog (equal requests)', () => {
  const e = engine({ maxRunningSeqs: 4 }, parseTenants({ light: { weight: 1 }, heavy: { weight: 3 } }));
  const tenantOf = new Map<number, string>();
  // The light tenant queues first: arrival order alone would serve it all first.
  for (let i = 0; i < 200; i++) tenantOf.set(enqueue(e, { requestId: `l${i}`, tenant: 'light' }), 'light');
  for (let i = 0; i < 200; i++) tenantOf.set(enqueue(e, { requestId: `h${i}`, tenant: 'heavy' }), 'heavy');
  const first = admissionOrder(e, 200);
  const light = first.filter((id) => tenantOf.get(id) === 'light').length;
  assert.ok(light >= 48 && light <= 52, `light got ${light} of 200 admissions, expected ~50`);
  // Without a tenants section the same queue is served in arrival order: the light tenant's 200 first.
  const plain = engine({ maxRunningSeqs: 4 });
  for (let i = 0; i < 200; i++) enqueue(plain, { requestId: `l${i}`, tenant: 'light' });
  for (let i = 0; i < 200; i++) enqueue(plain, { requestId: `h${i}`, tenant: 'heavy' });
  assert.deepEqual(admissionOrder(plain, 200), Array.from({ length: 200 }, (_, i) => i + 1));
});

test('service is weighted by predicted work, not by request count', () => {
  // Equal weights; big's requests carry 4x the work of small's: small gets ~4 admissions per big one.
  const e = engine({ maxRunningSeqs: 2 }, parseTenants({}));
  const tenantOf = new Map<number, string>();
  for (let i = 0; i < 100; i++) tenantOf.set(enqueue(e, { requestId: `b${i}`, tenant: 'big', promptTokens: 750, predictedOutputTokens: 50 }), 'big');
  for (let i = 0; i < 100; i++) tenantOf.set(enqueue(e, { requestId: `s${i}`, tenant: 'small', promptTokens: 150, predictedOutputTokens: 50 }), 'small');
  const first = admissionOrder(e, 50);
  const big = first.filter((id) => tenantOf.get(id) === 'big').length;
  assert.ok(big >= 9 && big <= 11, `big got ${big} of 50 admissions, expected ~10`);
});

/** A seeded queue of mixed shapes, priorities, SLOs and arrivals, enqueued over a few steps. */
function randomRun(tenants: TenantsConfig | undefined, tenantOf: (i: number) => string | undefined, policy: string): number[] {
  const e = engine({ maxRunningSeqs: 8, stepTokenBudget: 2048 }, tenants, policy);
  const rng = new Rng(42);
  const order: number[] = [];
  let nowS = 0;
  let n = 0;
  for (let round = 0; round < 400; round++) {
    for (let k = rng.int(4); k > 0; k--) {
      const shape = rng.pick(SHAPES);
      const tenant = tenantOf(n);
      enqueue(e, {
        requestId: `r${n++}`, shape, priority: rng.int(3) - 1, arrivalS: nowS - rng.next(), promptTokens: 1 + rng.int(1500),
        predictedOutputTokens: rng.int(200), maxOutputTokens: 200, slo: { ttftS: 0.5 + rng.int(3), tpotS: 0.05 },
        ...(tenant !== undefined ? { tenant } : {}),
      }, nowS);
    }
    const plan = e.planStep(nowS);
    order.push(...plan.admitted);
    const eos = plan.items.filter((i) => i.kind === 'decode' && rng.next() < 0.2).map((i) => i.seqId);
    e.completeStep(plan, { stepId: plan.stepId, durationS: 0.02, finishedSeqIds: eos }, (nowS += 0.02));
  }
  return order;
}

test('one tenant: exactly the batch policy’s own order; no tenants section: tenant names change nothing', () => {
  for (const policy of ['fcfs', 'priority', 'shape-aware']) {
    const base = randomRun(undefined, () => undefined, policy);
    assert.ok(base.length > 300, `${policy}: the run admits enough to compare (${base.length})`);
    assert.deepEqual(randomRun(parseTenants({ solo: { weight: 5, priorityBand: 'high' } }), () => 'solo', policy), base, `${policy}: one tenant`);
    assert.deepEqual(randomRun(undefined, (i) => `t${i % 3}`, policy), base, `${policy}: three tenants, no section`);
    // And the section does change the order when several tenants share the queue (the comparison has teeth).
    assert.notDeepEqual(randomRun(parseTenants({}), (i) => (i % 4 === 0 ? 'a' : 'b'), policy), base, `${policy}: two tenants`);
  }
});

test('priority bands: high before normal before low, whatever the arrival order or weights', () => {
  const e = engine({ maxRunningSeqs: 1 }, parseTenants({ lo: { priorityBand: 'low', weight: 100 }, hi: { priorityBand: 'high' } }));
  const lo = enqueue(e, { requestId: 'lo', tenant: 'lo', arrivalS: 0 });
  const mid = enqueue(e, { requestId: 'mid', tenant: 'anyone', arrivalS: 1 }); // default: normal band
  const hi1 = enqueue(e, { requestId: 'hi1', tenant: 'hi', arrivalS: 2 });
  const hi2 = enqueue(e, { requestId: 'hi2', tenant: 'hi', arrivalS: 3 });
  assert.deepEqual(admissionOrder(e, 4), [hi1, hi2, mid, lo]);
});

test('a tenant arriving behind a backlog is served next, not after it (no banked credit either way)', () => {
  const e = engine({ maxRunningSeqs: 1 }, parseTenants({}));
  for (let i = 0; i < 50; i++) enqueue(e, { requestId: `a${i}`, tenant: 'a' });
  assert.equal(admissionOrder(e, 10).length, 10);
  const b = enqueue(e, { requestId: 'b', tenant: 'b' }, 1);
  const next = admissionOrder(e, 2);
  assert.ok(next.includes(b), `b admitted within two admissions, got ${next.join(',')}`);
});

test('queue full: a tenant under its share still enters; the one that filled the queue is refused', () => {
  const e = engine({ maxQueuedSeqs: 10 }, parseTenants({}));
  for (let i = 0; i < 10; i++) enqueue(e, { requestId: `a${i}`, tenant: 'a' });
  const more = e.enqueue(seqInit({ requestId: 'a10', tenant: 'a' }), 0);
  assert.equal(more.ok, false);
  assert.equal(!more.ok && more.end.code, 'E_QUEUE_FULL');
  for (let i = 0; i < 5; i++) enqueue(e, { requestId: `b${i}`, tenant: 'b' }); // share: 10 × 1/2
  const sixth = e.enqueue(seqInit({ requestId: 'b5', tenant: 'b' }), 0);
  assert.equal(!sixth.ok && sixth.end.code, 'E_QUEUE_FULL');
  // Without tenants the bound is the bound.
  const plain = engine({ maxQueuedSeqs: 10 });
  for (let i = 0; i < 10; i++) enqueue(plain, { requestId: `a${i}`, tenant: 'a' });
  assert.equal(plain.enqueue(seqInit({ requestId: 'b', tenant: 'b' }), 0).ok, false);
});

test('queueAhead: a quiet tenant meets its share of the flood, not all of it', () => {
  const tenants = parseTenants({ flood: { weight: 1 }, quiet: { weight: 2 }, vip: { priorityBand: 'high' } });
  const e = engine({}, tenants);
  for (let i = 0; i < 20; i++) enqueue(e, { requestId: `f${i}`, tenant: 'flood', promptTokens: 1000 });
  assert.deepEqual(e.queueAhead('flood', 1000), { queuedRequests: 20, pendingPrefillTokens: 20_000 });
  // quiet (weight 2) with 300 tokens: flood's interleaved part is 300 × 1/2 = 150 tokens, one request.
  assert.deepEqual(e.queueAhead('quiet', 300), { queuedRequests: 1, pendingPrefillTokens: 150 });
  enqueue(e, { requestId: 'v', tenant: 'vip', promptTokens: 400 });
  assert.deepEqual(e.queueAhead('quiet', 300), { queuedRequests: 2, pendingPrefillTokens: 550 }, 'a higher band is all ahead');
  assert.deepEqual(e.queueAhead('vip', 100), { queuedRequests: 1, pendingPrefillTokens: 400 }, 'lower bands are behind');
  const plain = engine({});
  for (let i = 0; i < 20; i++) enqueue(plain, { requestId: `f${i}`, tenant: 'flood', promptTokens: 1000 });
  assert.deepEqual(plain.queueAhead('quiet', 300), { queuedRequests: 20, pendingPrefillTokens: 20_000 });
});

test('cancelling queued sequences keeps the fair-share groups consistent', () => {
  const e = engine({ maxRunningSeqs: 2 }, parseTenants({}));
  const a = Array.from({ length: 5 }, (_, i) => enqueue(e, { requestId: `a${i}`, tenant: 'a' }));
  const b = enqueue(e, { requestId: 'b', tenant: 'b' });
  for (const id of a) e.cancel(id, 'test');
  assert.deepEqual(e.queueAhead('a', 100), { queuedRequests: 1, pendingPrefillTokens: 100 });
  const plan = e.planStep(0);
  assert.deepEqual(plan.admitted, [b]);
  assert.deepEqual(e.queueAhead('a', 100), { queuedRequests: 0, pendingPrefillTokens: 100 }, 'b runs its prefill: ahead of everyone');
  e.completeStep(plan, { stepId: plan.stepId, durationS: 0.01, finishedSeqIds: [] }, 0.01);
  assert.deepEqual(e.queueAhead('a', 100), { queuedRequests: 0, pendingPrefillTokens: 0 });
});

test('random runs with cancels, tight KV, swaps and preemptions: per-tenant counters always add up to the engine’s', () => {
  // A tenant in the low band that never sends anything sees every other tenant's backlog ahead of it: exactly the
  // engine's own queue figures, when the per-group counters are right.
  const tenants = parseTenants({ probe: { priorityBand: 'low' }, a: { weight: 1 }, b: { weight: 3 }, c: { priorityBand: 'high' } });
  for (const policy of ['fcfs', 'shape-aware']) {
    const e = new InstanceEngine({
      instanceId: 'i0',
      config: readEngineConfig({ kvBlocksTotal: 60, hostKvBlocksTotal: 30, stepTokenBudget: 256, maxRunningSeqs: 6, blockTokens: 16, preemptionMode: { chat: 'swap' } }, 'engine'),
      policy: makeBatchPolicy({ name: policy }, 'engine.batch'),
      tenants,
    });
    const rng = new Rng(7);
    const live: number[] = [];
    let nowS = 0;
    let preempted = 0;
    for (let round = 0; round < 300; round++) {
      for (let k = rng.int(3); k > 0; k--) {
        const r = e.enqueue(seqInit({
          requestId: `r${round}.${k}`, tenant: rng.pick(['a', 'b', 'c', 'a', 'b']), shape: rng.pick(SHAPES), promptTokens: 1 + rng.int(200),
          maxOutputTokens: 1 + rng.int(60), predictedOutputTokens: rng.int(60), arrivalS: nowS,
        }), nowS);
        if (r.ok) live.push(r.seqId);
      }
      if (live.length > 0 && rng.next() < 0.1) e.cancel(live.splice(rng.int(live.length), 1)[0] as number, 'test');
      const plan = e.planStep(nowS);
      preempted += plan.preempted.length;
      const eos = plan.items.filter((i) => i.kind === 'decode' && rng.next() < 0.1).map((i) => i.seqId);
      e.completeStep(plan, { stepId: plan.stepId, durationS: 0.01, finishedSeqIds: eos }, (nowS += 0.01));
      const v = e.view();
      assert.deepEqual(e.queueAhead('probe', 0), { queuedRequests: v.queuedRequests, pendingPrefillTokens: v.pendingPrefillTokens }, `${policy} round ${round}`);
    }
    assert.ok(preempted > 0, `${policy}: the run preempted (${preempted})`);
  }
});
