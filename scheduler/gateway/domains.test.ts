// NVLink domains reported by workers (Health, discovered at worker start): an instance whose two trays report
// different domains is never placed on; trays that agree with each other but not with the config are used, and the
// gateway says so. Real workers and gateway over loopback gRPC; discovery injected (no GPUs here).
import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { DiscoveredDomain } from '../deploy/discovery.js';
import { loadGatewayProto } from '../rpc/proto.js';
import { startWorker, type RunningWorker } from '../worker/worker.js';
import { startGateway } from './gateway.js';
import { SMALL, generate } from './testing.js';

const found = (domainId: string): DiscoveredDomain => ({ domainId, source: 'nvidia-smi', skipped: ['nvml: not read by this build'], warnings: [] });

async function twoTrays(domains: [string, string]): Promise<RunningWorker[]> {
  const out: RunningWorker[] = [];
  for (const tray of [0, 1]) {
    // Tensor parallel 8 on GB200 (4 GPUs per tray): one instance spans trays 0 and 1.
    out.push(await startWorker({ topology: 'gb200-nvl72', tray, model: SMALL.model, tensorParallel: 8, kvBlocksPerGpu: 128, blockTokens: 16, seed: 1 }, { port: 0, discover: async () => found(domains[tray] as string) }));
  }
  return out;
}

test('an instance across trays that report different NVLink domains is not used', async () => {
  const workers = await twoTrays(['clique-a', 'clique-b']);
  const logs: string[] = [];
  const gw = await startGateway({ cluster: 'gb200-nvl72', model: SMALL.model, tensorParallel: 8, kvBlocksPerGpu: 128, blockTokens: 16, workerPorts: workers.map((w) => w.port), grpcPort: 0, log: (l) => logs.push(l) });
  const client = new (loadGatewayProto().nvlsched.v1.Gateway)(`127.0.0.1:${gw.port}`, grpc.credentials.createInsecure());
  try {
    assert.deepEqual([...gw.workerDomains.values()].map((d) => d.domainId), ['clique-a', 'clique-b']);
    const [only] = gw.sched.instanceIds();
    assert.ok(only);
    assert.equal(gw.sched.instanceView(only).healthy, false);
    assert.ok(logs.some((l) => /spans NVLink domains clique-a, clique-b: not used/.test(l)), logs.join('\n'));
    const out = await generate(client, { promptTokenIds: Array.from({ length: 40 }, (_, i) => i + 1), maxTokens: 2 });
    assert.ok(out.error, 'no healthy instance: rejected, not placed across domains');
  } finally {
    client.close();
    await gw.close();
    for (const w of workers) await w.server.close();
  }
});

test('trays that agree are used; a domain other than the config is reported once per tray', async () => {
  const workers = await twoTrays(['clique-x', 'clique-x']);
  const logs: string[] = [];
  const gw = await startGateway({ cluster: 'gb200-nvl72', model: SMALL.model, tensorParallel: 8, kvBlocksPerGpu: 128, blockTokens: 16, workerPorts: workers.map((w) => w.port), grpcPort: 0, log: (l) => logs.push(l) });
  const client = new (loadGatewayProto().nvlsched.v1.Gateway)(`127.0.0.1:${gw.port}`, grpc.credentials.createInsecure());
  try {
    const [only] = gw.sched.instanceIds();
    assert.ok(only);
    assert.equal(gw.sched.instanceView(only).healthy, true);
    assert.equal(logs.filter((l) => /reports NVLink domain clique-x \(from nvidia-smi\); the config places it in rack0/.test(l)).length, 2, logs.join('\n'));
    const out = await generate(client, { promptTokenIds: Array.from({ length: 40 }, (_, i) => i + 1), maxTokens: 3 });
    assert.equal(out.tokens.length, 3, out.error?.details);
    assert.equal(workers[0]?.domain.source, 'nvidia-smi');
  } finally {
    client.close();
    await gw.close();
    for (const w of workers) await w.server.close();
  }
});
