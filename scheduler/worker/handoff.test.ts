// The KV hand-off between two workers over real loopback gRPC (two in-process worker servers, ports picked at run
// time): the source worker (prefill instance p0) streams a sequence's KV to the destination (decode instance d0),
// which then decodes it with plain Step plans. Byte-exact in real-bytes mode, metadata mode with a cached prefix,
// all-or-nothing refusal for capacity, a stream cut mid-transfer, timeouts on either side, the domain rule and bad
// arguments — each failure leaves no block reserved or pinned on either side and the source sequence as it was.
import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import type { HandoffAck__Output } from '../gen/proto/nvlsched/v1/HandoffAck.js';
import type { HandoffSegment } from '../gen/proto/nvlsched/v1/HandoffSegment.js';
import type { WorkerClient } from '../gen/proto/nvlsched/v1/Worker.js';
import { getModel } from '../perf/models.js';
import { loadWorkerProto } from '../rpc/proto.js';
import { handoffSend, kvHeld, pattern, startCuttingProxy, startLoggedWorker, type LoggedWorker } from './handoff_testing.js';
import { openFromPlan } from './handoff_wire.js';
import { connect, StepStream } from './testing.js';
import { syntheticTokenId } from './tokens.js';

const VOCAB = getModel('llama-3.1-70b').vocabSize;
const hashes = (n: number, base = 1000): string[] => Array.from({ length: n }, (_, i) => String(base + i));

function codeOf(err: unknown): { status: number; code: string; details: string } {
  const e = err as grpc.ServiceError;
  return { status: e.code, code: String(e.metadata?.get('nvlsched-error-code')[0] ?? ''), details: e.details };
}

async function rejected(p: Promise<unknown>): Promise<{ status: number; code: string; details: string }> {
  try {
    await p;
  } catch (error) {
    return codeOf(error);
  }
  throw new Error('expected the call to fail');
}

/** Prefills `tokens` tokens of seqId on the source's instance p0 (GPU 0). */
async function prefill(step: StepStream, seqId: number, tokens: number, blockHashes: string[] = [], instanceId = 'p0') {
  const r = await step.send({ stepId: String(seqId), instanceId, sequences: [{ seqId, gpu: 0, numTokens: tokens, isPrefill: true, blockHashes }] });
  assert.equal(r.errorCode, '', r.errorMessage);
  return r;
}

describe('KV hand-off between two workers, real bytes', () => {
  let src: LoggedWorker;
  let dst: LoggedWorker;
  let srcClient: WorkerClient;
  let dstClient: WorkerClient;
  // llama-3.1-70b KV bytes per token on one GPU at TP4 (fp8 KV: 80 layers x 8 heads x 128 x 2 (K, V) / 4 = 40,960).
  let BPT = 0;
  before(async () => {
    src = await startLoggedWorker({ kvData: 'bytes', tray: 0 });
    dst = await startLoggedWorker({ kvData: 'bytes', tray: 1 });
    BPT = src.w.backend.kv.bytesPerToken;
    assert.equal(BPT, 40_960);
    srcClient = connect(src.w.port);
    dstClient = connect(dst.w.port);
  });
  after(async () => {
    srcClient.close();
    dstClient.close();
    await src.close();
    await dst.close();
  });

  test('layer-wise, one block per chunk: the decode worker reads the same bytes and continues the sequence', async () => {
    const step = new StepStream(srcClient);
    await prefill(step, 5, 40);
    const data = pattern(40 * BPT, 5);
    src.w.backend.writeKv('p0', 5, 0, data);
    const r = await handoffSend(srcClient, { instanceId: 'p0', seqId: 5, destinationAddress: `127.0.0.1:${dst.w.port}`, destinationInstanceId: 'd0', destinationSeqId: 5, destinationGpu: 2, blocksPerChunk: 1, reserveTokens: 16 });
    assert.deepEqual([r.numTokens, r.numBlocks, r.cachedBlocks, r.blocksCopied, r.numChunks, r.chunksSent], [40, 3, 0, 3, 240, 240]);
    assert.equal(Number(r.bytesSent), 40 * BPT);
    assert.deepEqual([r.link, r.dataMode, r.sourceFreed, r.readyLayers, r.destinationSeqId], ['nvlink', 'bytes', true, 80, 5]);
    assert.ok(r.firstLayerMs > 0 && r.firstLayerMs <= r.elapsedMs, `first layer ${r.firstLayerMs} ms of ${r.elapsedMs} ms`);
    assert.ok(r.estimatedS > 0);
    assert.deepEqual(dst.w.backend.readKv('d0', 5, 0, 40), data, 'byte-exact on the destination');
    assert.equal(src.w.backend.sequence('p0', 5), undefined, 'move: the source dropped it');
    assert.deepEqual(kvHeld(src.w), { used: [0, 0, 0, 0, 0, 0], pinned: [0, 0, 0, 0, 0, 0], sequences: 0, handoffs: 0, heldBlocks: 0 });
    // 40 tokens + 16 reserved = 4 blocks on GPU 2; nothing else held (pools: 4 GPUs, Grace, disk).
    assert.deepEqual(kvHeld(dst.w), { used: [0, 0, 4, 0, 0, 0], pinned: [0, 0, 0, 0, 0, 0], sequences: 1, handoffs: 0, heldBlocks: 0 });
    // The decode instance's Step plans now treat seq 5 as a running 40-token sequence (append, not allocate).
    const decode = new StepStream(dstClient);
    const d = await decode.send({ stepId: '1', instanceId: 'd0', sequences: [{ seqId: 5, gpu: 2, numTokens: 1, isPrefill: false }] });
    assert.equal(d.errorCode, '', d.errorMessage);
    assert.deepEqual(d.outputs.map((o) => o.tokenIds), [[syntheticTokenId(7, 5, 41, VOCAB)]]);
    assert.ok(d.kvEvents.some((e) => e.moved?.seqId === 5 && Number(e.moved.bytes) === 40 * BPT), 'the commit\'s moved event names the gateway\'s id');
    await decode.end();
    assert.deepEqual(kvHeld(dst.w).sequences, 0, 'the decode stream ended: the adopted sequence is freed like any other');
    await step.end();
  });

  test('copy mode with the chunk size picked from max_chunk_bytes keeps the source sequence', async () => {
    const step = new StepStream(srcClient);
    await prefill(step, 6, 33);
    const data = pattern(33 * BPT, 6);
    src.w.backend.writeKv('p0', 6, 0, data);
    // One layer of a 16-token block is 8 KiB; 20,000 bytes fit 2 blocks.
    const r = await handoffSend(srcClient, { instanceId: 'p0', seqId: 6, destinationAddress: `127.0.0.1:${dst.w.port}`, destinationInstanceId: 'd1', destinationSeqId: 60, destinationGpu: 1, mode: 'copy', maxChunkBytes: 20_000 });
    assert.deepEqual([r.numBlocks, r.numChunks, r.sourceFreed, r.destinationSeqId], [3, 160, false, 60]);
    assert.deepEqual(dst.w.backend.readKv('d1', 60, 0, 33), data);
    assert.deepEqual(src.w.backend.readKv('p0', 6, 0, 33), data, 'copy: the source still has it');
    assert.equal(kvHeld(src.w).heldBlocks, 0);
    await step.end();
    const cleanup = new StepStream(dstClient);
    await cleanup.send({ stepId: '1', instanceId: 'd1', sequences: [], finishedSeqIds: [60] });
    await cleanup.end();
  });

  test('a stream cut mid-transfer: both sides abort, nothing leaks, the source sequence is intact', async () => {
    const step = new StepStream(srcClient);
    await prefill(step, 7, 48);
    const data = pattern(48 * BPT, 7);
    src.w.backend.writeKv('p0', 7, 0, data);
    const before = { src: kvHeld(src.w), dst: kvHeld(dst.w) };
    const importedBefore = dst.w.backend.kv.handoffStats().bytesImported;
    // 48 tokens x 40 KiB = 1.97 MB to send; cut after 0.5 MB reached the destination's side.
    const proxy = await startCuttingProxy(dst.w.port, 500_000);
    try {
      const aborted = dst.waitLog(/hand-off into d2\/7 aborted/);
      const e = await rejected(handoffSend(srcClient, { instanceId: 'p0', seqId: 7, destinationAddress: `127.0.0.1:${proxy.port}`, destinationInstanceId: 'd2', destinationSeqId: 7, destinationGpu: 1, blocksPerChunk: 1 }));
      await proxy.cut;
      assert.equal(e.status, grpc.status.UNAVAILABLE, e.details);
      assert.equal(e.code, 'E_PEER_UNAVAILABLE');
      await aborted;
      const imported = dst.w.backend.kv.handoffStats().bytesImported - importedBefore;
      assert.ok(imported > 0 && imported < 48 * BPT, `the cut came mid-transfer: ${imported} of ${48 * BPT} bytes imported`);
      assert.deepEqual(kvHeld(src.w), before.src, 'source: no pins left, the sequence as it was');
      assert.deepEqual(kvHeld(dst.w), before.dst, 'destination: the reserved blocks are back');
      assert.deepEqual(src.w.backend.readKv('p0', 7, 0, 48), data);
      // The caller's fallback: the source keeps running it (or the decode side recomputes).
      const next = await step.send({ stepId: '8', instanceId: 'p0', sequences: [{ seqId: 7, gpu: 0, numTokens: 1, isPrefill: false }] });
      assert.equal(next.errorCode, '');
    } finally {
      await proxy.close();
      await step.end();
    }
  });

  test('a torn chunk (checksum mismatch) ends the stream with INVALID_ARGUMENT and releases the ticket', async () => {
    const kv = src.w.backend.kv;
    const { seqId } = kv.allocate({ gpu: 0, numTokens: 20 });
    const plan = kv.handoffBegin(seqId, { destinationGpu: 1 });
    const call = dstClient.HandoffReceive();
    const acks: HandoffAck__Output[] = [];
    call.on('data', (a: HandoffAck__Output) => acks.push(a));
    const ended = new Promise<grpc.ServiceError>((resolve) => call.on('error', resolve));
    const opts = { instanceId: 'x', seqId: 0, address: '', destinationInstanceId: 'd3', destinationSeqId: 1, destinationGpu: 3, mode: 'move' as const, blocksPerChunk: 0, layersPerChunk: 1, crossDomain: false, reserveTokens: 0, timeoutS: 10, maxChunkBytes: 0 };
    call.write({ open: openFromPlan(plan, opts, { domainId: 'rack0', tray: 0 }) } satisfies HandoffSegment);
    const chunk = kv.handoffExport(plan.handoffId, 0);
    const torn = Buffer.from(chunk.data as Uint8Array);
    torn[100] = (torn[100] as number) ^ 0xff;
    call.write({ chunk: { chunkIndex: 0, data: torn, checksum: String(chunk.checksum) } });
    const e = codeOf(await ended);
    assert.equal(e.status, grpc.status.INVALID_ARGUMENT);
    assert.match(e.details, /^E_INVALID_ARGUMENT: .*checksum/);
    assert.equal(acks[0]?.ticket?.neededChunks, 80);
    assert.deepEqual(kvHeld(dst.w).heldBlocks, 0);
    kv.handoffAbort(plan.handoffId);
    kv.free(seqId);
  });
});

describe('KV hand-off between two workers, metadata mode', () => {
  let src: LoggedWorker;
  let dst: LoggedWorker;
  let srcClient: WorkerClient;
  let dstClient: WorkerClient;
  before(async () => {
    src = await startLoggedWorker({ tray: 0 });
    dst = await startLoggedWorker({ tray: 1 });
    srcClient = connect(src.w.port);
    dstClient = connect(dst.w.port);
  });
  after(async () => {
    srcClient.close();
    dstClient.close();
    await src.close();
    await dst.close();
  });
  const to = (seqId: number, extra: Record<string, unknown> = {}) => ({ instanceId: 'p0', seqId, destinationAddress: `127.0.0.1:${dst.w.port}`, destinationInstanceId: 'd0', destinationSeqId: seqId, destinationGpu: 0, ...extra });

  test('no bytes travel; hashes registered at commit; a second hand-off of the same prefix sends only the rest', async () => {
    const step = new StepStream(srcClient);
    await prefill(step, 1, 40, hashes(2));
    const r1 = await handoffSend(srcClient, to(1, { layersPerChunk: 80 }));
    assert.deepEqual([r1.dataMode, Number(r1.bytesSent), r1.numChunks, r1.chunksSent, r1.cachedBlocks], ['metadata', 0, 1, 1, 0]);
    await prefill(step, 2, 40, hashes(2));
    const r2 = await handoffSend(srcClient, to(2, { blocksPerChunk: 1, layersPerChunk: 80 }));
    assert.deepEqual([r2.cachedBlocks, r2.numChunks, r2.chunksSent, r2.blocksCopied], [2, 3, 1, 1], 'two blocks shared with seq 1 on GPU 0');
    const decode = new StepStream(dstClient);
    const d = await decode.send({ stepId: '1', instanceId: 'd0', sequences: [{ seqId: 1, gpu: 0, numTokens: 1, isPrefill: false }, { seqId: 2, gpu: 0, numTokens: 1, isPrefill: false }] });
    assert.equal(d.errorCode, '', d.errorMessage);
    assert.deepEqual(d.kvEvents.filter((e) => e.stored).map((e) => e.stored?.hash), hashes(2));
    await decode.end();
    await step.end();
    assert.deepEqual(kvHeld(src.w).heldBlocks + kvHeld(dst.w).heldBlocks, 0);
  });

  test('no room on the destination: RESOURCE_EXHAUSTED E_OUT_OF_BLOCKS, all or nothing, the source keeps it', async () => {
    // Fill 6 of the destination GPU 0's 8 blocks; the hand-off needs 3.
    const filler = new StepStream(dstClient);
    await prefill(filler, 90, 96, [], 'd9');
    const step = new StepStream(srcClient);
    await prefill(step, 3, 40);
    const before = { src: kvHeld(src.w), dst: kvHeld(dst.w) };
    const e = await rejected(handoffSend(srcClient, to(3)));
    assert.equal(e.status, grpc.status.RESOURCE_EXHAUSTED, e.details);
    assert.equal(e.code, 'E_OUT_OF_BLOCKS');
    assert.match(e.details, /^E_OUT_OF_BLOCKS: destination 127\.0\.0\.1:\d+: /);
    assert.deepEqual(kvHeld(src.w), before.src);
    assert.deepEqual(kvHeld(dst.w), before.dst);
    assert.notEqual(src.w.backend.sequence('p0', 3), undefined);
    await filler.end();
    await step.end();
  });

  test('bad arguments: INVALID_ARGUMENT (or NOT_FOUND) naming the field; nothing pinned', async () => {
    const step = new StepStream(srcClient);
    await prefill(step, 4, 20);
    const cases: Array<[Record<string, unknown>, number, RegExp]> = [
      [{ destinationAddress: '' }, grpc.status.INVALID_ARGUMENT, /destination_address: /],
      [{ destinationAddress: 'not an address' }, grpc.status.INVALID_ARGUMENT, /destination_address: /],
      [{ destinationInstanceId: '' }, grpc.status.INVALID_ARGUMENT, /destination_instance_id: /],
      [{ destinationGpu: 4 }, grpc.status.INVALID_ARGUMENT, /destination_gpu: .*\[0, 3\]/],
      [{ mode: 'teleport' }, grpc.status.INVALID_ARGUMENT, /mode: expected move or copy/],
      [{ timeoutS: -1 }, grpc.status.INVALID_ARGUMENT, /timeout_s: /],
      [{ layersPerChunk: 81 }, grpc.status.INVALID_ARGUMENT, /layers_per_chunk: expected 1\.\.80/],
      [{ maxChunkBytes: 64 * 1024 * 1024 }, grpc.status.INVALID_ARGUMENT, /max_chunk_bytes: /],
      [{ instanceId: '' }, grpc.status.INVALID_ARGUMENT, /instance_id: /],
      [{ seqId: 999 }, grpc.status.NOT_FOUND, /^E_UNKNOWN_SEQUENCE: seq_id: instance p0 runs no sequence 999/],
    ];
    for (const [extra, status, re] of cases) {
      const e = await rejected(handoffSend(srcClient, to(4, extra)));
      assert.equal(e.status, status, `${JSON.stringify(extra)}: ${e.details}`);
      assert.match(e.details, re);
    }
    assert.equal(kvHeld(src.w).heldBlocks, 0);
    // An unreachable destination (nothing listens on the port) is UNAVAILABLE; the pins are released.
    const closed = await startCuttingProxy(1, 0);
    const deadPort = closed.port;
    await closed.close();
    const e = await rejected(handoffSend(srcClient, to(4, { destinationAddress: `127.0.0.1:${deadPort}`, timeoutS: 5 })));
    assert.equal(e.code, 'E_PEER_UNAVAILABLE', e.details);
    assert.equal(kvHeld(src.w).heldBlocks, 0);
    await step.end();
  });

  test('the destination aborts a hand-off whose commit never comes (open.timeout_s)', async () => {
    const kv = src.w.backend.kv;
    const { seqId } = kv.allocate({ gpu: 0, numTokens: 20 });
    const plan = kv.handoffBegin(seqId, { destinationGpu: 1 });
    const call = dstClient.HandoffReceive();
    const ticket = new Promise<HandoffAck__Output>((resolve) => call.once('data', resolve));
    const ended = new Promise<grpc.ServiceError>((resolve) => call.on('error', resolve));
    const opts = { instanceId: 'x', seqId: 0, address: '', destinationInstanceId: 'd4', destinationSeqId: 1, destinationGpu: 1, mode: 'move' as const, blocksPerChunk: 0, layersPerChunk: 1, crossDomain: false, reserveTokens: 0, timeoutS: 0.2, maxChunkBytes: 0 };
    call.write({ open: openFromPlan(plan, opts, { domainId: 'rack0', tray: 0 }) });
    assert.equal((await ticket).ticket?.neededChunks, 80);
    assert.equal(kvHeld(dst.w).heldBlocks, 2, 'reserved while waiting');
    const e = codeOf(await ended);
    assert.equal(e.status, grpc.status.DEADLINE_EXCEEDED);
    assert.match(e.details, /^E_TIMEOUT: no commit within open\.timeout_s = 0\.2 s/);
    assert.equal(kvHeld(dst.w).heldBlocks, 0);
    kv.handoffAbort(plan.handoffId);
    kv.free(seqId);
  });

  test('junk on HandoffReceive: a coded error naming what is wrong, nothing reserved', async () => {
    const kv = src.w.backend.kv;
    const { seqId } = kv.allocate({ gpu: 0, numTokens: 20 });
    const plan = kv.handoffBegin(seqId, { destinationGpu: 1 });
    const opts = { instanceId: 'x', seqId: 0, address: '', destinationInstanceId: 'd5', destinationSeqId: 1, destinationGpu: 1, mode: 'move' as const, blocksPerChunk: 0, layersPerChunk: 1, crossDomain: false, reserveTokens: 0, timeoutS: 5, maxChunkBytes: 0 };
    const good = openFromPlan(plan, opts, { domainId: 'rack0', tray: 0 });
    const streams: Array<[string, HandoffSegment[], number, RegExp]> = [
      ['chunk before open', [{ chunk: { chunkIndex: 0 } }], grpc.status.FAILED_PRECONDITION, /^E_HANDOFF_STATE: chunk before open/],
      ['empty segment', [{}], grpc.status.FAILED_PRECONDITION, /^E_HANDOFF_STATE: /],
      ['tampered numBlocks', [{ open: { ...good, numBlocks: 3 } }], grpc.status.INVALID_ARGUMENT, /^E_INVALID_ARGUMENT: .*numBlocks/],
      ['bad mode', [{ open: { ...good, mode: 'teleport' } }], grpc.status.INVALID_ARGUMENT, /^E_INVALID_ARGUMENT: open\.mode: /],
      ['no timeout', [{ open: { ...good, timeoutS: 0 } }], grpc.status.INVALID_ARGUMENT, /^E_INVALID_ARGUMENT: open\.timeout_s: /],
      ['unknown GPU', [{ open: { ...good, destinationGpu: 7 } }], grpc.status.INVALID_ARGUMENT, /^E_UNKNOWN_GPU: open\.destination_gpu: /],
      ['chunk out of range', [{ open: good }, { chunk: { chunkIndex: 80 } }], grpc.status.INVALID_ARGUMENT, /^E_INVALID_ARGUMENT: .*chunk/i],
      ['open twice', [{ open: good }, { open: good }], grpc.status.FAILED_PRECONDITION, /^E_HANDOFF_STATE: open: sent twice/],
      ['commit before every chunk', [{ open: good }, { commit: {} }], grpc.status.FAILED_PRECONDITION, /^E_HANDOFF_STATE: /],
    ];
    for (const [name, segments, status, re] of streams) {
      const call = dstClient.HandoffReceive();
      call.on('data', () => undefined);
      const ended = new Promise<grpc.ServiceError>((resolve) => call.on('error', resolve));
      for (const s of segments) call.write(s);
      const e = codeOf(await ended);
      assert.equal(e.status, status, `${name}: ${e.details}`);
      assert.match(e.details, re, name);
      assert.equal(kvHeld(dst.w).heldBlocks, 0, name);
    }
    kv.handoffAbort(plan.handoffId);
    kv.free(seqId);
  });

  test('the source aborts when the destination never answers (timeout_s): DEADLINE_EXCEEDED, pins released', async () => {
    // A peer that takes the stream and says nothing.
    const server = new grpc.Server();
    const open: grpc.ServerDuplexStream<unknown, unknown>[] = [];
    server.addService(loadWorkerProto().nvlsched.v1.Worker.service, { HandoffReceive: (call: grpc.ServerDuplexStream<unknown, unknown>) => void open.push(call) });
    const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
    const step = new StepStream(srcClient);
    try {
      await prefill(step, 8, 20);
      const e = await rejected(handoffSend(srcClient, to(8, { destinationAddress: `127.0.0.1:${port}`, timeoutS: 0.3 })));
      assert.equal(e.status, grpc.status.DEADLINE_EXCEEDED, e.details);
      assert.equal(e.code, 'E_TIMEOUT');
      assert.equal(open.length, 1);
      assert.equal(kvHeld(src.w).heldBlocks, 0);
      assert.notEqual(src.w.backend.sequence('p0', 8), undefined);
    } finally {
      server.forceShutdown();
      await step.end();
    }
  });
});

describe('KV hand-off and NVLink domains', () => {
  let src: LoggedWorker;
  let dst: LoggedWorker;
  let srcClient: WorkerClient;
  before(async () => {
    src = await startLoggedWorker({ tray: 0 }, { domainId: 'clusterA.1' });
    dst = await startLoggedWorker({ tray: 0 }, { domainId: 'clusterB.1' });
    srcClient = connect(src.w.port);
  });
  after(async () => {
    srcClient.close();
    await src.close();
    await dst.close();
  });

  test('another domain: FAILED_PRECONDITION E_CROSS_DOMAIN unless cross_domain, then a scale-out hand-off', async () => {
    const step = new StepStream(srcClient);
    await prefill(step, 1, 20);
    const req = { instanceId: 'p0', seqId: 1, destinationAddress: `127.0.0.1:${dst.w.port}`, destinationInstanceId: 'd0', destinationSeqId: 1, destinationGpu: 0 };
    const e = await rejected(handoffSend(srcClient, req));
    assert.equal(e.status, grpc.status.FAILED_PRECONDITION);
    assert.equal(e.code, 'E_CROSS_DOMAIN');
    assert.match(e.details, /'clusterA\.1'.*'clusterB\.1': set cross_domain/);
    assert.equal(kvHeld(src.w).heldBlocks + kvHeld(dst.w).heldBlocks, 0);
    const r = await handoffSend(srcClient, { ...req, crossDomain: true });
    assert.deepEqual([r.link, r.sourceDomainId, r.destinationDomainId], ['scaleout', 'clusterA.1', 'clusterB.1']);
    await step.end();
  });
});
