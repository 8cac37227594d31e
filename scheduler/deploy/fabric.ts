// GPU fabric identity: the per-GPU (ClusterUUID, CliqueId) pair that names an NVLink domain, read from
// `nvidia-smi -q` text (each GPU's "Fabric" block) or handed over from NVML, and the node's domain made from it.
// The rules follow NVIDIA's own tools (reference/anchors-deploy.md §1.2–1.4): a GPU counts only when its fabric
// State is Completed, its Status Success and its ClusterUUID not all zeros (go-nvlib IsFabricAttached); the domain
// is "<ClusterUUID>.<CliqueId>", the format GPU Feature Discovery puts in the nvidia.com/gpu.clique label; GPUs of
// one node that disagree give no domain (GFD then emits no label).

export interface GpuFabric {
  /** The GPU as nvidia-smi heads its section ("00000000:1B:00.0"), or its index. */
  gpu: string;
  state: string;
  status: string;
  cliqueId: string;
  clusterUuid: string;
}

export type FabricDomain =
  | { kind: 'domain'; domainId: string; clusterUuid: string; cliqueId: string; gpus: number; warnings: string[] }
  | { kind: 'none'; reason: string };

const GPU_HEADER = /^GPU\s+([0-9A-Fa-f]{4,8}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}\.[0-9A-Fa-f])\s*$/;
const FIELD = /^(\s*)([A-Za-z][A-Za-z0-9 ()/-]*?)\s*:\s*(.*?)\s*$/;
const KEYS: Readonly<Record<string, keyof Omit<GpuFabric, 'gpu'>>> = { State: 'state', Status: 'status', CliqueId: 'cliqueId', ClusterUUID: 'clusterUuid' };
const ZERO_UUID = /^[0-]+$/;

const indentOf = (line: string): number => line.length - line.trimStart().length;

/**
 * Every "Fabric" block of `nvidia-smi -q` output, one per GPU in output order. Only the block's own four fields
 * are read (its nested Health block has none of those names); a GPU without a Fabric block (older drivers) is absent.
 */
export function parseNvidiaSmiFabric(text: string): GpuFabric[] {
  const out: GpuFabric[] = [];
  let gpu = '';
  let block: { indent: number; fields: Partial<GpuFabric> } | undefined;
  const flush = (): void => {
    if (!block) return;
    const f = block.fields;
    out.push({ gpu: gpu || String(out.length), state: f.state ?? 'N/A', status: f.status ?? 'N/A', cliqueId: f.cliqueId ?? 'N/A', clusterUuid: f.clusterUuid ?? 'N/A' });
    block = undefined;
  };
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/\s+$/, '');
    if (line === '') continue;
    if (block && indentOf(line) <= block.indent) flush();
    const header = GPU_HEADER.exec(line);
    if (header) {
      gpu = header[1] as string;
      continue;
    }
    if (line.trim() === 'Fabric') {
      flush();
      block = { indent: indentOf(line), fields: {} };
      continue;
    }
    if (!block) continue;
    const m = FIELD.exec(line);
    const key = m ? KEYS[m[2] as string] : undefined;
    if (m && key && block.fields[key] === undefined) block.fields[key] = m[3] as string;
  }
  flush();
  return out;
}

/** go-nvlib's IsFabricAttached on the text fields. */
export function isFabricAttached(g: GpuFabric): boolean {
  return g.state === 'Completed' && g.status === 'Success' && g.clusterUuid !== 'N/A' && !ZERO_UUID.test(g.clusterUuid) && /^[0-9]+$/.test(g.cliqueId);
}

/** The node's NVLink domain from its GPUs' fabric info. */
export function domainOfGpus(gpus: readonly GpuFabric[]): FabricDomain {
  if (gpus.length === 0) return { kind: 'none', reason: 'no GPU reports fabric info' };
  const attached = gpus.filter(isFabricAttached);
  if (attached.length === 0) {
    const g = gpus[0] as GpuFabric;
    return { kind: 'none', reason: `no GPU is attached to an NVLink fabric (GPU ${g.gpu}: State ${g.state}, Status ${g.status}, ClusterUUID ${g.clusterUuid})` };
  }
  const ids = new Set(attached.map((g) => `${g.clusterUuid}.${g.cliqueId}`));
  if (ids.size > 1) return { kind: 'none', reason: `the node's GPUs are in different NVLink domains (${[...ids].sort().join(', ')})` };
  const first = attached[0] as GpuFabric;
  const warnings = attached.length < gpus.length
    ? [`${gpus.length - attached.length} of ${gpus.length} GPUs are not attached to the fabric (${gpus.filter((g) => !isFabricAttached(g)).map((g) => `${g.gpu}: ${g.state}/${g.status}`).join(', ')})`]
    : [];
  return { kind: 'domain', domainId: `${first.clusterUuid}.${first.cliqueId}`, clusterUuid: first.clusterUuid, cliqueId: first.cliqueId, gpus: attached.length, warnings };
}

/** Splits a GFD clique label value "<ClusterUUID>.<CliqueId>"; undefined when it has another shape. */
export function splitCliqueLabel(value: string): { clusterUuid: string; cliqueId: string } | undefined {
  const m = /^([0-9A-Fa-f-]{8,})\.([0-9]+)$/.exec(value);
  return m ? { clusterUuid: m[1] as string, cliqueId: m[2] as string } : undefined;
}
