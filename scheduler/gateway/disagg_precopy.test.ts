// Live migration with pre-copy in the live gateway, over real loopback gRPC: two in-process workers (one TP4
// instance per GB200 tray), paced in real time so sequences keep decoding while their KV is copied. Every stream is
// checked token by token as in disagg.test.ts (the sim worker's token at position p of sequence s is
// syntheticTokenId(seed, s, p): a gap, a duplicate or a wrong context fails). The pause of a pre-copy migration
// (the tail only) is compared with the stop-and-copy pause of the same sequence in the same test; both printed.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';

import type { GatewayClient } from '../gen/proto/nvlsched/v1/Gateway.js';
import type { WorkerClient } from '../gen/proto/nvlsched/v1/Worker.js';
import { getModel } from '../perf/models.js';
import { loadGatewayProto } from '../rpc/proto.js';
import { connect } from '../worker/testing.js';
import { syntheticTokenId } from '../worker/tokens.js';
import { startWorker, type RunningWorker } from '../worker/worker.js';
import { startGateway, type RunningGateway } from './gateway.js';
import { liveCopyCalls, type LiveCopyCalls } from './handoff.js';
import { generate, type Generated } from './testing.js';

const SEED = 1;
const VOCAB = getModel('llama-3.1-70b').vocabSize;
const SHAPE = { cluster: 'gb200-nvl72', model: 'llama-3.1-70b', tensorParallel: 4, kvBlocksPerGpu: 1024, blockTokens: 16 } as const;
const ids = (n: number, base: number): number[] => Array.from({ length: n }, (_, i) => base + i);
const CANDIDATE_SEQ_IDS = [...ids(200, 1), ...ids(200, 0x4000_0000)];
const usedBlocks = (w: RunningWorker): number => w.backend.kvUsage().reduce((n, p) => n + p.usedBlocks, 0);

function assertInOrder(out: Generated, promptTokens: number, maxTokens: number, label: string): void {
  assert.equal(out.error, undefined, `${label}: ${out.error?.details}`);
  assert.equal(out.tokens.length, maxTokens, `${label}: all max_tokens streamed`);
  assert.equal(out.last?.finishReason, 'length', label);
  out.tokens.forEach((tok, j) => {
    const pos = promptTokens + j;
    assert.ok(CANDIDATE_SEQ_IDS.some((s) => syntheticTokenId(SEED, s, pos, VOCAB) === tok), `${label}: token ${j} is not the token at position ${pos}: a gap, a duplicate or a wrong context`);
  });
}

interface Rig {
  gateway: RunningGateway;
  workers: RunningWorker[];
  client: GatewayClient;
  /** Instance id → LiveCopyCalls on its worker. */
  calls: Map<string, LiveCopyCalls>;
  instances: [string, string];
  /** Turns live pre-copy on for both instances (each call may be wrapped), or off (null). */
  live(on: boolean, wrap?: (instanceId: string, c: LiveCopyCalls) => LiveCopyCalls): void;
  close(): Promise<void>;
}

async function startRig(): Promise<Rig> {
  const workers: RunningWorker[] = [];
  for (let tray = 0; tray < 2; tray++) {
    workers.push(await startWorker({ topology: 'gb200-nvl72', tray, model: SHAPE.model, tensorParallel: 4, kvBlocksPerGpu: SHAPE.kvBlocksPerGpu, blockTokens: SHAPE.blockTokens, seed: SEED }, { port: 0, pace: 'real' }));
  }
  // Moves only by hand (driver.migrate); the policy's tick is not called.
  const migration = { name: 'load-balance', params: { periodS: 0.05, imbalance: 0, minHotLoad: 0, payoffFactor: 0, minRemainingTokens: 1, maxInFlight: 4 } };
  const gateway = await startGateway({ ...SHAPE, workerPorts: workers.map((w) => w.port), grpcPort: 0, migrationTimer: false, handoffTimeoutMs: 3000, policy: { base: 'least-loaded', migration } });
  const client = new (loadGatewayProto().nvlsched.v1.Gateway)(`127.0.0.1:${gateway.port}`, grpc.credentials.createInsecure());
  const workerClients: WorkerClient[] = workers.map((w) => connect(w.port));
  const calls = new Map<string, LiveCopyCalls>();
  for (const spec of gateway.topology.instances) calls.set(spec.setup.instanceId, liveCopyCalls(workerClients[spec.leaderWorker] as WorkerClient, spec.setup.instanceId));
  const instances = gateway.topology.instances.map((i) => i.setup.instanceId) as [string, string];
  return {
    gateway, workers, client, calls, instances,
    live(on, wrap) {
      for (const [id, c] of calls) gateway.driver.setLiveCopy(id, on ? (wrap ? wrap(id, c) : c) : null);
    },
    async close() {
      client.close();
      for (const c of workerClients) c.close();
      await gateway.close();
      for (const w of workers) await w.server.close();
    },
  };
}

describe('live migration with pre-copy', () => {
  let rig: Rig;
  before(async () => {
    rig = await startRig();
  });
  after(async () => rig.close());

  test('the same sequence moved by stop-and-copy, then by pre-copy + tail: the tail pause is the shorter; stream whole', async (t) => {
    const driver = rig.gateway.driver;
    const sched = rig.gateway.sched;
    const [a, b] = rig.instances;
    const prompt = 3000;
    const maxTokens = 70;
    const base = { ...driver.kvMoves, migrationPausesS: [...driver.kvMoves.migrationPausesS] };
    rig.live(false);
    let chunks = 0;
    const started: boolean[] = [];
    const out = await generate(rig.client, { requestId: 'ratio', promptTokenIds: ids(prompt, 500_000), maxTokens }, () => {
      chunks++;
      const on = sched.requestInstance('ratio');
      if (chunks === 10 && on !== undefined) started.push(driver.migrate('ratio', on === a ? b : a)); // stop-and-copy
      if (chunks === 35 && on !== undefined) {
        rig.live(true);
        started.push(driver.migrate('ratio', on === a ? b : a)); // pre-copy, then the tail
      }
    });
    assertInOrder(out, prompt, maxTokens, 'ratio');
    assert.deepEqual(started, [true, true]);
    const m = driver.kvMoves;
    assert.equal(m.migrations - base.migrations, 2);
    assert.equal(m.liveMigrations - base.liveMigrations, 1, 'the second move was live');
    assert.equal(m.precopyFallbacks, base.precopyFallbacks);
    const [stopAndCopyS, tailS] = m.migrationPausesS.slice(base.migrationPausesS.length) as [number, number];
    const precopyS = m.migrationPrecopiesS.at(-1) as number;
    t.diagnostic(`3000-token sequence: stop-and-copy pause ${(stopAndCopyS * 1000).toFixed(2)} ms; pre-copy ${(precopyS * 1000).toFixed(2)} ms (decoding on), then tail pause ${(tailS * 1000).toFixed(2)} ms; ratio ${(tailS / stopAndCopyS).toFixed(3)}`);
    assert.ok(tailS < stopAndCopyS, `tail pause ${tailS} s < stop-and-copy pause ${stopAndCopyS} s`);
    const text = await rig.gateway.metrics.registry.getSingleMetricAsString('nvlsched_migration_pause_seconds');
    assert.match(text, /nvlsched_migration_pause_seconds_count\{outcome="ok"\} [1-9]/);
    // The pre-copy's own time is its own histogram: one observation, for the one pre-copied move.
    const pre = await rig.gateway.metrics.registry.getSingleMetricAsString('nvlsched_migration_precopy_seconds');
    assert.match(pre, /^nvlsched_migration_precopy_seconds_count 1$/m);
    await driver.idle();
    assert.deepEqual(rig.workers.map(usedBlocks), [0, 0], 'nothing leaked, parked copies included');
    rig.live(false);
  });

  test('six streams under load, each moved live: every token in order, every move pre-copied, nothing leaked', async (t) => {
    const driver = rig.gateway.driver;
    const sched = rig.gateway.sched;
    const [a, b] = rig.instances;
    rig.live(true);
    const base = { ...driver.kvMoves, migrationPausesS: [...driver.kvMoves.migrationPausesS] };
    let started = 0;
    const n = 6;
    const outs = await Promise.all(Array.from({ length: n }, (_, i) => {
      const requestId = `live-${i}`;
      let chunks = 0;
      return generate(rig.client, { requestId, promptTokenIds: ids(200 + i * 37, 300_000 + i * 1000), maxTokens: 48 }, () => {
        chunks++;
        if (chunks === 5 || chunks === 25) {
          const on = sched.requestInstance(requestId);
          if (on !== undefined && driver.migrate(requestId, on === a ? b : a)) started++;
        }
      });
    }));
    outs.forEach((o, i) => assertInOrder(o, 200 + i * 37, 48, `stream ${i}`));
    const m = driver.kvMoves;
    assert.ok(started >= n, `${started} moves started`);
    assert.equal(m.migrations - base.migrations, started, 'every move started completed');
    assert.equal(m.liveMigrations - base.liveMigrations, started, 'all by pre-copy + tail');
    assert.equal(m.migrationFailures, 0);
    const pauses = m.migrationPausesS.slice(base.migrationPausesS.length).sort((x, y) => x - y);
    t.diagnostic(`${pauses.length} live migrations, tail pause p50 ${((pauses[Math.floor(pauses.length / 2)] ?? 0) * 1000).toFixed(2)} ms, max ${((pauses.at(-1) ?? 0) * 1000).toFixed(2)} ms`);
    await driver.idle();
    assert.deepEqual(rig.workers.map((w) => w.backend.liveSequences), [0, 0]);
    assert.deepEqual(rig.workers.map(usedBlocks), [0, 0]);
    rig.live(false);
  });

  test('a failed pre-copy and a failed tail fall back to stop-and-copy; a request that ends mid-pre-copy frees the parked copy', async () => {
    const driver = rig.gateway.driver;
    const sched = rig.gateway.sched;
    const [a, b] = rig.instances;
    const base = { ...driver.kvMoves };
    // 1. The pre-copy fails (the source refuses: a bad destination address) → stop-and-copy.
    rig.live(true, (_id, c) => ({ ...c, preCopy: (seq, to, o) => c.preCopy(seq, { ...to, address: '127.0.0.1:1' }, o) }));
    // 2. (second move) The tail is refused after the destination freed its parked copy → whole-KV stop-and-copy.
    let moves = 0;
    const startedFb: boolean[] = [];
    const out = await generate(rig.client, { requestId: 'fb', promptTokenIds: ids(500, 700_000), maxTokens: 50 }, () => {
      moves++;
      const on = sched.requestInstance('fb');
      if (on === undefined) return;
      if (moves === 5) startedFb.push(driver.migrate('fb', on === a ? b : a));
      if (moves === 25) {
        rig.live(true, (_id, c) => ({ ...c, tail: async (seq, to, o) => {
          await rig.calls.get(to.instanceId)?.dropParked(o.destinationSeqId);
          return c.tail(seq, to, o);
        } }));
        startedFb.push(driver.migrate('fb', on === a ? b : a));
      }
    });
    assertInOrder(out, 500, 50, 'fallbacks');
    assert.deepEqual(startedFb, [true, true], JSON.stringify(driver.kvMoves));
    let m = driver.kvMoves;
    assert.equal(m.migrations - base.migrations, 2, 'both moves completed');
    assert.equal(m.liveMigrations - base.liveMigrations, 0);
    assert.equal(m.precopyFallbacks - base.precopyFallbacks, 2, 'one failed pre-copy, one failed tail');
    await driver.idle();
    assert.deepEqual(rig.workers.map(usedBlocks), [0, 0]);
    // 3. The request ends while its pre-copy is in flight: the parked copy is dropped on the destination.
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    let dropped: () => void = () => undefined;
    const droppedP = new Promise<void>((r) => (dropped = r));
    rig.live(true, (_id, c) => ({
      ...c,
      preCopy: async (seq, to, o) => {
        const r = await c.preCopy(seq, to, o);
        await gate;
        return r;
      },
      dropParked: async (seq) => {
        const ok = await c.dropParked(seq);
        dropped();
        return ok;
      },
    }));
    let chunks = 0;
    const short = await generate(rig.client, { requestId: 'end', promptTokenIds: ids(300, 800_000), maxTokens: 12 }, () => {
      chunks++;
      const on = sched.requestInstance('end');
      if (chunks === 3 && on !== undefined) assert.ok(driver.migrate('end', on === a ? b : a));
    });
    assertInOrder(short, 300, 12, 'ended mid-pre-copy');
    release();
    await droppedP;
    m = driver.kvMoves;
    assert.equal(m.precopiesDropped - base.precopiesDropped, 1);
    await driver.idle();
    assert.deepEqual(rig.workers.map(usedBlocks), [0, 0], 'the parked copy was freed');
    rig.live(false);
  });
});
