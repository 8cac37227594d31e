// `nvlsched info [--json]`: what this machine's build offers.
import { parseFlags } from './args.js';
import { addonPath, probeDevices, topologyPreset, topologyPresetNames } from '../kv/native.js';

export async function run(argv: string[]): Promise<number> {
  const { flags } = parseFlags(argv, { json: { type: 'boolean', help: 'print JSON' } });
  const probe = probeDevices();
  const presets = topologyPresetNames().map((name) => topologyPreset(name));
  const report = { addon: addonPath(), ...probe, presets };
  if (flags.json) {
    process.stdout.write(JSON.stringify(report) + '\n');
    return 0;
  }
  const cuda = probe.cudaCompiled
    ? `compiled in; ${probe.cudaDeviceCount} device(s)${probe.cudaError ? ` (${probe.cudaError})` : ''}`
    : 'not compiled in';
  process.stdout.write(`addon      ${report.addon}\nCUDA       ${cuda}\n` +
    `NCCL       ${probe.ncclLoaded ? `loaded, version ${probe.ncclVersion}` : `not loaded (${probe.ncclError})`}\n`);
  for (const p of presets) {
    const gpus = p.numDomains * p.traysPerDomain * p.gpusPerTray;
    process.stdout.write(`preset     ${p.name.padEnd(12)} ${gpus} GPUs, ${(p.hbmBytesPerGpu / 1e9).toFixed(0)} GB HBM each, ` +
      `host link ${p.hostLinkKind} ${(p.hostLink.bandwidthBytesPerS / 1e9).toFixed(0)} GB/s\n`);
  }
  return 0;
}
