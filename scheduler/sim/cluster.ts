// A simulated cluster: NVLink domains of compute trays (workers) of GPUs, a model cut into instances, each
// instance's engine config and KV sizes, and the self-hosted pool they serve. Built from a preset name or a
// cluster config (a small mapping, from a YAML/JSON file or code), validated field by field
// (`cluster.tensorParallel: ...`).
import { asParams, ConfigError, onlyKeys, readEnum, readNumber, readString, type Params } from '../core/config/params.js';
import { parsePool, type PoolConfig } from '../core/config/pools.js';
import { INSTANCE_ROLES, readRoles, type InstanceRole, type RolesSpec } from '../core/config/roles.js';
import { readEngineConfig, type EngineConfig } from '../core/engine/config.js';
import { topologyPreset } from '../kv/native.js';
import type { KvLayout, TopologyPresetName, TopologySpec } from '../kv/types.js';
import { GPU_NAMES, GPUS, type GpuName } from '../perf/gpus.js';
import { getModel, MODEL_NAMES, WEIGHT_DTYPES, type ModelConfig, type WeightDtype } from '../perf/models.js';
import type { GemmDtype, InstanceSpec } from '../perf/step_types.js';
import { perRoleSlots, placeInstances, uniformSlots, type DomainSlot, type SimInstanceSpec, type WorkerSpec } from './layout.js';
import { MAX_DOMAINS, NAMED_PRESETS, parsePresetName, topologyOfGpu } from './presets.js';
import { chooseParallelism, DEFAULT_DEVICE_RESERVE_FRACTION, DEFAULT_HOST_KV_FRACTION, sizeKv, validDegrees } from './sizing.js';

export const DEFAULT_MODEL = 'llama-3.1-70b';
/** An assumed all-in operator cost of one GPU-hour (as the default pools config; an ASSUMPTION, not a quote). */
export const DEFAULT_USD_PER_GPU_HOUR = 4;

/** Per-role degrees of a cluster file's `tensorParallel: {prefill, decode, mixed}`; a role left out takes the sizing rule's. */
export type RoleDegrees = Partial<Record<InstanceRole, number>>;

/** A validated cluster config: what a cluster file says, defaults filled in. */
export interface ClusterConfig {
  name: string;
  topology: TopologyPresetName;
  gpu: GpuName;
  numDomains: number;
  /** Model from the file; the caller's --model wins over it. */
  model?: string;
  /** One degree for every instance (`tensorParallel: 4`). */
  tensorParallel?: number;
  /** Per-role degrees (`tensorParallel: {prefill: 4, decode: 1}`; needs roles). Excludes tensorParallel. */
  roleTensorParallel?: RoleDegrees;
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

/** `tensorParallel`: a number (every instance) or a mapping of roles to degrees (which then needs `roles`). */
function readTensorParallel(p: Params, path: string, config: ClusterConfig): void {
  const value = p.tensorParallel;
  if (value === undefined) return;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    config.tensorParallel = readNumber(p, 'tensorParallel', path, 1, { integer: true, min: 1 });
    return;
  }
  const field = `${path}.tensorParallel`;
  const m = asParams(value, field);
  onlyKeys(m, field, INSTANCE_ROLES);
  if (config.roles === undefined) {
    throw new ConfigError(field, `per-role degrees need ${path}.roles (which instances prefill and decode); for every instance give one number`);
  }
  const degrees: RoleDegrees = {};
  for (const role of INSTANCE_ROLES) if (m[role] !== undefined) degrees[role] = readNumber(m, role, field, 1, { integer: true, min: 1 });
  config.roleTensorParallel = degrees;
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
  readTensorParallel(p, path, config);
  if (p.expertParallel !== undefined) config.expertParallel = readNumber(p, 'expertParallel', path, 1, { integer: true, min: 1 });
  if (config.weightDtype === 'fp4' && GPUS[gpu].flopsPerS.fp4 === null) {
    throw new ConfigError(`${path}.weightDtype`, `${gpu} has no FP4 tensor cores; use bf16 or fp8`);
  }
  return config;
}

export type { DomainSlot, SimInstanceSpec, WorkerSpec };

/** The instances of one tensor-parallel degree: what the performance model, the engine and the KV manager need. */
export interface InstanceShape {
  tensorParallel: number;
  expertParallel: number;
  /** Engine config of these instances (their HBM and Grace KV blocks follow from the degree). */
  engine: EngineConfig;
  /** KV bytes of one block over a whole instance. */
  kvBytesPerBlock: number;
  kvLayout: KvLayout;
  /** The performance model's view of one such instance. */
  perf: InstanceSpec;
}

export interface Cluster {
  name: string;
  gpu: GpuName;
  model: ModelConfig;
  numGpus: number;
  numDomains: number;
  /** One tray's topology as the native KV manager sees it (one domain of one tray: events are tray-local). */
  trayTopology: TopologySpec;
  /** The degree of every instance; with per-role degrees, the mixed role's (shapes[0]). */
  tensorParallel: number;
  expertParallel: number;
  /** Per role its degree; present only when they differ (then instances differ: see shapes and instances[i].shape). */
  tensorParallelByRole?: Record<InstanceRole, number>;
  weightDtype: WeightDtype;
  kvDtype: WeightDtype;
  /** The self-hosted pool; with per-role degrees its `instances` describe the mixed role's degree only. */
  pool: PoolConfig;
  /** shapes[0]'s engine, kvBytesPerBlock, kvLayout and perf (every instance's without per-role degrees). */
  engine: EngineConfig;
  /** KV bytes of one block over a whole instance (the cost ledger's kvBytesPerBlock). */
  kvBytesPerBlock: number;
  kvLayout: KvLayout;
  /** The performance model's view of one instance. */
  perf: InstanceSpec;
  /** One per distinct degree, the mixed role's first; an instance's is shapes[instance.shape]. */
  shapes: InstanceShape[];
  workers: WorkerSpec[];
  instances: SimInstanceSpec[];
}

export interface BuildOptions {
  /** Overrides the config's model (the CLI's --model). */
  model?: string;
  /** One degree for every instance; overrides the config's (per-role ones included). */
  tensorParallel?: number;
}

const GEMM_DTYPE: Readonly<Record<WeightDtype, GemmDtype>> = { bf16: 'bfloat16', fp8: 'fp8', fp4: 'nvfp4' };

function checkDegree(model: ModelConfig, domainGpus: number, tp: number, field: string): void {
  const allowed = validDegrees(model, domainGpus);
  if (!allowed.includes(tp)) throw new ConfigError(field, `for ${model.name} in a domain of ${domainGpus} GPUs expected one of ${allowed.join(', ')}, got ${tp}`);
}

/** The degree of each role: the file's, else the sizing rule's; undefined without per-role degrees. */
function roleDegrees(config: ClusterConfig, model: ModelConfig, domainGpus: number): Record<InstanceRole, number> | undefined {
  const given = config.roleTensorParallel;
  if (given === undefined) return undefined;
  if (config.tensorParallel !== undefined) throw new ConfigError('cluster.tensorParallel', 'give one number or a per-role mapping, not both');
  const out = {} as Record<InstanceRole, number>;
  for (const role of INSTANCE_ROLES) {
    const tp = given[role];
    if (tp !== undefined) checkDegree(model, domainGpus, tp, `cluster.tensorParallel.${role}`);
    out[role] = tp ?? chooseParallelism(model, config.gpu, config.weightDtype, domainGpus, 'cluster.model').tensorParallel;
  }
  return out;
}

/** One degree for every instance: the override, the file's, else the sizing rule's. */
function uniformDegree(config: ClusterConfig, model: ModelConfig, domainGpus: number, tpOverride: number | undefined): number {
  const tp = tpOverride ?? config.tensorParallel;
  if (tp === undefined) return chooseParallelism(model, config.gpu, config.weightDtype, domainGpus, 'cluster.model').tensorParallel;
  checkDegree(model, domainGpus, tp, 'cluster.tensorParallel');
  return tp;
}

/** The self-hosted pool of the cluster, checked by the pools config reader; its errors name cluster fields. */
function readPool(config: ClusterConfig, model: ModelConfig, tp: number, ep: number, count: number, tpField: string): PoolConfig {
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
    const field = error.field.replace(/^pool\.instances\.tensorParallel/, tpField).replace(/^pool\.instances\./, 'cluster.').replace(/^pool\./, 'cluster.');
    throw new ConfigError(field, error.message.slice(error.field.length + 2));
  }
}

interface ShapeInput {
  config: ClusterConfig;
  model: ModelConfig;
  base: TopologySpec;
  blockTokens: number;
}

/** One degree's instances: EP, KV sizes (HBM and Grace), engine config, perf view; `field` names the degree. */
function buildShape(o: ShapeInput, tp: number, field: string): InstanceShape {
  const { config, model, base } = o;
  const ep = config.expertParallel ?? (model.moe ? tp : 1);
  const kv = sizeKv({ model, gpu: config.gpu, weightDtype: config.weightDtype, kvDtype: config.kvDtype, tensorParallel: tp, blockTokens: o.blockTokens, deviceReserveFraction: config.deviceReserveFraction }, field);
  // Checks weights ≤ 90 % of HBM and EP against TP and the experts, naming this degree's field.
  readPool(config, model, tp, ep, 1, field);
  // Grace share of one instance: its GPUs' share of each tray's host memory, in whole-instance blocks.
  const hostBytesPerGpu = (base.hostBytesPerTray * config.hostKvFraction) / base.gpusPerTray;
  const hostKvBlocks = Math.floor((hostBytesPerGpu * tp) / kv.instanceBlockBytes);
  const engine = readEngineConfig({ kvBlocksTotal: kv.kvBlocksTotal, hostKvBlocksTotal: hostKvBlocks, ...config.engine }, 'cluster.engine');
  return {
    tensorParallel: tp,
    expertParallel: ep,
    engine,
    kvBytesPerBlock: kv.instanceBlockBytes,
    kvLayout: kv.layout,
    perf: { gpu: config.gpu, tensorParallel: tp, expertParallel: ep, gemmDtype: GEMM_DTYPE[config.weightDtype], kvDtype: config.kvDtype === 'bf16' ? 'bfloat16' : 'fp8', attnDtype: 'bfloat16' },
  };
}

/** The cluster of a config and a model: trays, instances (of one degree, or one per role), engine configs, pool. */
export function buildCluster(config: ClusterConfig, options: BuildOptions = {}): Cluster {
  const modelName = options.model ?? config.model ?? DEFAULT_MODEL;
  if (!MODEL_NAMES.includes(modelName)) throw new ConfigError('model', `expected one of ${MODEL_NAMES.join(', ')}, got ${JSON.stringify(modelName)}`);
  const model = getModel(modelName);
  const base = topologyPreset(config.topology);
  const domainGpus = base.traysPerDomain * base.gpusPerTray;
  const blockTokens = readNumber(config.engine, 'blockTokens', 'cluster.engine', 64, { integer: true, min: 1 });
  const input: ShapeInput = { config, model, base, blockTokens };
  const given = options.tensorParallel === undefined ? roleDegrees(config, model, domainGpus) : undefined;
  // Per-role degrees that are all the same are one degree: the same cluster, instance for instance.
  const byRole = given && (given.prefill !== given.mixed || given.decode !== given.mixed) ? given : undefined;
  let shapes: InstanceShape[];
  let slots: DomainSlot[];
  if (byRole === undefined) {
    const tp = given?.mixed ?? uniformDegree(config, model, domainGpus, options.tensorParallel);
    shapes = [buildShape(input, tp, 'cluster.tensorParallel')];
    slots = uniformSlots(config.roles, domainGpus, tp);
  } else {
    // shapes[0] is the mixed role's degree, then decode's and prefill's when they differ.
    const order: InstanceRole[] = ['mixed', 'decode', 'prefill'];
    const degrees = [...new Set(order.map((r) => byRole[r]))];
    shapes = degrees.map((tp) => buildShape(input, tp, `cluster.tensorParallel.${order.find((r) => byRole[r] === tp)}`));
    slots = perRoleSlots(config.roles as RolesSpec, domainGpus, (r) => byRole[r], (r) => degrees.indexOf(byRole[r]));
  }
  const main = shapes[0] as InstanceShape;
  const pool = readPool(config, model, main.tensorParallel, main.expertParallel, slots.length * config.numDomains, 'cluster.tensorParallel');
  const layout = placeInstances(config.numDomains, base, slots, shapes, pool.name);
  if (config.roles !== undefined) pool.roles = layout.instances.map((i) => i.setup.role ?? 'mixed');
  return {
    name: config.name,
    gpu: config.gpu,
    model,
    numGpus: domainGpus * config.numDomains,
    numDomains: config.numDomains,
    trayTopology: { ...base, name: `${base.name}-tray`, numDomains: 1, traysPerDomain: 1 },
    tensorParallel: main.tensorParallel,
    expertParallel: main.expertParallel,
    ...(byRole !== undefined && { tensorParallelByRole: byRole }),
    weightDtype: config.weightDtype,
    kvDtype: config.kvDtype,
    pool,
    engine: main.engine,
    kvBytesPerBlock: main.kvBytesPerBlock,
    kvLayout: main.kvLayout,
    perf: main.perf,
    shapes,
    ...layout,
  };
}
