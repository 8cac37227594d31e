// Which of a cluster's instances the gateway drives: those whose GPUs all sit on the first N trays (the trays that
// have a worker). Each instance's plans go to the worker of the tray holding its first GPU, which keeps its KV (as
// the simulator's leader tray, scheduler/sim/cluster.ts).
import { ConfigError } from '../core/config/params.js';
import { buildCluster, readClusterConfig, type Cluster, type SimInstanceSpec } from '../sim/cluster.js';

export interface GatewayClusterOptions {
  /** Preset name or cluster mapping (scheduler/sim/cluster.ts). */
  cluster: unknown;
  model?: string;
  tensorParallel?: number;
  /** Trays with a worker: 0..numWorkers-1 of the first domain. */
  numWorkers: number;
  /** Engine overrides that the workers get too (tests shrink the KV pools). */
  kvBlocksPerGpu?: number;
  blockTokens?: number;
}

export interface GatewayCluster {
  cluster: Cluster;
  instances: SimInstanceSpec[];
}

/** The cluster a gateway serves: the preset or mapping with the engine overrides the workers get too. */
export function buildServedCluster(o: Omit<GatewayClusterOptions, 'numWorkers'>): Cluster {
  const base = readClusterConfig(o.cluster, 'cluster');
  const engine = { ...base.engine };
  if (o.kvBlocksPerGpu !== undefined) engine.kvBlocksTotal = o.kvBlocksPerGpu;
  if (o.blockTokens !== undefined) engine.blockTokens = o.blockTokens;
  return buildCluster({ ...base, engine }, {
    ...(o.model !== undefined ? { model: o.model } : {}),
    ...(o.tensorParallel !== undefined ? { tensorParallel: o.tensorParallel } : {}),
  });
}

export function buildGatewayCluster(o: GatewayClusterOptions): GatewayCluster {
  const cluster = buildServedCluster(o);
  if (!Number.isInteger(o.numWorkers) || o.numWorkers < 1 || o.numWorkers > cluster.workers.length) {
    throw new ConfigError('numWorkers', `expected an integer in [1, ${cluster.workers.length}] (trays of ${cluster.name}), got ${o.numWorkers}`);
  }
  const served = new Set(cluster.workers.slice(0, o.numWorkers).map((w) => w.workerId));
  const instances = cluster.instances.filter((i) => i.setup.members.every((m) => served.has(m.workerId)));
  if (instances.length === 0) {
    throw new ConfigError('numWorkers', `${o.numWorkers} tray(s) hold no whole instance of ${cluster.model.name} at tensor parallel ${cluster.tensorParallel}`);
  }
  return { cluster, instances };
}
