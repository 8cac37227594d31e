// startReplica: makes one gateway a replica among several that share sessions and KV summaries through Redis and
// forward requests to whichever replica holds their context. It opens the peer port (a Gateway gRPC service over
// the frontend's local-only view, so a forwarded request is served where it lands), installs the forwarder on the
// frontend, and runs one bounded tick loop: validate and publish this replica's KV summary, heartbeat its registry
// record, read the peers'. Redis down: the loop skips, requests are served here, the link reconnects by itself.
import * as grpc from '@grpc/grpc-js';
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';

import { makeClassification } from '../../core/classify/index.js';
import { ConfigError } from '../../core/config/params.js';
import type { Scheduler } from '../../core/scheduler.js';
import type { PlacementCostModel } from '../../core/types.js';
import type { GatewayClient } from '../../gen/proto/nvlsched/v1/Gateway.js';
import { makeFittedOpTimes } from '../../perf/fitted_optimes.js';
import { makePerfCostModel } from '../../perf/placement_cost.js';
import { loadGatewayProto } from '../../rpc/proto.js';
import type { Clock } from '../driver.js';
import type { Frontend } from '../frontend.js';
import { GatewayService } from '../service.js';
import type { GatewayCluster } from '../topology.js';
import { SessionDirectory } from './directory.js';
import { ReplicaForwarder, type ForwarderCounts } from './forwarder.js';
import { ReplicaKeys } from './keys.js';
import { RedisLink } from './redis_link.js';
import { ReplicaRegistry } from './registry.js';
import { encodeSummary, SummaryTracker } from './summary.js';

export interface ReplicaTuning {
  /** Period of the publish/heartbeat/read loop. */
  tickMs: number;
  /** A replica whose record was not refreshed for this long is gone. */
  registryTtlMs: number;
  /** A session's directory record lives this long after its last turn. */
  sessionTtlMs: number;
  /** Sessions mirrored per replica (oldest forgotten first). */
  maxSessions: number;
  /** Checkpoint hashes in this replica's KV summary (least recently used go first). */
  maxSummaryHashes: number;
  /** A prefix not (yet) in the KV index stays tracked this long (KV events lag the admission). */
  summaryPendingGraceMs: number;
  /** Summary checkpoints checked against the KV index per tick (new ones first; ~4 µs each for 8 instances). */
  summaryChecksPerTick: number;
  /** A changed summary is written at most this often (every peer reads each write). */
  summaryPublishMs: number;
  /** Seconds one forward is assumed to add (gRPC stream setup and relay): forward only when the prefill saved exceeds it. */
  forwardHopS: number;
  /** Never forward to save fewer blocks than this. */
  minForwardSavedBlocks: number;
  /** How long a forward waits for the peer's channel to connect before serving here. */
  connectTimeoutMs: number;
  /** Longest wait between Redis reconnect attempts. */
  redisRetryMaxMs: number;
}

export const DEFAULT_TUNING: Readonly<ReplicaTuning> = {
  tickMs: 250,
  registryTtlMs: 3000,
  sessionTtlMs: 600_000,
  maxSessions: 200_000,
  maxSummaryHashes: 32_768,
  summaryPendingGraceMs: 5000,
  summaryChecksPerTick: 2048,
  summaryPublishMs: 1000,
  forwardHopS: 0.01,
  minForwardSavedBlocks: 2,
  connectTimeoutMs: 1000,
  redisRetryMaxMs: 2000,
};

export interface ReplicaOptions {
  frontend: Frontend;
  sched: Scheduler;
  topology: GatewayCluster;
  redisUrl: string;
  /** Unique among the replicas (letters, digits, '_', '.', '-'; ≤ 64); default host-pid-random. */
  replicaId?: string;
  /** Where the peer port listens (default 127.0.0.1, port 0 = a free one) and the host other replicas dial. */
  peerHost?: string;
  peerPort?: number;
  advertiseHost?: string;
  /** The gateway's classification section (a forwarded request's shape at start comes from the same rules). */
  classification?: unknown;
  /** Redis key prefix shared by the replicas of one deployment (default 'nvlsched'). */
  keyPrefix?: string;
  /** The performance model for forward decisions (default: the one startGateway builds for this cluster). */
  cost?: PlacementCostModel;
  clock?: Clock;
  nowMs?: () => number;
  log?: (line: string) => void;
  tuning?: Partial<ReplicaTuning>;
}

export interface ReplicaStats {
  replicaId: string;
  address: string;
  redisUp: boolean;
  redisOutages: number;
  peers: string[];
  forwards: ForwarderCounts;
  liveForwards: number;
  directory: SessionDirectory['counts'] & { mirrored: number; own: number };
  summary: { trackedHashes: number; heldHashes: number; publishedHashes: number; version: number };
  ticks: number;
  lastTickMs: number;
}

export interface RunningReplica {
  replicaId: string;
  /** host:port other replicas forward to. */
  address: string;
  peerPort: number;
  forwarder: ReplicaForwarder;
  directory: SessionDirectory;
  stats(): ReplicaStats;
  /** Runs one loop iteration now (tests; the loop runs by itself). */
  tick(): Promise<void>;
  /** Clean stop: forwards in flight cancelled, peer port closed, registry record removed, Redis closed. */
  stop(): Promise<void>;
  /** A crash, for tests: everything stops at once and nothing is cleaned up (the record expires by its TTL). */
  kill(): void;
}

const ID_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
const STOP_GRACE_MS = 2000;

function checkTuning(t: ReplicaTuning): void {
  for (const [k, v] of Object.entries(t)) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new ConfigError(`replica.${k}`, `expected a finite number ≥ 0, got ${String(v)}`);
  }
  if (t.tickMs < 10) throw new ConfigError('replica.tickMs', `expected ≥ 10, got ${t.tickMs}`);
  if (t.registryTtlMs < 2 * t.tickMs) throw new ConfigError('replica.registryTtlMs', `expected ≥ 2 × tickMs (${2 * t.tickMs}), got ${t.registryTtlMs}`);
}

export async function startReplica(o: ReplicaOptions): Promise<RunningReplica> {
  const tuning: ReplicaTuning = { ...DEFAULT_TUNING, ...o.tuning };
  checkTuning(tuning);
  const replicaId = o.replicaId ?? `${hostname().replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 40)}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  if (!ID_PATTERN.test(replicaId)) throw new ConfigError('replicaId', `'${replicaId}' must be 1–64 characters of letters, digits, '_', '.', '-'`);
  const keyPrefix = o.keyPrefix ?? 'nvlsched';
  if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(keyPrefix)) throw new ConfigError('keyPrefix', `'${keyPrefix}' must be 1–64 characters of letters, digits, '_', '.', ':', '-'`);
  const log = o.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const nowMs = o.nowMs ?? Date.now;
  const clock = o.clock ?? (() => performance.now() / 1000);
  const { cluster } = o.topology;
  const instances = o.topology.instances.map((i) => i.setup.instanceId);
  const blockTokens = cluster.engine.blockTokens;
  const maxContextTokens = cluster.model.maxContextTokens;
  const classification = makeClassification(o.classification ?? {});
  const cost = o.cost ?? makePerfCostModel([{ pool: cluster.pool.name, model: cluster.model, instance: cluster.perf, kvDtype: cluster.kvDtype, blockTokens }], makeFittedOpTimes());

  // The peer port: the Gateway service over the local-only view (a forwarded request never bounces).
  const server = new grpc.Server();
  new GatewayService({ frontend: o.frontend.localOnly(), limits: { maxContextTokens, blockTokens }, label: `peer port of replica ${replicaId}` }).addTo(server);
  const peerHost = o.peerHost ?? '127.0.0.1';
  const peerPort = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${peerHost}:${o.peerPort ?? 0}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  const address = `${o.advertiseHost ?? peerHost}:${peerPort}`;

  const link = new RedisLink({ url: o.redisUrl, log, retryMaxMs: tuning.redisRetryMaxMs, commandTimeoutMs: Math.max(200, tuning.tickMs * 2), nowMs });
  const keys = new ReplicaKeys(keyPrefix);
  const directory = new SessionDirectory({ link, keys, replicaId, ttlMs: tuning.sessionTtlMs, maxSessions: tuning.maxSessions, nowMs });
  const registry = new ReplicaRegistry({ link, keys, replicaId, address, instances, ttlMs: tuning.registryTtlMs, nowMs });
  const tracker = new SummaryTracker({ kvIndex: o.sched.kvIndex, instances, maxHashes: tuning.maxSummaryHashes, pendingGraceMs: tuning.summaryPendingGraceMs, checksPerRefresh: tuning.summaryChecksPerTick, nowMs });
  const proto = loadGatewayProto();
  const clients = new Map<string, GatewayClient>();
  const client = (addr: string): GatewayClient => {
    let c = clients.get(addr);
    if (!c) {
      c = new proto.nvlsched.v1.Gateway(addr, grpc.credentials.createInsecure());
      clients.set(addr, c);
    }
    return c;
  };
  const forwarder = new ReplicaForwarder({
    replicaId,
    sched: o.sched,
    instances,
    pool: cluster.pool.name,
    blockTokens,
    link,
    directory,
    registry,
    tracker,
    relay: { frontend: o.frontend, client, clock, maxContextTokens, connectTimeoutMs: tuning.connectTimeoutMs },
    classify: (req) => classification.classifier.classify(req).shape,
    cost,
    hopS: tuning.forwardHopS,
    minSavedBlocks: tuning.minForwardSavedBlocks,
    log,
  });
  o.frontend.setForwarder(forwarder);

  let ticks = 0;
  let lastTickMs = 0;
  let running: Promise<void> | null = null;
  let stopped = false;
  /** The summary must be written again after a reconnect (Redis may have restarted empty). */
  let summaryDirty = true;
  let lastPublishMs = -Infinity;
  let publishedHashes = 0;
  const once = async (): Promise<void> => {
    if (stopped || !link.up) return;
    const t0 = performance.now();
    try {
      const { changed } = tracker.refresh();
      // A changed summary goes out at most every summaryPublishMs (each write is read by every peer); after a
      // reconnect at once.
      const due = performance.now() - lastPublishMs >= tuning.summaryPublishMs;
      let blob: Buffer | null = null;
      if ((changed && due) || summaryDirty) {
        const b = tracker.build();
        blob = encodeSummary(b.hashes, b.instances);
        publishedHashes = b.hashes.length;
        lastPublishMs = performance.now();
      }
      await registry.publish(tracker.version, publishedHashes, blob);
      if (blob) summaryDirty = false;
      await registry.readPeers();
      ticks++;
    } catch (error) {
      summaryDirty = true;
      link.commandFailed('replica tick', error);
    }
    lastTickMs = performance.now() - t0;
  };
  // One tick at a time: a slow Redis makes ticks late, never concurrent.
  const tick = (): Promise<void> => (running ??= once().finally(() => (running = null)));
  link.onUp(() => {
    summaryDirty = true;
    void tick();
  });
  const timer = setInterval(() => void tick(), tuning.tickMs);
  timer.unref();

  const shutdownServer = (): Promise<void> => new Promise((resolve) => {
    const force = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, STOP_GRACE_MS);
    force.unref();
    server.tryShutdown(() => {
      clearTimeout(force);
      resolve();
    });
  });
  const closeAll = (): void => {
    stopped = true;
    clearInterval(timer);
    o.frontend.setForwarder(null);
    for (const c of clients.values()) c.close();
  };

  return {
    replicaId,
    address,
    peerPort,
    forwarder,
    directory,
    stats: () => ({
      replicaId,
      address,
      redisUp: link.up,
      redisOutages: link.outages,
      peers: registry.peerIds(),
      forwards: { ...forwarder.counts },
      liveForwards: forwarder.liveForwards,
      directory: { ...directory.counts, mirrored: directory.mirrorSize, own: directory.ownSize },
      summary: { trackedHashes: tracker.size, heldHashes: tracker.published, publishedHashes, version: tracker.version },
      ticks,
      lastTickMs,
    }),
    tick,
    async stop() {
      if (stopped) return;
      forwarder.cancelAll('the gateway is shutting down');
      closeAll();
      await running;
      if (link.up) await registry.deregister().catch((error: unknown) => log(`replica: could not remove this replica's record: ${(error as Error).message}`));
      link.close();
      await shutdownServer();
    },
    kill() {
      if (stopped) return;
      closeAll();
      link.close();
      server.forceShutdown();
    },
  };
}
