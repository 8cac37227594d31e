// Test helpers for replicas: in-process workers for chosen trays; a gateway over a tray subset, wired as startGateway
// wires one (until startGateway takes `trays`, see README.md); and a TCP proxy in front of a real Redis that can be
// cut and restored, so a test sees Redis go away and come back whether Redis is its own child or REDIS_URL's.
import * as grpc from '@grpc/grpc-js';
import { Redis } from 'ioredis';
import { createServer, connect, type Server, type Socket } from 'node:net';

import { Scheduler } from '../../core/scheduler.js';
import type { GatewayClient } from '../../gen/proto/nvlsched/v1/Gateway.js';
import type { WorkerClient } from '../../gen/proto/nvlsched/v1/Worker.js';
import { makeFittedOpTimes } from '../../perf/fitted_optimes.js';
import { makePerfCostModel } from '../../perf/placement_cost.js';
import { loadGatewayProto, loadWorkerProto } from '../../rpc/proto.js';
import { Rng } from '../../util/random.js';
import { startWorker, type RunningWorker } from '../../worker/worker.js';
import { GatewayDriver, type DriverInstance } from '../driver.js';
import { Frontend } from '../frontend.js';
import { realClock } from '../gateway.js';
import { snapshotFromProto } from '../kv_events.js';
import { GatewayService } from '../service.js';
import { StepStreamClient } from '../step_stream.js';
import { SMALL } from '../testing.js';
import { buildTrayPartition, type TrayPartition } from './partition.js';
import { startReplica, type ReplicaTuning, type RunningReplica } from './replica.js';

export async function startTrayWorkers(trays: readonly number[], pace: 'none' | 'real' = 'none'): Promise<RunningWorker[]> {
  const out: RunningWorker[] = [];
  for (const tray of trays) {
    out.push(await startWorker({ topology: 'gb200-nvl72', tray, model: SMALL.model, tensorParallel: SMALL.tensorParallel, kvBlocksPerGpu: SMALL.kvBlocksPerGpu, blockTokens: SMALL.blockTokens, seed: 1, backend: 'sim' }, { port: 0, pace }));
  }
  return out;
}

export interface PartitionGateway {
  port: number;
  sched: Scheduler;
  driver: GatewayDriver;
  frontend: Frontend;
  topology: TrayPartition;
  client: GatewayClient;
  close(): Promise<void>;
}

/** A gateway driving only the instances on `trays` (workerPorts in the same order), on loopback port 0. */
export async function startPartitionGateway(trays: readonly number[], workerPorts: readonly number[], log?: (line: string) => void): Promise<PartitionGateway> {
  const topology = buildTrayPartition({ ...SMALL, trays });
  const { cluster } = topology;
  const blockTokens = cluster.engine.blockTokens;
  const cost = makePerfCostModel([{ pool: cluster.pool.name, model: cluster.model, instance: cluster.perf, kvDtype: cluster.kvDtype, blockTokens }], makeFittedOpTimes());
  const sched = new Scheduler({ pools: [{ ...cluster.pool, kvBytesPerBlock: cluster.kvBytesPerBlock }], instances: topology.instances.map((i) => i.setup), cost, rng: new Rng(1) });
  const wproto = loadWorkerProto();
  const clients: WorkerClient[] = workerPorts.map((port) => new wproto.nvlsched.v1.Worker(`127.0.0.1:${port}`, grpc.credentials.createInsecure()));
  const instances: DriverInstance[] = topology.instances.map((spec) => {
    const client = clients[topology.workerSlot(spec.leaderWorker) as number] as WorkerClient;
    return {
      instanceId: spec.setup.instanceId,
      workerId: (cluster.workers[spec.leaderWorker] as { workerId: string }).workerId,
      gpu: spec.leaderGpu,
      connect: () => new StepStreamClient(client),
      probe: () => new Promise<void>((resolve, reject) => client.Health({}, { deadline: Date.now() + 2000 }, (err) => (err ? reject(err) : resolve()))),
      snapshot: () => new Promise((resolve, reject) => client.Snapshot({}, { deadline: Date.now() + 2000 }, (err, res) => (err || !res ? reject(err ?? new Error('empty snapshot')) : resolve(snapshotFromProto(res))))),
    };
  });
  const maxContextTokens = cluster.model.maxContextTokens;
  const driver = new GatewayDriver({ sched, clock: realClock, instances, maxContextTokens, blockTokens, ...(log ? { log } : {}) });
  let stopping = false;
  const frontend = new Frontend({ sched, driver, clock: realClock, isStopping: () => stopping, ...(log ? { log } : {}) });
  const server = new grpc.Server();
  new GatewayService({ frontend, limits: { maxContextTokens, blockTokens }, label: `trays ${trays.join(',')}` }).addTo(server);
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  const client = new (loadGatewayProto().nvlsched.v1.Gateway)(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  return {
    port,
    sched,
    driver,
    frontend,
    topology,
    client,
    async close() {
      if (stopping) return;
      stopping = true;
      client.close();
      driver.cancelAll('the gateway is shutting down');
      server.forceShutdown();
      driver.stop();
      for (const c of clients) c.close();
    },
  };
}

/** A loopback TCP proxy to Redis: cut() closes every connection and refuses new ones; restore() listens again. */
export class RedisProxy {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  port = 0;

  private constructor(private readonly target: { host: string; port: number }) {}

  static async start(redisUrl: string): Promise<RedisProxy> {
    const u = new URL(redisUrl);
    const p = new RedisProxy({ host: u.hostname, port: Number(u.port || 6379) });
    await p.listen(0);
    return p;
  }

  /** The proxy's URL, keeping the target's credentials and database. */
  urlFor(redisUrl: string): string {
    const u = new URL(redisUrl);
    u.hostname = '127.0.0.1';
    u.port = String(this.port);
    return u.toString();
  }

  private listen(port: number): Promise<void> {
    const server = createServer((down) => {
      const up = connect(this.target.port, this.target.host);
      for (const s of [down, up]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {
          down.destroy();
          up.destroy();
        });
      }
      down.pipe(up).pipe(down);
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        const a = server.address();
        this.port = typeof a === 'object' && a ? a.port : 0;
        resolve();
      });
    });
  }

  /** Redis "goes away": open connections drop, new ones are refused. */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Redis "comes back" on the same port (a few tries: the port was just released). */
  async restore(): Promise<void> {
    let lastError: unknown;
    for (let attempt = 0; attempt < 20; attempt++) {
      try {
        return await this.listen(this.port);
      } catch (error) {
        lastError = error;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    throw lastError;
  }

  close(): Promise<void> {
    return this.cut();
  }
}

/** Waits (bounded) for a condition the system reaches by itself; names it when it times out. */
export async function until(what: string, cond: () => boolean, limitMs = 5000): Promise<void> {
  for (let waited = 0; !cond(); waited += 10) {
    if (waited >= limitMs) throw new Error(`timed out after ${limitMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export interface ReplicaSide {
  gw: PartitionGateway;
  replica: RunningReplica;
  logs: string[];
}

export interface ReplicaPair {
  a: ReplicaSide;
  b: ReplicaSide;
  proxy: RedisProxy;
  keyPrefix: string;
  close(): Promise<void>;
}

let pairs = 0;

/**
 * Replica A on trays 0–1 and B on trays 2–3 of one rack (in-process workers), both through one proxy to `redisUrl`
 * under a key prefix of their own (deleted at close: safe on a shared Redis). Resolves once each sees the other.
 */
export async function startReplicaPair(redisUrl: string, tuning: Partial<ReplicaTuning>, pace: 'none' | 'real' = 'none'): Promise<ReplicaPair> {
  const keyPrefix = `nvlsched-test-${process.pid}-${++pairs}`;
  const proxy = await RedisProxy.start(redisUrl);
  const workers = await startTrayWorkers([0, 1, 2, 3], pace);
  const side = async (name: string, trays: number[]): Promise<ReplicaSide> => {
    const logs: string[] = [];
    const log = (line: string): void => void logs.push(line);
    const gw = await startPartitionGateway(trays, trays.map((t) => (workers[t] as { port: number }).port), log);
    const replica = await startReplica({ frontend: gw.frontend, sched: gw.sched, topology: gw.topology, redisUrl: proxy.urlFor(redisUrl), replicaId: name, keyPrefix, log, tuning });
    return { gw, replica, logs };
  };
  const a = await side('a', [0, 1]);
  const b = await side('b', [2, 3]);
  await until('each replica to see the other', () => a.replica.stats().peers.includes('b') && b.replica.stats().peers.includes('a'));
  return {
    a,
    b,
    proxy,
    keyPrefix,
    async close() {
      for (const s of [a, b]) {
        await s.replica.stop();
        await s.gw.close();
      }
      for (const w of workers) await w.server.close();
      await proxy.close();
      await deleteKeys(redisUrl, keyPrefix);
    },
  };
}

/** Deletes every key under `prefix` (SCAN, not KEYS: the Redis may be shared). */
export async function deleteKeys(redisUrl: string, prefix: string): Promise<void> {
  const r = new Redis(redisUrl, { maxRetriesPerRequest: 0 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await r.del(...keys);
    } while (cursor !== '0');
  } finally {
    r.disconnect();
  }
}
