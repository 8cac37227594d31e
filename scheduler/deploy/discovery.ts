// NVLink-domain discovery at worker start: which domain (an NVL72 rack or an admin's partition of it) this tray's
// GPUs are in. In order: NVML's fabric info (the addon dlopens libnvidia-ml.so.1), `nvidia-smi -q`'s Fabric
// blocks, the node's nvidia.com/gpu.clique label handed in through the environment (NVLSCHED_NODE_CLIQUE), and
// last the domain the config assigns (NVLSCHED_DOMAIN in the rendered pods, e.g. "rack0"). Each step that is
// skipped says why (`skipped`), and a label that contradicts the fabric is a warning, so an operator can see
// what was used.
import { execFile } from 'node:child_process';

import { domainOfGpus, parseNvidiaSmiFabric, splitCliqueLabel, type GpuFabric } from './fabric.js';
import { NVML_LIBRARY_ENV, readNvmlFabric } from './nvml.js';

export type DomainSource = 'nvml' | 'nvidia-smi' | 'label' | 'config';

export interface DiscoveredDomain {
  domainId: string;
  source: DomainSource;
  clusterUuid?: string;
  cliqueId?: string;
  /** Why each earlier source gave nothing. */
  skipped: string[];
  warnings: string[];
}

export interface DiscoverOptions {
  /** Where NVLSCHED_NODE_CLIQUE and NVLSCHED_NVML_LIBRARY are read (default process.env). */
  env?: Readonly<Record<string, string | undefined>>;
  /**
   * NVML fabric info per GPU; a rejection or undefined means not available. Default: the addon's NVML reader
   * (nvml.ts), on the library $NVLSCHED_NVML_LIBRARY names, else libnvidia-ml.so.1.
   */
  readNvmlFabric?: () => Promise<GpuFabric[] | undefined>;
  /** How long the NVML read may take before discovery moves on (a wedged driver can hang nvmlInit). Default 10 s. */
  nvmlTimeoutMs?: number;
  /** `nvidia-smi -q` output; a rejection means it is not there or failed. Default: runs it (10 s timeout). */
  execNvidiaSmi?: () => Promise<string>;
  /** The config's domain for this tray: the last resort, always there. */
  configDomain: string;
}

export const NODE_CLIQUE_ENV = 'NVLSCHED_NODE_CLIQUE';
const NVIDIA_SMI_TIMEOUT_MS = 10_000;
const NVML_TIMEOUT_MS = 10_000;

/**
 * `read()`, or a rejection after `timeoutMs`. The timer is cleared when the read settles; a read that never does
 * (NVML stuck in the driver) keeps its worker thread, but discovery goes on.
 */
function withTimeout<T>(read: () => Promise<T>, timeoutMs: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not answer within ${timeoutMs} ms`)), timeoutMs);
    Promise.resolve().then(read).then(resolve, reject).finally(() => clearTimeout(timer));
  });
}

export function runNvidiaSmi(): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile('nvidia-smi', ['-q'], { timeout: NVIDIA_SMI_TIMEOUT_MS, maxBuffer: 32 * 2 ** 20 }, (error, stdout) => {
      if (error) {
        const code = (error as NodeJS.ErrnoException).code;
        reject(new Error(code === 'ENOENT' ? 'nvidia-smi is not installed' : `nvidia-smi -q failed: ${error.message.split('\n')[0]}`));
      } else resolve(stdout);
    }));
}

export async function discoverDomain(o: DiscoverOptions): Promise<DiscoveredDomain> {
  if (typeof o.configDomain !== 'string' || o.configDomain === '') throw new Error('discoverDomain: configDomain must be a non-empty string');
  const env = o.env ?? process.env;
  const skipped: string[] = [];
  const warnings: string[] = [];
  const label = (env[NODE_CLIQUE_ENV] ?? '').trim();

  const nvmlTimeoutMs = o.nvmlTimeoutMs ?? NVML_TIMEOUT_MS;
  if (!(Number.isFinite(nvmlTimeoutMs) && nvmlTimeoutMs > 0)) throw new Error(`discoverDomain: nvmlTimeoutMs must be a positive number of ms, got ${nvmlTimeoutMs}`);
  const library = (env[NVML_LIBRARY_ENV] ?? '').trim();
  const readNvml = o.readNvmlFabric ?? (() => readNvmlFabric(library === '' ? {} : { library }));

  const fabricSources: Array<{ source: 'nvml' | 'nvidia-smi'; read: () => Promise<GpuFabric[] | undefined> }> = [
    { source: 'nvml', read: () => withTimeout(readNvml, nvmlTimeoutMs, 'NVML') },
    { source: 'nvidia-smi', read: async () => parseNvidiaSmiFabric(await (o.execNvidiaSmi ?? runNvidiaSmi)()) },
  ];
  for (const { source, read } of fabricSources) {
    let gpus: GpuFabric[] | undefined;
    try {
      gpus = await read();
    } catch (error) {
      skipped.push(`${source}: ${(error as Error).message}`);
      continue;
    }
    const d = domainOfGpus(gpus ?? []);
    if (d.kind === 'none') {
      skipped.push(`${source}: ${gpus ? d.reason : 'not available'}`);
      continue;
    }
    warnings.push(...d.warnings);
    if (label !== '' && label !== d.domainId) warnings.push(`the node label ${NODE_CLIQUE_ENV}=${label} disagrees with the GPU fabric (${d.domainId}); using the fabric`);
    return { domainId: d.domainId, source, clusterUuid: d.clusterUuid, cliqueId: d.cliqueId, skipped, warnings };
  }
  if (label !== '') {
    const parts = splitCliqueLabel(label);
    if (!parts) warnings.push(`${NODE_CLIQUE_ENV}=${label} is not "<ClusterUUID>.<CliqueId>"; used as it is`);
    return { domainId: label, source: 'label', ...(parts ?? {}), skipped, warnings };
  }
  skipped.push(`label: ${NODE_CLIQUE_ENV} is not set`);
  return { domainId: o.configDomain, source: 'config', skipped, warnings };
}
