// A simulated cluster: NVLink domains of compute trays (workers) of GPUs, a model cut into instances, each
// instance's engine config and KV sizes, and the self-hosted pool they serve. Built from a preset name or a
// cluster config (a small mapping, from a YAML/JSON file or code), validated field by field
// (`cluster.tensorParallel: ...`).
import { asParams, ConfigError, onlyKeys, readEnum, readNumber, readString, type Params } from '../core/config/params.js';
import { parsePool, type PoolConfig } from '../core/config/pools.js';
import { assignRoles, readRoles, type RolesSpec } from '../core/config/roles.js';
import { readEngineConfig, type EngineConfig } from '../core/engine/config.js';
import type { InstanceSetup } from '../core/scheduler.js';
import { topologyPreset } from '../kv/native.js';
import type { KvLayout, TopologyPresetName, TopologySpec } from '../kv/types.js';
import { GPU_NAMES, GPUS, type GpuName } from '../perf/gpus.js';
import { getModel, MODEL_NAMES, WEIGHT_DTYPES, type ModelConfig, type WeightDtype } from '../perf/models.js';
import type { GemmDtype, InstanceSpec } from '../perf/step_types.js';
import { MAX_DOMAINS, NAMED_PRESETS, parsePresetName, topologyOfGpu } from './presets.js';
import { chooseParallelism, DEFAULT_DEVICE_RESERVE_FRACTION, DEFAULT_HOST_KV_FRACTION, sizeKv, validDegrees } from './sizing.js';

export const DEFAULT_MODEL = 'llama-3.1-70b';
/** An assumed all-in operator cost of one GPU-hour (as the default pools config; an ASSUMPTION, not a quote). */
export const DEFAULT_USD_PER_GPU_HOUR = 4;

/** A validated cluster config: what a cluster file says, defaults filled in. */
export interface ClusterConfig {
  name: string;
  topology: TopologyPresetName;
  gpu: GpuName;
  numDomains: number;
  /** Model from the file; the caller's --model wins over it. */
  model?: string;
  tensorParallel?: number;
  expertParallel?: number;
  weightDtype: WeightDtype;
  kvDtype: WeightDtype;
  /** Engine overrides (scheduler/core/engine/config.ts fields); KV sizes default to the computed ones. */
  engine: Params;
  deviceReserveFraction: number;
  hostKvFraction: number;
  usdPerGpuHour: number;
  /** Instance roles per NVLink domain (config/roles.ts); absent = every instance mixed. */
  roles?: RolesSpec;
}

const CLUSTER_KEYS = [
  'name', 'preset', 'racks', 'gpu', 'model', 'tensorParallel', 'expertParallel', 'weightDtype', 'kvDtype', 'engine',
  'deviceReserveFraction', 'hostKvFraction', 'usdPerGpuHour', 'roles',
] as const;

function presetOrThrow(name: string, field: string) {
  const preset = parsePresetName(name);
  if (!preset) {
    throw new ConfigError(field, `unknown cluster preset ${JSON.stringify(name)}; known: ${NAMED_PRESETS.join(', ')} ` +
      `(or <preset>x<N> for N domains, N ≤ ${MAX_DOMAINS})`);
  }
  return preset;
}

/** A preset name, or a mapping {preset | racks and gpu (default gb200), model, tensorParallel, ...}. */
export function readClusterConfig(value: unknown, path = 'cluster'): ClusterConfig {
  if (typeof value === 'string') value = { preset: value };
  const p = asParams(value, path);
  onlyKeys(p, path, CLUSTER_KEYS);
  if (p.preset === undefined && p.gpu === undefined && p.racks === undefined) {
    throw new ConfigError(`${path}.preset`, `required (one of ${NAMED_PRESETS.join(', ')}), or give ${path}.racks (and ${path}.gpu: ${GPU_NAMES.join(', ')}; default gb200)`);
  }
  const preset = p.preset !== undefined ? presetOrThrow(readString(p, 'preset', path, ''), `${path}.preset`) : undefined;
  const gpu = readEnum<GpuName>(p, 'gpu', path, GPU_NAMES, preset?.gpu ?? 'gb200');
  if (preset && gpu !== preset.gpu) throw new ConfigError(`${path}.gpu`, `preset ${preset.name} has ${preset.gpu} GPUs, got ${gpu}`);
  const numDomains = readNumber(p, 'racks', path, preset?.numDomains ?? 1, { integer: true, min: 1, max: MAX_DOMAINS });
  const topology = preset?.topology ?? topologyOfGpu(gpu);
  const defaultName = preset && p.racks === undefined ? preset.name : numDomains === 1 ? topology : `${topology}x${numDomains}`;
  const config: ClusterConfig = {
    name: readString(p, 'name', path, defaultName),
    topology,
    gpu,
    numDomains,
    weightDtype: readEnum<WeightDtype>(p, 'weightDtype', path, WEIGHT_DTYPES, 'fp8'),
    kvDtype: readEnum<WeightDtype>(p, 'kvDtype', path, WEIGHT_DTYPES, 'fp8'),
    engine: asParams(p.engine, `${path}.engine`),
    deviceReserveFraction: readNumber(p, 'deviceReserveFraction', path, DEFAULT_DEVICE_RESERVE_FRACTION, { min: 0, max: 0.9 }),
    hostKvFraction: readNumber(p, 'hostKvFraction', path, DEFAULT_HOST_KV_FRACTION, { min: 0, max: 1 }),
    usdPerGpuHour: readNumber(p, 'usdPerGpuHour', path, DEFAULT_USD_PER_GPU_HOUR, { min: 0 }),
  };
  if (p.model !== undefined) config.model = readEnum(p, 'model', path, MODEL_NAMES, DEFAULT_MODEL);
  const roles = readRoles(p.roles, `${path}.roles`);
  if (roles !== undefined) config.roles = roles;
  if (p.tensorParallel !== undefined) config.tensorParallel = readNumber(p, 'tensorParallel', path, 1, { integer: true, min: 1 });
  if (p.expertParallel !== undefined) config.expertParallel = readNumber(p, 'expertParallel', path, 1, { integer: true, min: 1 });
  if (config.weightDtype === 'fp4' && GPUS[gpu].flopsPerS.fp4 === null) {
    throw new ConfigError(`${path}.weightDtype`, `${gpu} has no FP4 tensor cores; use bf16 or fp8`);
  }
  return config;
}

/** One compute tray (a worker process live): its GPUs and the Grace/host KV blocks of the instances led from it. */
export interface WorkerSpec {
  workerId: string;
  domainId: string;
  /** Host-tier KV blocks (per-GPU block units) for the instances whose first GPU is on this tray. */
  hostBlocks: number;
}

export interface SimInstanceSpec {
  setup: InstanceSetup;
  /** Index in Cluster.workers of the tray holding the instance's first GPU: its KV is tracked there. */
  leaderWorker: number;
  /** The first GPU, as its tray numbers it (the KV events' device index). */
  leaderGpu: number;
}

export interface Cluster {
  name: string;
  gpu: GpuName;
  model: ModelConfig;
  numGpus: number;
  numDomains: number;
  /** One tray's topology as the native KV manager sees it (one domain of one tray: events are tray-local). */
  trayTopology: TopologySpec;
  tensorParallel: number;
  expertParallel: number;
  weightDtype: WeightDtype;
  kvDtype: WeightDtype;
  pool: PoolConfig;
  engine: EngineConfig;
  /** KV bytes of one block over a whole instance (the cost ledger's kvBytesPerBlock). */
  kvBytesPerBlock: number;
  kvLayout: KvLayout;
  /** The performance model's view of one instance. */
  perf: InstanceSpec;
  workers: WorkerSpec[];
  instances: SimInstanceSpec[];
}

export interface BuildOptions {
  /** Overrides the config's model (the CLI's --model). */
  model?: string;
  tensorParallel?: number;
}

const GEMM_DTYPE: Readonly<Record<WeightDtype, GemmDtype>> = { bf16: 'bfloat16', fp8: 'fp8', fp4: 'nvfp4' };

function readParallelism(config: ClusterConfig, model: ModelConfig, domainGpus: number, tpOverride: number | undefined) {
  const tp = tpOverride ?? config.tensorParallel;
  if (tp === undefined) return chooseParallelism(model, config.gpu, config.weightDtype, domainGpus, 'cluster.model');
  const allowed = validDegrees(model, domainGpus);
  if (!allowed.includes(tp)) {
    throw new ConfigError('cluster.tensorParallel', `for ${model.name} in a domain of ${domainGpus} GPUs expected one of ${allowed.join(', ')}, got ${tp}`);
  }
  const ep = config.expertParallel ?? (model.moe ? tp : 1);
  return { tensorParallel: tp, expertParallel: ep };
}

/** The self-hosted pool of the cluster, checked by the pools config reader; its errors name cluster fields. */
function readPool(config: ClusterConfig, model: ModelConfig, tp: number, ep: number, count: number): PoolConfig {
  try {
    return parsePool({
      name: model.name,
      kind: 'self_hosted',
      model: model.name,
      instances: { gpu: config.gpu, tensorParallel: tp, expertParallel: ep, count, weightDtype: config.weightDtype, kvDtype: config.kvDtype },
      usdPerGpuHour: config.usdPerGpuHour,
    }, 'pool');
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const field = error.field.replace(/^pool\.instances\./, 'cluster.').replace(/^pool\./, 'cluster.');
    throw new ConfigError(field, error.message.slice(error.field.length + 2));
  }
}

/** The cluster of a config and a model: trays, instances, engine config, pool. */
export function buildCluster(config: ClusterConfig, options: BuildOptions = {}): Cluster {
  const modelName = options.model ?? config.model ?? DEFAULT_MODEL;
  if (!MODEL_NAMES.includes(modelName)) throw new ConfigError('model', `expected one of ${MODEL_NAMES.join(', ')}, got ${JSON.stringify(modelName)}`);
  const model = getModel(modelName);
  const base = topologyPreset(config.topology);
  const domainGpus = base.traysPerDomain * base.gpusPerTray;
  const { tensorParallel: tp, expertParallel: ep } = readParallelism(config, model, domainGpus, options.tensorParallel);
  const blockTokens = readNumber(config.engine, 'blockTokens', 'cluster.engine', 64, { integer: true, min: 1 });
  const kv = sizeKv({ model, gpu: config.gpu, weightDtype: config.weightDtype, kvDtype: config.kvDtype, tensorParallel: tp, blockTokens, deviceReserveFraction: config.deviceReserveFraction }, 'cluster.tensorParallel');
  const perDomain = Math.floor(domainGpus / tp);
  const count = perDomain * config.numDomains;
  const pool = readPool(config, model, tp, ep, count);
  // Grace share of one instance: its GPUs' share of each tray's host memory, in whole-instance blocks.
  const hostBytesPerGpu = (base.hostBytesPerTray * config.hostKvFraction) / base.gpusPerTray;
  const hostKvBlocks = Math.floor((hostBytesPerGpu * tp) / kv.instanceBlockBytes);
  const engine = readEngineConfig({ kvBlocksTotal: kv.kvBlocksTotal, hostKvBlocksTotal: hostKvBlocks, ...config.engine }, 'cluster.engine');
  const layout = placeInstances(config, base, tp, engine, pool.name);
  if (config.roles !== undefined) {
    // The same split in every domain: a hand-off stays inside its NVLink domain.
    const perDomainRoles = assignRoles(config.roles, perDomain, 'cluster.roles');
    layout.instances.forEach((inst, i) => {
      const role = perDomainRoles[i % perDomain] as NonNullable<InstanceSetup['role']>;
      if (role !== 'mixed') inst.setup = { ...inst.setup, role };
    });
    pool.roles = layout.instances.map((i) => i.setup.role ?? 'mixed');
  }
  return {
    name: config.name,
    gpu: config.gpu,
    model,
    numGpus: domainGpus * config.numDomains,
    numDomains: config.numDomains,
    trayTopology: { ...base, name: `${base.name}-tray`, numDomains: 1, traysPerDomain: 1 },
    tensorParallel: tp,
    expertParallel: ep,
    weightDtype: config.weightDtype,
    kvDtype: config.kvDtype,
    pool,
    engine,
    kvBytesPerBlock: kv.instanceBlockBytes,
    kvLayout: kv.layout,
    perf: { gpu: config.gpu, tensorParallel: tp, expertParallel: ep, gemmDtype: GEMM_DTYPE[config.weightDtype], kvDtype: config.kvDtype === 'bf16' ? 'bfloat16' : 'fp8', attnDtype: 'bfloat16' },
    ...layout,
  };
}

/** Instances of tp consecutive GPUs from the start of each domain; GPUs left over at a domain's end stay idle. */
function placeInstances(config: ClusterConfig, base: TopologySpec, tp: number, engine: EngineConfig, pool: string): Pick<Cluster, 'workers' | 'instances'> {
  const gpusPerTray = base.gpusPerTray;
  const domainGpus = base.traysPerDomain * gpusPerTray;
  const domainKind = base.traysPerDomain > 1 ? 'rack' : 'node';
  const workers: WorkerSpec[] = [];
  const instances: SimInstanceSpec[] = [];
  for (let d = 0; d < config.numDomains; d++) {
    const domainId = `${domainKind}${d}`;
    const firstWorker = workers.length;
    for (let t = 0; t < base.traysPerDomain; t++) workers.push({ workerId: `${domainId}/tray${t}`, domainId, hostBlocks: 0 });
    for (let k = 0; k + tp <= domainGpus; k += tp) {
      const members: { workerId: string; gpus: number[] }[] = [];
      for (let g = k; g < k + tp; g++) {
        const worker = workers[firstWorker + Math.floor(g / gpusPerTray)] as WorkerSpec;
        const last = members[members.length - 1];
        if (last?.workerId === worker.workerId) last.gpus.push(g % gpusPerTray);
        else members.push({ workerId: worker.workerId, gpus: [g % gpusPerTray] });
      }
      const leaderWorker = firstWorker + Math.floor(k / gpusPerTray);
      (workers[leaderWorker] as WorkerSpec).hostBlocks += engine.hostKvBlocksTotal;
      instances.push({
        setup: { instanceId: `${domainId}/i${k / tp}`, pool, domainId, members, engine },
        leaderWorker,
        leaderGpu: k % gpusPerTray,
      });
    }
  }
  return { workers, instances };
}
