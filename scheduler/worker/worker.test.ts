// The worker over real loopback gRPC (server in-process, ports picked at run time): step results, KV events the
// scheduler's KvIndex applies without a gap, snapshots, drain, malformed plans and per-step KV errors.
import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { KvIndex } from '../core/kvindex/index.js';
import type { StepPlan } from '../gen/proto/nvlsched/v1/StepPlan.js';
import type { WorkerClient } from '../gen/proto/nvlsched/v1/Worker.js';
import { getModel } from '../perf/models.js';
import type { WorkerConfig } from './config.js';
import { packSequences } from '../rpc/packed_step.js';
import { connect, eventsFromProto, StepStream, unary } from './testing.js';
import { syntheticTokenId } from './tokens.js';
import { startWorker, type RunningWorker } from './worker.js';

const BLOCK_TOKENS = 16;
const KV_BLOCKS = 8;
const CONFIG: WorkerConfig = { topology: 'gb200-nvl72', tray: 2, model: 'llama-3.1-70b', tensorParallel: 1, kvBlocksPerGpu: KV_BLOCKS, blockTokens: BLOCK_TOKENS, seed: 7 };
const VOCAB = getModel('llama-3.1-70b').vocabSize;

async function withWorker<T>(fn: (client: WorkerClient, w: RunningWorker) => Promise<T>, config: WorkerConfig = CONFIG, pace: 'none' | 'real' = 'none'): Promise<T> {
  const w = await startWorker(config, { port: 0, pace });
  const client = connect(w.port);
  try {
    return await fn(client, w);
  } finally {
    client.close();
    await w.server.close();
  }
}

function prefill(seqId: number, numTokens: number, hashes: string[] = [], gpu = 0): NonNullable<StepPlan['sequences']> {
  return [{ seqId, gpu, numTokens, isPrefill: true, blockHashes: hashes }];
}

function decode(seqId: number, gpu = 0) {
  return { seqId, gpu, numTokens: 1, isPrefill: false };
}

test('steps return durations, tokens at the right positions, and KV events KvIndex applies without a gap', async () => {
  await withWorker(async (client) => {
    const s = new StepStream(client);
    const index = new KvIndex();
    index.registerInstance('i0', 'rack0', [{ workerId: 'w', gpus: [0] }]);
    const r1 = await s.send({ stepId: '1', instanceId: 'i0', sequences: prefill(5, 40, ['101', '102']) });
    assert.equal(r1.stepId, '1');
    assert.equal(r1.errorCode, '');
    assert.ok(r1.durationS > 0, `duration ${r1.durationS}`);
    assert.deepEqual(r1.outputs.map((o) => [o.seqId, o.tokenIds]), [[5, [syntheticTokenId(7, 5, 40, VOCAB)]]]);
    assert.deepEqual(r1.kvEvents.map((e) => [e.eventId, e.kind, e.stored?.hash]), [['1', 'stored', '101'], ['2', 'stored', '102']]);
    assert.equal(r1.kvEvents[1]?.stored?.parentHash, '101');
    let r = index.applyEvents('w', eventsFromProto(r1.kvEvents));
    assert.deepEqual(r, { applied: 2, skipped: 0, resyncNeeded: false });

    // Decodes grow the sequence to 48 tokens: the third block fills and its hash comes with the step that fills it.
    let last = r1;
    for (let step = 2; step <= 8; step++) last = await s.send({ stepId: String(step), instanceId: 'i0', sequences: [decode(5)] });
    assert.deepEqual(last.outputs[0]?.tokenIds, [syntheticTokenId(7, 5, 47, VOCAB)]);
    const r9 = await s.send({ stepId: '9', instanceId: 'i0', sequences: [{ ...decode(5), blockHashes: ['103'] }] });
    assert.equal(r9.errorCode, '');
    assert.deepEqual(r9.kvEvents.map((e) => [e.eventId, e.stored?.hash, e.stored?.parentHash]), [['3', '103', '102']]);
    r = index.applyEvents('w', eventsFromProto(r9.kvEvents));
    assert.equal(r.resyncNeeded, false);
    assert.equal(index.lastEventId('w'), 3);
    assert.equal(index.prefixHit([101n, 102n, 103n, 104n], 'i0').deviceBlocks, 3);
    // A prefill step costs more than a one-token decode of the same sequence.
    assert.ok(r1.durationS > r9.durationS, `${r1.durationS} vs ${r9.durationS}`);
    assert.equal(await s.end(), null);
  });
});

test('the snapshot round-trips into a fresh KvIndex and agrees with the event log', async () => {
  await withWorker(async (client) => {
    const s = new StepStream(client);
    const r1 = await s.send({ stepId: '1', instanceId: 'i0', sequences: [...prefill(1, 32, ['11', '12']), ...prefill(2, 16, ['21'], 3)] });
    assert.equal(r1.kvEvents.length, 3);
    const snap = await unary(client.Snapshot.bind(client), {});
    assert.equal(snap.lastEventId, '3');
    assert.deepEqual(snap.locations.map((l) => [l.location?.tier, l.location?.index, l.hashes]), [
      ['TIER_DEVICE', 0, ['11', '12']],
      ['TIER_DEVICE', 3, ['21']],
    ]);
    const index = new KvIndex();
    index.registerInstance('a', 'rack0', [{ workerId: 'w', gpus: [0] }]);
    index.registerInstance('b', 'rack0', [{ workerId: 'w', gpus: [3] }]);
    const applied = index.applySnapshot('w', {
      lastEventId: Number(snap.lastEventId),
      locations: snap.locations.map((l) => ({ location: { tier: 'device', index: l.location?.index ?? -1 }, hashes: BigUint64Array.from(l.hashes, BigInt) })),
    });
    assert.equal(applied.resyncNeeded, false);
    assert.equal(index.prefixHit([11n, 12n], 'a').deviceBlocks, 2);
    assert.equal(index.prefixHit([21n], 'b').deviceBlocks, 1);
    // Events already covered by the snapshot are skipped, the next ones apply on top.
    assert.equal(index.applyEvents('w', eventsFromProto(r1.kvEvents)).skipped, 3);
    await s.end();
  });
});

test('a KV error is reported for its sequence and step; the other sequences run and the stream goes on', async () => {
  await withWorker(async (client) => {
    const s = new StepStream(client);
    const cases: Array<{ name: string; seq: NonNullable<StepPlan['sequences']>[number]; code: string; field: RegExp }> = [
      { name: 'unknown GPU', seq: { seqId: 9, gpu: 4, numTokens: 8, isPrefill: true }, code: 'E_UNKNOWN_GPU', field: /gpu 4 is not on this tray \(GPUs 0\.\.3\)/ },
      { name: 'pool too small', seq: { seqId: 9, gpu: 1, numTokens: KV_BLOCKS * BLOCK_TOKENS + 1, isPrefill: true }, code: 'E_OUT_OF_BLOCKS', field: /./ },
      { name: 'past the context', seq: { seqId: 9, gpu: 1, numTokens: 1, numCachedTokens: getModel('llama-3.1-70b').maxContextTokens, isPrefill: true }, code: 'E_CONTEXT_TOO_LONG', field: /exceed the model's context/ },
    ];
    let step = 0;
    for (const c of cases) {
      const r = await s.send({ stepId: String(++step), instanceId: 'i0', sequences: [{ seqId: step * 100, gpu: 0, numTokens: 4, isPrefill: true }, c.seq] });
      assert.equal(r.errorCode, c.code, c.name);
      assert.match(r.errorMessage, /^sequences\[1\] \(seq 9\): /, c.name);
      assert.match(r.errorMessage, c.field, c.name);
      assert.deepEqual(r.outputs.map((o) => [o.seqId, o.tokenIds.length, o.errorCode]), [[step * 100, 1, ''], [9, 0, c.code]], c.name);
      assert.ok(r.durationS > 0, c.name);
    }
    // A sequence on another GPU than it started on is refused, not moved.
    const moved = await s.send({ stepId: '10', instanceId: 'i0', sequences: [{ ...decode(100), gpu: 2 }] });
    assert.equal(moved.errorCode, 'E_GPU_MISMATCH');
    assert.equal(moved.durationS, 0);
    // After all that the stream still serves, and finishing frees the KV.
    const ok = await s.send({ stepId: '11', instanceId: 'i0', sequences: [decode(100)], finishedSeqIds: [200, 300, 12345] });
    assert.equal(ok.errorCode, '');
    const health = await unary(client.Health.bind(client), {});
    assert.match(health.detail, /1 running sequences/);
    assert.equal(await s.end(), null);
  });
});

test('malformed plans end the stream with INVALID_ARGUMENT naming the field; the worker keeps serving', async () => {
  const cases: Array<{ plan: StepPlan; field: string }> = [
    { plan: { stepId: '1', sequences: [{ seqId: 1, numTokens: 0, isPrefill: true }] }, field: 'sequences[0].num_tokens' },
    { plan: { stepId: '1', sequences: [{ seqId: 1, numTokens: 5, isPrefill: false }] }, field: 'sequences[0].num_tokens' },
    { plan: { stepId: '1', sequences: [{ seqId: 1, numTokens: 1 }, { seqId: 1, numTokens: 1 }] }, field: 'sequences[1].seq_id' },
    { plan: { stepId: '1', sequences: [{ seqId: 1, numTokens: 20, isPrefill: true, blockHashes: ['1', '2'] }] }, field: 'sequences[0].block_hashes' },
    { plan: { stepId: '1', sequences: [{ seqId: 1, numTokens: 1, reserveTokens: 4_000_000_000 }] }, field: 'sequences[0].reserve_tokens' },
    { plan: { stepId: '1', sequences: [{ seqId: 1, numTokens: 4_000_000_000, isPrefill: true }] }, field: 'sequences[0].num_tokens' },
    { plan: { stepId: '1', holdSessions: [{ seqId: 1, sessionKey: '' }] }, field: 'hold_sessions[0].session_key' },
    { plan: { stepId: '1', holdSessions: [{ seqId: 1, sessionKey: 's' }], sequences: [{ seqId: 1, numTokens: 1 }] }, field: 'hold_sessions[0].seq_id' },
    { plan: { stepId: '1', swapOutSeqIds: [3], swapInSeqIds: [3] }, field: 'swap_in_seq_ids[0]' },
    { plan: { stepId: '1', swapOutSeqIds: [2], sequences: [{ seqId: 2, numTokens: 1 }] }, field: 'swap_out_seq_ids[0]' },
    { plan: { stepId: '1', sessionMoves: [{ sessionKey: 'k'.repeat(300) }] }, field: 'session_moves[0].session_key' },
    { plan: { stepId: '1', releaseSessions: [''] }, field: 'release_sessions[0]' },
    { plan: { stepId: '1', packedSequences: Buffer.from([1, 0, 0, 0, 9, 0, 0, 0]) }, field: 'packed_sequences' },
    { plan: { stepId: '1', packedSequences: packSequences([{ seqId: 1, gpu: 0, numTokens: 0, isPrefill: true, blockHashes: [], reserveTokens: 0, numCachedTokens: 0 }]) }, field: 'sequences[0].num_tokens' },
  ];
  await withWorker(async (client) => {
    for (const c of cases) {
      const s = new StepStream(client);
      const err = await s.sendBad(c.plan);
      assert.equal(err?.code, grpc.status.INVALID_ARGUMENT, c.field);
      assert.ok(err?.details.includes(c.field), `${c.field} not in: ${err?.details}`);
    }
    const bad = await unary(client.Drain.bind(client), { deadlineS: -1 }).catch((e: grpc.ServiceError) => e);
    assert.equal((bad as grpc.ServiceError).code, grpc.status.INVALID_ARGUMENT);
    assert.match((bad as grpc.ServiceError).details, /deadline_s/);
    const s = new StepStream(client);
    const r = await s.send({ stepId: '2', sequences: prefill(1, 4) });
    assert.equal(r.errorCode, '');
    assert.equal((await unary(client.Health.bind(client), {})).status, 'STATUS_SERVING');
    await s.end();
  });
});

describe('drain', () => {
  let w: RunningWorker;
  let client: WorkerClient;
  before(async () => {
    w = await startWorker(CONFIG, { port: 0 });
    client = connect(w.port);
  });
  after(async () => {
    client.close();
    await w.server.close();
  });

  test('refuses new sequences with E_DRAINING, keeps running ones, and returns when they finish', async () => {
    const s = new StepStream(client);
    await s.send({ stepId: '1', instanceId: 'i0', sequences: [...prefill(1, 8), ...prefill(2, 8, [], 1)] });
    assert.deepEqual(await unary(client.Drain.bind(client), { deadlineS: 0 }), { runningSequences: 2 });
    const health = await unary(client.Health.bind(client), {});
    assert.equal(health.status, 'STATUS_DRAINING');
    let drained = false;
    const waiting = unary(client.Drain.bind(client), { deadlineS: 30 }).then((res) => {
      drained = true;
      return res;
    });
    const r = await s.send({ stepId: '2', instanceId: 'i0', sequences: [decode(1), ...prefill(3, 8)], finishedSeqIds: [2] });
    assert.deepEqual(r.outputs.map((o) => [o.seqId, o.tokenIds.length, o.errorCode]), [[1, 1, ''], [3, 0, 'E_DRAINING']]);
    assert.equal(r.errorCode, 'E_DRAINING');
    assert.equal(drained, false);
    await s.send({ stepId: '3', instanceId: 'i0', sequences: [], finishedSeqIds: [1] });
    assert.deepEqual(await waiting, { runningSequences: 0 });
    await s.end();
  });
});

test('a step stream that ends frees the sequences of its instances', async () => {
  await withWorker(async (client) => {
    const s = new StepStream(client);
    await s.send({ stepId: '1', instanceId: 'i0', sequences: [...prefill(1, 8), ...prefill(2, 8)] });
    assert.match((await unary(client.Health.bind(client), {})).detail, /2 running sequences/);
    await s.end();
    assert.deepEqual(await unary(client.Drain.bind(client), { deadlineS: 0 }), { runningSequences: 0 });
  });
});

test('tokens are deterministic per seed, seq id and position', async () => {
  const plans: StepPlan[] = [
    { stepId: '1', instanceId: 'i0', sequences: [...prefill(1, 20), ...prefill(2, 3, [], 1)] },
    { stepId: '2', instanceId: 'i0', sequences: [decode(1), decode(2, 1)] },
  ];
  const run = (seed: number) => withWorker(async (client) => {
    const s = new StepStream(client);
    const out: number[][] = [];
    for (const p of plans) out.push(...(await s.send(p)).outputs.map((o) => o.tokenIds));
    await s.end();
    return out;
  }, { ...CONFIG, seed });
  const a = await run(7);
  assert.deepEqual(a, [[syntheticTokenId(7, 1, 20, VOCAB)], [syntheticTokenId(7, 2, 3, VOCAB)], [syntheticTokenId(7, 1, 21, VOCAB)], [syntheticTokenId(7, 2, 4, VOCAB)]]);
  assert.deepEqual(await run(7), a);
  assert.notDeepEqual(await run(8), a);
  assert.ok(a.flat().every((t) => t >= 0 && t < VOCAB));
});

test('pace real answers no earlier than the step duration', async () => {
  await withWorker(async (client) => {
    const s = new StepStream(client);
    const t0 = performance.now();
    const r = await s.send({ stepId: '1', instanceId: 'i0', sequences: prefill(1, 64) });
    const elapsedMs = performance.now() - t0;
    assert.ok(r.durationS > 0);
    assert.ok(elapsedMs >= r.durationS * 1000 - 2, `${elapsedMs} ms < ${r.durationS * 1000} ms`);
    await s.end();
  }, CONFIG, 'real');
});
