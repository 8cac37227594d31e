// GPU-only: the KV hand-off between two `--backend cuda` workers (device pools on the same GPU when the machine has
// one): a sequence written on the source's device memory arrives byte-exact on the destination's, and the source's
// copy is freed. Run on a GPU machine: `npm run test:cuda`. Elsewhere it skips and says why; with
// NVLSCHED_REQUIRE_CUDA=1 a missing GPU fails. NOT RUN YET: written on a machine without a GPU.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { probeDevices } from '../kv/native.js';
import { handoffSend, kvHeld, pattern, startLoggedWorker } from './handoff_testing.js';
import { connect, StepStream } from './testing.js';

const probe = probeDevices();
const required = process.env.NVLSCHED_REQUIRE_CUDA === '1';
const skip = probe.cudaDeviceCount > 0 ? false : `no usable CUDA device (${probe.cudaCompiled ? probe.cudaError : 'addon built without CUDA'})`;
if (skip && !required) process.stderr.write(`SKIP handoff.cuda.test: ${skip}\n`);

test('KV hand-off between two cuda workers: byte-exact on the destination device', { skip: skip || false }, async () => {
  const src = await startLoggedWorker({ backend: 'cuda', tray: 0 });
  const dst = await startLoggedWorker({ backend: 'cuda', tray: 1 });
  const client = connect(src.w.port);
  try {
    assert.equal(src.w.backend.kvBackend, 'cuda');
    const step = new StepStream(client);
    const r = await step.send({ stepId: '1', instanceId: 'p0', sequences: [{ seqId: 1, gpu: 0, numTokens: 40, isPrefill: true }] });
    assert.equal(r.errorCode, '', r.errorMessage);
    const data = pattern(40 * src.w.backend.kv.bytesPerToken, 1);
    src.w.backend.writeKv('p0', 1, 0, data);
    const out = await handoffSend(client, { instanceId: 'p0', seqId: 1, destinationAddress: `127.0.0.1:${dst.w.port}`, destinationInstanceId: 'd0', destinationSeqId: 1, destinationGpu: 1, blocksPerChunk: 1 });
    assert.deepEqual([out.numTokens, out.dataMode, out.sourceFreed], [40, 'bytes', true]);
    assert.deepEqual(dst.w.backend.readKv('d0', 1, 0, 40), data);
    assert.equal(kvHeld(src.w).heldBlocks + kvHeld(dst.w).heldBlocks, 0);
    await step.end();
  } finally {
    client.close();
    await src.close();
    await dst.close();
  }
});
