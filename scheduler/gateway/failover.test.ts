// Worker failures over real loopback gRPC: a worker that goes away mid-stream → its requests are re-run on another
// worker and every client still gets all its tokens (or, with nowhere to go, a clear error) — none hangs; the
// failed instances take no new work; a worker restarted on the same port rejoins and takes work again. Both with
// in-process workers (stream ended by the worker) and with child worker processes killed by SIGKILL.
import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import type { GatewayClient } from '../gen/proto/nvlsched/v1/Gateway.js';
import { loadGatewayProto } from '../rpc/proto.js';
import { startWorker } from '../worker/worker.js';
import { startGateway, type RunningGateway } from './gateway.js';
import { promptBlockHashes } from './hashing.js';
import { startLocalWorkers } from './local_workers.js';
import { SMALL, generate, startRig, unary, type Generated } from './testing.js';

const ids = (n: number, base = 1): number[] => Array.from({ length: n }, (_, i) => base + i);

/** Polls a condition every 10 ms, at most `limitMs` (the rejoin runs on timers of its own). */
async function until(what: string, cond: () => boolean, limitMs = 10_000): Promise<void> {
  for (let waited = 0; !cond(); waited += 10) {
    if (waited >= limitMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Starts `n` long requests; resolves their results, and `streaming` once each has received a token. */
function longRequests(client: GatewayClient, n: number, maxTokens: number): { done: Promise<Generated[]>; streaming: Promise<void> } {
  let started = 0;
  let onAll: () => void = () => undefined;
  const streaming = new Promise<void>((resolve) => (onAll = resolve));
  const done = Promise.all(
    Array.from({ length: n }, (_, i) => {
      let seen = false;
      const mark = (): void => {
        if (seen) return;
        seen = true;
        if (++started === n) onAll();
      };
      // A request that ends without a token (rejected) also counts, so `streaming` never hangs; its result tells.
      return generate(client, { promptTokenIds: ids(200 + 37 * i, 1000 * i), maxTokens }, (c) => {
        if (c.tokenIds.length > 0) mark();
      }).then((out) => {
        mark();
        return out;
      });
    }),
  );
  return { done, streaming };
}

function instancesOfWorker(g: RunningGateway, tray: number): string[] {
  return g.topology.instances.filter((i) => i.leaderWorker === tray).map((i) => i.setup.instanceId);
}

describe('failover with in-process workers', () => {
  test('a worker that goes away mid-stream: its requests finish on the other worker; it rejoins after a restart', async () => {
    const rig = await startRig(2, { rejoinBackoffMs: 20 });
    try {
      const { driver, sched } = rig.gateway;
      const maxTokens = 400;
      const { done, streaming } = longRequests(rig.client, 8, maxTokens);
      await streaming;
      const port0 = rig.workers[0]?.port as number;
      const onZero = instancesOfWorker(rig.gateway, 0);
      await rig.workers[0]?.server.close(0);
      const outs = await done;
      for (const o of outs) {
        assert.equal(o.error, undefined, o.error?.details);
        assert.equal(o.last?.finishReason, 'length');
        assert.equal(o.tokens.length, maxTokens, 'every token owed reaches the client');
        assert.equal(o.last?.usage?.completionTokens, maxTokens);
      }
      assert.ok(driver.reruns >= 1, `re-runs: ${driver.reruns}`);
      assert.equal(driver.failures, onZero.length);
      // Prometheus sees the same: failures per worker, re-runs.
      const scrape = await rig.gateway.metrics.metrics();
      const sum = (name: string): number => [...scrape.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)`, 'gm'))].reduce((n, m) => n + Number(m[1]), 0);
      assert.equal(sum('nvlsched_worker_failures_total'), onZero.length);
      assert.equal(sum('nvlsched_request_reruns_total'), driver.reruns);
      for (const id of onZero) assert.equal(sched.instanceView(id).healthy, false);
      assert.equal(sched.stats().live, 0);

      // While tray 0 is down, new work goes to tray 1 only.
      const during = await Promise.all(Array.from({ length: 6 }, (_, i) => generate(rig.client, { promptTokenIds: ids(64, 50_000 + i * 100), maxTokens: 3 })));
      for (const o of during) assert.equal(o.tokens.length, 3);

      // Restart on the same port: every instance of tray 0 rejoins (fresh stream, KV snapshot) and is healthy.
      const again = await startWorker({ topology: 'gb200-nvl72', tray: 0, model: SMALL.model, tensorParallel: SMALL.tensorParallel, kvBlocksPerGpu: SMALL.kvBlocksPerGpu, blockTokens: SMALL.blockTokens, seed: 1 }, { port: port0 });
      rig.workers[0] = again;
      await until('tray 0 to rejoin', () => driver.rejoins === onZero.length);
      for (const id of onZero) assert.equal(sched.instanceView(id).healthy, true);
      const prompts = Array.from({ length: 16 }, (_, i) => ids(64, 90_000 + i * 100));
      const after = await Promise.all(prompts.map((p) => generate(rig.client, { promptTokenIds: p, maxTokens: 3 })));
      for (const o of after) assert.equal(o.tokens.length, 3);
      // The restarted tray ran some of them: its KV events put their prompt blocks in the index under tray 0.
      const cachedOnZero = prompts.filter((p) => onZero.some((id) => sched.kvIndex.prefixHit(promptBlockHashes(p, SMALL.blockTokens), id).deviceBlocks > 0));
      assert.ok(cachedOnZero.length > 0, 'the restarted worker takes work again');
    } finally {
      await rig.close();
    }
  });

  test('with no other worker, requests end with a clear error and the gateway keeps answering', async () => {
    const rig = await startRig(1, { rejoinBackoffMs: 20 });
    try {
      // 3,000 output tokens fit the small test KV (256 blocks of 16 tokens per GPU); the worker goes first.
      const { done, streaming } = longRequests(rig.client, 3, 3000);
      await streaming;
      await rig.workers[0]?.server.close(0);
      const outs = await done;
      for (const o of outs) {
        assert.equal(o.error, undefined, o.error?.details);
        // Either the stream ends with finish_reason error, or (re-run rejected at once) a final error message.
        assert.equal(o.last?.finishReason, 'error', JSON.stringify(o.last));
        assert.match(o.last?.text ?? '', /worker failed|step stream/);
        assert.ok(o.tokens.length < 3000);
      }
      assert.equal(rig.gateway.sched.stats().live, 0);
      const h = await unary<object, { status: string }>(rig.client.Health.bind(rig.client), {});
      assert.equal(h.status, 'STATUS_SERVING');
      // A new request while no instance is healthy is rejected, not left hanging.
      const none = await generate(rig.client, { promptTokenIds: ids(40), maxTokens: 2 });
      assert.ok(none.error, 'rejected');
      assert.notEqual(none.error.code, grpc.status.OK);
    } finally {
      await rig.close();
    }
  });
});

describe('draining a worker', () => {
  test('running requests finish where they are, new ones start on the other worker, none fails', async () => {
    const rig = await startRig(2, { rejoinBackoffMs: 20 });
    try {
      const { driver, sched } = rig.gateway;
      const { done, streaming } = longRequests(rig.client, 6, 200);
      await streaming;
      const draining = rig.workers[0]?.server.drain(30);
      // New work while tray 0 drains: what lands there is refused (E_DRAINING) and re-run on tray 1.
      const fresh = await Promise.all(Array.from({ length: 24 }, (_, i) => generate(rig.client, { promptTokenIds: ids(64, 30_000 + i * 100), maxTokens: 4 })));
      for (const o of fresh) {
        assert.equal(o.error, undefined, o.error?.details);
        assert.equal(o.last?.finishReason, 'length');
        assert.equal(o.tokens.length, 4);
      }
      for (const o of await done) assert.equal(o.tokens.length, 200);
      assert.equal(await draining, 0, 'tray 0 drained: nothing left running');
      const onZero = instancesOfWorker(rig.gateway, 0);
      assert.ok(onZero.some((id) => sched.instanceView(id).draining), 'the gateway saw the drain');
      assert.equal(driver.failures, 0);
    } finally {
      await rig.close();
    }
  });
});

describe('failover with worker processes', () => {
  test('SIGKILL of a worker process: requests finish elsewhere; the restarted process rejoins', async () => {
    const cliPath = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'cli', 'main.ts');
    const workers = await startLocalWorkers({ count: 2, topology: 'gb200-nvl72', model: SMALL.model, tensorParallel: SMALL.tensorParallel, kvBlocksPerGpu: SMALL.kvBlocksPerGpu, blockTokens: SMALL.blockTokens, seed: 1, cliPath });
    let gateway: RunningGateway | undefined;
    let client: GatewayClient | undefined;
    try {
      gateway = await startGateway({ ...SMALL, workerPorts: workers.ports, grpcPort: 0, rejoinBackoffMs: 50 });
      const proto = loadGatewayProto();
      client = new proto.nvlsched.v1.Gateway(`127.0.0.1:${gateway.port}`, grpc.credentials.createInsecure());
      const { done, streaming } = longRequests(client, 6, 300);
      await streaming;
      await workers.kill(0);
      const outs = await done;
      for (const o of outs) {
        assert.equal(o.error, undefined, o.error?.details);
        assert.equal(o.tokens.length, 300);
      }
      assert.ok(gateway.driver.failures >= 1);
      await workers.restart(0);
      const g = gateway;
      await until('the killed tray to rejoin', () => g.driver.rejoins === g.driver.failures, 20_000);
      const after = await Promise.all(Array.from({ length: 8 }, (_, i) => generate(client as GatewayClient, { promptTokenIds: ids(64, 7000 + i * 100), maxTokens: 2 })));
      for (const o of after) assert.equal(o.tokens.length, 2);
    } finally {
      client?.close();
      await gateway?.close();
      await workers.stop();
    }
  });
});
