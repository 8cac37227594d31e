// Which of a cluster's instances the gateway drives: those whose GPUs all sit on the first N trays (the trays that
// have a worker). Each instance's plans go to the worker of the tray holding its first GPU, which keeps its KV (as
// the simulator's leader tray, scheduler/sim/cluster.ts).
import { ConfigError } from '../core/config/params.js';
import { assignRoles, type RolesSpec } from '../core/config/roles.js';
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
  /**
   * Roles of the SERVED instances, in instance order (config/roles.ts: `{prefill: n, decode: m}`, the rest mixed, or
   * one role per instance). Replaces any `roles` of the cluster mapping (which counts a whole NVLink domain's
   * instances, most of them unserved). Absent: the cluster's roles, usually none (every instance mixed).
   */
  roles?: RolesSpec;
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
  // Workers run one tensor-parallel degree per gateway (--tensor-parallel); per-role degrees are the simulator's
  // for now: refuse them rather than serve every instance at the mixed degree without a word.
  if (cluster.tensorParallelByRole !== undefined) {
    throw new ConfigError('cluster.tensorParallel', 'per-role degrees are simulated only (simulate, tune --search-roles); serve takes one degree for every instance');
  }
  if (!Number.isInteger(o.numWorkers) || o.numWorkers < 1 || o.numWorkers > cluster.workers.length) {
    throw new ConfigError('numWorkers', `expected an integer in [1, ${cluster.workers.length}] (trays of ${cluster.name}), got ${o.numWorkers}`);
  }
  const served = new Set(cluster.workers.slice(0, o.numWorkers).map((w) => w.workerId));
  const instances = cluster.instances.filter((i) => i.setup.members.every((m) => served.has(m.workerId)));
  if (instances.length === 0) {
    throw new ConfigError('numWorkers', `${o.numWorkers} tray(s) hold no whole instance of ${cluster.model.name} at tensor parallel ${cluster.tensorParallel}`);
  }
  if (o.roles !== undefined) {
    const roles = assignRoles(o.roles, instances.length, 'roles');
    instances.forEach((inst, i) => {
      const { role: _old, ...setup } = inst.setup;
      inst.setup = roles[i] === 'mixed' ? setup : { ...setup, role: roles[i] };
    });
  }
  return { cluster, instances };
}
