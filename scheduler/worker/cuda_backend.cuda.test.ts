// GPU-only: `worker --backend cuda` — the tray's KV in real device memory (cudaMalloc pools, pinned Grace tier), so
// the gateway's session holds, swaps and frees are real allocations and copies. Requests through the gateway
// complete in full with holds and swap preemptions happening. Run on a GPU machine: `npm run test:cuda`. Elsewhere
// it skips and says why; with NVLSCHED_REQUIRE_CUDA=1 a missing GPU fails (cuda_backend tests cannot pass vacuously).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { generate, startRig } from '../gateway/testing.js';
import { probeDevices } from '../kv/native.js';

const probe = probeDevices();
const required = process.env.NVLSCHED_REQUIRE_CUDA === '1';
const skip = probe.cudaDeviceCount > 0 ? false : `no usable CUDA device (${probe.cudaCompiled ? probe.cudaError : 'addon built without CUDA'})`;
if (skip && !required) process.stderr.write(`SKIP cuda_backend.cuda.test: ${skip}\n`);

const ids = (n: number, base: number): number[] => Array.from({ length: n }, (_, i) => base + i);

test('worker --backend cuda: KV on the device; requests, session holds and swaps through the gateway', { skip: skip || false }, async () => {
  const policy = { base: 'shape-aware', batch: { name: 'shape-aware', params: { swapAboveTokens: 64 } } };
  const rig = await startRig(1, { kvBlocksPerGpu: 48, policy }, 'cuda');
  try {
    const worker = rig.workers[0];
    assert.ok(worker);
    assert.equal(worker.backend.kvBackend, 'cuda');
    const outs = await Promise.all(Array.from({ length: 16 }, (_, i) => generate(rig.client, { promptTokenIds: ids(80 + (i % 4) * 40, i * 1000), maxTokens: 40 + (i % 5) * 10 })));
    outs.forEach((o, i) => {
      assert.equal(o.error, undefined, o.error?.details);
      assert.equal(o.tokens.length, 40 + (i % 5) * 10);
    });
    const first = ids(200, 5);
    await generate(rig.client, { promptTokenIds: first, maxTokens: 8, sessionId: 'gpu-s', turnIndex: 0, numTools: 1 });
    const t2 = await generate(rig.client, { promptTokenIds: [...first, ...ids(50, 9000)], maxTokens: 4, sessionId: 'gpu-s', turnIndex: 1, numTools: 1, hasToolResults: true });
    assert.equal(t2.tokens.length, 4);
    assert.ok((t2.last?.usage?.cachedPromptTokens ?? 0) >= 192, `cached ${t2.last?.usage?.cachedPromptTokens}`);
    process.stderr.write(`cuda worker: swaps ${rig.gateway.driver.swapsOut}, fallbacks ${rig.gateway.driver.swapFallbacks}, held ${worker.backend.heldSessions}\n`);
  } finally {
    await rig.close();
  }
});
