// The gateway's hand-off call against two real worker processes (`nvlsched worker` children, trays 0 and 1 of one
// NVL72 domain, KV metadata mode): a prefill on tray 0 moves to a decode instance on tray 1, which then decodes it
// with plain Step plans; refusals come back as plain data with the fallback, and each worker's /metrics shows no
// KV block left in use by a failed hand-off (the leak check the chaos soak uses).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { scrapeWorkerKv, usedBlocks } from '../chaos/worker_kv.js';
import type { WorkerClient } from '../gen/proto/nvlsched/v1/Worker.js';
import { getModel } from '../perf/models.js';
import { connect, StepStream } from '../worker/testing.js';
import { syntheticTokenId } from '../worker/tokens.js';
import { handoffRequest, handOffSequence, type HandoffFailed, type HandoffRoute } from './handoff.js';
import { startLocalWorkers, type LocalWorkers } from './local_workers.js';

const VOCAB = getModel('llama-3.1-70b').vocabSize;

describe('handOffSequence between two worker processes', () => {
  let workers: LocalWorkers;
  let src: WorkerClient;
  let dst: WorkerClient;
  before(async () => {
    workers = await startLocalWorkers({ count: 2, topology: 'gb200-nvl72', model: 'llama-3.1-70b', tensorParallel: 4, kvBlocksPerGpu: 8, blockTokens: 16, seed: 3, metrics: true });
    src = connect(workers.ports[0] as number);
    dst = connect(workers.ports[1] as number);
  });
  after(async () => {
    src.close();
    dst.close();
    await workers.stop();
  });

  const route = (seqId: number, extra: Partial<HandoffRoute> = {}): HandoffRoute => ({
    source: src,
    instanceId: 'rack0/i0',
    seqId,
    destination: { address: `127.0.0.1:${workers.ports[1]}`, instanceId: 'rack0/i1', seqId, gpu: 0 },
    reserveTokens: 16,
    ...extra,
  });
  const kv = async (tray: number) => scrapeWorkerKv(workers.metricsPort(tray));

  test('prefill on tray 0, decode on tray 1: the sequence continues where it was', async () => {
    const prefill = new StepStream(src);
    const r = await prefill.send({ stepId: '1', instanceId: 'rack0/i0', sequences: [{ seqId: 11, gpu: 0, numTokens: 40, isPrefill: true, blockHashes: ['501', '502'] }] });
    assert.equal(r.errorCode, '');
    const out = await handOffSequence(route(11));
    assert.ok(out.ok, JSON.stringify(out));
    assert.deepEqual([out.numTokens, out.numBlocks, out.blocksCopied, out.link, out.sourceFreed, out.dataMode], [40, 3, 3, 'nvlink', true, 'metadata']);
    assert.deepEqual([(await kv(0)).liveSequences, usedBlocks(await kv(0))], [0, 0], 'tray 0 holds nothing');
    assert.deepEqual([(await kv(1)).liveSequences, usedBlocks(await kv(1))], [1, 4], '40 tokens + 16 reserved on tray 1');
    const decode = new StepStream(dst);
    const d = await decode.send({ stepId: '1', instanceId: 'rack0/i1', sequences: [{ seqId: 11, gpu: 0, numTokens: 1, isPrefill: false }] });
    assert.equal(d.errorCode, '', d.errorMessage);
    assert.deepEqual(d.outputs[0]?.tokenIds, [syntheticTokenId(3, 11, 41, VOCAB)]);
    assert.deepEqual(d.kvEvents.filter((e) => e.stored).map((e) => e.stored?.hash), ['501', '502'], 'the gateway\'s KvIndex learns the prefix moved');
    await decode.end();
    await prefill.end();
  });

  test('refusals come back as data with the fallback; no block stays in use on either worker', async () => {
    const prefill = new StepStream(src);
    await prefill.send({ stepId: '1', instanceId: 'rack0/i0', sequences: [{ seqId: 12, gpu: 0, numTokens: 40, isPrefill: true }] });
    // Fill 7 of tray 1 GPU 0's 8 blocks.
    const filler = new StepStream(dst);
    await filler.send({ stepId: '1', instanceId: 'rack0/i1', sequences: [{ seqId: 90, gpu: 0, numTokens: 112, isPrefill: true }] });
    const before = [usedBlocks(await kv(0)), usedBlocks(await kv(1))];
    const full = (await handOffSequence(route(12))) as HandoffFailed;
    assert.deepEqual([full.ok, full.code, full.status, full.fallback], [false, 'E_OUT_OF_BLOCKS', 'RESOURCE_EXHAUSTED', 'keep']);
    const unknown = (await handOffSequence(route(77))) as HandoffFailed;
    assert.deepEqual([unknown.code, unknown.status, unknown.fallback], ['E_UNKNOWN_SEQUENCE', 'NOT_FOUND', 'recompute']);
    const bad = (await handOffSequence(route(12, { layersPerChunk: 0, destination: { address: `127.0.0.1:${workers.ports[1]}`, instanceId: 'rack0/i1', seqId: 12, gpu: 9 } }))) as HandoffFailed;
    assert.equal(bad.code, 'E_INVALID_ARGUMENT');
    assert.match(bad.message, /^destination_gpu: /);
    assert.deepEqual([usedBlocks(await kv(0)), usedBlocks(await kv(1))], before);
    await filler.end();
    // The destination process dies: the source cannot reach it and keeps the sequence.
    await workers.kill(1);
    const gone = (await handOffSequence(route(12, { timeoutMs: 3000 }))) as HandoffFailed;
    assert.deepEqual([gone.code, gone.status, gone.fallback], ['E_PEER_UNAVAILABLE', 'UNAVAILABLE', 'keep']);
    assert.equal(usedBlocks(await kv(0)), before[0], 'tray 0: the sequence as it was, no pins');
    const next = await prefill.send({ stepId: '2', instanceId: 'rack0/i0', sequences: [{ seqId: 12, gpu: 0, numTokens: 1, isPrefill: false }] });
    assert.equal(next.errorCode, '', 'the caller falls back to decoding on the source');
    await prefill.end();
    await workers.restart(1);
  });

  test('handoffRequest: defaults the worker reads (move, layer-wise, chunks fitted, 30 s)', () => {
    const r = handoffRequest(route(1, { reserveTokens: 0 }));
    assert.deepEqual([r.mode, r.layersPerChunk, r.blocksPerChunk, r.maxChunkBytes, r.timeoutS, r.crossDomain], ['move', 1, 0, 0, 30, false]);
  });
});
