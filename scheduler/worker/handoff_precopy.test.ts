// Live migration between two workers in two phases over real loopback gRPC: pre-copy (HandoffSend precopy = true)
// while the source keeps decoding — the destination parks an unrunnable copy — then the tail (HandoffTail): the
// tokens written since, from the start of the block that was partly filled at the pre-copy, appended to the parked
// copy, which the destination adopts; the source frees its sequence. Byte-exact in real-bytes mode; every abort
// point (pre-copy refused, tail aborted, tail refused by the destination, torn tail, tail never sent) leaves no
// block taken on either side and the source sequence intact.
import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import type { HandoffAppendRequest } from '../gen/proto/nvlsched/v1/HandoffAppendRequest.js';
import type { HandoffAppendResult__Output } from '../gen/proto/nvlsched/v1/HandoffAppendResult.js';
import type { HandoffSendRequest } from '../gen/proto/nvlsched/v1/HandoffSendRequest.js';
import type { HandoffTailRequest } from '../gen/proto/nvlsched/v1/HandoffTailRequest.js';
import type { HandoffTailResult__Output } from '../gen/proto/nvlsched/v1/HandoffTailResult.js';
import type { WorkerClient } from '../gen/proto/nvlsched/v1/Worker.js';
import { getModel } from '../perf/models.js';
import { handoffSend, kvHeld, pattern, startLoggedWorker, type LoggedWorker } from './handoff_testing.js';
import { connect, StepStream, unary } from './testing.js';
import { syntheticTokenId } from './tokens.js';

const VOCAB = getModel('llama-3.1-70b').vocabSize;
const NONE = { used: [0, 0, 0, 0, 0, 0], pinned: [0, 0, 0, 0, 0, 0], sequences: 0, handoffs: 0, heldBlocks: 0 };

function tail(client: WorkerClient, req: HandoffTailRequest): Promise<HandoffTailResult__Output> {
  return unary<HandoffTailRequest, HandoffTailResult__Output>(client.HandoffTail.bind(client), req);
}

function append(client: WorkerClient, req: HandoffAppendRequest): Promise<HandoffAppendResult__Output> {
  return unary<HandoffAppendRequest, HandoffAppendResult__Output>(client.HandoffAppend.bind(client), req);
}

async function rejected(p: Promise<unknown>): Promise<{ status: number; code: string; details: string }> {
  try {
    await p;
  } catch (error) {
    const e = error as grpc.ServiceError;
    return { status: e.code, code: String(e.metadata?.get('nvlsched-error-code')[0] ?? ''), details: e.details };
  }
  throw new Error('expected the call to fail');
}

/** `n` decode steps of one token each (a decode runs exactly one token per step). */
async function decode(step: StepStream, instanceId: string, seqId: number, n: number, onToken?: (i: number) => void): Promise<void> {
  for (let i = 0; i < n; i++) {
    const d = await step.send({ stepId: String(1000 + i), instanceId, sequences: [{ seqId, gpu: 0, numTokens: 1, isPrefill: false }] });
    assert.equal(d.errorCode, '', d.errorMessage);
    onToken?.(i);
  }
}

function pair(bytes: boolean): { start(): Promise<void>; stop(): Promise<void>; src: () => LoggedWorker; dst: () => LoggedWorker; srcClient: () => WorkerClient; dstClient: () => WorkerClient } {
  let src: LoggedWorker;
  let dst: LoggedWorker;
  let sc: WorkerClient;
  let dc: WorkerClient;
  const kv = bytes ? { kvData: 'bytes' as const } : {};
  return {
    start: async () => {
      src = await startLoggedWorker({ ...kv, tray: 0 });
      dst = await startLoggedWorker({ ...kv, tray: 1 });
      sc = connect(src.w.port);
      dc = connect(dst.w.port);
    },
    stop: async () => {
      sc.close();
      dc.close();
      await src.close();
      await dst.close();
    },
    src: () => src,
    dst: () => dst,
    srcClient: () => sc,
    dstClient: () => dc,
  };
}

describe('live pre-copy then tail, real bytes', () => {
  const p = pair(true);
  before(() => p.start());
  after(() => p.stop());

  test('pre-copy while decoding, then a tail of only the new tokens: byte-exact, the destination decodes on', async () => {
    const src = p.src();
    const dst = p.dst();
    const BPT = src.w.backend.kv.bytesPerToken;
    const step = new StepStream(p.srcClient());
    const r0 = await step.send({ stepId: '1', instanceId: 'p0', sequences: [{ seqId: 5, gpu: 0, numTokens: 40, isPrefill: true, blockHashes: [] }] });
    assert.equal(r0.errorCode, '', r0.errorMessage);
    src.w.backend.writeKv('p0', 5, 0, pattern(40 * BPT, 5));
    const address = `127.0.0.1:${dst.w.port}`;
    // Phase 1 starts; the source decodes three more tokens while it runs (the model writes their KV).
    const pre = handoffSend(p.srcClient(), { instanceId: 'p0', seqId: 5, destinationAddress: address, destinationInstanceId: 'd0', destinationSeqId: 50, destinationGpu: 2, blocksPerChunk: 1, reserveTokens: 32, precopy: true });
    for (let i = 0; i < 3; i++) {
      const d = await step.send({ stepId: String(2 + i), instanceId: 'p0', sequences: [{ seqId: 5, gpu: 0, numTokens: 1, isPrefill: false }] });
      assert.equal(d.errorCode, '', d.errorMessage);
      src.w.backend.writeKv('p0', 5, 40 + i, pattern(BPT, 100 + i));
    }
    const r = await pre;
    assert.ok(r.numTokens >= 40 && r.numTokens <= 43, `pre-copied ${r.numTokens} tokens`);
    assert.deepEqual([r.sourceFreed, r.dataMode], [false, 'bytes']);
    assert.equal(dst.w.backend.sequence('d0', 50), undefined, 'parked: not runnable on the destination');
    assert.equal(kvHeld(dst.w).sequences, 1, 'the parked copy holds its blocks');
    // ...and 20 more, crossing a block boundary (43 → 63 tokens), before the gateway stops it.
    await decode(step, 'p0', 5, 20, (i) => src.w.backend.writeKv('p0', 5, 43 + i, pattern(BPT, 200 + i)));
    const whole = src.w.backend.readKv('p0', 5, 0, 63);
    // Phase 2: the tail.
    const t = await tail(p.srcClient(), { instanceId: 'p0', seqId: 5, destinationAddress: address, destinationInstanceId: 'd0', destinationSeqId: 50, precopiedTokens: r.numTokens });
    const from = Math.floor(r.numTokens / 16) * 16;
    assert.deepEqual([t.numTokens, t.tailTokens, Number(t.bytesSent), t.sourceFreed], [63, 63 - from, (63 - from) * BPT, true]);
    assert.ok(t.tailTokens < 63, 'the tail is not the whole sequence');
    assert.deepEqual(dst.w.backend.readKv('d0', 50, 0, 63), whole, 'byte-exact on the destination');
    assert.equal(src.w.backend.sequence('p0', 5), undefined, 'the source freed it');
    assert.deepEqual(kvHeld(src.w), NONE);
    const onDst = new StepStream(p.dstClient());
    const n = await onDst.send({ stepId: '1', instanceId: 'd0', sequences: [{ seqId: 50, gpu: 2, numTokens: 1, isPrefill: false }] });
    assert.equal(n.errorCode, '', n.errorMessage);
    assert.deepEqual(n.outputs.map((o) => o.tokenIds), [[syntheticTokenId(7, 50, 64, VOCAB)]]);
    await onDst.end();
    await step.end();
    assert.deepEqual(kvHeld(dst.w), NONE);
  });

  test('a torn tail (checksum mismatch) is refused and frees the parked copy; the source keeps its sequence', async () => {
    const src = p.src();
    const dst = p.dst();
    const BPT = src.w.backend.kv.bytesPerToken;
    const step = new StepStream(p.srcClient());
    await step.send({ stepId: '1', instanceId: 'p0', sequences: [{ seqId: 6, gpu: 0, numTokens: 20, isPrefill: true, blockHashes: [] }] });
    await handoffSend(p.srcClient(), { instanceId: 'p0', seqId: 6, destinationAddress: `127.0.0.1:${dst.w.port}`, destinationInstanceId: 'd0', destinationSeqId: 60, destinationGpu: 1, precopy: true });
    const data = Buffer.from(pattern(4 * BPT, 3));
    const e = await rejected(append(p.dstClient(), { destinationInstanceId: 'd0', destinationSeqId: 60, fromToken: 16, numTokens: 20, data, checksum: '0'.repeat(64) }));
    assert.deepEqual([e.status, e.code], [grpc.status.INVALID_ARGUMENT, 'E_INVALID_ARGUMENT']);
    assert.match(e.details, /checksum/);
    assert.deepEqual(kvHeld(dst.w), NONE);
    assert.notEqual(src.w.backend.sequence('p0', 6), undefined);
    await step.end();
    assert.deepEqual(kvHeld(src.w), NONE);
  });
});

describe('live pre-copy: every abort point leaves nothing taken', () => {
  const p = pair(false);
  before(() => p.start());
  after(() => p.stop());
  const send = (seqId: number, dstSeq: number, gpu: number, extra: Partial<HandoffSendRequest> = {}): HandoffSendRequest => ({ instanceId: 'p0', seqId, destinationAddress: `127.0.0.1:${p.dst().w.port}`, destinationInstanceId: 'd0', destinationSeqId: dstSeq, destinationGpu: gpu, precopy: true, ...extra });

  test('metadata mode: the tail carries no bytes; the adopted copy has the new length', async () => {
    const step = new StepStream(p.srcClient());
    await step.send({ stepId: '1', instanceId: 'p0', sequences: [{ seqId: 1, gpu: 0, numTokens: 40, isPrefill: true, blockHashes: [] }] });
    const r = await handoffSend(p.srcClient(), send(1, 10, 0));
    await decode(step, 'p0', 1, 5);
    const t = await tail(p.srcClient(), { instanceId: 'p0', seqId: 1, destinationAddress: `127.0.0.1:${p.dst().w.port}`, destinationInstanceId: 'd0', destinationSeqId: 10, precopiedTokens: r.numTokens });
    assert.deepEqual([r.numTokens, t.numTokens, t.tailTokens, Number(t.bytesSent), t.sourceFreed], [40, 45, 13, 0, true]);
    assert.equal(p.dst().w.backend.tokensOf('d0', 10), 45);
    await step.end();
    const cleanup = new StepStream(p.dstClient());
    await cleanup.send({ stepId: '1', instanceId: 'd0', sequences: [], finishedSeqIds: [10] });
    await cleanup.end();
    assert.deepEqual(kvHeld(p.src().w), NONE);
    assert.deepEqual(kvHeld(p.dst().w), NONE);
  });

  test('abort at the pre-copy (no room on the destination): nothing held, the source keeps decoding', async () => {
    const filler = new StepStream(p.dstClient());
    await filler.send({ stepId: '1', instanceId: 'd9', sequences: [{ seqId: 90, gpu: 0, numTokens: 112, isPrefill: true, blockHashes: [] }] });
    const step = new StepStream(p.srcClient());
    await step.send({ stepId: '1', instanceId: 'p0', sequences: [{ seqId: 2, gpu: 0, numTokens: 40, isPrefill: true, blockHashes: [] }] });
    const before = kvHeld(p.dst().w);
    const e = await rejected(handoffSend(p.srcClient(), send(2, 20, 0)));
    assert.equal(e.code, 'E_OUT_OF_BLOCKS', e.details);
    assert.deepEqual(kvHeld(p.dst().w), before);
    assert.equal(kvHeld(p.src().w).heldBlocks, 0);
    const d = await step.send({ stepId: '2', instanceId: 'p0', sequences: [{ seqId: 2, gpu: 0, numTokens: 1, isPrefill: false }] });
    assert.equal(d.errorCode, '', d.errorMessage);
    await filler.end();
    await step.end();
    assert.deepEqual(kvHeld(p.src().w), NONE);
    assert.deepEqual(kvHeld(p.dst().w), NONE);
  });

  test('abort between the phases (the gateway drops the move): the parked copy is freed, the source keeps it', async () => {
    const step = new StepStream(p.srcClient());
    await step.send({ stepId: '1', instanceId: 'p0', sequences: [{ seqId: 3, gpu: 0, numTokens: 40, isPrefill: true, blockHashes: [] }] });
    await handoffSend(p.srcClient(), send(3, 30, 0));
    assert.equal(kvHeld(p.dst().w).used[0], 3);
    const a = await tail(p.srcClient(), { instanceId: 'p0', seqId: 3, destinationAddress: `127.0.0.1:${p.dst().w.port}`, destinationInstanceId: 'd0', destinationSeqId: 30, precopiedTokens: 40, abort: true });
    assert.equal(a.sourceFreed, false);
    assert.deepEqual(kvHeld(p.dst().w), NONE);
    // The tail after an abort finds nothing parked: refused, the source still holds its sequence.
    const e = await rejected(tail(p.srcClient(), { instanceId: 'p0', seqId: 3, destinationAddress: `127.0.0.1:${p.dst().w.port}`, destinationInstanceId: 'd0', destinationSeqId: 30, precopiedTokens: 40 }));
    assert.deepEqual([e.status, e.code], [grpc.status.FAILED_PRECONDITION, 'E_HANDOFF_STATE']);
    assert.match(e.details, /no pre-copied instance d0 sequence 30 is parked/);
    assert.equal(p.src().w.backend.tokensOf('p0', 3), 40);
    await step.end();
    assert.deepEqual(kvHeld(p.src().w), NONE);
  });

  test('abort at the tail (the destination has no room for the new blocks): parked copy freed, the source keeps it', async () => {
    const step = new StepStream(p.srcClient());
    await step.send({ stepId: '1', instanceId: 'p0', sequences: [{ seqId: 4, gpu: 0, numTokens: 40, isPrefill: true, blockHashes: [] }] });
    await handoffSend(p.srcClient(), send(4, 40, 0));
    // Fill the rest of the destination GPU (8 blocks, 3 parked): the tail's 4th block has no room.
    const filler = new StepStream(p.dstClient());
    const f = await filler.send({ stepId: '1', instanceId: 'd9', sequences: [{ seqId: 91, gpu: 0, numTokens: 80, isPrefill: true, blockHashes: [] }] });
    assert.equal(f.errorCode, '', f.errorMessage);
    await decode(step, 'p0', 4, 10);
    const e = await rejected(tail(p.srcClient(), { instanceId: 'p0', seqId: 4, destinationAddress: `127.0.0.1:${p.dst().w.port}`, destinationInstanceId: 'd0', destinationSeqId: 40, precopiedTokens: 40 }));
    assert.equal(e.code, 'E_OUT_OF_BLOCKS', e.details);
    assert.equal(p.dst().w.backend.sequence('d0', 40), undefined);
    assert.equal(p.src().w.backend.tokensOf('p0', 4), 50, 'the source keeps its sequence');
    await filler.end();
    assert.deepEqual(kvHeld(p.dst().w), NONE, 'the parked copy was freed');
    await step.end();
    assert.deepEqual(kvHeld(p.src().w), NONE);
  });

  test('no tail within the pre-copy timeout (the gateway went away): the destination frees the parked copy', async () => {
    const step = new StepStream(p.srcClient());
    await step.send({ stepId: '1', instanceId: 'p0', sequences: [{ seqId: 5, gpu: 0, numTokens: 20, isPrefill: true, blockHashes: [] }] });
    await handoffSend(p.srcClient(), send(5, 50, 0, { timeoutS: 0.2 }));
    assert.equal(kvHeld(p.dst().w).sequences, 1);
    await p.dst().waitLog(/pre-copy 50@d0: no tail within 0.2 s/);
    assert.deepEqual(kvHeld(p.dst().w), NONE);
    await step.end();
  });

  test('bad tail requests name the field; nothing changes', async () => {
    const step = new StepStream(p.srcClient());
    await step.send({ stepId: '1', instanceId: 'p0', sequences: [{ seqId: 6, gpu: 0, numTokens: 20, isPrefill: true, blockHashes: [] }] });
    const base = { instanceId: 'p0', seqId: 6, destinationAddress: `127.0.0.1:${p.dst().w.port}`, destinationInstanceId: 'd0', destinationSeqId: 60 };
    let e = await rejected(tail(p.srcClient(), { ...base, precopiedTokens: 21 }));
    assert.match(e.details, /^E_INVALID_ARGUMENT: precopied_tokens: /);
    e = await rejected(tail(p.srcClient(), { ...base, seqId: 99 }));
    assert.deepEqual([e.code, /seq_id/.test(e.details)], ['E_UNKNOWN_SEQUENCE', true]);
    e = await rejected(tail(p.srcClient(), { ...base, instanceId: '' }));
    assert.match(e.details, /^E_INVALID_ARGUMENT: instance_id: /);
    await handoffSend(p.srcClient(), { ...base, destinationGpu: 0, precopy: true });
    e = await rejected(append(p.dstClient(), { destinationInstanceId: 'd0', destinationSeqId: 60, fromToken: 8, numTokens: 20 }));
    assert.match(e.details, /^E_INVALID_ARGUMENT: from_token: /);
    assert.deepEqual(kvHeld(p.dst().w), NONE, 'a refused tail frees the parked copy');
    assert.equal(p.src().w.backend.tokensOf('p0', 6), 20);
    await step.end();
    assert.deepEqual(kvHeld(p.src().w), NONE);
  });
});
