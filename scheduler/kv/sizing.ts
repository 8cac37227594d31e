// Config validation and pool sizing (native/SPEC.md §1), shared by the TypeScript reference and the native facade.
// Input: a KvManagerConfig whose topology is already a full TopologySpec (preset names are resolved by the native
// side, which owns the preset figures). Output: every size the manager needs, derived once.
import { describeValue, invalidArgument, kvError, requireFinite, requireInteger, requireObject, requireOneOf } from './errors.js';
import type { BackendChoice, DataMode, KvLayout, KvManagerConfig, LinkSpec, TopologySpec } from './types.js';

/** Largest byte size any config field may state: beyond it doubles stop counting bytes exactly. */
export const MAX_BYTES = 2 ** 53;
/** Pools are indexed by int32 block numbers. */
export const MAX_POOL_BLOCKS = 2 ** 31 - 1;
export const MAX_GPUS = 65536;
export const MAX_TOKENS_PER_BLOCK = 65536;
const MAX_U32 = 2 ** 32 - 1;
const BYTES_PER_ELEMENT = [0.5, 1, 2, 4];

export interface ResolvedKvConfig {
  /** The effective topology: numDomains already multiplied by config.numDomains. */
  topology: TopologySpec;
  numGpus: number;
  numTrays: number;
  tokensPerBlock: number;
  bytesPerToken: number;
  blockBytes: number;
  deviceBlocksPerGpu: number;
  hostBlocksPerTray: number;
  diskBlocksPerTray: number;
  dataMode: DataMode;
  maxRealBytes: number;
  eventLogCapacity: number;
  backend: BackendChoice;
}

function checkLink(value: unknown, field: string): LinkSpec {
  const link = requireObject(value, field);
  return {
    bandwidthBytesPerS: requireFinite(link.bandwidthBytesPerS, `${field}.bandwidthBytesPerS`, 0, Number.MAX_VALUE, true),
    latencyS: requireFinite(link.latencyS, `${field}.latencyS`, 0, Number.MAX_VALUE),
  };
}

/** Checks a full topology and returns a deep copy holding only the known fields. */
export function validateTopology(value: unknown, field = 'topology'): TopologySpec {
  const spec = requireObject(value, field);
  if (typeof spec.name !== 'string') {
    throw invalidArgument(`${field}.name must be a string, got ${describeValue(spec.name)}`);
  }
  const topology: TopologySpec = {
    name: spec.name,
    numDomains: requireInteger(spec.numDomains, `${field}.numDomains`, 1, MAX_GPUS),
    traysPerDomain: requireInteger(spec.traysPerDomain, `${field}.traysPerDomain`, 1, MAX_GPUS),
    gpusPerTray: requireInteger(spec.gpusPerTray, `${field}.gpusPerTray`, 1, MAX_GPUS),
    cpusPerTray: requireInteger(spec.cpusPerTray, `${field}.cpusPerTray`, 0, MAX_U32),
    hbmBytesPerGpu: requireFinite(spec.hbmBytesPerGpu, `${field}.hbmBytesPerGpu`, 0, MAX_BYTES),
    hostBytesPerTray: requireFinite(spec.hostBytesPerTray, `${field}.hostBytesPerTray`, 0, MAX_BYTES),
    diskBytesPerTray: requireFinite(spec.diskBytesPerTray, `${field}.diskBytesPerTray`, 0, MAX_BYTES),
    nvlink: checkLink(spec.nvlink, `${field}.nvlink`),
    hostLink: checkLink(spec.hostLink, `${field}.hostLink`),
    hostLinkKind: requireOneOf(spec.hostLinkKind, `${field}.hostLinkKind`, ['c2c', 'pcie'] as const),
    scaleOut: checkLink(spec.scaleOut, `${field}.scaleOut`),
    disk: checkLink(spec.disk, `${field}.disk`),
  };
  checkGpuCount(topology, field);
  return topology;
}

function checkGpuCount(topology: TopologySpec, field: string): void {
  const numGpus = topology.numDomains * topology.traysPerDomain * topology.gpusPerTray;
  if (numGpus > MAX_GPUS) {
    throw invalidArgument(
      `${field}: numDomains * traysPerDomain * gpusPerTray must be at most ${MAX_GPUS} GPUs, got ${numGpus}`,
    );
  }
}

export function validateLayout(value: unknown): KvLayout {
  const layout = requireObject(value, 'layout');
  const mlaLatentDim = requireInteger(layout.mlaLatentDim, 'layout.mlaLatentDim', 0, MAX_U32);
  // MLA layouts ignore the head geometry, so it may be 0 there; GQA/MHA needs at least one head of width ≥ 1.
  const minHeads = mlaLatentDim > 0 ? 0 : 1;
  const checked: KvLayout = {
    numLayers: requireInteger(layout.numLayers, 'layout.numLayers', 1, MAX_U32),
    numKvHeads: requireInteger(layout.numKvHeads, 'layout.numKvHeads', minHeads, MAX_U32),
    headDim: requireInteger(layout.headDim, 'layout.headDim', minHeads, MAX_U32),
    mlaLatentDim,
    bytesPerElement: layout.bytesPerElement as number,
    tensorParallel: requireInteger(layout.tensorParallel, 'layout.tensorParallel', 1, MAX_U32),
  };
  if (!BYTES_PER_ELEMENT.includes(layout.bytesPerElement as number)) {
    throw invalidArgument(
      `layout.bytesPerElement must be one of ${BYTES_PER_ELEMENT.join(', ')}, got ${describeValue(layout.bytesPerElement)}`,
    );
  }
  return checked;
}

/** KV bytes one token costs on one GPU. GQA heads split across tensor-parallel GPUs; MLA latents replicate. */
export function bytesPerToken(layout: KvLayout): number {
  const l = validateLayout(layout);
  const bytes =
    l.mlaLatentDim > 0
      ? Math.ceil(l.numLayers * l.mlaLatentDim * l.bytesPerElement)
      : Math.ceil(2 * l.numLayers * Math.ceil(l.numKvHeads / l.tensorParallel) * l.headDim * l.bytesPerElement);
  if (bytes > MAX_BYTES) {
    throw invalidArgument(`layout gives ${bytes} bytes per token, more than ${MAX_BYTES}`);
  }
  return bytes;
}

function optionalBlocks(value: unknown, field: string, min: number): number | undefined {
  return value === undefined ? undefined : requireInteger(value, field, min, MAX_POOL_BLOCKS);
}

function checkDerivedBlocks(blocks: number, field: string, what: string): number {
  if (blocks > MAX_POOL_BLOCKS) {
    throw invalidArgument(
      `${what} comes to ${blocks} blocks, more than ${MAX_POOL_BLOCKS}; set ${field} explicitly (or grow tokensPerBlock)`,
    );
  }
  return blocks;
}

/** Validates a config (topology already resolved) and derives the pool sizes. Nothing else is allocated here. */
export function resolveKvConfig(value: unknown): ResolvedKvConfig {
  const config = requireObject(value, 'config') as Partial<Record<keyof KvManagerConfig, unknown>>;
  if (typeof config.topology === 'string') {
    throw invalidArgument(
      `topology must be a resolved TopologySpec object here, got preset name ${describeValue(config.topology)}; ` +
        'presets are resolved by the native manager: pass the resolved topology object',
    );
  }
  const base = validateTopology(config.topology);
  const domainFactor = config.numDomains === undefined ? 1 : requireInteger(config.numDomains, 'numDomains', 1, MAX_GPUS);
  const topology: TopologySpec = { ...base, numDomains: base.numDomains * domainFactor };
  checkGpuCount(topology, 'topology (with numDomains applied)');
  const numTrays = topology.numDomains * topology.traysPerDomain;
  const numGpus = numTrays * topology.gpusPerTray;

  const tokenBytes = bytesPerToken(config.layout as KvLayout);
  const tokensPerBlock =
    config.tokensPerBlock === undefined ? 16 : requireInteger(config.tokensPerBlock, 'tokensPerBlock', 1, MAX_TOKENS_PER_BLOCK);
  const blockBytes = tokenBytes * tokensPerBlock;
  if (blockBytes > MAX_BYTES) {
    throw invalidArgument(`bytesPerToken * tokensPerBlock must be at most ${MAX_BYTES}, got ${blockBytes}`);
  }
  const weightsBytesPerGpu = optionalFinite(config.weightsBytesPerGpu, 'weightsBytesPerGpu', 0, 0, MAX_BYTES);
  const reserveFraction = optionalFinite(config.deviceReserveFraction, 'deviceReserveFraction', 0.1, 0, 1);
  const hostFraction = optionalFinite(config.hostFraction, 'hostFraction', 0.5, 0, 1);
  const explicitDevice = optionalBlocks(config.deviceBlocksPerGpu, 'deviceBlocksPerGpu', 1);
  const explicitHost = optionalBlocks(config.hostBlocksPerTray, 'hostBlocksPerTray', 0);
  const explicitDisk = optionalBlocks(config.diskBlocksPerTray, 'diskBlocksPerTray', 0);
  const dataMode = config.dataMode === undefined ? 'metadata' : requireOneOf(config.dataMode, 'dataMode', ['metadata', 'bytes'] as const);
  const maxRealBytes = optionalFinite(config.maxRealBytes, 'maxRealBytes', 2 ** 30, 0, MAX_BYTES);
  const eventLogCapacity =
    config.eventLogCapacity === undefined ? 1 << 20 : requireInteger(config.eventLogCapacity, 'eventLogCapacity', 1, MAX_U32);
  const backend = config.backend === undefined ? 'auto' : requireOneOf(config.backend, 'backend', ['auto', 'cpu', 'cuda'] as const);

  let deviceBlocksPerGpu = explicitDevice;
  if (deviceBlocksPerGpu === undefined) {
    // Operation order is part of the contract (doubles): the C++ core evaluates the same expression.
    const derived = Math.floor((topology.hbmBytesPerGpu * (1 - reserveFraction) - weightsBytesPerGpu) / blockBytes);
    if (derived < 1) {
      throw invalidArgument(
        `weightsBytesPerGpu (${weightsBytesPerGpu}) leaves no room for a ${blockBytes}-byte KV block in ` +
          `${topology.hbmBytesPerGpu} bytes of HBM with deviceReserveFraction ${reserveFraction}; ` +
          'lower weightsBytesPerGpu / deviceReserveFraction or set deviceBlocksPerGpu',
      );
    }
    deviceBlocksPerGpu = checkDerivedBlocks(derived, 'deviceBlocksPerGpu', 'the derived device pool');
  }
  const hostBlocksPerTray =
    explicitHost ??
    checkDerivedBlocks(Math.floor((topology.hostBytesPerTray * hostFraction) / blockBytes), 'hostBlocksPerTray', 'the derived host pool');
  const diskBlocksPerTray =
    explicitDisk ??
    checkDerivedBlocks(Math.floor(topology.diskBytesPerTray / blockBytes), 'diskBlocksPerTray', 'the derived disk pool');

  if (dataMode === 'bytes') {
    const totalBlocks = numGpus * deviceBlocksPerGpu + numTrays * (hostBlocksPerTray + diskBlocksPerTray);
    const realBytes = blockBytes * totalBlocks;
    if (realBytes > maxRealBytes) {
      throw kvError(
        'E_TOO_LARGE',
        `dataMode 'bytes' needs ${realBytes} bytes for ${totalBlocks} blocks of ${blockBytes} bytes, more than ` +
          `maxRealBytes ${maxRealBytes}; shrink the pools or use dataMode 'metadata'`,
      );
    }
  }
  return {
    topology,
    numGpus,
    numTrays,
    tokensPerBlock,
    bytesPerToken: tokenBytes,
    blockBytes,
    deviceBlocksPerGpu,
    hostBlocksPerTray,
    diskBlocksPerTray,
    dataMode,
    maxRealBytes,
    eventLogCapacity,
    backend,
  };
}

function optionalFinite(value: unknown, field: string, fallback: number, min: number, max: number): number {
  return value === undefined ? fallback : requireFinite(value, field, min, max);
}

/** A deep copy, so callers of topology() cannot reach the manager's own spec. */
export function copyTopology(spec: TopologySpec): TopologySpec {
  return {
    ...spec,
    nvlink: { ...spec.nvlink },
    hostLink: { ...spec.hostLink },
    scaleOut: { ...spec.scaleOut },
    disk: { ...spec.disk },
  };
}
