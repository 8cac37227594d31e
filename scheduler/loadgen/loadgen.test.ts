// The load generator against a real gateway and in-process worker over loopback gRPC (startRig, ports picked at run
// time): every request sent is accounted for, closed-loop turns wait for their predecessor, rejections carry the
// scheduler's code, the duration and drain limits and the per-request deadline bound the run, and the report
// built from the records is the simulator's report marked live.
import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { SMALL, startRig, type Rig } from '../gateway/testing.js';
import { loadGatewayProto } from '../rpc/proto.js';
import { runLoad, type LoadOptions, type TargetInfo } from './loadgen.js';
import { buildLiveReport, liveTable } from './report.js';
import { closedWorkload, openWorkload, startPacedRig, workloadRequest } from './testing.js';

const BT = SMALL.blockTokens;

describe('runLoad against a gateway with one in-process worker', () => {
  let rig: Rig;
  let target: TargetInfo;
  const base = (): Pick<LoadOptions, 'client' | 'target'> => ({ client: rig.client, target });
  before(async () => {
    rig = await startRig(1);
    target = { policy: rig.gateway.sched.policyName, cluster: SMALL.cluster, model: SMALL.model, gpus: 4 };
  });
  after(async () => rig.close());

  test('open loop: every request completes with the trace\'s output length, sent no earlier than its arrival', async () => {
    const requests = Array.from({ length: 12 }, (_, i) => workloadRequest(`r${i}`, { arrivalS: i * 0.04, promptTokens: 40 + 23 * i, outputTokens: 3 + i, blockTokens: BT }));
    requests[3]?.req && Object.assign(requests[3].req, { hasTools: true, hasToolResults: true });
    const res = await runLoad({ ...base(), workload: openWorkload(requests), durationS: 5, drainS: 5 });
    assert.equal(res.stats.sent, 12);
    assert.equal(res.records.length, 12);
    assert.equal(res.stats.completed, 12);
    for (const r of res.records) {
      const i = Number(r.record.requestId.slice(1));
      assert.equal(r.outcome, 'completed');
      assert.equal(r.record.outputTokens, 3 + i, r.record.requestId);
      assert.equal(r.serverOutputTokens, 3 + i);
      assert.equal(r.finishReason, 'length');
      assert.ok(r.record.arrivalS >= r.plannedS - 0.002, `${r.record.requestId} sent at ${r.record.arrivalS} before ${r.plannedS}`);
      assert.ok(r.record.firstTokenS !== undefined && r.record.firstTokenS >= r.record.arrivalS && r.record.endS >= r.record.firstTokenS);
      assert.ok(r.server && r.server.e2eS > 0);
    }
    assert.equal(res.run.records.length, 12);
    assert.ok(res.stats.wallS < 5, `wall ${res.stats.wallS}`);
  });

  test('closed loop: a session\'s turn k+1 is sent its think time after turn k ended', async () => {
    const thinkTimeS = 0.05;
    const res = await runLoad({ ...base(), workload: closedWorkload({ sessions: 3, turns: 4, thinkTimeS, blockTokens: BT }), durationS: 10, drainS: 5, reuseSessions: false });
    assert.equal(res.stats.sent, 12);
    assert.equal(res.stats.completed, 12);
    const bySession = new Map<string, typeof res.records>();
    for (const r of res.records) {
      const list = bySession.get(r.record.sessionId as string) ?? [];
      list.push(r);
      bySession.set(r.record.sessionId as string, list);
    }
    assert.deepEqual([...bySession.keys()].sort(), ['sess0', 'sess1', 'sess2']);
    for (const [sid, list] of bySession) {
      list.sort((a, b) => a.record.arrivalS - b.record.arrivalS);
      assert.deepEqual(list.map((r) => r.record.requestId), [0, 1, 2, 3].map((k) => `${sid}#${k}`));
      for (let k = 1; k < list.length; k++) {
        const prev = list[k - 1]?.record;
        const cur = list[k]?.record;
        assert.ok(prev && cur && cur.arrivalS >= prev.endS + thinkTimeS - 0.002, `${sid} turn ${k} sent at ${cur?.arrivalS}, previous ended ${prev?.endS}`);
      }
    }
    // Later turns extend the first's chain: the gateway serves part of each from its prefix cache.
    assert.ok(res.records.some((r) => r.record.cachedTokens.device > 0), 'a later turn hit the prefix cache');
  });

  test('rejections carry their code; the report counts them by code', async () => {
    const requests = [
      workloadRequest('ok', { promptTokens: 50, outputTokens: 2, blockTokens: BT }),
      // More KV than a worker of the rig holds (256 blocks of 16 tokens per GPU): the scheduler refuses it.
      workloadRequest('too-big-for-kv', { arrivalS: 0.01, promptTokens: 6000, outputTokens: 2, blockTokens: BT }),
      // Past the model's context: the gateway's validation refuses it (INVALID_ARGUMENT, no scheduler code).
      workloadRequest('past-context', { arrivalS: 0.02, promptTokens: 140_000, outputTokens: 2, blockTokens: BT }),
    ];
    const res = await runLoad({ ...base(), workload: openWorkload(requests), durationS: 5, drainS: 5 });
    const byId = new Map(res.records.map((r) => [r.record.requestId, r]));
    assert.equal(byId.get('ok')?.outcome, 'completed');
    const kv = byId.get('too-big-for-kv');
    assert.equal(kv?.outcome, 'rejected');
    assert.equal(kv?.record.end.kind, 'rejected');
    assert.match(kv?.record.end.kind === 'rejected' ? kv.record.end.code : '', /^E_[A-Z_]+$/);
    assert.notEqual(kv?.record.end.kind === 'rejected' ? kv.record.end.code : '', 'E_INVALID_ARGUMENT');
    const ctx = byId.get('past-context');
    assert.equal(ctx?.outcome, 'rejected');
    assert.equal(ctx?.record.end.kind === 'rejected' ? ctx.record.end.code : '', 'E_INVALID_ARGUMENT');
    assert.match(ctx?.record.end.kind === 'rejected' ? ctx.record.end.reason : '', /^prompt_token_ids: /);
    const report = buildLiveReport(res, { target: 'rig', workload: openWorkload(requests) });
    assert.equal(report.mode, 'live');
    assert.equal(report.overall.requests, 3);
    assert.equal(report.overall.rejected, 2);
    assert.equal(report.live.rejected, 2);
    assert.equal(Object.values(report.overall.rejections_by_code).reduce((a, b) => a + b, 0), 2);
    assert.match(liveTable(report), /live at rig: 3 requests sent/);
  });

  test('a closed channel: every request is still recorded, as failed with the reason', async () => {
    const client = new (loadGatewayProto().nvlsched.v1.Gateway)(`127.0.0.1:${rig.gateway.port}`, grpc.credentials.createInsecure());
    client.close();
    const requests = [0, 1].map((i) => workloadRequest(`x${i}`, { arrivalS: i * 0.01, promptTokens: 20, outputTokens: 2, blockTokens: BT }));
    const res = await runLoad({ client, target, workload: openWorkload(requests), durationS: 1, drainS: 1 });
    assert.equal(res.records.length, 2);
    assert.equal(res.stats.failed, 2);
    for (const r of res.records) assert.match(r.record.end.kind === 'cancelled' ? r.record.end.reason : '', /^failed: /);
  });

  test('closed loop with session reuse keeps starting sessions until durationS, then stops', async () => {
    const res = await runLoad({ ...base(), workload: closedWorkload({ sessions: 1, turns: 2, thinkTimeS: 0.01, blockTokens: BT }), durationS: 0.4, drainS: 5 });
    assert.ok(res.stats.sent > 2, `sent ${res.stats.sent}: the one script was reused`);
    assert.equal(res.records.length, res.stats.sent);
    assert.ok(res.records.every((r) => r.record.arrivalS <= 0.4 + 0.05), 'no turn sent after durationS');
    assert.ok(new Set(res.records.map((r) => r.record.sessionId)).size > 1, 'reused sessions get their own ids');
  });
});

describe('runLoad limits, against a worker that paces its steps', () => {
  let rig: Awaited<ReturnType<typeof startPacedRig>>;
  const base = (): Pick<LoadOptions, 'client' | 'target'> => ({ client: rig.client, target: { policy: 'shape-aware', cluster: SMALL.cluster, model: SMALL.model, gpus: 4 } });
  before(async () => {
    rig = await startPacedRig();
  });
  after(async () => rig.close());

  test('bounded: nothing is sent after durationS, what is live at the drain limit is cancelled, the gateway is left idle', async () => {
    const requests = [
      // ~2,000 decode steps of the modelled time each: far longer than the 0.7 s the run allows.
      workloadRequest('long', { promptTokens: 40, outputTokens: 2000, blockTokens: BT }),
      workloadRequest('short', { arrivalS: 0.05, promptTokens: 40, outputTokens: 3, blockTokens: BT }),
      workloadRequest('too-late', { arrivalS: 30, promptTokens: 40, outputTokens: 3, blockTokens: BT }),
    ];
    const res = await runLoad({ ...base(), workload: openWorkload(requests), durationS: 0.3, drainS: 0.4 });
    assert.equal(res.stats.sent, 2, 'the arrival past durationS is never sent');
    const byId = new Map(res.records.map((r) => [r.record.requestId, r]));
    assert.equal(byId.get('short')?.outcome, 'completed');
    const long = byId.get('long');
    assert.equal(long?.outcome, 'cancelled');
    assert.deepEqual(long?.record.end, { kind: 'cancelled', reason: 'drain limit reached' });
    assert.ok((long?.record.outputTokens ?? 0) > 0, 'it streamed before the cancel');
    assert.equal(res.stats.drainCancelled, 1);
    assert.ok(res.stats.wallS >= 0.7 && res.stats.wallS < 10, `wall ${res.stats.wallS}`);
    await rig.gateway.driver.idle();
    assert.equal(rig.gateway.sched.stats().live, 0);
  });

  test('a request past its deadline is recorded as failed with DEADLINE_EXCEEDED, and the run ends', async () => {
    const requests = [workloadRequest('slow', { promptTokens: 40, outputTokens: 2000, blockTokens: BT })];
    const res = await runLoad({ ...base(), workload: openWorkload(requests), durationS: 1, drainS: 20, requestTimeoutS: 0.3 });
    assert.equal(res.records.length, 1);
    const r = res.records[0];
    assert.equal(r?.outcome, 'failed');
    assert.equal(r?.grpcStatus, 'DEADLINE_EXCEEDED');
    assert.equal(r?.record.end.kind, 'cancelled');
    assert.match(r?.record.end.kind === 'cancelled' ? r.record.end.reason : '', /^failed: DEADLINE_EXCEEDED: no end within the 0.3 s request timeout/);
    assert.ok(res.stats.wallS < 10, `wall ${res.stats.wallS}`);
    const report = buildLiveReport(res, { target: 'rig', workload: openWorkload(requests) });
    assert.deepEqual(report.live.failures_by_status, { DEADLINE_EXCEEDED: 1 });
  });

  test('bad options are refused naming the field', () => {
    const w = openWorkload([]);
    assert.throws(() => runLoad({ ...base(), workload: w, durationS: 0 }), /^RangeError: durationS: expected a number > 0, got 0/);
    assert.throws(() => runLoad({ ...base(), workload: w, durationS: 1, sessions: 2 }), /sessions: only for closed-loop/);
    assert.throws(() => runLoad({ ...base(), workload: w, durationS: 1, drainS: -1 }), /drainS: expected a number ≥ 0/);
  });
});
