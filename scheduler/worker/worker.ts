// Builds a worker: config → cluster sizing → sim backend → gRPC server listening on host:port.
import { WorkerMetrics } from '../metrics/worker_metrics.js';
import { startMetricsServer, type MetricsServer } from '../metrics/server.js';
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
}

export async function startWorker(config: WorkerConfig, options: StartOptions = {}): Promise<RunningWorker> {
  const { cluster, hostBlocks } = resolveWorker(config);
  const kind = config.backend ?? 'sim';
  const backend = new SimBackend({ cluster, hostBlocks, seed: config.seed, kvBackend: kind === 'cuda' ? 'cuda' : 'cpu' });
  const label = `tray ${config.tray} of ${config.topology}, ${cluster.model.name} tp${cluster.tensorParallel}, backend ${kind}`;
  const worker = cluster.workers[config.tray] as { workerId: string };
  const metrics = new WorkerMetrics({ workerId: worker.workerId, domain: cluster.instances[0]?.setup.domainId ?? 'rack0', processMetrics: true });
  metrics.onCollect(() => ({ liveSequences: backend.liveSequences, kv: backend.kvUsage() }));
  const server = new WorkerServer({
    backend,
    metrics,
    limits: { maxContextTokens: cluster.model.maxContextTokens, tokensPerBlock: backend.tokensPerBlock },
    pace: options.pace ?? 'none',
    label,
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
    return { server, backend, port, label, metrics, metricsPort: ms?.port ?? null, closeMetrics: async () => ms?.close() };
  } catch (error) {
    await server.close();
    throw error;
  }
}
