// Sample `nvidia-smi -q` text for the discovery tests, in the layout nvidia-smi prints (a "GPU <bus id>" section
// per GPU, 4-space blocks, 8-space fields aligned at column 43, a Fabric block with a nested Health block). The
// Fabric values follow the fixtures of NVIDIA's topology parsers (ClusterUUID 50000000-…-000000000005, CliqueId
// 4000000004; reference/anchors-deploy.md §1.3); the other fields are shortened, not copied from a real machine.

export interface SampleGpu {
  busId: string;
  state?: string;
  status?: string;
  cliqueId?: string;
  clusterUuid?: string;
  /** false: the driver prints no Fabric block (older drivers). */
  fabric?: boolean;
}

const pad = (key: string, indent: number): string => `${' '.repeat(indent)}${key}`.padEnd(42) + ': ';

function gpuSection(g: SampleGpu): string {
  const lines = [
    `GPU ${g.busId}`,
    `${pad('Product Name', 4)}NVIDIA GB200`,
    `${pad('Product Architecture', 4)}Blackwell`,
    `${pad('Persistence Mode', 4)}Enabled`,
    '    MIG Mode',
    `${pad('Current', 8)}Disabled`,
    `${pad('Pending', 8)}Disabled`,
    `${pad('GPU UUID', 4)}GPU-3f1c9a52-7d3e-4b8a-9c1f-${g.busId.replace(/[^0-9A-F]/gi, '').slice(-12).padStart(12, '0')}`,
    '    Voltage',
    `${pad('Graphics', 8)}885.000 mV`,
  ];
  if (g.fabric !== false) {
    lines.push(
      '    Fabric',
      `${pad('State', 8)}${g.state ?? 'Completed'}`,
      `${pad('Status', 8)}${g.status ?? 'Success'}`,
      `${pad('CliqueId', 8)}${g.cliqueId ?? '4000000004'}`,
      `${pad('ClusterUUID', 8)}${g.clusterUuid ?? '50000000-0000-0000-0000-000000000005'}`,
      '        Health',
      `${pad('Bandwidth', 12)}Full`,
      `${pad('Route Recovery in progress', 12)}False`,
      `${pad('Route Unhealthy', 12)}False`,
      `${pad('Access Timeout Recovery', 12)}False`,
    );
  }
  lines.push(`${pad('Processes', 4)}None`);
  return lines.join('\n');
}

/** A whole `nvidia-smi -q` output for these GPUs. */
export function nvidiaSmiQuery(gpus: readonly SampleGpu[]): string {
  const head = [
    '',
    '==============NVSMI LOG==============',
    '',
    `${pad('Timestamp', 0)}Tue Mar  4 10:12:44 2025`,
    `${pad('Driver Version', 0)}570.124.06`,
    `${pad('CUDA Version', 0)}12.8`,
    '',
    `${pad('Attached GPUs', 0)}${gpus.length}`,
  ].join('\n');
  return `${head}\n\n${gpus.map(gpuSection).join('\n\n')}\n\n`;
}

/** The four GPUs of one GB200 compute tray, all in one NVLink domain. */
export const GB200_TRAY: readonly SampleGpu[] = ['00000008:01:00.0', '00000009:01:00.0', '00000018:01:00.0', '00000019:01:00.0'].map((busId) => ({ busId }));

/** An HGX H100 without a fabric: every Fabric field N/A. */
export const H100_NO_FABRIC: readonly SampleGpu[] = ['00000000:1B:00.0', '00000000:43:00.0'].map((busId) => ({ busId, state: 'N/A', status: 'N/A', cliqueId: 'N/A', clusterUuid: 'N/A' }));
