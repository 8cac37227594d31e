// Test helpers for replicas: in-process workers for chosen trays; the real gateway over a tray subset
// (startGateway's `trays`); and a TCP proxy in front of a real Redis that can be
// cut and restored, so a test sees Redis go away and come back whether Redis is its own child or REDIS_URL's.
import * as grpc from '@grpc/grpc-js';
import { Redis } from 'ioredis';
import { createServer, connect, type Server, type Socket } from 'node:net';

import type { Scheduler } from '../../core/scheduler.js';
import type { GatewayClient } from '../../gen/proto/nvlsched/v1/Gateway.js';
import { loadGatewayProto } from '../../rpc/proto.js';
import { startWorker, type RunningWorker } from '../../worker/worker.js';
import type { GatewayDriver } from '../driver.js';
import type { Frontend } from '../frontend.js';
import { startGateway } from '../gateway.js';
import { SMALL } from '../testing.js';
import type { TrayPartition } from './partition.js';
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
  // The real gateway on a share of the trays; the tests start the replica layer around its frontend themselves.
  const gw = await startGateway({ ...SMALL, trays, workerPorts, grpcPort: 0, ...(log ? { log } : {}) });
  const client = new (loadGatewayProto().nvlsched.v1.Gateway)(`127.0.0.1:${gw.port}`, grpc.credentials.createInsecure());
  let closed = false;
  return {
    port: gw.port,
    sched: gw.sched,
    driver: gw.driver,
    frontend: gw.frontend,
    topology: gw.topology as PartitionGateway['topology'],
    client,
    async close() {
      if (closed) return;
      closed = true;
      client.close();
      await gw.close();
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
