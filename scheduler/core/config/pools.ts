// The `pools` section of the scheduler config: YAML-shaped data → validated PoolSpec[] (plus the hardware of
// self-hosted pools). Every error names its field, e.g. `pools[1].reliableContextTokens: expected ≤ 131072 ...`.
//
// Choices (documented in core/route/README.md, "Pool configuration"):
// - quality: a number (every shape) or a per-shape mapping; shapes left out take its `default` key, else 1. A
//   quality of 1 means "no measured difference", so pools nobody scored compete on cost alone.
// - reliableContextTokens defaults to maxContextTokens: say it explicitly where the model degrades earlier.
// - self_hosted pools price tokens at 0 unless given (their money is GPU time, see core/cost); external pools must
//   state their input and output prices. The cached-input price defaults to the input price.
// - self_hosted instances follow the performance model's InstanceSpec: tensorParallel GPUs per instance,
//   expertParallel divides it (1 for dense models); weights must fit in 90% of a GPU's HBM (the rest is KV).
import { GPUS, GPU_NAMES, type GpuName } from '../../perf/gpus.js';
import { getModel, kvBytesPerToken, MODEL_NAMES, paramBytes, WEIGHT_DTYPES, type ModelConfig, type WeightDtype } from '../../perf/models.js';
import { SHAPES, type PoolSpec, type Shape } from '../types.js';
import { asParams, ConfigError, onlyKeys, readBool, readEnum, readNumber, readString, type Params } from './params.js';
import { assignRoles, readRoles, type InstanceRole } from './roles.js';

/** Where a self-hosted pool runs: `count` instances of `tensorParallel` GPUs each, inside one NVLink domain. */
export interface PoolInstances {
  gpu: GpuName;
  tensorParallel: number;
  expertParallel: number;
  count: number;
  weightDtype: WeightDtype;
  kvDtype: WeightDtype;
}

/** A pool as configured: the router's PoolSpec plus the hardware of self-hosted pools (absent for external). */
export interface PoolConfig extends PoolSpec {
  instances?: PoolInstances;
  /** Role of each instance (config/roles.ts), index = instance number; absent = every instance mixed. */
  roles?: InstanceRole[];
}

const POOL_KEYS = [
  'name', 'kind', 'model', 'quality', 'reliableContextTokens', 'maxContextTokens', 'acceptBeyondReliable',
  'usdPerMInputTokens', 'usdPerMCachedInputTokens', 'usdPerMOutputTokens', 'tokenEfficiency', 'usdPerGpuHour',
  'instances', 'external', 'roles',
] as const;
const INSTANCE_KEYS = ['gpu', 'tensorParallel', 'expertParallel', 'count', 'weightDtype', 'kvDtype'] as const;
const EXTERNAL_KEYS = ['baseUrl', 'ttftS', 'tpotS'] as const;
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
/** Share of a GPU's HBM the weights may take; the rest holds KV blocks and activations. */
const MAX_WEIGHT_SHARE_OF_HBM = 0.9;

function required(params: Params, key: string, path: string, why: string): void {
  if (params[key] === undefined) throw new ConfigError(`${path}.${key}`, `required ${why}`);
}

function forbidden(params: Params, key: string, path: string, why: string): void {
  if (params[key] !== undefined) throw new ConfigError(`${path}.${key}`, why);
}

function readQuality(params: Params, path: string): Record<Shape, number> {
  const value = params.quality;
  const field = `${path}.quality`;
  const unit = { min: 0, max: 1 };
  if (typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean') {
    const q = readNumber(params, 'quality', path, 1, unit);
    return { tool_call: q, reasoning: q, terminal: q, chat: q };
  }
  const table = asParams(value, field);
  onlyKeys(table, field, [...SHAPES, 'default']);
  const fallback = readNumber(table, 'default', field, 1, unit);
  const out = {} as Record<Shape, number>;
  for (const shape of SHAPES) out[shape] = readNumber(table, shape, field, fallback, unit);
  return out;
}

function readInstances(params: Params, path: string, model: ModelConfig): PoolInstances {
  const field = `${path}.instances`;
  const p = asParams(params.instances, field);
  onlyKeys(p, field, INSTANCE_KEYS);
  required(p, 'gpu', field, `(one of ${GPU_NAMES.join(', ')})`);
  required(p, 'count', field, '(instances in the pool, an integer ≥ 1)');
  const gpu = readEnum<GpuName>(p, 'gpu', field, GPU_NAMES, 'gb200');
  const tensorParallel = readNumber(p, 'tensorParallel', field, 1, { integer: true, min: 1, max: GPUS[gpu].nvlinkDomainGpus });
  const expertParallel = readNumber(p, 'expertParallel', field, 1, { integer: true, min: 1 });
  const count = readNumber(p, 'count', field, 1, { integer: true, min: 1 });
  const weightDtype = readEnum<WeightDtype>(p, 'weightDtype', field, WEIGHT_DTYPES, 'bf16');
  const kvDtype = readEnum<WeightDtype>(p, 'kvDtype', field, WEIGHT_DTYPES, 'bf16');
  checkParallelism(model, tensorParallel, expertParallel, field);
  if (weightDtype === 'fp4' && GPUS[gpu].flopsPerS.fp4 === null) {
    throw new ConfigError(`${field}.weightDtype`, `${gpu} has no FP4 tensor cores; use bf16 or fp8`);
  }
  const weightBytesPerGpu = paramBytes(model, weightDtype) / tensorParallel;
  const limit = MAX_WEIGHT_SHARE_OF_HBM * GPUS[gpu].hbmBytes;
  if (weightBytesPerGpu > limit) {
    const gb = (b: number): string => (b / 1e9).toFixed(1);
    throw new ConfigError(`${field}.tensorParallel`, `${model.name} ${weightDtype} weights need ${gb(weightBytesPerGpu)} GB per GPU at tensorParallel ${tensorParallel}, over 90% of a ${gpu}'s ${gb(GPUS[gpu].hbmBytes)} GB; raise tensorParallel or use a smaller weightDtype`);
  }
  return { gpu, tensorParallel, expertParallel, count, weightDtype, kvDtype };
}

/** The rules of the performance model's step predictor, checked here so a bad pool fails at load, not at step 1. */
function checkParallelism(model: ModelConfig, tp: number, ep: number, field: string): void {
  if (model.numHeads % tp !== 0) {
    throw new ConfigError(`${field}.tensorParallel`, `must divide ${model.name}'s ${model.numHeads} attention heads, got ${tp}`);
  }
  if (tp % ep !== 0) throw new ConfigError(`${field}.expertParallel`, `must divide tensorParallel (${tp}), got ${ep}`);
  if (!model.moe && ep !== 1) throw new ConfigError(`${field}.expertParallel`, `must be 1 for dense model ${model.name}, got ${ep}`);
  if (model.moe && model.moe.numExperts % ep !== 0) {
    throw new ConfigError(`${field}.expertParallel`, `must divide ${model.name}'s ${model.moe.numExperts} experts, got ${ep}`);
  }
}

function readExternal(params: Params, path: string): NonNullable<PoolSpec['external']> {
  const field = `${path}.external`;
  const p = asParams(params.external, field);
  onlyKeys(p, field, EXTERNAL_KEYS);
  for (const key of EXTERNAL_KEYS) required(p, key, field, 'for an external pool');
  const baseUrl = readString(p, 'baseUrl', field, '');
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new ConfigError(`${field}.baseUrl`, `expected an http(s) URL, got ${JSON.stringify(baseUrl)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(`${field}.baseUrl`, `expected an http(s) URL, got ${JSON.stringify(baseUrl)}`);
  }
  return { baseUrl, ttftS: readNumber(p, 'ttftS', field, 0, { above: 0 }), tpotS: readNumber(p, 'tpotS', field, 0, { above: 0 }) };
}

function readContext(params: Params, path: string, catalogMax: number | undefined): { max: number; reliable: number } {
  const tokens = { integer: true, min: 1 };
  if (catalogMax === undefined) required(params, 'maxContextTokens', path, 'for an external pool (the upstream model is not in the catalog)');
  const max = readNumber(params, 'maxContextTokens', path, catalogMax ?? 0, tokens);
  if (catalogMax !== undefined && max > catalogMax) {
    throw new ConfigError(`${path}.maxContextTokens`, `expected ≤ ${catalogMax} (the model's maximum context), got ${max}`);
  }
  const reliable = readNumber(params, 'reliableContextTokens', path, max, tokens);
  if (reliable > max) throw new ConfigError(`${path}.reliableContextTokens`, `expected ≤ maxContextTokens (${max}), got ${reliable}`);
  return { max, reliable };
}

function readPrices(params: Params, path: string, external: boolean): Pick<PoolSpec, 'usdPerMInputTokens' | 'usdPerMCachedInputTokens' | 'usdPerMOutputTokens'> {
  if (external) {
    required(params, 'usdPerMInputTokens', path, 'for an external pool (USD per 1M input tokens)');
    required(params, 'usdPerMOutputTokens', path, 'for an external pool (USD per 1M output tokens)');
  }
  const usdPerMInputTokens = readNumber(params, 'usdPerMInputTokens', path, 0, { min: 0 });
  return {
    usdPerMInputTokens,
    usdPerMCachedInputTokens: readNumber(params, 'usdPerMCachedInputTokens', path, usdPerMInputTokens, { min: 0 }),
    usdPerMOutputTokens: readNumber(params, 'usdPerMOutputTokens', path, 0, { min: 0 }),
  };
}

function readModel(params: Params, path: string, external: boolean): { name: string; config?: ModelConfig } {
  required(params, 'model', path, external ? "(the upstream's model id)" : `(one of ${MODEL_NAMES.join(', ')})`);
  const name = readString(params, 'model', path, '');
  if (external) return { name };
  if (!MODEL_NAMES.includes(name)) {
    throw new ConfigError(`${path}.model`, `expected one of ${MODEL_NAMES.join(', ')} for a self_hosted pool, got ${JSON.stringify(name)}`);
  }
  return { name, config: getModel(name) };
}

/** One pool entry; `path` is e.g. `pools[1]`. */
export function parsePool(value: unknown, path: string): PoolConfig {
  const params = asParams(value, path);
  onlyKeys(params, path, POOL_KEYS);
  required(params, 'name', path, '(a unique pool name)');
  const name = readString(params, 'name', path, '');
  if (!NAME_PATTERN.test(name)) throw new ConfigError(`${path}.name`, `expected letters, digits, '.', '_' or '-' (not first), got ${JSON.stringify(name)}`);
  required(params, 'kind', path, '(self_hosted or external)');
  const kind = readEnum(params, 'kind', path, ['self_hosted', 'external'] as const, 'self_hosted');
  const external = kind === 'external';
  const model = readModel(params, path, external);
  const context = readContext(params, path, model.config?.maxContextTokens);
  const pool: PoolConfig = {
    name,
    kind,
    model: model.name,
    quality: readQuality(params, path),
    reliableContextTokens: context.reliable,
    maxContextTokens: context.max,
    acceptBeyondReliable: readBool(params, 'acceptBeyondReliable', path, false),
    ...readPrices(params, path, external),
    tokenEfficiency: readNumber(params, 'tokenEfficiency', path, 1, { above: 0 }),
  };
  if (external) {
    forbidden(params, 'instances', path, 'only for self_hosted pools (an external pool is priced per token)');
    forbidden(params, 'usdPerGpuHour', path, 'only for self_hosted pools (an external pool is priced per token)');
    forbidden(params, 'roles', path, 'only for self_hosted pools (an external pool has no instances)');
    required(params, 'external', path, 'for an external pool ({baseUrl, ttftS, tpotS})');
    pool.external = readExternal(params, path);
  } else {
    forbidden(params, 'external', path, 'only for external pools');
    required(params, 'instances', path, 'for a self_hosted pool ({gpu, tensorParallel, expertParallel, count})');
    pool.instances = readInstances(params, path, model.config as ModelConfig);
    if (params.usdPerGpuHour !== undefined) pool.usdPerGpuHour = readNumber(params, 'usdPerGpuHour', path, 0, { min: 0 });
    const roles = readRoles(params.roles, `${path}.roles`);
    if (roles !== undefined) pool.roles = assignRoles(roles, pool.instances.count, `${path}.roles`);
  }
  return pool;
}

/** The `pools` section: a non-empty list of pools with unique names. */
export function parsePools(value: unknown, path = 'pools'): PoolConfig[] {
  if (!Array.isArray(value)) throw new ConfigError(path, `expected a list of pools, got ${value === undefined ? 'nothing' : JSON.stringify(value)}`);
  if (value.length === 0) throw new ConfigError(path, 'expected at least one pool');
  const pools: PoolConfig[] = [];
  const seen = new Map<string, number>();
  value.forEach((entry: unknown, i) => {
    const pool = parsePool(entry, `${path}[${i}]`);
    const first = seen.get(pool.name);
    if (first !== undefined) throw new ConfigError(`${path}[${i}].name`, `duplicate pool name ${JSON.stringify(pool.name)} (also ${path}[${first}])`);
    seen.set(pool.name, i);
    pools.push(pool);
  });
  return pools;
}

/** GPUs one pool occupies (0 for external pools). */
export function poolGpus(pool: PoolConfig): number {
  return pool.instances ? pool.instances.tensorParallel * pool.instances.count : 0;
}

/** KV bytes one block of `blockTokens` tokens holds over a whole instance (all layers, all GPUs); 0 for external. */
export function poolKvBytesPerBlock(pool: PoolConfig, blockTokens: number): number {
  if (!pool.instances) return 0;
  return kvBytesPerToken(getModel(pool.model), pool.instances.kvDtype) * blockTokens;
}

/**
 * The embedded default: one GB200 NVL72 rack (72 GPUs) split between Llama 3.1 70B (8 × TP4 = 32 GPUs) and
 * DeepSeek-R1 (5 × TP8/EP8 fp8 = 40 GPUs), plus an example external upstream for the long contexts neither takes.
 * Prices, qualities and efficiencies are ASSUMPTIONS for the demo, not measurements or vendor quotes:
 * - usdPerGpuHour 4.0 for a GB200 (an assumed all-in operator cost);
 * - self-hosted token prices are transfer prices the router compares with the upstream's, derived from that GPU
 *   cost at an assumed ~3,000 output tokens/s per GPU for Llama 70B (4 / 3600 / 3000 × 1e6 ≈ $0.37 per 1M) and
 *   half that for R1; prefill is ~4x cheaper per token than decode, cache hits ~5x cheaper than prefill;
 * - the upstream's 1M window with 600K reliable tokens is the seed article's figure; tokenEfficiency 0.7 is its
 *   "30–50% fewer tokens per completed task"; R1's 1.5 reflects its long reasoning traces.
 */
export const DEFAULT_POOLS_CONFIG: readonly Params[] = [
  {
    name: 'llama-70b',
    kind: 'self_hosted',
    model: 'llama-3.1-70b',
    instances: { gpu: 'gb200', tensorParallel: 4, expertParallel: 1, count: 8, weightDtype: 'bf16', kvDtype: 'bf16' },
    quality: { tool_call: 0.85, reasoning: 0.55, terminal: 0.6, chat: 0.85 },
    reliableContextTokens: 65536,
    acceptBeyondReliable: true,
    usdPerMInputTokens: 0.1,
    usdPerMCachedInputTokens: 0.02,
    usdPerMOutputTokens: 0.4,
    tokenEfficiency: 1,
    usdPerGpuHour: 4,
  },
  {
    name: 'deepseek-r1',
    kind: 'self_hosted',
    model: 'deepseek-r1',
    instances: { gpu: 'gb200', tensorParallel: 8, expertParallel: 8, count: 5, weightDtype: 'fp8', kvDtype: 'fp8' },
    quality: { tool_call: 0.75, reasoning: 0.9, terminal: 0.8, chat: 0.85 },
    reliableContextTokens: 65536,
    usdPerMInputTokens: 0.2,
    usdPerMCachedInputTokens: 0.04,
    usdPerMOutputTokens: 0.8,
    tokenEfficiency: 1.5,
    usdPerGpuHour: 4,
  },
  {
    name: 'frontier-api',
    kind: 'external',
    model: 'example-frontier-model',
    external: { baseUrl: 'https://llm-upstream.example.com/v1', ttftS: 0.8, tpotS: 0.02 },
    quality: { default: 0.95 },
    maxContextTokens: 1_000_000,
    reliableContextTokens: 600_000,
    usdPerMInputTokens: 2,
    usdPerMCachedInputTokens: 0.5,
    usdPerMOutputTokens: 8,
    tokenEfficiency: 0.7,
  },
];

/** The default pools, parsed (throws only if the embedded config itself is broken — a test guards that). */
export function defaultPools(): PoolConfig[] {
  return parsePools(DEFAULT_POOLS_CONFIG, 'pools');
}
