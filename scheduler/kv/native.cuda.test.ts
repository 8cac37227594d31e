// GPU-only: the byte-exactness scenario on device memory (cudaMalloc pools, pinned host tier, async and peer
// copies). Run on a machine with a GPU: `npm run test:cuda`. Elsewhere it skips and says why; with
// NVLSCHED_REQUIRE_CUDA=1 (set by test:cuda) a missing GPU is a failure, so a GPU run cannot pass vacuously.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { NativeKvManager, probeDevices } from './native.js';
import { BYTES_TOPOLOGY, byteExactScenario } from './testing/byte_exact.js';

const probe = probeDevices();
const required = process.env.NVLSCHED_REQUIRE_CUDA === '1';
const skip = probe.cudaDeviceCount > 0 ? false
  : `no usable CUDA device (${probe.cudaCompiled ? probe.cudaError : 'addon built without CUDA'})`;

if (skip && !required) process.stderr.write(`SKIP native.cuda.test: ${skip}\n`);

test('CUDA is usable when required', { skip: !required }, () => {
  assert.ok(probe.cudaCompiled, 'the addon was built without CUDA: rebuild with nvcc on PATH (NVL_CUDA=ON npm install)');
  assert.ok(probe.cudaDeviceCount > 0, `no CUDA device: ${probe.cudaError}`);
});

test('byte-exact tier moves and migrations on device memory', { skip: skip || false }, async () => {
  const kv = new NativeKvManager({
    topology: BYTES_TOPOLOGY,
    layout: { numLayers: 4, numKvHeads: 2, headDim: 64, mlaLatentDim: 0, bytesPerElement: 2, tensorParallel: 1 },
    tokensPerBlock: 16, deviceBlocksPerGpu: 64, hostBlocksPerTray: 64, diskBlocksPerTray: 64,
    dataMode: 'bytes', backend: 'cuda',
  });
  assert.equal(kv.backendInfo().backend, 'cuda');
  const checks = await byteExactScenario(kv);
  process.stderr.write(`cuda byte-exact: ${checks} read-back comparisons passed, ${kv.stats().transfers} transfers, ` +
    `bytes by link ${JSON.stringify(kv.stats().bytesMovedByLink)}\n`);
  kv.close();
});

test('a large transfer on device memory round-trips (coalesced copies)', { skip: skip || false }, async () => {
  const kv = new NativeKvManager({
    topology: 'gb200-nvl72',
    layout: { numLayers: 80, numKvHeads: 8, headDim: 128, mlaLatentDim: 0, bytesPerElement: 2, tensorParallel: 4 },
    tokensPerBlock: 16, deviceBlocksPerGpu: 256, hostBlocksPerTray: 256, diskBlocksPerTray: 0,
    dataMode: 'bytes', backend: 'cuda', maxRealBytes: 64e9,
  });
  const numTokens = 16 * 200;
  const data = new Uint8Array(numTokens * kv.bytesPerToken);
  for (let i = 0; i < data.length; i += 4096) data[i] = (i / 4096) & 0xff;
  const { seqId } = kv.allocate({ gpu: 0, numTokens });
  kv.write(seqId, 0, data);
  const started = process.hrtime.bigint();
  await kv.demote(seqId);
  await kv.promote(seqId, 1);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  assert.deepEqual(kv.read(seqId, 0, numTokens), data);
  process.stderr.write(`cuda large round trip: ${(2 * data.length / 1e9).toFixed(2)} GB moved in ${seconds.toFixed(3)} s\n`);
  kv.close();
});
