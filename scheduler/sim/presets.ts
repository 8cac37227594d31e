// Cluster presets: a name → the NVLink-domain shape (the native KV manager's topology preset, which owns the
// hardware figures), the GPU kind (the performance model's catalog) and how many domains. `<preset>x<N>` is N
// domains of a preset (gb200-nvl72x4 = four racks; hgx-h100x8x2 = two HGX nodes).
import type { GpuName } from '../perf/gpus.js';
import type { TopologyPresetName } from '../kv/types.js';

export interface ClusterPreset {
  /** The name as given (gb200-nvl72x4). */
  name: string;
  /** Native topology preset of one domain (an NVL72 rack, or one HGX node). */
  topology: TopologyPresetName;
  gpu: GpuName;
  numDomains: number;
}

/** One domain of each kind; the GPU kind must match the topology's hardware. */
const BASE_PRESETS: Readonly<Record<TopologyPresetName, GpuName>> = {
  'gb200-nvl72': 'gb200',
  'gb300-nvl72': 'gb300',
  'hgx-h100x8': 'h100',
  'hgx-h200x8': 'h200',
  'hgx-b200x8': 'b200',
};

/** Named multi-domain presets listed in help texts (any `<base>x<N>` works). */
export const NAMED_PRESETS: readonly string[] = [
  'gb200-nvl72',
  'gb200-nvl72x4',
  'gb300-nvl72',
  'gb300-nvl72x4',
  'hgx-h100x8',
  'hgx-h200x8',
  'hgx-b200x8',
];

export const MAX_DOMAINS = 1024;

export function baseTopologyNames(): TopologyPresetName[] {
  return Object.keys(BASE_PRESETS) as TopologyPresetName[];
}

/** The GPU kind of a base topology. */
export function gpuOfTopology(topology: TopologyPresetName): GpuName {
  return BASE_PRESETS[topology];
}

/** The domain topology a GPU kind comes in: NVL72 racks for Grace-Blackwell, 8-GPU HGX nodes otherwise. */
export function topologyOfGpu(gpu: GpuName): TopologyPresetName {
  const found = baseTopologyNames().find((t) => BASE_PRESETS[t] === gpu);
  if (!found) throw new RangeError(`no topology for GPU ${gpu}`);
  return found;
}

/** Parses a preset name; undefined when it is not one. */
export function parsePresetName(name: string): ClusterPreset | undefined {
  if (Object.hasOwn(BASE_PRESETS, name)) {
    const topology = name as TopologyPresetName;
    return { name, topology, gpu: BASE_PRESETS[topology], numDomains: 1 };
  }
  const m = /^(.+)x([1-9][0-9]*)$/.exec(name);
  if (!m || !Object.hasOwn(BASE_PRESETS, m[1] as string)) return undefined;
  const numDomains = Number(m[2]);
  if (numDomains > MAX_DOMAINS) return undefined;
  const topology = m[1] as TopologyPresetName;
  return { name, topology, gpu: BASE_PRESETS[topology], numDomains };
}
