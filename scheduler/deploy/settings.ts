// The `deploy:` section of a deployment config: namespace, images, gateway and worker pod settings, drain time,
// ports, Redis, ComputeDomain and ServiceMonitor switches. Every field is optional; every error names its field
// (config.deploy.ports.grpc: ...), as the rest of the config does.
import { ConfigError, asParams, onlyKeys, readBool, readEnum, readNumber, readString, type Params } from '../core/config/params.js';

export interface Ports {
  grpc: number;
  http: number;
  metrics: number;
  /** Where a gateway replica takes requests forwarded by the others (`serve --peer-port`; only with replicas > 1). */
  peer: number;
  workerGrpc: number;
  workerMetrics: number;
}

export type RedisSettings = { kind: 'internal'; image: string } | { kind: 'external'; url: string } | { kind: 'none' };

/** The gateway's API keys: a Secret holding a keys file (`nvlsched keys create --keys-file`), or none at all. */
export type AuthDeploySettings = { kind: 'keys'; secret: string } | { kind: 'none' };

export interface DeploySettings {
  /** Prefix of every object's name and the app.kubernetes.io/instance label. */
  name: string;
  namespace: string;
  createNamespace: boolean;
  image: { repository: string; tag: string; pullPolicy: 'Always' | 'IfNotPresent' | 'Never' };
  /** replicas > 1: each replica drives its own share of the trays and they meet through Redis (required then). */
  gateway: { replicas: number; cpu: string; memory: string };
  worker: { backend: 'cuda' | 'sim'; pace: 'real' | 'none'; cpu: string; memoryOverheadGi: number };
  /** How long a gateway or worker may take to finish its running requests when it is stopped. */
  drainS: number;
  ports: Ports;
  redis: RedisSettings;
  auth: AuthDeploySettings;
  /** One resource.nvidia.com ComputeDomain per rack, claimed by its worker pods (NVL72 clusters). */
  computeDomain: boolean;
  /** Optional `nvidia.com/gpu.clique` label value per rack (rack r's pods must land on those nodes). */
  cliques: string[];
  serviceMonitor: { enabled: boolean; intervalS: number; labels: Record<string, string> };
  /** The cluster's DNS domain (worker addresses are <pod>.<service>.<namespace>.svc.<clusterDomain>). */
  clusterDomain: string;
}

/** Seconds between the end of the drain and SIGKILL: the gateway's and worker's own close (≤ 2 s each) and slack. */
export const GRACE_MARGIN_S = 15;

const DNS_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
/** A label value (the GFD clique label is "<ClusterUUID>.<CliqueId>"). */
const LABEL_VALUE = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
/** Kubernetes quantities as written by people: 8, 500m, 4Gi, 1.5G. */
const QUANTITY = /^[0-9]+(\.[0-9]+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/;

const KEYS = ['name', 'namespace', 'createNamespace', 'image', 'gateway', 'worker', 'drainSeconds', 'ports', 'redis', 'auth', 'computeDomain', 'cliques', 'serviceMonitor', 'clusterDomain'];

function readDnsLabel(p: Params, key: string, path: string, fallback: string, maxChars: number): string {
  const value = readString(p, key, path, fallback);
  if (!DNS_LABEL.test(value) || value.length > maxChars) {
    throw new ConfigError(`${path}.${key}`, `expected a DNS label (lower-case letters, digits and '-', starting with a letter) of at most ${maxChars} characters, got ${JSON.stringify(value)}`);
  }
  return value;
}

function readQuantity(p: Params, key: string, path: string, fallback: string): string {
  const value = p[key];
  if (value === undefined) return fallback;
  const text = typeof value === 'number' ? String(value) : value;
  if (typeof text !== 'string' || !QUANTITY.test(text)) throw new ConfigError(`${path}.${key}`, `expected a Kubernetes quantity such as 8, 500m or 16Gi, got ${JSON.stringify(value)}`);
  return text;
}

function readAuth(value: unknown, path: string, name: string): AuthDeploySettings {
  const p = asParams(value, path);
  onlyKeys(p, path, ['keysSecret', 'insecureNoAuth']);
  const none = readBool(p, 'insecureNoAuth', path, false);
  if (none) {
    if (p.keysSecret !== undefined) throw new ConfigError(`${path}.keysSecret`, 'give either keysSecret or insecureNoAuth: true, not both');
    return { kind: 'none' };
  }
  return { kind: 'keys', secret: readDnsLabel(p, 'keysSecret', path, `${name}-api-keys`, 253) };
}

function readPort(p: Params, key: string, path: string, fallback: number): number {
  return readNumber(p, key, path, fallback, { integer: true, min: 1, max: 65535 });
}

function readRedis(value: unknown, path: string): RedisSettings {
  const p = asParams(value ?? { internal: true }, path);
  onlyKeys(p, path, ['url', 'internal', 'image']);
  const internal = readBool(p, 'internal', path, false);
  if (p.url !== undefined) {
    if (internal) throw new ConfigError(`${path}.url`, 'give either url (an external Redis) or internal: true (a Redis StatefulSet), not both');
    const url = readString(p, 'url', path, '');
    if (!/^rediss?:\/\/[^\s]+$/.test(url)) throw new ConfigError(`${path}.url`, `expected redis://host:port or rediss://host:port, got ${JSON.stringify(url)}`);
    return { kind: 'external', url };
  }
  if (internal) return { kind: 'internal', image: readString(p, 'image', path, 'redis:7.2-alpine') };
  if (p.image !== undefined) throw new ConfigError(`${path}.image`, 'only with internal: true');
  return { kind: 'none' };
}

function readPorts(value: unknown, path: string, fromServe: Partial<Ports>): Ports {
  const p = asParams(value, path);
  onlyKeys(p, path, ['grpc', 'http', 'metrics', 'peer', 'workerGrpc', 'workerMetrics']);
  const ports: Ports = {
    grpc: readPort(p, 'grpc', path, fromServe.grpc ?? 50051),
    http: readPort(p, 'http', path, fromServe.http ?? 8000),
    metrics: readPort(p, 'metrics', path, fromServe.metrics ?? 9400),
    peer: readPort(p, 'peer', path, 50053),
    workerGrpc: readPort(p, 'workerGrpc', path, 50052),
    workerMetrics: readPort(p, 'workerMetrics', path, 9401),
  };
  const gateway = [ports.grpc, ports.http, ports.metrics, ports.peer];
  if (new Set(gateway).size !== 4) throw new ConfigError(path, `the gateway's grpc, http, metrics and peer ports must differ, got ${gateway.join(', ')}`);
  if (ports.workerGrpc === ports.workerMetrics) throw new ConfigError(`${path}.workerMetrics`, `must differ from workerGrpc (${ports.workerGrpc})`);
  return ports;
}

function readLabels(value: unknown, path: string): Record<string, string> {
  const p = asParams(value, path);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(p)) {
    if (typeof v !== 'string' || (v !== '' && !LABEL_VALUE.test(v))) throw new ConfigError(`${path}.${k}`, `expected a label value (string), got ${JSON.stringify(v)}`);
    out[k] = v;
  }
  return out;
}

/**
 * Reads the deploy section. `fromServe` carries the serve section's non-zero ports (they are the defaults here: a
 * port 0, "pick a free one", means nothing to a Service). `racks` bounds `cliques`; `version` is the image tag default.
 */
export function readDeploySettings(value: unknown, o: { path?: string; racks: number; version: string; fromServe?: Partial<Ports> }): DeploySettings {
  const path = o.path ?? 'config.deploy';
  const p = asParams(value, path);
  onlyKeys(p, path, KEYS);
  const image = asParams(p.image, `${path}.image`);
  onlyKeys(image, `${path}.image`, ['repository', 'tag', 'pullPolicy']);
  const gateway = asParams(p.gateway, `${path}.gateway`);
  onlyKeys(gateway, `${path}.gateway`, ['replicas', 'cpu', 'memory']);
  const replicas = readNumber(gateway, 'replicas', `${path}.gateway`, 1, { integer: true, min: 1 });
  const worker = asParams(p.worker, `${path}.worker`);
  onlyKeys(worker, `${path}.worker`, ['backend', 'pace', 'cpu', 'memoryOverheadGi']);
  const cliquesRaw = p.cliques ?? [];
  if (!Array.isArray(cliquesRaw)) throw new ConfigError(`${path}.cliques`, `expected a list of nvidia.com/gpu.clique values, one per rack, got ${JSON.stringify(cliquesRaw)}`);
  if (cliquesRaw.length > o.racks) throw new ConfigError(`${path}.cliques`, `${cliquesRaw.length} values for ${o.racks} rack(s)`);
  const cliques = cliquesRaw.map((c, i) => {
    if (typeof c !== 'string' || !LABEL_VALUE.test(c)) throw new ConfigError(`${path}.cliques[${i}]`, `expected a label value such as "<ClusterUUID>.<CliqueId>", got ${JSON.stringify(c)}`);
    return c;
  });
  if (new Set(cliques).size !== cliques.length) throw new ConfigError(`${path}.cliques`, 'two racks pinned to one clique; each rack is its own NVLink domain');
  const sm = asParams(p.serviceMonitor, `${path}.serviceMonitor`);
  onlyKeys(sm, `${path}.serviceMonitor`, ['enabled', 'intervalSeconds', 'labels']);
  const clusterDomain = readString(p, 'clusterDomain', path, 'cluster.local');
  const redis = readRedis(p.redis, `${path}.redis`);
  if (replicas > 1 && redis.kind === 'none') {
    // Replicas find each other, share session homes and KV summaries through Redis (scheduler/gateway/replica);
    // without it each would serve only its own trays and a session's next turn would lose its KV half the time.
    throw new ConfigError(`${path}.redis`, `required with gateway.replicas ${replicas}: replicas share sessions and KV summaries through Redis; give {internal: true} or {url: redis://host:6379}`);
  }
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(clusterDomain)) throw new ConfigError(`${path}.clusterDomain`, `expected a DNS name such as cluster.local, got ${JSON.stringify(clusterDomain)}`);
  return {
    name: readDnsLabel(p, 'name', path, 'nvlsched', 24),
    namespace: readDnsLabel(p, 'namespace', path, 'nvlsched', 63),
    createNamespace: readBool(p, 'createNamespace', path, true),
    image: {
      repository: readString(image, 'repository', `${path}.image`, 'nvlsched'),
      tag: readString(image, 'tag', `${path}.image`, o.version),
      pullPolicy: readEnum(image, 'pullPolicy', `${path}.image`, ['Always', 'IfNotPresent', 'Never'] as const, 'IfNotPresent'),
    },
    gateway: { replicas, cpu: readQuantity(gateway, 'cpu', `${path}.gateway`, '2'), memory: readQuantity(gateway, 'memory', `${path}.gateway`, '4Gi') },
    worker: {
      backend: readEnum(worker, 'backend', `${path}.worker`, ['cuda', 'sim'] as const, 'cuda'),
      pace: readEnum(worker, 'pace', `${path}.worker`, ['real', 'none'] as const, 'real'),
      cpu: readQuantity(worker, 'cpu', `${path}.worker`, '8'),
      memoryOverheadGi: readNumber(worker, 'memoryOverheadGi', `${path}.worker`, 32, { integer: true, min: 1 }),
    },
    drainS: readNumber(p, 'drainSeconds', path, 60, { integer: true, min: 0, max: 3600 }),
    ports: readPorts(p.ports, `${path}.ports`, o.fromServe ?? {}),
    redis,
    auth: readAuth(p.auth, `${path}.auth`, readDnsLabel(p, 'name', path, 'nvlsched', 24)),
    computeDomain: readBool(p, 'computeDomain', path, true),
    cliques,
    serviceMonitor: {
      enabled: readBool(sm, 'enabled', `${path}.serviceMonitor`, true),
      intervalS: readNumber(sm, 'intervalSeconds', `${path}.serviceMonitor`, 15, { integer: true, min: 1 }),
      labels: readLabels(sm.labels, `${path}.serviceMonitor.labels`),
    },
    clusterDomain,
  };
}
