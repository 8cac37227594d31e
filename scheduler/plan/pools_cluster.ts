// A scheduler config's `pools` section as the shape of the simulated cluster: the self-hosted pool of the model being
// simulated gives the cluster's tensorParallel, expertParallel, dtypes and roles (a pool is one NVLink domain; every
// domain of the cluster gets the same). This is how `simulate --config best.yaml` runs the split that
// `tune --search-roles --out best.yaml` chose. The simulator fills each domain with whole instances, so the pool's
// count must be that number; a mismatch is an error naming the field, never a silent reshaping.
import { ConfigError } from '../core/config/params.js';
import type { PoolConfig } from '../core/config/pools.js';
import { topologyPreset } from '../kv/native.js';
import type { ClusterConfig } from '../sim/cluster.js';

export interface PoolShape {
  /** Index in the pools section (for messages). */
  index: number;
  cluster: ClusterConfig;
}

/** The cluster config shaped by the pool of `model`; undefined when no self-hosted pool serves that model. */
export function clusterFromPools(cluster: ClusterConfig, model: string, pools: readonly PoolConfig[], path = 'pools'): PoolShape | undefined {
  const matches = pools.flatMap((p, i) => (p.kind === 'self_hosted' && p.model === model && p.instances ? [i] : []));
  if (matches.length === 0) return undefined;
  if (matches.length > 1) throw new ConfigError(`${path}[${matches[1]}]`, `a second self-hosted pool of ${model} (also ${path}[${matches[0]}]); the simulated cluster has one`);
  const index = matches[0] as number;
  const pool = pools[index] as PoolConfig;
  const inst = pool.instances as NonNullable<PoolConfig['instances']>;
  const field = `${path}[${index}].instances`;
  if (inst.gpu !== cluster.gpu) throw new ConfigError(`${field}.gpu`, `${inst.gpu}, but the cluster ${cluster.name} has ${cluster.gpu} GPUs`);
  const base = topologyPreset(cluster.topology);
  const domainGpus = base.traysPerDomain * base.gpusPerTray;
  const perDomain = Math.floor(domainGpus / inst.tensorParallel);
  if (inst.count !== perDomain) {
    throw new ConfigError(`${field}.count`, `the simulator fills each ${domainGpus}-GPU domain of ${cluster.name} with ${perDomain} instances at tensorParallel ${inst.tensorParallel}, got ${inst.count}`);
  }
  // The pool's one degree replaces the file's (per-role degrees included: a pool cannot carry them).
  const { roles: _roles, roleTensorParallel: _rtp, ...plain } = cluster;
  return {
    index,
    cluster: {
      ...plain, tensorParallel: inst.tensorParallel, expertParallel: inst.expertParallel, weightDtype: inst.weightDtype, kvDtype: inst.kvDtype,
      ...(pool.usdPerGpuHour !== undefined && { usdPerGpuHour: pool.usdPerGpuHour }),
      ...(pool.roles !== undefined && pool.roles.some((r) => r !== 'mixed') && { roles: pool.roles }),
    },
  };
}
