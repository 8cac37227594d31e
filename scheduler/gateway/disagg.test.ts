// Disaggregation and migration in the live gateway, over real loopback gRPC: in-process workers (one TP4 instance
// per GB200 tray, so each instance has its own worker) and the gateway with one prefill and one decode instance.
// Every stream is checked token by token: the sim worker's token at position p of sequence s is
// syntheticTokenId(seed, s, p), so the stream must be the prompt's next positions in order — a duplicate, a gap
// or a token decoded on a wrong context fails. The workers' own counters say which ran which steps, and their KV
// managers' used blocks say nothing leaked.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';

import type { GatewayClient } from '../gen/proto/nvlsched/v1/Gateway.js';
import { getModel } from '../perf/models.js';
import { loadGatewayProto } from '../rpc/proto.js';
import { syntheticTokenId } from '../worker/tokens.js';
import { startWorker, type RunningWorker } from '../worker/worker.js';
import { startGateway, type GatewayOptions, type RunningGateway } from './gateway.js';
import { generate, type Generated } from './testing.js';

const SEED = 1;
const VOCAB = getModel('llama-3.1-70b').vocabSize;
const SHAPE = { cluster: 'gb200-nvl72', model: 'llama-3.1-70b', tensorParallel: 4, kvBlocksPerGpu: 1024, blockTokens: 16 } as const;
const ids = (n: number, base: number): number[] => Array.from({ length: n }, (_, i) => base + i);

interface DisaggRig {
  gateway: RunningGateway;
  workers: RunningWorker[];
  client: GatewayClient;
  close(): Promise<void>;
}

async function startDisaggRig(numWorkers: number, extra: Partial<GatewayOptions> & { peerAddress?: (tray: number, port: number) => string; pace?: 'real' } = {}): Promise<DisaggRig> {
  const workers: RunningWorker[] = [];
  for (let tray = 0; tray < numWorkers; tray++) {
    workers.push(await startWorker({ topology: 'gb200-nvl72', tray, model: SHAPE.model, tensorParallel: 4, kvBlocksPerGpu: SHAPE.kvBlocksPerGpu, blockTokens: SHAPE.blockTokens, seed: SEED }, { port: 0, ...(extra.pace ? { pace: extra.pace } : {}) }));
  }
  const { peerAddress, pace: _pace, ...opts } = extra;
  const gateway = await startGateway({
    ...SHAPE,
    workerPorts: workers.map((w) => w.port),
    ...(peerAddress ? { peerAddresses: workers.map((w, tray) => peerAddress(tray, w.port)) } : {}),
    grpcPort: 0,
    migrationTimer: false,
    handoffTimeoutMs: 3000,
    ...opts,
  });
  const client = new (loadGatewayProto().nvlsched.v1.Gateway)(`127.0.0.1:${gateway.port}`, grpc.credentials.createInsecure());
  return {
    gateway, workers, client,
    async close() {
      client.close();
      await gateway.close();
      for (const w of workers) await w.server.close();
    },
  };
}

/** Tokens and steps each worker ran, from its Prometheus recorder. */
async function ran(w: RunningWorker): Promise<{ steps: number; tokens: number }> {
  const json = await w.metrics.registry.getMetricsAsJSON();
  const steps = json.find((m) => m.name === 'nvlsched_worker_steps_total')?.values[0]?.value ?? 0;
  const sum = json.find((m) => m.name === 'nvlsched_worker_step_tokens')?.values.find((v) => (v as { metricName?: string }).metricName === 'nvlsched_worker_step_tokens_sum')?.value ?? 0;
  return { steps: Number(steps), tokens: Number(sum) };
}

const usedBlocks = (w: RunningWorker): number => w.backend.kvUsage().reduce((n, p) => n + p.usedBlocks, 0);

/** Which sequence ids (engine ids from 1, committed ones from 0x40000000) could have produced each token. */
const CANDIDATE_SEQ_IDS = [...ids(200, 1), ...ids(200, 0x4000_0000)];

/** Asserts the stream is positions prompt, prompt+1, ... in order (each token of some sequence at its position). */
function assertInOrder(out: Generated, promptTokens: number, maxTokens: number, label: string): void {
  assert.equal(out.error, undefined, `${label}: ${out.error?.details}`);
  assert.equal(out.tokens.length, maxTokens, `${label}: all max_tokens streamed`);
  assert.equal(out.last?.finishReason, 'length', label);
  assert.equal(out.last?.usage?.completionTokens, maxTokens, label);
  out.tokens.forEach((tok, j) => {
    const pos = promptTokens + j;
    assert.ok(CANDIDATE_SEQ_IDS.some((s) => syntheticTokenId(SEED, s, pos, VOCAB) === tok), `${label}: token ${j} is not the token at position ${pos}: a gap, a duplicate or a wrong context`);
  });
}

describe('one prefill and one decode instance, shape-aware disaggregation', () => {
  let rig: DisaggRig;
  before(async () => {
    // With the decode instance idle, ours would keep a lone cold prompt local (the transfer is pure cost there; the
    // decision is unit-tested in core/disagg/decide.test.ts): the 2,048-token bound on what a decode instance
    // prefills itself makes this rig exercise the live hand-off path.
    rig = await startDisaggRig(2, { roles: { prefill: 1, decode: 1 }, policy: { disaggregation: { name: 'shape-aware', params: { localPrefillMaxTokens: 2048 } } } });
  });
  after(async () => rig.close());

  test('a long cold prompt is prefilled on the prefill worker and decoded on the decode worker, stream whole', async () => {
    const [p0, d0] = [await ran(rig.workers[0] as RunningWorker), await ran(rig.workers[1] as RunningWorker)];
    const prompt = ids(3000, 11);
    const out = await generate(rig.client, { promptTokenIds: prompt, maxTokens: 20, reasoningEffort: 'high' });
    // The first token is the prefill worker's (its engine's sequence 1), the rest the decode worker's committed copy.
    assert.equal(out.tokens[0], syntheticTokenId(SEED, 1, 3000, VOCAB), 'first token sampled by the prefill instance');
    assert.deepEqual(out.tokens.slice(1), ids(19, 3001).map((pos) => syntheticTokenId(SEED, 0x4000_0000, pos, VOCAB)), 'then decoded on the committed sequence, position after position');
    assertInOrder(out, 3000, 20, 'cold');
    const [p1, d1] = [await ran(rig.workers[0] as RunningWorker), await ran(rig.workers[1] as RunningWorker)];
    assert.equal(p1.tokens - p0.tokens, 3000, 'the prefill worker ran the prompt and nothing else');
    assert.equal(d1.tokens - d0.tokens, 19, 'the decode worker ran 19 decode steps of one token and no prefill');
    assert.ok(d1.steps - d0.steps >= 19, 'its steps (and the plan that freed it)');
    const moves = rig.gateway.driver.kvMoves;
    assert.deepEqual([moves.handoffs, moves.handoffFailures, moves.handoffsLocal], [1, 0, 0]);
    assert.ok(moves.handoffBytes === 0 || moves.handoffBytes > 0);
    assert.equal(rig.gateway.sched.disaggStats().handoffs, 1);
    await rig.gateway.driver.idle();
    assert.deepEqual(rig.workers.map((w) => w.backend.liveSequences), [0, 0], 'no sequence left on either worker');
    assert.deepEqual(rig.workers.map(usedBlocks), [0, 0], 'no KV block in use on either worker (cached prefix only)');
  });

  test('a short tool call on a cached context stays on the decode instance (no hand-off)', async () => {
    const context = ids(3000, 50_000);
    const first = await generate(rig.client, { promptTokenIds: context, maxTokens: 4, numTools: 2 });
    assertInOrder(first, 3000, 4, 'context turn');
    const before = { moves: rig.gateway.driver.kvMoves.handoffs, p: await ran(rig.workers[0] as RunningWorker), d: await ran(rig.workers[1] as RunningWorker) };
    const toolCall = [...context, ...ids(40, 90_000)];
    const out = await generate(rig.client, { promptTokenIds: toolCall, maxTokens: 6, numTools: 2, hasToolResults: true });
    assertInOrder(out, 3040, 6, 'tool call');
    assert.equal(rig.gateway.driver.kvMoves.handoffs, before.moves, 'no hand-off');
    const p = await ran(rig.workers[0] as RunningWorker);
    const d = await ran(rig.workers[1] as RunningWorker);
    assert.equal(p.steps, before.p.steps, 'the prefill worker ran nothing');
    assert.ok(d.tokens - before.d.tokens < 3040, `the decode worker prefilled only the uncached suffix (${d.tokens - before.d.tokens} tokens)`);
    await rig.gateway.driver.idle();
    assert.deepEqual(rig.workers.map(usedBlocks), [0, 0]);
  });
});

/** A TCP proxy that accepts and cuts every connection at once (the decode worker unreachable for its peers). */
async function cuttingProxy(): Promise<{ port: number; close(): Promise<void> }> {
  const server = net.createServer((sock) => sock.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as net.AddressInfo).port, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe('a hand-off that fails', () => {
  let rig: DisaggRig;
  let proxy: Awaited<ReturnType<typeof cuttingProxy>>;
  before(async () => {
    proxy = await cuttingProxy();
    // The gateway reaches both workers; the prefill worker reaches the decode worker only through the cutting proxy.
    rig = await startDisaggRig(2, { roles: { prefill: 1, decode: 1 }, policy: { disaggregation: 'always' }, peerAddress: (tray, port) => (tray === 1 ? `127.0.0.1:${proxy.port}` : `127.0.0.1:${port}`) });
  });
  after(async () => {
    await rig.close();
    await proxy.close();
  });

  test('the prefill worker, which kept the KV, decodes: the stream completes in order, nothing recomputed or leaked', async () => {
    const d0 = await ran(rig.workers[1] as RunningWorker);
    const p0 = await ran(rig.workers[0] as RunningWorker);
    const outs = await Promise.all([0, 1, 2].map((i) => generate(rig.client, { promptTokenIds: ids(2500 + i * 100, 200_000 + i * 10_000), maxTokens: 12 })));
    outs.forEach((o, i) => assertInOrder(o, 2500 + i * 100, 12, `request ${i}`));
    const moves = rig.gateway.driver.kvMoves;
    assert.deepEqual([moves.handoffs, moves.handoffFailures], [3, 3]);
    assert.equal(rig.gateway.sched.disaggStats().handoffFailures, 3);
    const d1 = await ran(rig.workers[1] as RunningWorker);
    const p1 = await ran(rig.workers[0] as RunningWorker);
    assert.equal(d1.tokens - d0.tokens, 0, 'the decode worker recomputed nothing');
    // The prompts once, then the 11 decode tokens of each after its first: all on the prefill worker.
    assert.equal(p1.tokens - p0.tokens, 2500 + 2600 + 2700 + 3 * 11, 'the prefill worker ran the prompts once and every decode');
    await rig.gateway.driver.idle();
    assert.deepEqual(rig.workers.map((w) => w.backend.liveSequences), [0, 0]);
    assert.deepEqual(rig.workers.map(usedBlocks), [0, 0], 'the prefill worker freed what it kept after the failed hand-off');
  });
});

describe('live migration between two decode-capable instances', () => {
  let rig: DisaggRig;
  before(async () => {
    // Move whatever decodes (imbalance and payoff off): every tick migrates; the workers pace steps in real time.
    const migration = { name: 'load-balance', params: { periodS: 0.05, imbalance: 0, minHotLoad: 0, payoffFactor: 0, minRemainingTokens: 1, maxInFlight: 4 } };
    rig = await startDisaggRig(2, { policy: { base: 'least-loaded', migration }, pace: 'real' });
  });
  after(async () => rig.close());

  test('streams under load stay whole and in order across stop-and-copy moves; pauses reported; nothing leaked', async (t) => {
    const n = 6;
    const driver = rig.gateway.driver;
    const sched = rig.gateway.sched;
    const [a, b] = rig.gateway.topology.instances.map((i) => i.setup.instanceId) as [string, string];
    let started = 0;
    let ticks = 0;
    const outs = await Promise.all(Array.from({ length: n }, (_, i) => {
      const requestId = `mig-${i}`;
      let chunks = 0;
      return generate(rig.client, { requestId, promptTokenIds: ids(200 + i * 37, 300_000 + i * 1000), maxTokens: 48 }, () => {
        chunks++;
        // Each stream moved once by hand at its 5th chunk (to whichever instance it is not on), then the policy's
        // tick at its 20th: moves of running decodes, under the load of the others.
        if (chunks === 5) {
          const on = sched.requestInstance(requestId);
          if (on !== undefined && driver.migrate(requestId, on === a ? b : a)) started++;
        } else if (chunks === 20) {
          ticks++;
          started += driver.migrationTick();
        }
      });
    }));
    outs.forEach((o, i) => assertInOrder(o, 200 + i * 37, 48, `stream ${i}`));
    const moves = rig.gateway.driver.kvMoves;
    assert.ok(started >= n, `every stream was moved at least once (${started} moves started, ${ticks} ticks)`);
    assert.equal(moves.migrations, started, 'every move started completed');
    assert.equal(moves.migrationFailures, 0);
    assert.equal(moves.migrationPausesS.length, moves.migrations);
    for (const p of moves.migrationPausesS) assert.ok(p >= 0 && p < 2, `pause ${p}s`);
    const sorted = [...moves.migrationPausesS].sort((x, y) => x - y);
    t.diagnostic(`${moves.migrations} migrations, pause p50 ${((sorted[Math.floor(sorted.length / 2)] ?? 0) * 1000).toFixed(2)} ms, max ${((sorted.at(-1) ?? 0) * 1000).toFixed(2)} ms`);
    const d = rig.gateway.sched.disaggStats();
    assert.equal(d.migrationsDone, moves.migrations);
    const text = await rig.gateway.metrics.registry.getSingleMetricAsString('nvlsched_migration_pause_seconds');
    assert.match(text, new RegExp(`nvlsched_migration_pause_seconds_count\\{outcome="ok"\\} ${moves.migrations}`));
    await rig.gateway.driver.idle();
    assert.deepEqual(rig.workers.map((w) => w.backend.liveSequences), [0, 0]);
    assert.deepEqual(rig.workers.map(usedBlocks), [0, 0]);
  });
});

describe('a stop-and-copy migration that fails', () => {
  let rig: DisaggRig;
  let proxy: Awaited<ReturnType<typeof cuttingProxy>>;
  before(async () => {
    proxy = await cuttingProxy();
    // Tray 0's worker reaches tray 1's only through the cutting proxy: a move onto tray 1 fails, one onto tray 0 works.
    rig = await startDisaggRig(2, { policy: { base: 'least-loaded' }, pace: 'real', peerAddress: (tray, port) => (tray === 1 ? `127.0.0.1:${proxy.port}` : `127.0.0.1:${port}`) });
  });
  after(async () => {
    await rig.close();
    await proxy.close();
  });

  test('the destination recomputes prompt + streamed tokens (no re-run elsewhere); both streams whole, nothing leaked', async () => {
    const driver = rig.gateway.driver;
    const sched = rig.gateway.sched;
    const [a, b] = rig.gateway.topology.instances.map((i) => i.setup.instanceId) as [string, string];
    const before0 = await Promise.all(rig.workers.map((w) => ran(w)));
    const reruns0 = driver.reruns;
    const from = new Map<string, string>();
    const prompts = [300, 340];
    // Least-loaded puts the two streams on different instances; at its 5th chunk each moves to the other one.
    const outs = await Promise.all(prompts.map((n, i) => {
      const requestId = `fail-${i}`;
      let chunks = 0;
      return generate(rig.client, { requestId, promptTokenIds: ids(n, 900_000 + i * 10_000), maxTokens: 30 }, () => {
        if (++chunks !== 5) return;
        const on = sched.requestInstance(requestId);
        if (on !== undefined && driver.migrate(requestId, on === a ? b : a)) from.set(requestId, on);
      });
    }));
    outs.forEach((o, i) => assertInOrder(o, prompts[i] as number, 30, `stream ${i}`));
    assert.deepEqual([...from.values()].sort(), [a, b], 'one stream started on each instance and both were moved');
    const moves = driver.kvMoves;
    assert.deepEqual([moves.migrations, moves.migrationFailures], [1, 1], 'the move onto tray 1 failed, the one onto tray 0 worked');
    assert.equal(driver.reruns, reruns0, 'the failed move was recomputed by the scheduler on its destination, not re-run as a continuation');
    const d = sched.disaggStats();
    assert.equal(d.migrationRecomputes, 1);
    // Tray 1's worker recomputed the failed stream's prompt + the tokens it had streamed (5) in one prefill, then decoded.
    const failedPrompt = prompts[[...from.keys()].findIndex((id) => from.get(id) === a)] as number;
    const after1 = await ran(rig.workers[1] as RunningWorker);
    assert.ok(after1.tokens - (before0[1] as { tokens: number }).tokens >= failedPrompt + 5, 'the destination prefilled the prompt and the streamed tokens again');
    await driver.idle();
    assert.deepEqual(rig.workers.map((w) => w.backend.liveSequences), [0, 0]);
    assert.deepEqual(rig.workers.map(usedBlocks), [0, 0], 'the failed copy left nothing on either worker');
  });
});
