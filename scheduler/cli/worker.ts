// `nvlsched worker`: one compute tray's worker process (scheduler/worker/README.md). Prints
// {"event":"listening","grpc":<port>} on stdout when ready; logs go to stderr. SIGTERM (or SIGINT) drains — new
// sequences are refused, running ones get up to --drain-timeout seconds to finish — then exits 0.
import { ConfigError } from '../core/config/params.js';
import type { TopologyPresetName } from '../kv/types.js';
import { describeServerTls, readServerTls, type ClientTls, type ServerTls } from '../rpc/tls.js';
import { readPeerTls } from '../worker/peers.js';
import { DEFAULT_WORKER_CONFIG, type WorkerConfig } from '../worker/config.js';
import type { Pace } from '../worker/server.js';
import { startWorker } from '../worker/worker.js';
import { flagHelp, parseFlags, usageError, type FlagSpec } from './args.js';

const FLAGS: Record<string, FlagSpec> = {
  port: { type: 'number', help: 'gRPC port; 0 picks a free one (default 0)' },
  'metrics-port': { type: 'number', help: 'Prometheus /metrics port; 0 picks a free one (default: no metrics server)' },
  domain: { type: 'string', help: 'NVLink domain of this tray when the GPUs do not report one (default: $NVLSCHED_DOMAIN, else the config\'s)' },
  host: { type: 'string', help: 'address to bind (default 127.0.0.1)' },
  topology: { type: 'string', help: 'topology preset of the rack (default gb200-nvl72)' },
  tray: { type: 'number', help: 'this worker\'s compute tray, 0-based (default 0)' },
  model: { type: 'string', help: `model whose step times are used (default ${DEFAULT_WORKER_CONFIG.model})` },
  'tensor-parallel': { type: 'number', help: 'GPUs per model instance (default: the sizing rule)' },
  backend: { type: 'string', help: 'sim (default: KV metadata only) or cuda (KV in real GPU memory, real tier copies; step times from the model; needs a CUDA device)' },
  pace: { type: 'string', help: 'none (answer at once with duration_s, default) or real (sleep each step\'s duration)' },
  seed: { type: 'number', help: 'seed of the synthetic token ids (default 1)' },
  'kv-blocks': { type: 'number', help: 'device KV blocks per GPU (default: from HBM)' },
  'block-tokens': { type: 'number', help: 'tokens per KV block (default 64)' },
  'drain-timeout': { type: 'number', help: 'seconds SIGTERM waits for running sequences (default 30)' },
  'tls-cert': { type: 'string', help: 'PEM certificate of this worker\'s gRPC port (TLS; with --tls-key). Default: insecure' },
  'tls-key': { type: 'string', help: 'PEM private key of --tls-cert (unencrypted)' },
  'tls-client-ca': { type: 'string', help: 'PEM CA: only clients (gateways) with a certificate it signed get in (mTLS)' },
  'kv-data': { type: 'string', help: 'sim backend KV: metadata (default) or bytes (host memory; KV hand-offs carry real bytes)' },
  'peer-tls-ca': { type: 'string', help: 'PEM CA of other workers\' certificates (KV hand-off destinations speak TLS)' },
  'peer-tls-cert': { type: 'string', help: 'PEM client certificate (clientAuth) toward other workers (they have --tls-client-ca)' },
  'peer-tls-key': { type: 'string', help: 'PEM private key of --peer-tls-cert' },
  'peer-tls-server-name': { type: 'string', help: 'name to check other workers\' certificates against instead of their host' },
  help: { type: 'boolean', help: 'this text' },
};

function readConfig(flags: Record<string, unknown>): WorkerConfig {
  const config: WorkerConfig = { ...DEFAULT_WORKER_CONFIG };
  if (flags.topology !== undefined) config.topology = flags.topology as TopologyPresetName;
  if (flags.tray !== undefined) config.tray = flags.tray as number;
  if (flags.model !== undefined) config.model = flags.model as string;
  if (flags.seed !== undefined) config.seed = flags.seed as number;
  if (flags['tensor-parallel'] !== undefined) config.tensorParallel = flags['tensor-parallel'] as number;
  if (flags['kv-blocks'] !== undefined) config.kvBlocksPerGpu = flags['kv-blocks'] as number;
  if (flags['block-tokens'] !== undefined) config.blockTokens = flags['block-tokens'] as number;
  const kvData = flags['kv-data'] as string | undefined;
  if (kvData !== undefined) {
    if (kvData !== 'metadata' && kvData !== 'bytes') throw usageError(`--kv-data: expected metadata or bytes, got '${kvData}'`);
    config.kvData = kvData;
  }
  const domain = (flags.domain as string | undefined) ?? process.env.NVLSCHED_DOMAIN;
  if (domain !== undefined && domain !== '') config.domain = domain;
  return config;
}

/** The port's TLS from --tls-cert/--tls-key/--tls-client-ca: files checked now, a bad one exits 2 naming its flag. */
function readTls(flags: Record<string, unknown>): ServerTls | null {
  try {
    return readServerTls({ cert: flags['tls-cert'] as string | undefined, key: flags['tls-key'] as string | undefined, clientCa: flags['tls-client-ca'] as string | undefined });
  } catch (error) {
    if (error instanceof ConfigError) throw usageError(error.message);
    throw error;
  }
}

export async function run(argv: string[]): Promise<number> {
  const { flags, rest } = parseFlags(argv, FLAGS);
  if (flags.help) {
    process.stdout.write(`usage: nvlsched worker [flags]\n\n${flagHelp(FLAGS)}\n`);
    return 0;
  }
  if (rest.length > 0) throw usageError(`unexpected argument '${rest[0]}'`);
  const backend = (flags.backend as string | undefined) ?? 'sim';
  if (backend !== 'sim' && backend !== 'cuda') throw usageError(`--backend: expected sim or cuda, got '${backend}'`);
  const pace = (flags.pace as string | undefined) ?? 'none';
  if (pace !== 'none' && pace !== 'real') throw usageError(`--pace: expected none or real, got '${pace}'`);
  const port = (flags.port as number | undefined) ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw usageError(`--port: expected an integer in [0, 65535], got ${port}`);
  const metricsPort = flags['metrics-port'] as number | undefined;
  if (metricsPort !== undefined && (!Number.isInteger(metricsPort) || metricsPort < 0 || metricsPort > 65535)) throw usageError(`--metrics-port: expected an integer in [0, 65535], got ${metricsPort}`);
  const drainTimeoutS = (flags['drain-timeout'] as number | undefined) ?? 30;
  if (!(drainTimeoutS >= 0)) throw usageError(`--drain-timeout: expected seconds ≥ 0, got ${drainTimeoutS}`);
  const tls = readTls(flags);
  let peerTls: ClientTls | null;
  try {
    const str = (f: string): string | undefined => flags[f] as string | undefined;
    peerTls = readPeerTls({ ca: str('peer-tls-ca'), cert: str('peer-tls-cert'), key: str('peer-tls-key'), serverName: str('peer-tls-server-name') });
  } catch (error) {
    if (error instanceof ConfigError) throw usageError(error.message);
    throw error;
  }
  const log = (line: string): void => void process.stderr.write(`nvlsched worker: ${line}\n`);
  let worker;
  try {
    worker = await startWorker({ ...readConfig(flags), backend }, { host: (flags.host as string | undefined) ?? '127.0.0.1', port, pace: pace as Pace, log, tls, peerTls, ...(metricsPort !== undefined ? { metricsPort } : {}) });
  } catch (error) {
    if (error instanceof ConfigError) throw usageError(error.message);
    // No usable GPU (or pools that do not fit it) for --backend cuda: one line, exit 2.
    const code = (error as { code?: unknown }).code;
    if (backend === 'cuda' && typeof code === 'string') throw usageError(`--backend cuda: ${(error as Error).message} (${code})`);
    throw error;
  }
  log(`serving ${worker.label} on port ${worker.port} (${describeServerTls(tls)})`);
  // The metrics port joins the line only when asked for (readers of the line look for grpc).
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      log(`${signal}: draining (up to ${drainTimeoutS} s)`);
      void worker.server.drain(drainTimeoutS).then(async (running) => {
        log(running > 0 ? `drain deadline passed with ${running} running sequences; exiting` : 'drained; exiting');
        await worker.server.close();
        await worker.closeMetrics();
        resolve(0);
      });
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    // Only now: a client that signals right after reading the line must find the handlers installed.
    process.stdout.write(`${JSON.stringify({ event: 'listening', grpc: worker.port, ...(worker.metricsPort !== null ? { metrics: worker.metricsPort } : {}) })}\n`);
  });
}
