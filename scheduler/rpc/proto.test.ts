// The generated proto types must match proto/ (regenerate with `npm run gen:proto`), and the services must load
// and work over a real gRPC connection on loopback.
import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import type { StepPlan } from '../gen/proto/nvlsched/v1/StepPlan.js';
import type { StepResult, StepResult__Output } from '../gen/proto/nvlsched/v1/StepResult.js';
import { packageRoot } from '../util/paths.js';
import { loadGatewayProto, loadWorkerProto } from './proto.js';

function listFiles(dir: string, base = dir): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? listFiles(full, base) : [path.relative(base, full)];
  }).sort();
}

test('generated proto types are up to date (npm run gen:proto)', () => {
  const root = packageRoot();
  const out = mkdtempSync(path.join(tmpdir(), 'nvl-proto-'));
  try {
    const result = spawnSync(process.execPath, [path.join(root, 'proto', 'gen.mjs'), '--out', out], { encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    const committed = path.join(root, 'scheduler', 'gen', 'proto');
    const fresh = listFiles(out);
    assert.deepEqual(listFiles(committed), fresh, 'file list differs: run `npm run gen:proto`');
    for (const file of fresh) {
      assert.equal(readFileSync(path.join(committed, file), 'utf8'), readFileSync(path.join(out, file), 'utf8'),
        `${file} is stale: run \`npm run gen:proto\``);
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('worker Step stream and Health work over a real loopback connection', async () => {
  const proto = loadWorkerProto();
  const server = new grpc.Server();
  server.addService(proto.nvlsched.v1.Worker.service, {
    Step: (call: grpc.ServerDuplexStream<StepPlan, StepResult>) => {
      call.on('data', (plan: StepPlan) => {
        call.write({
          stepId: String(plan.stepId), durationS: 0.01, outputs: (plan.sequences ?? []).map((s) => ({ seqId: s.seqId ?? 0, tokenIds: [7], finished: false })),
          kvEvents: [{ eventId: '1', stored: { location: { tier: 'TIER_DEVICE', index: 0 }, hash: '18446744073709551615', parentHash: '0' }, kind: 'stored' }],
          errorCode: '', errorMessage: '',
        });
      });
      call.on('end', () => call.end());
    },
    Snapshot: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, { lastEventId: '0', locations: [] }),
    Drain: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, { runningSequences: 0 }),
    Health: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, { status: 'STATUS_SERVING', detail: 'ok' }),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  const client = new proto.nvlsched.v1.Worker(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  try {
    const health = await new Promise<{ status: string }>((resolve, reject) =>
      client.Health({}, (err, res) => (err || !res ? reject(err) : resolve(res))));
    assert.equal(health.status, 'STATUS_SERVING');

    const stream = client.Step();
    const results: StepResult__Output[] = [];
    const done = new Promise<void>((resolve, reject) => {
      stream.on('data', (r: StepResult__Output) => results.push(r));
      stream.on('end', resolve);
      stream.on('error', reject);
    });
    stream.write({ stepId: '41', instanceId: 'i0', sequences: [{ seqId: 3, gpu: 1, numTokens: 16, isPrefill: true, blockHashes: ['42'] }] });
    stream.end();
    await done;
    assert.equal(results.length, 1);
    const [result] = results;
    assert.equal(result?.stepId, '41');
    assert.deepEqual(result?.outputs.map((o) => o.seqId), [3]);
    // fixed64 hashes survive as decimal strings with all 64 bits.
    assert.equal(result?.kvEvents[0]?.stored?.hash, '18446744073709551615');
    assert.equal(result?.kvEvents[0]?.kind, 'stored');
  } finally {
    client.close();
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
  }
});

test('gateway service definition loads with its three methods', () => {
  const proto = loadGatewayProto();
  const methods = Object.keys(proto.nvlsched.v1.Gateway.service).sort();
  assert.deepEqual(methods, ['Cancel', 'Generate', 'Health']);
});
