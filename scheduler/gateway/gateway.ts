// Builds a gateway: the cluster's instances on the first N trays → the Scheduler (performance-model cost) → one Step
// stream per instance to the worker of its leading tray → the driver → the Gateway gRPC service on host:port.
import * as grpc from '@grpc/grpc-js';
import { performance } from 'node:perf_hooks';

import { ConfigError } from '../core/config/params.js';
import { Scheduler } from '../core/scheduler.js';
import type { WorkerClient } from '../gen/proto/nvlsched/v1/Worker.js';
import { makeFittedOpTimes } from '../perf/fitted_optimes.js';
import { makePerfCostModel } from '../perf/placement_cost.js';
import { loadWorkerProto } from '../rpc/proto.js';
import { channelCredentials, describeClientTls, explainTransportError, describeServerTls, serverCredentials, type ClientTls, type ServerTls } from '../rpc/tls.js';
import { Rng } from '../util/random.js';
import { GatewayDriver, type Clock, type DriverInstance } from './driver.js';
import { handOffSequence, liveCopyCalls } from './handoff.js';
import { snapshotFromProto } from './kv_events.js';
import { nothingElseQueued } from '../batch/gate.js';
import { startBatchDrainer, type BatchDrainer } from '../batch/drainer.js';
import { BatchMetrics } from '../batch/metrics.js';
import { checkWorkerDomains, type ReportedDomain } from './domains.js';
import { Frontend } from './frontend.js';
import { startHttpApi, type RunningHttpApi } from './http/server.js';
import { GatewayMetrics, type GatewaySnapshot } from '../metrics/gateway_metrics.js';
import { startMetricsServer, type MetricsServer } from '../metrics/server.js';
import { startReplica, type ReplicaTuning, type RunningReplica } from './replica/replica.js';
import { buildTrayPartition } from './replica/partition.js';
import { GatewayService } from './service.js';
import type { Authenticator } from './tenancy/auth.js';
import { EdgeGuard } from './tenancy/guard.js';
import { checkLimitsAgainstContext, grpcServerOptions, parseLimits } from './tenancy/limits.js';
import { TenantQuotas } from './tenancy/quotas.js';
import { parseTenants } from '../core/config/tenants.js';
import { StepStreamClient } from './step_stream.js';
import { buildGatewayCluster, type GatewayClusterOptions, type GatewayCluster } from './topology.js';

export interface GatewayOptions extends Omit<GatewayClusterOptions, 'numWorkers'> {
  /** gRPC ports of the workers of trays 0..n-1, in tray order (on workerHost). */
  workerPorts?: readonly number[];
  workerHost?: string;
  /** Or full addresses (host:port) of the workers of trays 0..n-1 (Kubernetes: one DNS name per tray pod). */
  workerAddresses?: readonly string[];
  /**
   * host:port at which the workers dial each other for KV hand-offs, by tray as workerAddresses (default: the
   * addresses the gateway dials). Differs when the gateway reaches the workers through a proxy or service name.
   */
  peerAddresses?: readonly string[];
  /** The trays (cluster tray indices) whose workers those are, when not 0..n-1: a replica's share (replica/). */
  trays?: readonly number[];
  /** Drain the batch jobs queued in this Redis at low priority into idle capacity (scheduler/batch). */
  batch?: { redisUrl: string; maxInFlight?: number };
  /** Join the gateway replicas sharing this Redis (replica/README.md); undefined: a lone gateway. */
  replica?: { redisUrl: string; replicaId?: string; peerHost?: string; peerPort?: number; advertiseHost?: string; keyPrefix?: string; tuning?: Partial<ReplicaTuning> };
  policy?: unknown;
  /** The classification section (classifier, predictor, SLOs per shape), as SchedulerOptions takes it. */
  classification?: unknown;
  seed?: number;
  host?: string;
  /** 0 picks a free port. */
  grpcPort?: number;
  /** The OpenAI-compatible HTTP API's port (0 picks a free one); undefined: no HTTP API. */
  httpPort?: number;
  /** Prometheus /metrics port (0 picks a free one); undefined: none (metrics are still recorded). */
  metricsPort?: number;
  clock?: Clock;
  log?: (line: string) => void;
  /** First wait before a failed instance probes its worker again (driver.ts). */
  rejoinBackoffMs?: number;
  /** Whole KV hand-off / migration copy timeout given to the workers (default 30 s; disagg.ts). */
  handoffTimeoutMs?: number;
  /** false: no migration timer (tests call driver.migrationTick()). Default true when the policy migrates. */
  migrationTimer?: boolean;
  /** TLS to the workers (rpc/tls.ts readClientTls: their CA, this gateway's client certificate); default insecure. */
  workerTls?: ClientTls | null;
  /** TLS on the client-facing gRPC port and the HTTP API (rpc/tls.ts readServerTls; mTLS with a client CA); default insecure. */
  tls?: ServerTls | null;
  /** API keys (tenancy/auth.ts openAuth); absent or null: no auth, the tenant is taken as the client sends it. */
  auth?: Authenticator | null;
  /** The `tenants:` section as written (core/config/tenants.ts): quotas at the edge, fair share in the scheduler. */
  tenants?: unknown;
  /** The `limits:` section as written (tenancy/limits.ts): body, prompt, output, messages, tools, streams, timeouts. */
  limits?: unknown;
}

export interface RunningGateway {
  port: number;
  /** The HTTP API's port, null when not started. */
  httpPort: number | null;
  /** The /metrics port, null when not started. */
  metricsPort: number | null;
  metrics: GatewayMetrics;
  sched: Scheduler;
  frontend: Frontend;
  driver: GatewayDriver;
  topology: GatewayCluster;
  /** This gateway as a replica (null without options.replica). */
  replica: RunningReplica | null;
  /** The batch-job drainer (null without options.batch). */
  batch: BatchDrainer | null;
  /** NVLink domains the workers reported at start, by worker id (unreachable ones absent). */
  workerDomains: Map<string, ReportedDomain>;
  /** Stops accepting, cancels what is live, closes streams and the server. */
  close(): Promise<void>;
}

/** How long shutdown waits for cancelled streams to end, then for open calls, before forcing. */
const SHUTDOWN_GRACE_MS = 2000;

/** Deadline of the gateway's unary calls to a worker (Health, Snapshot). */
const RPC_DEADLINE_MS = 2000;

/** Resolves when the worker answers Health as serving (a draining or silent worker does not take work). */
function probeWorker(client: WorkerClient): Promise<void> {
  return new Promise((resolve, reject) =>
    client.Health({}, { deadline: Date.now() + RPC_DEADLINE_MS }, (err, res) => {
      if (err) return reject(new Error(`Health: ${explainTransportError(err.details || err.message)}`));
      if (res?.status !== 'STATUS_SERVING') return reject(new Error(`Health: worker is ${res?.status ?? 'silent'}`));
      resolve();
    }),
  );
}

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms).unref());

export const realClock: Clock = () => performance.now() / 1000;

export async function startGateway(o: GatewayOptions): Promise<RunningGateway> {
  const addresses = o.workerAddresses ?? (o.workerPorts ?? []).map((port) => `${o.workerHost ?? '127.0.0.1'}:${port}`);
  if (addresses.length === 0) throw new RangeError('startGateway: give workerPorts or workerAddresses (at least one worker)');
  if (o.trays !== undefined && o.trays.length !== addresses.length) throw new ConfigError('trays', `${o.trays.length} trays for ${addresses.length} workers`);
  if (o.peerAddresses !== undefined && o.peerAddresses.length !== addresses.length) throw new ConfigError('peerAddresses', `${o.peerAddresses.length} peer addresses for ${addresses.length} workers`);
  if (o.trays !== undefined && o.roles !== undefined) throw new ConfigError('roles', 'not with trays: a replica\'s share takes its roles from the cluster mapping (cluster.roles)');
  const partition = o.trays !== undefined ? buildTrayPartition({ ...o, trays: o.trays }) : null;
  const topology = partition ?? buildGatewayCluster({ ...o, numWorkers: addresses.length });
  const { cluster } = topology;
  const edge = parseLimits(o.limits);
  checkLimitsAgainstContext(edge, cluster.model.maxContextTokens);
  const tenants = parseTenants(o.tenants);
  const clock = o.clock ?? realClock;
  const blockTokens = cluster.engine.blockTokens;
  const cost = makePerfCostModel([{ pool: cluster.pool.name, model: cluster.model, instance: cluster.perf, kvDtype: cluster.kvDtype, blockTokens }], makeFittedOpTimes());
  const metrics = new GatewayMetrics({ processMetrics: true });
  // Every 16th routing decision is timed stage by stage and plugin by plugin (nvlsched_scheduling_latency_seconds
  // {plugin}: classify, route, kv_lookup, filter:*, scorer:*, picker:*, admission, enqueue): about fifteen clock
  // reads and histogram updates, paid by one decision in sixteen.
  let decisions = 0;
  const profiler = {
    sample: (): boolean => (++decisions & 15) === 0,
    now: (): number => performance.now() / 1000,
    record: (stage: string, seconds: number): void => {
      try {
        metrics.schedulingLatency(stage, seconds);
      } catch {
        // A metrics refusal must never fail a routing decision.
      }
    },
  };
  const sched = new Scheduler({
    policy: o.policy,
    profiler,
    // Fair share and priority bands only when the config has a tenants section (absent: behaviour as before).
    ...(o.tenants !== undefined ? { tenants } : {}),
    ...(o.classification !== undefined ? { classification: o.classification } : {}),
    pools: [{ ...cluster.pool, kvBytesPerBlock: cluster.kvBytesPerBlock }],
    instances: topology.instances.map((i) => i.setup),
    cost,
    rng: new Rng(o.seed ?? 1),
  });
  const proto = loadWorkerProto();
  // A worker whose certificate does not chain to workerTls.caPem (or that wants a client certificate this gateway
  // lacks) fails every call: its instances' Step streams break at start, the driver marks them unhealthy and logs
  // the TLS error, and rejoin keeps probing (a fixed certificate lets it join without a gateway restart).
  const workerCreds = channelCredentials(o.workerTls);
  const clients: WorkerClient[] = addresses.map((address) => new proto.nvlsched.v1.Worker(address, workerCreds.credentials, workerCreds.options));
  const instances: DriverInstance[] = topology.instances.map((spec) => {
    const slot = partition ? (partition.workerSlot(spec.leaderWorker) as number) : spec.leaderWorker;
    const client = clients[slot] as WorkerClient;
    const instanceId = spec.setup.instanceId;
    return {
      instanceId,
      // The workers dial each other at the addresses the gateway dials them (loopback, or one DNS name per tray pod).
      address: (o.peerAddresses ?? addresses)[slot] as string,
      handOff: (seqId, to, h) => handOffSequence({ source: client, instanceId, seqId, destination: { address: to.address, instanceId: to.instanceId, seqId: h.destinationSeqId, gpu: to.gpu }, reserveTokens: h.reserveTokens, timeoutMs: h.timeoutMs }),
      workerId: (cluster.workers[spec.leaderWorker] as { workerId: string }).workerId,
      gpu: spec.leaderGpu,
      connect: () => new StepStreamClient(client),
      probe: () => probeWorker(client),
      snapshot: () => new Promise((resolve, reject) => client.Snapshot({}, { deadline: Date.now() + RPC_DEADLINE_MS }, (err, res) => (err || !res ? reject(err ?? new Error('empty snapshot')) : resolve(snapshotFromProto(res))))),
    };
  });
  const log = o.log ?? (() => undefined);
  if (o.workerTls || o.tls) log(`transport: to workers ${describeClientTls(o.workerTls)}; client-facing gRPC and HTTP ${describeServerTls(o.tls)}`);
  const slotOf = (w: number): number | undefined => (partition ? partition.workerSlot(w) : w < clients.length ? w : undefined);
  const workerDomains = await checkWorkerDomains(clients, topology, slotOf, sched, log);
  const maxContextTokens = cluster.model.maxContextTokens;
  const driver = new GatewayDriver({ sched, clock, instances, maxContextTokens, blockTokens, metrics, ...(o.handoffTimeoutMs !== undefined ? { handoffTimeoutMs: o.handoffTimeoutMs } : {}), ...(o.migrationTimer !== undefined ? { migrationTimer: o.migrationTimer } : {}), hostLink: cluster.gpu === 'gb200' || cluster.gpu === 'gb300' ? 'c2c' : 'pcie', ...(o.log ? { log: o.log } : {}), ...(o.rejoinBackoffMs !== undefined ? { rejoinBackoffMs: o.rejoinBackoffMs } : {}) });
  metrics.onCollect(() => snapshot(sched, driver, topology));
  // Live migrations pre-copy a running decode's KV while it keeps generating, then move only the tail (disagg.ts).
  for (const spec of topology.instances) {
    const slot = partition ? (partition.workerSlot(spec.leaderWorker) as number) : spec.leaderWorker;
    driver.setLiveCopy(spec.setup.instanceId, liveCopyCalls(clients[slot] as WorkerClient, spec.setup.instanceId));
  }
  let stopping = false;
  const server = new grpc.Server(grpcServerOptions(edge));
  const label = `${topology.instances.length} instances of ${cluster.model.name} tp${cluster.tensorParallel} on ${addresses.length} tray(s) of ${cluster.name}, policy ${sched.policyName}`;
  // Quotas and timeouts sit in the frontend, so gRPC, HTTP and batch lines all obey them.
  const guard = new EdgeGuard({ clock, quotas: new TenantQuotas(tenants, clock), streamIdleTimeoutS: edge.streamIdleTimeoutS, totalTimeoutS: edge.totalTimeoutS });
  const frontend = new Frontend({ sched, driver, clock, isStopping: () => stopping, metrics, blockTokens, guard, ...(o.log ? { log: o.log } : {}) });
  const limits = { maxContextTokens, blockTokens, maxPromptTokens: edge.maxPromptTokens, maxOutputTokens: edge.maxOutputTokens, maxMessages: edge.maxMessages, maxTools: edge.maxTools };
  const auth = o.auth ?? null;
  new GatewayService({ frontend, limits, label, auth, metrics, maxClientBacklogBytes: edge.maxClientBacklogBytes }).addTo(server);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${o.host ?? '127.0.0.1'}:${o.grpcPort ?? 0}`, serverCredentials(o.tls), (err, p) => (err ? reject(err) : resolve(p))));
  let http: RunningHttpApi | null = null;
  let metricsServer: MetricsServer | null = null;
  let replica: RunningReplica | null = null;
  let batch: BatchDrainer | null = null;
  // Batch lines by outcome, their latency, jobs by status and lines pending (read from Redis at scrape time).
  const batchMetrics = o.batch ? new BatchMetrics({ registry: metrics.registry, redisUrl: o.batch.redisUrl, inFlight: () => batch?.stats().inFlight ?? 0 }) : null;
  const models = [...new Set([cluster.pool.name, cluster.model.name])];
  try {
    if (o.replica) replica = await startReplica({ ...o.replica, frontend, sched, topology, classification: o.classification, clock, ...(o.log ? { log: o.log } : {}) });
    if (o.httpPort !== undefined) {
      // Served names: the pool and its model (either routes here); the pool is the default.
      // HTTPS with the same certificate as the gRPC port; with a client CA, clients must present a certificate it signed.
      const tls = o.tls ? { key: o.tls.keyPem, cert: o.tls.certPem, ...(o.tls.clientCaPem ? { ca: o.tls.clientCaPem, requestCert: true } : {}) } : undefined;
      http = await startHttpApi({
        frontend, limits, models, host: o.host ?? '127.0.0.1', port: o.httpPort, auth, metrics,
        limitsHttp: { maxBodyBytes: edge.maxBodyBytes, bodyIdleTimeoutS: edge.bodyIdleTimeoutS, maxClientBacklogBytes: edge.maxClientBacklogBytes },
        // The OpenAI Files and Batches API over the same Redis the drainer reads (501 without --redis).
        ...(o.batch ? { batch: { redisUrl: o.batch.redisUrl } } : {}),
        ...(tls ? { tls } : {}), ...(o.log ? { log: o.log } : {}),
      });
    }
    if (o.metricsPort !== undefined) metricsServer = await startMetricsServer({ registries: [metrics.registry], host: o.host ?? '127.0.0.1', port: o.metricsPort });
    if (o.batch) {
      // Batch lines go in only while nothing but them waits to be planned; the scheduler also puts every interactive
      // request ahead of them (batch priority).
      const queued = (): number => [...driver.queuedByShape().values()].reduce((a, b) => a + b, 0);
      batch = await startBatchDrainer({
        frontend, redisUrl: o.batch.redisUrl, limits, models, onLineEnd: (e) => batchMetrics?.lineEnded(e), idle: nothingElseQueued(queued),
        ...(o.batch.maxInFlight !== undefined ? { maxInFlight: o.batch.maxInFlight } : {}), ...(o.log ? { log: o.log } : {}),
      });
    }
  } catch (error) {
    await batch?.stop();
    batchMetrics?.close();
    await replica?.stop();
    await http?.close();
    server.forceShutdown();
    driver.stop();
    for (const c of clients) c.close();
    throw error;
  }
  const close = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    // Its forwards are cancelled at once; its peer port closes once driver.cancelAll has ended the forwarded-in streams.
    const replicaStopped = replica?.stop();
    // Its chunks go back to the queue at once (another gateway, or this one restarted, resumes them).
    const batchStopped = batch?.stop();
    const httpClosed = http?.close();
    driver.cancelAll('the gateway is shutting down');
    await Promise.race([driver.idle(), delay(SHUTDOWN_GRACE_MS)]);
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, SHUTDOWN_GRACE_MS);
      server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
    await httpClosed;
    await metricsServer?.close();
    await replicaStopped;
    await batchStopped;
    batchMetrics?.close();
    driver.stop();
    for (const c of clients) c.close();
  };
  return { port, httpPort: http?.port ?? null, metricsPort: metricsServer?.port ?? null, metrics, sched, frontend, driver, topology, replica, batch, workerDomains, close };
}

/** Scheduler state for a scrape: queue depth by shape, running requests and device KV per instance, cost so far. */
function snapshot(sched: Scheduler, driver: GatewayDriver, topology: GatewayCluster): GatewaySnapshot {
  const pool = topology.cluster.pool.name;
  const queued = driver.queuedByShape();
  return {
    queueDepth: [...queued].map(([shape, requests]) => ({ shape, pool, requests })),
    running: topology.instances.map((i) => ({ instanceId: i.setup.instanceId, pool, requests: sched.instanceView(i.setup.instanceId).runningRequests })),
    // The engine's ledger per instance, reported on the instance's leading GPU (where its KV is kept).
    kv: topology.instances.map((i) => {
      const v = sched.instanceView(i.setup.instanceId);
      const worker = topology.cluster.workers[i.leaderWorker] as { workerId: string };
      return { domain: i.setup.domainId, workerId: worker.workerId, gpu: i.leaderGpu, tier: 'device' as const, usedBlocks: v.kvBlocksUsed + v.kvBlocksRetained, totalBlocks: v.kvBlocksTotal };
    }),
    costTotals: sched.costTotals(),
  };
}
