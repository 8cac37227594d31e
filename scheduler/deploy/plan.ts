// A deployment config document → what the manifests need: the YAML the gateway will read (the document without its
// `deploy` section, comments kept), serve's flags from the `serve` section (validated by serve's own reader), the
// cluster those flags describe (racks, trays, GPUs per tray, the model's instances, the Grace KV a CUDA worker pins)
// and the deploy settings. The document is the one `serve --config` takes, plus `deploy:`.
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';

import { ConfigError, asParams } from '../core/config/params.js';
import type { ParsedFlags } from '../cli/args.js';
import { parseServeConfig } from '../cli/serve_config.js';
import { buildGatewayCluster } from '../gateway/topology.js';
import { topologyPreset } from '../kv/native.js';
import type { TopologyPresetName } from '../kv/types.js';
import { readClusterConfig } from '../sim/cluster.js';
import { packageRoot } from '../util/paths.js';
import { partitionGatewayTrays } from './gateway_partition.js';
import { SERVE_FLAGS } from './serve_flags.js';
import { readDeploySettings, type DeploySettings, type Ports } from './settings.js';

export interface ClusterShape {
  /** The preset as serve takes it (gb200-nvl72, gb200-nvl72x4). */
  preset: string;
  topology: TopologyPresetName;
  racks: number;
  traysPerRack: number;
  gpusPerTray: number;
  /** NVL72-style: a domain of many trays joined by NVLink (ComputeDomain, clique placement); else one node. */
  multiNodeDomain: boolean;
  model: string;
  tensorParallel: number;
  instances: number;
  /** The scheduler's name of each rack's domain (rack0, rack1; node0 for HGX), as the gateway's cluster has it. */
  domainIds: string[];
  /** The most Grace KV bytes one tray's CUDA worker pins (scheduler/worker/sim_backend.ts kvMemory). */
  maxHostKvBytesPerTray: number;
}

export interface DeployPlan {
  /** Where the document came from (a file name or "the built-in default"). */
  source: string;
  settings: DeploySettings;
  /** The gateway's config file (ConfigMap): the input without `deploy`. */
  serveConfigYaml: string;
  serveFlags: ParsedFlags;
  cluster: ClusterShape;
  /**
   * The trays (cluster order, rack-major) each gateway replica drives: one list of every tray with one replica;
   * disjoint lists holding whole instances with several (gateway_partition.ts).
   */
  gatewayTrays: number[][];
}

/** How a render of the built-in config names its source in the header. */
export const DEFAULT_DEPLOY_SOURCE = 'the built-in default';

/** The built-in deployment config: one GB200 NVL72 rack (`deploy render` with no --config; `deploy default`). */
export const DEFAULT_DEPLOY_CONFIG_YAML = `# nvlsched deployment config: the document \`nvlsched serve --config\` reads (policy, classification, serve) plus
# a \`deploy\` section for Kubernetes. \`nvlsched deploy render --config <this file>\` prints the manifests.
policy: shape-aware
serve:
  cluster: gb200-nvl72          # one GB200 NVL72 rack: 18 compute trays of 4 GPUs (gb200-nvl72x4: four racks)
  model: llama-3.1-70b
deploy:
  namespace: nvlsched
  image: {repository: nvlsched}  # tag: the package version; gateway <repository>:<tag>, CUDA workers <tag>-cuda
  gateway: {replicas: 1}        # N > 1: N replicas, each driving its own share of the trays, meeting through Redis
  worker: {backend: cuda}        # sim: CPU-only workers (no GPUs, no ComputeDomain), e.g. on a kind cluster
  drainSeconds: 60               # terminationGracePeriodSeconds = drainSeconds + 15
  redis: {internal: true}        # or {url: redis://host:6379}
  auth: {keysSecret: nvlsched-api-keys}  # a Secret with keys.yaml (nvlsched keys create); or {insecureNoAuth: true}
  computeDomain: true            # a resource.nvidia.com ComputeDomain per rack (NVIDIA DRA driver)
  serviceMonitor: {enabled: true}
`;

/** Keys of the serve section that the rendered manifests own. */
const MANAGED = { localWorkers: 'a deployment runs one worker pod per tray', workerPorts: 'workers are addressed by their pod DNS names', workers: 'the renderer lists the tray pods' };

export function packageVersion(): string {
  return (JSON.parse(readFileSync(`${packageRoot()}/package.json`, 'utf8')) as { version: string }).version;
}

/** A non-zero port from the serve section (0, "pick a free one", is no use to a Service). */
function fixedPort(flags: ParsedFlags, name: string): number | undefined {
  const v = flags[name];
  return typeof v === 'number' && v > 0 ? v : undefined;
}

export function defaultPlan(): DeployPlan {
  return planFromText(DEFAULT_DEPLOY_CONFIG_YAML, DEFAULT_DEPLOY_SOURCE);
}

export function planFromText(text: string, source: string): DeployPlan {
  const doc = parseDocument(text, { prettyErrors: false });
  const problem = doc.errors[0];
  if (problem) {
    const line = text.slice(0, problem.pos[0]).split('\n').length;
    throw new ConfigError(`${source}:${line}`, `not valid YAML: ${problem.message.split('\n')[0]}`);
  }
  const whole = asParams(doc.toJS() ?? {}, 'config');
  const { deploy, ...serveDoc } = whole;
  const serveSection = asParams(serveDoc.serve, 'config.serve');
  for (const [key, why] of Object.entries(MANAGED)) {
    if (serveSection[key] !== undefined) throw new ConfigError(`config.serve.${key}`, `not in a deployment config: ${why} (remove it)`);
  }
  const serve = parseServeConfig(serveDoc, SERVE_FLAGS, 'config');
  const flags = serve.flags;
  const preset = (flags.cluster as string | undefined) ?? 'gb200-nvl72';
  const topology = readClusterConfigAt(preset).topology;
  const base = topologyPreset(topology);
  let topo;
  try {
    // Every tray of every rack has a worker: the gateway drives the whole cluster.
    const numWorkers = readClusterConfigAt(preset).numDomains * base.traysPerDomain;
    topo = buildGatewayCluster({ cluster: preset, numWorkers, ...shapeOptions(flags) });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    throw new ConfigError(`config.serve.${serveKeyOf(error.field)}`, error.message.slice(error.field.length + 2));
  }
  const c = topo.cluster;
  const fromServe: Partial<Ports> = {};
  const grpc = fixedPort(flags, 'grpc-port');
  const http = fixedPort(flags, 'http-port');
  const metrics = fixedPort(flags, 'metrics-port');
  if (grpc !== undefined) fromServe.grpc = grpc;
  if (http !== undefined) fromServe.http = http;
  if (metrics !== undefined) fromServe.metrics = metrics;
  const settings = readDeploySettings(deploy, { racks: c.numDomains, version: packageVersion(), fromServe });
  const gatewayTrays = partitionGatewayTrays(topo, settings.gateway.replicas, 'config.deploy.gateway.replicas');
  const configDoc = doc.clone();
  configDoc.delete('deploy');
  return {
    source,
    settings,
    serveConfigYaml: configDoc.toString({ lineWidth: 0 }),
    serveFlags: flags,
    cluster: {
      preset,
      topology,
      racks: c.numDomains,
      traysPerRack: base.traysPerDomain,
      gpusPerTray: base.gpusPerTray,
      multiNodeDomain: base.traysPerDomain > 1,
      model: c.model.name,
      tensorParallel: c.tensorParallel,
      instances: topo.instances.length,
      domainIds: [...new Set(c.workers.map((w) => w.domainId))],
      maxHostKvBytesPerTray: Math.max(...c.workers.map((w) => (w.hostBlocks * c.kvBytesPerBlock) / c.tensorParallel)),
    },
    gatewayTrays,
  };
}

function readClusterConfigAt(preset: string) {
  try {
    return readClusterConfig(preset, 'cluster');
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigError('config.serve.cluster', error.message.slice(error.field.length + 2));
    throw error;
  }
}

/** The serve key behind a cluster-builder error field. */
function serveKeyOf(field: string): string {
  if (field === 'model' || field === 'cluster.model') return 'model';
  if (field.startsWith('cluster.tensorParallel')) return 'tensorParallel';
  if (field.startsWith('cluster.engine.kvBlocksTotal')) return 'kvBlocks';
  if (field.startsWith('cluster.engine.blockTokens')) return 'blockTokens';
  return 'cluster';
}

function shapeOptions(flags: ParsedFlags) {
  return {
    ...(flags.model !== undefined ? { model: flags.model as string } : {}),
    ...(flags['tensor-parallel'] !== undefined ? { tensorParallel: flags['tensor-parallel'] as number } : {}),
    ...(flags['kv-blocks'] !== undefined ? { kvBlocksPerGpu: flags['kv-blocks'] as number } : {}),
    ...(flags['block-tokens'] !== undefined ? { blockTokens: flags['block-tokens'] as number } : {}),
  };
}

export function planFromFile(file: string): DeployPlan {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError('--config', `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  return planFromText(text, file);
}
