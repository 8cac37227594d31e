// What a worker process serves: one compute tray of a topology preset, a model cut at a tensor-parallel degree, and
// the KV pool sizes that follow (the simulator's sizing rule, scheduler/sim/cluster.ts, so live and simulated
// workers hold the same number of blocks). Bad values throw ConfigError naming the field.
import { ConfigError } from '../core/config/params.js';
import type { TopologyPresetName } from '../kv/types.js';
import { buildCluster, DEFAULT_MODEL, readClusterConfig, type Cluster } from '../sim/cluster.js';
import { baseTopologyNames } from '../sim/presets.js';

export interface WorkerConfig {
  topology: TopologyPresetName;
  /** This worker's tray, 0-based over the preset's one domain. */
  tray: number;
  model: string;
  /** Default: the simulator's sizing rule. */
  tensorParallel?: number;
  /** Device KV blocks per GPU; default derived from HBM (tests set a small pool). */
  kvBlocksPerGpu?: number;
  /** Tokens per KV block; default the engine's (64). */
  blockTokens?: number;
  /** Seeds the synthetic token ids. Default 1. */
  seed: number;
  /**
   * sim (default): the tray's KV manager in metadata mode. cuda: real KV memory on the GPUs (device pools,
   * pinned Grace tier) so holds, swaps and demotions are real copies; step times still come from the performance
   * model (no weights are loaded). Needs a usable CUDA device; otherwise the worker refuses to start.
   */
  backend?: 'sim' | 'cuda';
  /** The NVLink domain the config gives this tray (default: the cluster's, e.g. rack0); discovery may override. */
  domain?: string;
  /**
   * KV data of the sim backend: 'metadata' (default, no block memory) or 'bytes' (every pool in host memory, so KV
   * hand-offs between workers carry real bytes; the sim never writes KV itself, tests and benches do). The cuda
   * backend always keeps bytes.
   */
  kvData?: 'metadata' | 'bytes';
  /** Grace (host-tier) KV blocks per instance the tray leads; default: the sizing rule (bytes mode allocates them all). */
  hostKvBlocks?: number;
}

export const DEFAULT_WORKER_CONFIG: WorkerConfig = { topology: 'gb200-nvl72', tray: 0, model: DEFAULT_MODEL, seed: 1 };

export interface ResolvedWorker {
  cluster: Cluster;
  /** Host-tier blocks of this tray (the Grace share of the instances it leads). */
  hostBlocks: number;
}

export function resolveWorker(config: WorkerConfig): ResolvedWorker {
  if (!baseTopologyNames().includes(config.topology)) {
    throw new ConfigError('topology', `expected one of ${baseTopologyNames().join(', ')}, got ${JSON.stringify(config.topology)}`);
  }
  const engine: Record<string, number> = {};
  if (config.kvBlocksPerGpu !== undefined) engine.kvBlocksTotal = config.kvBlocksPerGpu;
  if (config.blockTokens !== undefined) engine.blockTokens = config.blockTokens;
  if (config.hostKvBlocks !== undefined) engine.hostKvBlocksTotal = config.hostKvBlocks;
  if (config.kvData !== undefined && config.kvData !== 'metadata' && config.kvData !== 'bytes') {
    throw new ConfigError('kvData', `expected metadata or bytes, got ${JSON.stringify(config.kvData)}`);
  }
  const cluster = buildCluster(readClusterConfig({ preset: config.topology, engine }, 'cluster'), {
    model: config.model,
    ...(config.tensorParallel !== undefined ? { tensorParallel: config.tensorParallel } : {}),
  });
  const tray = cluster.workers[config.tray];
  if (!Number.isInteger(config.tray) || tray === undefined) {
    throw new ConfigError('tray', `expected an integer in [0, ${cluster.workers.length - 1}] for ${config.topology}, got ${config.tray}`);
  }
  if (!Number.isInteger(config.seed)) throw new ConfigError('seed', `expected an integer, got ${config.seed}`);
  return { cluster, hostBlocks: tray.hostBlocks };
}
