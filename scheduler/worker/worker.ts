// Builds a worker: config → cluster sizing → sim backend → gRPC server listening on host:port.
import { resolveWorker, type WorkerConfig } from './config.js';
import { WorkerServer, type Pace } from './server.js';
import { SimBackend } from './sim_backend.js';

export interface StartOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  pace?: Pace;
  log?: (line: string) => void;
}

export interface RunningWorker {
  server: WorkerServer;
  backend: SimBackend;
  port: number;
  label: string;
}

export async function startWorker(config: WorkerConfig, options: StartOptions = {}): Promise<RunningWorker> {
  const { cluster, hostBlocks } = resolveWorker(config);
  const kind = config.backend ?? 'sim';
  const backend = new SimBackend({ cluster, hostBlocks, seed: config.seed, kvBackend: kind === 'cuda' ? 'cuda' : 'cpu' });
  const label = `tray ${config.tray} of ${config.topology}, ${cluster.model.name} tp${cluster.tensorParallel}, backend ${kind}`;
  const server = new WorkerServer({
    backend,
    limits: { maxContextTokens: cluster.model.maxContextTokens, tokensPerBlock: backend.tokensPerBlock },
    pace: options.pace ?? 'none',
    label,
    ...(options.log ? { log: options.log } : {}),
  });
  try {
    const port = await server.listen(options.host ?? '127.0.0.1', options.port ?? 0);
    return { server, backend, port, label };
  } catch (error) {
    await server.close();
    throw error;
  }
}
