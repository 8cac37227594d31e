// The invariants on hand-made facts: a clean run passes, and each kind of slip is named (so a soak that passes
// really checked it). Also the seeded fault schedule, the load plan and the worker-metrics reader.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import type { Finished } from '../gateway/frontend.js';
import { checkSoak, type SoakFacts } from './checks.js';
import type { ClientOutcome } from './outcome.js';
import { loadPlan } from './plan.js';
import { faultSchedule } from './schedule.js';
import type { TapEntry } from './tap.js';
import { parseWorkerKv, type WorkerKv } from './worker_kv.js';

const finished = (finishReason: Finished['finishReason'], error?: string): Finished => ({
  requestId: 'x', finishReason, ...(error ? { error } : {}), usage: { promptTokens: 10, completionTokens: 4, cachedPromptTokens: 0, costUsd: 0 }, timings: { queueS: 0, ttftS: 0, tpotS: 0, e2eS: 0 }, shape: 'chat',
});
const kv = (live: number, blocks: number): WorkerKv => ({ liveSequences: live, used: [{ gpu: '0', tier: 'device', blocks }, { gpu: '', tier: 'host', blocks: 0 }] });
const ok = (id: string, o: Partial<ClientOutcome> = {}): ClientOutcome => ({ id, api: 'grpc', kind: 'chat', outcome: 'completed', finishReason: 'length', tokens: 4, usageTokens: 4, maxTokens: 4, ends: 1, problems: [], ...o });
const entry = (id: string, o: Partial<TapEntry> = {}): TapEntry => ({ id, starts: 1, admitted: 1, rejections: [], ends: [finished('length')], ...o });

function clean(): SoakFacts {
  return {
    sentIds: ['a', 'b', 'bad'],
    outcomes: [ok('a'), ok('b', { api: 'http' }), ok('bad', { kind: 'invalid', outcome: 'rejected', code: 'E_INVALID_ARGUMENT', message: 'max_tokens: past the context', finishReason: undefined, tokens: 0, usageTokens: undefined })],
    tap: new Map([['a', entry('a')], ['b', entry('b')], ['batch-1', entry('batch-1')]]),
    metricsByOutcome: { completed: 3 },
    gatewayLive: 0,
    schedulerLive: 0,
    driver: { failures: 8, rejoins: 8, reruns: 3 },
    batch: { id: 'b1', status: 'completed', inputIds: ['l0', 'l1'], results: [{ custom_id: 'l0', response: { status_code: 200 } }, { custom_id: 'l1', response: { status_code: 200 } }] },
    workers: [{ tray: 0, baseline: kv(0, 0), settled: kv(0, 12), closed: kv(0, 0) }],
    faults: { killed: true, restarted: true, severed: 2, redisRestarted: true, instancesHit: 8 },
    leftRunning: [],
  };
}

/** The violations after `edit`; exactly one is expected, matching `pattern`. */
function one(edit: (f: SoakFacts) => void, pattern: RegExp): void {
  const f = clean();
  edit(f);
  const v = checkSoak(f);
  assert.equal(v.length, 1, v.join('\n'));
  assert.match(v[0] as string, pattern);
}

describe('checkSoak', () => {
  test('a clean run has no violation (held-session blocks while the gateway is up are not a leak)', () => {
    assert.deepEqual(checkSoak(clean()), []);
  });

  test('client side: no end, two ends, a short stream, usage that disagrees, a silent failure', () => {
    one((f) => void ((f.outcomes[0] as ClientOutcome).outcome = 'open'), /request a .*no end within the bound/);
    one((f) => void ((f.outcomes[0] as ClientOutcome).ends = 2), /2 ends seen by the client/);
    one((f) => void (f.outcomes as ClientOutcome[]).push(ok('a')), /request a: 2 client records/);
    one((f) => Object.assign(f.outcomes[0] as ClientOutcome, { tokens: 3, usageTokens: 3 }), /finish_reason length with 3 of 4 tokens/);
    one((f) => Object.assign(f.outcomes[0] as ClientOutcome, { usageTokens: 5 }), /usage says 5 completion tokens, the client received 4/);
    one((f) => void (f.outcomes[0] as ClientOutcome).problems.push('a second final message'), /a second final message/);
    one((f) => {
      Object.assign(f.outcomes[0] as ClientOutcome, { outcome: 'failed', message: '' });
      (f.tap.get('a') as TapEntry).ends = [finished('error', 'worker failed')];
      f.metricsByOutcome = { completed: 2, error: 1 };
    }, /failed without a message/);
  });

  test('gateway side: started twice, an admitted request that never ended, disagreement with the client', () => {
    one((f) => void ((f.tap.get('a') as TapEntry).starts = 2), /started 2 times at the gateway/);
    one((f) => {
      (f.tap.get('a') as TapEntry).ends = [];
      f.metricsByOutcome = { completed: 2 };
    }, /admitted 1 time\(s\), 0 end\(s\)/);
    one((f) => {
      (f.tap.get('b') as TapEntry).ends = [finished('error', 'worker failed: gone')];
      f.metricsByOutcome = { completed: 2, error: 1 };
    }, /the gateway ended it error \(worker failed: gone\), the client saw completed/);
    one((f) => {
      (f.tap as Map<string, TapEntry>).delete('b');
      f.metricsByOutcome = { completed: 2 };
    }, /request b: the gateway never saw it/);
    one((f) => {
      (f.tap.get('batch-1') as TapEntry).ends = [finished('length'), finished('length')];
      f.metricsByOutcome = { completed: 4 };
    }, /gateway request batch-1: admitted 1 time\(s\), 2 end\(s\)/);
  });

  test('metrics: the counter must match the frontend record, per outcome', () => {
    one((f) => void (f.metricsByOutcome = { completed: 2 }), /nvlsched_requests_total\{outcome="completed"\} = 2, its frontend saw 3/);
  });

  test('batch: a line without a result, a line twice, an unfinished batch', () => {
    one((f) => void (f.batch as NonNullable<SoakFacts['batch']>).results.pop(), /line l1 has 0 results/);
    one((f) => void (f.batch as NonNullable<SoakFacts['batch']>).results.push({ custom_id: 'l1', response: { status_code: 200 } }), /line l1 has 2 results/);
    one((f) => void ((f.batch as NonNullable<SoakFacts['batch']>).status = 'in_progress'), /status in_progress, expected completed/);
  });

  test('KV: live sequences with the gateway idle, blocks left after its streams closed', () => {
    one((f) => void ((f.workers[0] as SoakFacts['workers'][number]).settled = kv(2, 12)), /2 live sequences with the gateway idle/);
    one((f) => void ((f.workers[0] as SoakFacts['workers'][number]).closed = kv(0, 3)), /3 KV blocks used on device gpu 0 after the gateway closed \(baseline 0\)/);
    // Held sessions: the worker holding more than the gateway counts is a leak; fewer (shared prefixes) is not.
    one((f) => void ((f.workers[0] as SoakFacts['workers'][number]).gatewayLedger = { used: 0, retained: 10 }), /holds 12 KV blocks with the gateway idle, the gateway counts 10/);
    const fewer = clean();
    (fewer.workers[0] as SoakFacts['workers'][number]).gatewayLedger = { used: 0, retained: 14 };
    assert.deepEqual(checkSoak(fewer), []);
  });

  test('faults and processes: an instance that never rejoined, a fault that did not happen, a process left', () => {
    one((f) => void (f.driver.rejoins = 7), /8 instance failures but 7 rejoins/);
    one((f) => void (f.faults.severed = 0), /severed no connection/);
    one((f) => void (f.leftRunning = [1234]), /process 1234: still running/);
  });
});

describe('fault schedule and load plan', () => {
  test('the schedule is the seed\'s; faults do not overlap; kill and cut hit different trays; the batch goes in before Redis goes', () => {
    assert.deepEqual(faultSchedule({ seed: 3, workers: 4, durationS: 60 }), faultSchedule({ seed: 3, workers: 4, durationS: 60 }));
    for (let seed = 0; seed < 200; seed++) {
      for (const durationS of [5, 60, 600]) {
        const s = faultSchedule({ seed, workers: 3, durationS });
        assert.notEqual(s.kill.tray, s.cut.tray);
        assert.ok(s.kill.atS + s.kill.downS < s.cut.atS, JSON.stringify(s));
        assert.ok(s.cut.atS + s.cut.downS < s.redis.atS, JSON.stringify(s));
        assert.ok(s.batch.atS < s.redis.atS && s.redis.atS + s.redis.downS < durationS, JSON.stringify(s));
      }
    }
    assert.throws(() => faultSchedule({ seed: 1, workers: 0, durationS: 5 }), /workers: expected an integer ≥ 1/);
  });

  test('the plan is the seed\'s, ids are unique, every kind and API appears, invalid ones ask past the context', () => {
    const o = { seed: 5, durationS: 30, ratePerS: 8, sessions: 3, maxContextTokens: 1000, idPrefix: 'p-' };
    const plan = loadPlan(o);
    assert.deepEqual(plan, loadPlan(o));
    const all = [...plan.open.map((a) => a.request), ...plan.sessions.flatMap((s) => s.turns)];
    assert.equal(new Set(all.map((r) => r.id)).size, all.length);
    for (const kind of ['tool_call', 'reasoning', 'chat', 'terminal', 'cancel', 'invalid']) assert.ok(all.some((r) => r.kind === kind), kind);
    for (const api of ['grpc', 'http', 'http-stream']) assert.ok(all.some((r) => r.api === api), api);
    for (const r of all.filter((x) => x.kind === 'invalid')) assert.ok(r.maxTokens > o.maxContextTokens);
    assert.ok(plan.open.every((a) => a.atS < o.durationS));
    assert.throws(() => loadPlan({ ...o, ratePerS: 0 }), /ratePerS: expected a number > 0/);
  });

  test('worker metrics: live sequences and used blocks per GPU and tier; a scrape without them is an error', () => {
    const text = [
      '# HELP nvlsched_worker_live_sequences x',
      'nvlsched_worker_live_sequences{worker="rack0/tray1"} 3',
      'nvlsched_worker_kv_cache_used_blocks{worker="rack0/tray1",gpu="0",tier="device"} 12',
      'nvlsched_worker_kv_cache_used_blocks{worker="rack0/tray1",gpu="",tier="host"} 4',
      'nvlsched_worker_kv_cache_capacity_blocks{worker="rack0/tray1",gpu="0",tier="device"} 1024',
    ].join('\n');
    assert.deepEqual(parseWorkerKv(text), { liveSequences: 3, used: [{ gpu: '0', tier: 'device', blocks: 12 }, { gpu: '', tier: 'host', blocks: 4 }] });
    assert.throws(() => parseWorkerKv('nvlsched_worker_live_sequences 0'), /no nvlsched_worker_kv_cache_used_blocks/);
  });
});
