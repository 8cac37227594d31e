// Builds a worker: config → cluster sizing → sim backend → gRPC server listening on host:port.
import { WorkerMetrics } from '../metrics/worker_metrics.js';
import { startMetricsServer, type MetricsServer } from '../metrics/server.js';
import { discoverDomain, type DiscoveredDomain } from '../deploy/discovery.js';
import type { ClientTls, ServerTls } from '../rpc/tls.js';
import { resolveWorker, type WorkerConfig } from './config.js';
import { WorkerServer, type Pace } from './server.js';
import { SimBackend } from './sim_backend.js';

export interface StartOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  pace?: Pace;
  log?: (line: string) => void;
  /** Prometheus /metrics port (0 picks a free one); undefined: none (metrics are still recorded). */
  metricsPort?: number;
  /** How the NVLink domain is found (tests inject; default: nvidia-smi -q, the node-clique env, then config). */
  discover?: (configDomain: string) => Promise<DiscoveredDomain>;
  /** TLS (mTLS with a client CA) on the gRPC port, read by rpc/tls.ts readServerTls; default insecure. */
  tls?: ServerTls | null;
  /** TLS toward other workers (KV hand-off destinations), read by rpc/tls.ts readClientTls; default insecure. */
  peerTls?: ClientTls | null;
}

export interface RunningWorker {
  server: WorkerServer;
  backend: SimBackend;
  port: number;
  label: string;
  metrics: WorkerMetrics;
  /** The /metrics port, null when not started. */
  metricsPort: number | null;
  /** Stops the metrics server (the gRPC server has its own close). */
  closeMetrics(): Promise<void>;
  /** The tray's NVLink domain as discovered at start (reported in Health). */
  domain: DiscoveredDomain;
}

export async function startWorker(config: WorkerConfig, options: StartOptions = {}): Promise<RunningWorker> {
  const { cluster, hostBlocks } = resolveWorker(config);
  const kind = config.backend ?? 'sim';
  const backend = new SimBackend({ cluster, hostBlocks, seed: config.seed, kvBackend: kind === 'cuda' ? 'cuda' : 'cpu', ...(config.kvData ? { kvData: config.kvData } : {}) });
  const label = `tray ${config.tray} of ${config.topology}, ${cluster.model.name} tp${cluster.tensorParallel}, backend ${kind}`;
  const worker = cluster.workers[config.tray] as { workerId: string };
  // The domain from the GPUs' fabric when they report one, else the node's clique label, else the config.
  const configDomain = config.domain ?? cluster.instances.find((i) => i.setup.members.some((m) => m.workerId === worker.workerId))?.setup.domainId ?? 'rack0';
  const domain = await (options.discover ?? ((d: string) => discoverDomain({ configDomain: d })))(configDomain);
  if (domain.source !== 'config') options.log?.(`NVLink domain ${domain.domainId} (from ${domain.source}; config says ${configDomain})`);
  for (const w of domain.warnings) options.log?.(`domain discovery: ${w}`);
  const metrics = new WorkerMetrics({ workerId: worker.workerId, domain: metricLabel(domain.domainId), processMetrics: true });
  metrics.onCollect(() => ({ liveSequences: backend.liveSequences, kv: backend.kvUsage() }));
  const server = new WorkerServer({
    backend,
    metrics,
    placement: { domainId: domain.domainId, domainSource: domain.source, tray: config.tray },
    limits: { maxContextTokens: cluster.model.maxContextTokens, tokensPerBlock: backend.tokensPerBlock },
    pace: options.pace ?? 'none',
    label,
    ...(options.tls ? { tls: options.tls } : {}),
    ...(options.peerTls ? { peerTls: options.peerTls } : {}),
    ...(options.log ? { log: options.log } : {}),
  });
  try {
    const port = await server.listen(options.host ?? '127.0.0.1', options.port ?? 0);
    let ms: MetricsServer | null = null;
    if (options.metricsPort !== undefined) {
      try {
        ms = await startMetricsServer({ registries: [metrics.registry], host: options.host ?? '127.0.0.1', port: options.metricsPort });
      } catch (error) {
        await server.close(0);
        throw error;
      }
    }
    return { server, backend, port, label, metrics, metricsPort: ms?.port ?? null, closeMetrics: async () => ms?.close(), domain };
  } catch (error) {
    await server.close();
    throw error;
  }
}

/** A domain id as a metrics label value (1-128 of letters, digits and _.:/@+-; a ClusterUUID.CliqueId fits). */
function metricLabel(domainId: string): string {
  const clean = domainId.replace(/[^A-Za-z0-9_.:/@+-]/g, '_').slice(0, 128);
  return clean === '' ? 'unknown' : clean;
}
