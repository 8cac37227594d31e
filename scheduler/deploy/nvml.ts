// NVML's GPU fabric info through the native addon (native/core/nvml_loader.cc dlopens libnvidia-ml.so.1, or
// $NVLSCHED_NVML_LIBRARY), typed, and turned into the same GpuFabric rows `nvidia-smi -q` parsing gives, so
// discovery applies one set of rules (fabric.ts) to both sources.
import { nativeModule } from '../kv/native.js';
import type { GpuFabric } from './fabric.js';

export const NVML_LIBRARY_ENV = 'NVLSCHED_NVML_LIBRARY';

export interface NvmlGpuFabric {
  /** NVML's enumeration index (PCI order, not CUDA_VISIBLE_DEVICES order). */
  index: number;
  /** "GPU-…" */
  uuid: string;
  /** false when NVML answered NOT_SUPPORTED for the fabric query (a GPU outside any NVLink fabric). */
  fabricSupported: boolean;
  /** NVML_GPU_FABRIC_STATE_*: 0 not supported, 1 not started, 2 in progress, 3 completed. */
  state: number;
  /** "Not Supported" | "Not Started" | "In Progress" | "Completed" (nvidia-smi's words). */
  stateName: string;
  /** The fabric's nvmlReturn_t; meaningful only when the state is completed. */
  status: number;
  statusText: string;
  /** Canonical lowercase UUID of the 16 ClusterUUID bytes. */
  clusterUuid: string;
  cliqueId: number;
  /** Only from nvmlDeviceGetGpuFabricInfoV (v2/v3 structs). */
  healthMask?: number;
}

export type NvmlFabricInfo =
  | { available: false; library: string; reason: string }
  | { available: true; library: string; api: string; gpus: NvmlGpuFabric[] };

/** A rejection of nvmlFabricInfo: code E_NVML_INIT (nvmlInit_v2 failed) or E_NVML_QUERY (a device query failed). */
export interface NvmlError extends Error {
  code: 'E_NVML_INIT' | 'E_NVML_QUERY';
  nvmlCall: string;
  nvmlReturn: number;
}

interface NvmlAddon {
  nvmlFabricInfo?: (options?: { library?: string }) => Promise<NvmlFabricInfo>;
}

/**
 * Reads every GPU's fabric info from NVML (off the JS thread). A missing or unusable library resolves
 * `{ available: false, reason }`; an NVML call that fails rejects with an NvmlError. `library` overrides
 * $NVLSCHED_NVML_LIBRARY, which overrides "libnvidia-ml.so.1".
 */
export async function nvmlFabricInfo(options: { library?: string } = {}): Promise<NvmlFabricInfo> {
  const addon = nativeModule() as unknown as NvmlAddon;
  // An addon built before this function existed (a stale build/) says so instead of failing obscurely.
  if (typeof addon.nvmlFabricInfo !== 'function') return { available: false, library: '', reason: 'the native addon predates NVML support; rebuild it (npm run build:native)' };
  return addon.nvmlFabricInfo(options.library === undefined ? {} : { library: options.library });
}

/** One GPU as the text rows fabric.ts reads (Status is N/A until the state is Completed, as nvidia-smi shows it). */
export function nvmlGpuToFabric(g: NvmlGpuFabric): GpuFabric {
  if (!g.fabricSupported) return { gpu: String(g.index), state: 'N/A', status: 'N/A', cliqueId: 'N/A', clusterUuid: 'N/A' };
  const completed = g.stateName === 'Completed';
  return {
    gpu: String(g.index),
    state: g.stateName,
    status: completed ? (g.status === 0 ? 'Success' : g.statusText) : 'N/A',
    cliqueId: String(g.cliqueId),
    clusterUuid: g.clusterUuid,
  };
}

/**
 * discoverDomain's NVML reader: the GPUs as GpuFabric rows. Rejects when NVML cannot be read (no library, an
 * addon that cannot load, an NVML error), with a message that says why; discovery records it and moves on.
 */
export async function readNvmlFabric(options: { library?: string } = {}): Promise<GpuFabric[]> {
  const info = await nvmlFabricInfo(options);
  if (!info.available) throw new Error(info.reason);
  return info.gpus.map(nvmlGpuToFabric);
}
