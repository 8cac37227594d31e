// For the edge's tests: a worker and a gateway on loopback (the gateway's scheduler and driver), and over them any
// number of "edges" — a Frontend with an EdgeGuard (quotas, timeouts), the HTTP API and the gRPC Gateway service
// with API keys from a keys file — each with its own settings, so one worker serves every test's configuration.
import * as grpc from '@grpc/grpc-js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { parseTenants } from '../../core/config/tenants.js';
import type { GatewayClient } from '../../gen/proto/nvlsched/v1/Gateway.js';
import type { GenerateRequest } from '../../gen/proto/nvlsched/v1/GenerateRequest.js';
import type { GenerateResponse__Output } from '../../gen/proto/nvlsched/v1/GenerateResponse.js';
import { loadGatewayProto } from '../../rpc/proto.js';
import { startWorker, type RunningWorker } from '../../worker/worker.js';
import { Frontend } from '../frontend.js';
import { realClock, startGateway, type RunningGateway } from '../gateway.js';
import { startHttpApi, type HttpLimits, type RunningHttpApi } from '../http/server.js';
import type { Limits } from '../request.js';
import { GatewayService } from '../service.js';
import { SMALL, type Generated } from '../testing.js';
import { ApiKeyAuth } from './auth.js';
import { EdgeGuard } from './guard.js';
import { FileKeySource } from './key_sources.js';
import { formatKeysFile, generateKey, type KeyRecord } from './keys.js';
import { grpcServerOptions, parseLimits } from './limits.js';
import { TenantQuotas } from './quotas.js';

export interface EdgeBase {
  gateway: RunningGateway;
  worker: RunningWorker;
  dir: string;
  close(): Promise<void>;
}

/**
 * pace 'real': every step takes its modelled time, so a long request stays live while a test acts on it.
 * kvBlocksPerGpu: the worker's and the gateway's KV (default SMALL's 256 blocks of 16 tokens: 4,096 tokens).
 */
export async function startEdgeBase(pace: 'none' | 'real' = 'none', kvBlocksPerGpu: number = SMALL.kvBlocksPerGpu): Promise<EdgeBase> {
  const worker = await startWorker({ topology: 'gb200-nvl72', tray: 0, model: SMALL.model, tensorParallel: SMALL.tensorParallel, kvBlocksPerGpu, blockTokens: SMALL.blockTokens, seed: 1 }, { port: 0, pace });
  const gateway = await startGateway({ ...SMALL, kvBlocksPerGpu, workerPorts: [worker.port], grpcPort: 0 });
  const dir = mkdtempSync(join(tmpdir(), 'nvl-edge-'));
  return {
    gateway,
    worker,
    dir,
    async close() {
      await gateway.close();
      await worker.server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface EdgeOptions {
  /** The `tenants:` section. */
  tenants?: unknown;
  /** The `limits:` section (token caps, counts, timeouts, streams per connection). */
  limits?: unknown;
  /** null: no auth. Default: keys for tenants acme and beta. */
  keys?: null | readonly string[];
  /** The quotas' clock (default: real). */
  quotaClock?: () => number;
  /** The timeouts' clock; with it the sweep never runs by itself (the test calls guard.sweep()). */
  guardClock?: () => number;
  limitsHttp?: Partial<HttpLimits>;
}

export interface Edge {
  frontend: Frontend;
  guard: EdgeGuard;
  quotas: TenantQuotas;
  auth: ApiKeyAuth | null;
  /** Keys by tenant (one per tenant named in options.keys). */
  keys: Record<string, string>;
  records: KeyRecord[];
  /** Rewrites the keys file and reloads (rotation). */
  writeKeys(records: readonly KeyRecord[]): void;
  http: RunningHttpApi;
  grpcPort: number;
  client: GatewayClient;
  baseUrl: string;
  close(): Promise<void>;
}

let edgeCount = 0;

export async function startEdge(base: EdgeBase, o: EdgeOptions = {}): Promise<Edge> {
  const cluster = base.gateway.topology.cluster;
  const edgeLimits = parseLimits(o.limits);
  const limits: Limits = {
    maxContextTokens: cluster.model.maxContextTokens, blockTokens: SMALL.blockTokens,
    maxPromptTokens: edgeLimits.maxPromptTokens, maxOutputTokens: edgeLimits.maxOutputTokens, maxMessages: edgeLimits.maxMessages, maxTools: edgeLimits.maxTools,
  };
  const quotas = new TenantQuotas(parseTenants(o.tenants), o.quotaClock ?? realClock);
  const guard = new EdgeGuard({
    clock: o.guardClock ?? realClock, quotas, streamIdleTimeoutS: edgeLimits.streamIdleTimeoutS, totalTimeoutS: edgeLimits.totalTimeoutS,
    ...(o.guardClock ? { sweepEveryMs: null } : {}),
  });
  const metrics = base.gateway.metrics;
  const frontend = new Frontend({ sched: base.gateway.sched, driver: base.gateway.driver, clock: realClock, isStopping: () => false, metrics, blockTokens: SMALL.blockTokens, guard });
  const keys: Record<string, string> = {};
  const records: KeyRecord[] = [];
  const keysPath = join(base.dir, `keys-${++edgeCount}.yaml`);
  let auth: ApiKeyAuth | null = null;
  let source: FileKeySource | null = null;
  if (o.keys !== null) {
    for (const tenant of o.keys ?? ['acme', 'beta']) {
      const k = generateKey(tenant, `${tenant}-0`);
      keys[tenant] = k.key;
      records.push(k.record);
    }
    writeFileSync(keysPath, formatKeysFile(records));
    source = new FileKeySource(keysPath, { pollMs: 0 });
    auth = new ApiKeyAuth([source]);
  }
  const http = await startHttpApi({
    frontend, limits, models: [cluster.model.name], auth, metrics,
    limitsHttp: { maxBodyBytes: edgeLimits.maxBodyBytes, bodyIdleTimeoutS: edgeLimits.bodyIdleTimeoutS, maxClientBacklogBytes: edgeLimits.maxClientBacklogBytes, ...o.limitsHttp },
  });
  const server = new grpc.Server(grpcServerOptions(edgeLimits));
  new GatewayService({ frontend, limits, label: 'edge test', auth, metrics, maxClientBacklogBytes: edgeLimits.maxClientBacklogBytes }).addTo(server);
  const grpcPort = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  const client = new (loadGatewayProto().nvlsched.v1.Gateway)(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure());
  return {
    frontend, guard, quotas, auth, keys, records, http, grpcPort, client,
    baseUrl: `http://127.0.0.1:${http.port}`,
    writeKeys(next) {
      writeFileSync(keysPath, formatKeysFile(next));
      source?.reload();
    },
    async close() {
      client.close();
      await http.close();
      server.forceShutdown();
      await auth?.close();
    },
  };
}

/** Polls `cond` every 10 ms for up to `ms` (state the test cannot await directly, e.g. a cancel reaching the engine). */
export async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  for (let waited = 0; !cond(); waited += 10) {
    if (waited >= ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The value of one counter series from the gateway's registry (0 when absent). */
export async function counter(base: EdgeBase, name: string, labels: Record<string, string>): Promise<number> {
  const m = (await base.gateway.metrics.registry.getMetricsAsJSON()).find((x) => x.name === name);
  const v = (m?.values ?? []).find((x) => Object.entries(labels).every(([k, val]) => String((x.labels as Record<string, unknown>)[k]) === val));
  return v?.value ?? 0;
}

/** One Generate with metadata (API keys), streamed to its end or error. */
export function generateWith(client: GatewayClient, req: GenerateRequest, meta: grpc.Metadata): Promise<Generated> {
  return new Promise((resolve) => {
    const out: Generated = { chunks: [], tokens: [] };
    const call = client.Generate(req, meta);
    call.on('data', (c: GenerateResponse__Output) => {
      out.chunks.push(c);
      out.tokens.push(...c.tokenIds);
      if (c.finished) out.last = c;
    });
    call.on('error', (err: grpc.ServiceError) => resolve({ ...out, error: err }));
    call.on('end', () => resolve(out));
  });
}
