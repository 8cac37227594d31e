// `nvlsched serve`: the gateway (scheduler/gateway/README.md). With --local-workers N it starts N simulated workers
// as child processes (trays 0..N-1) and drives the cluster's instances on those trays; --worker-ports connects to
// running workers instead. When ready it prints {"event":"listening","grpc":<port>,"http":<port>,"metrics":<port>}
// on stdout (architecture §6). SIGTERM (or SIGINT) cancels live requests, stops the workers
// it started and exits 0. Bad flags exit 2 with a one-line reason.
import { ConfigError } from '../core/config/params.js';
import { readPolicy } from '../core/policy.js';
import { startGateway } from '../gateway/gateway.js';
import { openAuth, type ApiKeyAuth } from '../gateway/tenancy/auth.js';
import { startLocalWorkers, type LocalWorkers, type LocalWorkerTls } from '../gateway/local_workers.js';
import { buildGatewayCluster } from '../gateway/topology.js';
import { readClientTls, readServerTls, signedBy, type ClientTls, type ServerTls } from '../rpc/tls.js';
import { readClusterConfig } from '../sim/cluster.js';
import { flagHelp, parseFlags, usageError, type FlagSpec, type ParsedFlags } from './args.js';
import { loadServeConfig, mergeFlags, parseRolesText, type ServeConfig } from './serve_config.js';
import type { RolesSpec } from '../core/config/roles.js';

/** Exported for `deploy render`, which validates a config's serve section with the same vocabulary. */
export const FLAGS: Record<string, FlagSpec> = {
  config: { type: 'string', help: 'YAML file: policy, classification and a `serve` section of these flags in camelCase (flags win)' },
  'grpc-port': { type: 'number', help: 'gRPC port of the Gateway service; 0 picks a free one (default 0)' },
  'http-port': { type: 'number', help: 'OpenAI-compatible HTTP port (/v1/chat/completions, /v1/completions, /v1/models); 0 picks a free one (default 0)' },
  'metrics-port': { type: 'number', help: 'Prometheus /metrics port; 0 picks a free one (default 0)' },
  host: { type: 'string', help: 'address to bind (default 127.0.0.1)' },
  'local-workers': { type: 'number', help: 'start N simulated workers as child processes (trays 0..N-1)' },
  'worker-ports': { type: 'string', help: 'comma-separated gRPC ports of running workers of trays 0..N-1 on --host (instead of --local-workers)' },
  workers: { type: 'string', help: 'comma-separated host:port of running workers of trays 0..N-1 (Kubernetes: one DNS name per tray pod)' },
  trays: { type: 'string', help: 'comma-separated cluster trays the given workers serve, when not 0..N-1 (a replica\'s share)' },
  redis: { type: 'string', help: 'Redis URL: join the gateway replicas sharing it (sessions, KV summaries) and drain its batch jobs' },
  'replica-id': { type: 'string', help: 'this replica\'s id among those sharing --redis (default host:pid)' },
  'peer-port': { type: 'number', help: 'port other replicas forward requests to (default 0: a free one)' },
  'advertise-host': { type: 'string', help: 'host other replicas reach this one at (default --host)' },
  cluster: { type: 'string', help: 'cluster preset (default gb200-nvl72); only the instances on the served trays are used' },
  model: { type: 'string', help: 'model (default llama-3.1-70b)' },
  policy: { type: 'string', help: 'scheduling policy (default shape-aware); with --roles, set its disaggregation slot in --config (policy: {disaggregation: shape-aware})' },
  roles: { type: 'string', help: 'roles of the served instances: prefill=N,decode=M (first N prefill, next M decode, rest mixed) or a list prefill,decode,mixed,... (config: serve.roles: {prefill: N, decode: M})' },
  'tensor-parallel': { type: 'number', help: 'GPUs per model instance (default: the sizing rule)' },
  'kv-blocks': { type: 'number', help: 'device KV blocks per GPU (default: from HBM)' },
  'block-tokens': { type: 'number', help: 'tokens per KV block (default 64)' },
  pace: { type: 'string', help: 'local workers: none (default) or real (each step takes its modelled time)' },
  seed: { type: 'number', help: 'seed (default 1)' },
  'tls-cert': { type: 'string', help: 'PEM certificate of the client-facing gRPC and HTTP ports (TLS; with --tls-key). Default: insecure' },
  'tls-key': { type: 'string', help: 'PEM private key of --tls-cert (unencrypted)' },
  'tls-client-ca': { type: 'string', help: 'PEM CA: clients must present a certificate it signed (mTLS on the client-facing ports)' },
  'worker-tls-ca': { type: 'string', help: 'PEM CA the workers\' certificates chain to: talk TLS to the workers. Default: insecure' },
  'worker-tls-cert': { type: 'string', help: 'PEM client certificate this gateway shows the workers (their --tls-client-ca must have signed it; with --worker-tls-key)' },
  'worker-tls-key': { type: 'string', help: 'PEM private key of --worker-tls-cert (unencrypted)' },
  'worker-tls-server-name': { type: 'string', help: 'name to check the workers\' certificates against instead of the host dialled' },
  'local-worker-tls-cert': { type: 'string', help: 'with --local-workers and --worker-tls-ca: the workers\' server certificate (signed by --worker-tls-ca; names 127.0.0.1)' },
  'local-worker-tls-key': { type: 'string', help: 'PEM private key of --local-worker-tls-cert' },
  'keys-file': { type: 'string', help: 'YAML of API key digests (`nvlsched keys create --keys-file`); re-read on change and on SIGHUP' },
  'keys-redis': { type: 'string', help: 'Redis URL holding API key digests (`nvlsched keys create --redis`)' },
  'keys-redis-prefix': { type: 'string', help: 'key prefix in --keys-redis (default nvlsched:)' },
  'insecure-no-auth': { type: 'boolean', help: 'serve without API keys (prints a warning). Without keys or this flag serve runs keyless only on a loopback --host, and refuses any other' },
  help: { type: 'boolean', help: 'this text' },
};

/** Flags whose values are file paths (relative ones in a --config file are resolved against its folder). */
const TLS_FILE_FLAGS = ['keys-file', 'tls-cert', 'tls-key', 'tls-client-ca', 'worker-tls-ca', 'worker-tls-cert', 'worker-tls-key', 'local-worker-tls-cert', 'local-worker-tls-key'];

/** Addresses only this machine can reach: serving there without keys is a local setup (see run()). */
const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', 'localhost']);

function port(flags: Record<string, unknown>, name: string): number {
  const value = (flags[name] as number | undefined) ?? 0;
  if (!Number.isInteger(value) || value < 0 || value > 65535) throw usageError(`--${name}: expected an integer in [0, 65535], got ${value}`);
  return value;
}

function traysFlag(raw: string, workers: number): number[] {
  const list = raw.split(',').map(Number);
  if (list.some((t) => !Number.isInteger(t) || t < 0) || new Set(list).size !== list.length) throw usageError(`--trays: expected distinct tray numbers, got '${raw}'`);
  if (list.length !== workers) throw usageError(`--trays: ${list.length} trays for ${workers} workers`);
  return list;
}

/** host:port entries; hosts are names or IPv4 (IPv6 in brackets: [::1]:50052). */
function workersFlag(raw: string): string[] {
  const list = raw.split(',').map((a) => a.trim());
  for (const a of list) {
    const m = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(a);
    if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) throw usageError(`--workers: expected comma-separated host:port, got '${a}'`);
  }
  return list;
}

function workerPortsFlag(raw: string): number[] {
  const ports = raw.split(',').map(Number);
  if (ports.some((p) => !Number.isInteger(p) || p < 1 || p > 65535)) throw usageError(`--worker-ports: expected comma-separated ports, got '${raw}'`);
  return ports;
}

interface TransportSecurity {
  /** The client-facing gRPC (and HTTP) ports. */
  tls: ServerTls | null;
  /** This gateway as the workers' client. */
  workerTls: ClientTls | null;
  /** --local-workers: the children's TLS flags (files checked here first, so a bad one exits 2 naming serve's flag). */
  localWorkerTls: LocalWorkerTls | null;
}

/**
 * The TLS flags, files read and checked now. Each error names where the value came from: the flag, or the config
 * key (`config.serve.tlsCert`) when only the file gave it.
 */
function readTransportSecurity(flags: ParsedFlags, commandLine: ParsedFlags, local: boolean): TransportSecurity {
  const from = (flag: string): string => (commandLine[flag] === undefined && flags[flag] !== undefined ? `config.serve.${flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())}` : `--${flag}`);
  const str = (flag: string): string | undefined => flags[flag] as string | undefined;
  try {
    const tls = readServerTls({ cert: str('tls-cert'), key: str('tls-key'), clientCa: str('tls-client-ca') }, { cert: from('tls-cert'), key: from('tls-key'), clientCa: from('tls-client-ca') });
    const workerTls = readClientTls(
      { ca: str('worker-tls-ca'), cert: str('worker-tls-cert'), key: str('worker-tls-key'), serverName: str('worker-tls-server-name') },
      { ca: from('worker-tls-ca'), cert: from('worker-tls-cert'), key: from('worker-tls-key'), serverName: from('worker-tls-server-name') },
    );
    const localCert = str('local-worker-tls-cert');
    const localKey = str('local-worker-tls-key');
    if (!local) {
      if (localCert !== undefined || localKey !== undefined) throw new ConfigError(from(localCert !== undefined ? 'local-worker-tls-cert' : 'local-worker-tls-key'), 'only with --local-workers (running workers take --tls-cert/--tls-key themselves)');
      return { tls, workerTls, localWorkerTls: null };
    }
    if (!workerTls) {
      if (localCert !== undefined || localKey !== undefined) throw new ConfigError(from('worker-tls-ca'), 'missing: the local workers\' certificate needs the CA that signed it, to check them');
      return { tls, workerTls, localWorkerTls: null };
    }
    if (localCert === undefined || localKey === undefined) {
      throw new ConfigError(from(localCert === undefined ? 'local-worker-tls-cert' : 'local-worker-tls-key'), 'missing: with --worker-tls-ca, the local workers need a server certificate and key (signed by that CA)');
    }
    // The children read the same files; reading them here too makes a bad one a serve error, before any child starts.
    const children = readServerTls({ cert: localCert, key: localKey }, { cert: from('local-worker-tls-cert'), key: from('local-worker-tls-key'), clientCa: from('worker-tls-ca') });
    if (children && !signedBy(children.certPem, workerTls.caPem)) throw new ConfigError(from('local-worker-tls-cert'), `${localCert} is not signed by the CA of ${from('worker-tls-ca')}: the gateway would refuse its own workers`);
    // One cluster CA: it signed the workers' certificates (checked by this gateway) and this gateway's client
    // certificate (checked by the workers when the gateway has one: mTLS).
    return { tls, workerTls, localWorkerTls: { certFile: localCert, keyFile: localKey, ...(workerTls.certPem ? { clientCaFile: str('worker-tls-ca') as string } : {}) } };
  } catch (error) {
    if (error instanceof ConfigError) throw usageError(error.message);
    throw error;
  }
}

export async function run(argv: string[]): Promise<number> {
  const parsed = parseFlags(argv, FLAGS);
  const { rest } = parsed;
  if (parsed.flags.help) {
    process.stdout.write(`usage: nvlsched serve --local-workers <n> [flags]\n\n${flagHelp(FLAGS)}\n`);
    return 0;
  }
  let file: ServeConfig | undefined;
  if (parsed.flags.config !== undefined) {
    try {
      file = loadServeConfig(parsed.flags.config as string, FLAGS, TLS_FILE_FLAGS);
    } catch (error) {
      if (error instanceof ConfigError) throw usageError(`--config: ${error.message}`);
      throw error;
    }
  }
  const flags = file ? mergeFlags(file.flags, parsed.flags) : parsed.flags;
  // The policy: --policy, else the file's policy section, else the default.
  const policy = flags.policy !== undefined ? flags.policy : file?.policy;
  if (rest.length > 0) throw usageError(`unexpected argument '${rest[0]}'`);
  const grpcPort = port(flags, 'grpc-port');
  const httpPort = port(flags, 'http-port');
  const metricsPort = port(flags, 'metrics-port');
  const local = flags['local-workers'] as number | undefined;
  const given = flags['worker-ports'] !== undefined ? workerPortsFlag(flags['worker-ports'] as string) : undefined;
  const addresses = flags.workers !== undefined ? workersFlag(flags.workers as string) : undefined;
  if ([local, given, addresses].filter((x) => x !== undefined).length !== 1) {
    throw usageError('give one of --local-workers <n>, --worker-ports <p0,p1,...> or --workers <host:port,...>');
  }
  const pace = (flags.pace as string | undefined) ?? 'none';
  if (pace !== 'none' && pace !== 'real') throw usageError(`--pace: expected none or real, got '${pace}'`);
  const numWorkers = local ?? given?.length ?? (addresses as string[]).length;
  const trays = flags.trays !== undefined ? traysFlag(flags.trays as string, numWorkers) : undefined;
  if (trays !== undefined && local !== undefined) throw usageError('--trays: only with --worker-ports or --workers (local workers serve trays 0..N-1)');
  const redisUrl = flags.redis as string | undefined;
  if (redisUrl !== undefined && !/^rediss?:\/\/[^\s]+$/.test(redisUrl)) throw usageError(`--redis: expected redis://host:port, got '${redisUrl}'`);
  for (const f of ['replica-id', 'peer-port', 'advertise-host']) if (flags[f] !== undefined && redisUrl === undefined) throw usageError(`--${f}: only with --redis`);
  const peerPort = flags['peer-port'] !== undefined ? port(flags, 'peer-port') : undefined;
  const security = readTransportSecurity(flags, parsed.flags, local !== undefined);
  let roles: RolesSpec | undefined;
  if (flags.roles !== undefined) {
    if (trays !== undefined) throw usageError('--roles: not with --trays (a replica\'s share takes its roles from the cluster mapping)');
    try {
      roles = parseRolesText(flags.roles as string);
    } catch (error) {
      if (error instanceof ConfigError) throw usageError(error.message);
      throw error;
    }
  }
  const clusterName = (flags.cluster as string | undefined) ?? 'gb200-nvl72';
  const shape = {
    cluster: clusterName,
    ...(flags.model !== undefined ? { model: flags.model as string } : {}),
    ...(flags['tensor-parallel'] !== undefined ? { tensorParallel: flags['tensor-parallel'] as number } : {}),
    ...(flags['kv-blocks'] !== undefined ? { kvBlocksPerGpu: flags['kv-blocks'] as number } : {}),
    ...(flags['block-tokens'] !== undefined ? { blockTokens: flags['block-tokens'] as number } : {}),
    ...(roles !== undefined ? { roles } : {}),
  };
  let topology;
  try {
    topology = buildGatewayCluster({ ...shape, numWorkers });
    readClusterConfig(clusterName, 'cluster');
    if (policy !== undefined) readPolicy(policy);
  } catch (error) {
    if (error instanceof ConfigError && error.field === 'numWorkers') throw usageError(`--${local !== undefined ? 'local-workers' : given !== undefined ? 'worker-ports' : 'workers'}: ${error.message.slice(error.field.length + 2)}`);
    if (error instanceof ConfigError) throw usageError(`--${error.field === 'model' ? 'model' : error.field.startsWith('policy') ? 'policy' : error.field.startsWith('roles') ? 'roles' : 'cluster'}: ${error.message}`);
    throw error;
  }
  const log = (line: string): void => void process.stderr.write(`nvlsched serve: ${line}\n`);
  // API keys (or the explicit --insecure-no-auth) before any worker starts: a bad setting exits 2 with nothing to stop.
  // Bound to loopback with neither, serve runs without keys and says so (the architecture §6 contract starts
  // `serve --local-workers N` bare on 127.0.0.1); any other address needs keys or the explicit flag.
  const hasKeys = flags['keys-file'] !== undefined || flags['keys-redis'] !== undefined;
  const host = (flags.host as string | undefined) ?? '127.0.0.1';
  const loopbackOnly = !hasKeys && flags['insecure-no-auth'] !== true && LOOPBACK_HOSTS.has(host);
  if (loopbackOnly) log(`WARNING: no API keys given: serving without authentication, on ${host} only (give --keys-file/--keys-redis, or --insecure-no-auth to say it on purpose)`);
  let auth: ApiKeyAuth | null;
  try {
    auth = loopbackOnly ? null : await openAuth({
      ...(flags['keys-file'] !== undefined ? { keysFile: flags['keys-file'] as string } : {}),
      ...(flags['keys-redis'] !== undefined ? { keysRedis: flags['keys-redis'] as string } : {}),
      ...(flags['keys-redis-prefix'] !== undefined ? { keysRedisPrefix: flags['keys-redis-prefix'] as string } : {}),
      insecureNoAuth: flags['insecure-no-auth'] === true,
    }, log);
  } catch (error) {
    if (error instanceof ConfigError) throw usageError(error.message);
    throw error;
  }
  let workers: LocalWorkers | undefined;
  if (local !== undefined) {
    workers = await startLocalWorkers({
      count: local,
      topology: readClusterConfig(clusterName, 'cluster').topology,
      model: topology.cluster.model.name,
      tensorParallel: topology.cluster.tensorParallel,
      ...(shape.kvBlocksPerGpu !== undefined ? { kvBlocksPerGpu: shape.kvBlocksPerGpu } : {}),
      ...(shape.blockTokens !== undefined ? { blockTokens: shape.blockTokens } : {}),
      ...(flags.seed !== undefined ? { seed: flags.seed as number } : {}),
      pace,
      ...(security.localWorkerTls ? { tls: security.localWorkerTls } : {}),
      log,
    });
  }
  let gateway;
  try {
    gateway = await startGateway({
      ...shape,
      ...(addresses !== undefined ? { workerAddresses: addresses } : { workerPorts: workers?.ports ?? (given as number[]) }),
      ...(trays !== undefined ? { trays } : {}),
      ...(redisUrl !== undefined ? { batch: { redisUrl } } : {}),
      ...(redisUrl !== undefined
        ? {
            replica: {
              redisUrl,
              ...(flags['replica-id'] !== undefined ? { replicaId: flags['replica-id'] as string } : {}),
              ...(peerPort !== undefined ? { peerPort } : {}),
              ...(flags['advertise-host'] !== undefined ? { advertiseHost: flags['advertise-host'] as string } : {}),
              peerHost: (flags.host as string | undefined) ?? '127.0.0.1',
            },
          }
        : {}),
      host: (flags.host as string | undefined) ?? '127.0.0.1',
      grpcPort,
      httpPort,
      metricsPort,
      ...(policy !== undefined ? { policy } : {}),
      ...(file?.classification !== undefined ? { classification: file.classification } : {}),
      ...(flags.seed !== undefined ? { seed: flags.seed as number } : {}),
      ...(security.tls ? { tls: security.tls } : {}),
      ...(security.workerTls ? { workerTls: security.workerTls } : {}),
      auth,
      ...(file?.tenants !== undefined ? { tenants: file.tenants } : {}),
      ...(file?.limits !== undefined ? { limits: file.limits } : {}),
      log,
    });
  } catch (error) {
    await workers?.stop();
    await auth?.close();
    if (error instanceof ConfigError) throw usageError(`--${error.field.startsWith('policy') ? 'policy' : error.field}: ${error.message}`);
    throw error;
  }
  log(`serving ${topology.instances.length} instances on ${numWorkers} worker(s), gRPC port ${gateway.port}, HTTP port ${gateway.httpPort}, metrics port ${gateway.metricsPort}`);
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      log(`${signal}: stopping`);
      void (gateway as { close: () => Promise<void> }).close().then(async () => {
        await workers?.stop();
        await auth?.close();
        resolve(0);
      });
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    // Key rotation without a restart: the sources also re-read by themselves (file poll, Redis pub/sub).
    if (auth) process.on('SIGHUP', () => void auth?.reload().then(() => log('SIGHUP: API keys re-read'), (e: Error) => log(`SIGHUP: API keys not re-read: ${e.message}`)));
    // Only now: a client that signals right after reading the line must find the handlers installed.
    process.stdout.write(`${JSON.stringify({ event: 'listening', grpc: gateway.port, http: gateway.httpPort, metrics: gateway.metricsPort })}\n`);
  });
}
