// Which links a transfer crosses (native/SPEC.md §6 table) and what each hop costs. Tiers only talk to their own
// tray: a GPU reaches host/disk memory of its tray, host and disk of one tray reach each other, GPUs reach GPUs.
import { invalidArgument } from '../errors.js';
import type { LinkKind, LinkSpec, Location, TopologySpec, TransferHop } from '../types.js';

function where(loc: Location): string {
  return `${loc.tier} ${loc.index}`;
}

/** The hop links from `source` to `destination`, or E_INVALID_ARGUMENT naming `field` for a pair not in the table. */
export function routeLinks(topology: TopologySpec, source: Location, destination: Location, field = 'destination'): LinkKind[] {
  const { gpusPerTray, traysPerDomain, hostLinkKind } = topology;
  const tray = (gpu: number) => Math.floor(gpu / gpusPerTray);
  const domain = (gpu: number) => Math.floor(gpu / (gpusPerTray * traysPerDomain));
  if (source.tier === destination.tier && source.index === destination.index) {
    throw invalidArgument(`${field} must differ from the source, got ${where(destination)} for both`);
  }
  const src = source.index;
  const dst = destination.index;
  let links: LinkKind[] | undefined;
  if (source.tier === 'device') {
    if (destination.tier === 'device') links = [domain(src) === domain(dst) ? 'nvlink' : 'scaleout'];
    else if (dst === tray(src)) links = destination.tier === 'host' ? [hostLinkKind] : [hostLinkKind, 'disk'];
  } else if (source.tier === 'host') {
    if (destination.tier === 'device' && tray(dst) === src) links = [hostLinkKind];
    else if (destination.tier === 'disk' && dst === src) links = ['disk'];
  } else {
    if (destination.tier === 'host' && dst === src) links = ['disk'];
    else if (destination.tier === 'device' && tray(dst) === src) links = ['disk', hostLinkKind];
  }
  if (links === undefined) {
    throw invalidArgument(
      `${field} ${where(destination)} is not reachable from ${where(source)}: a GPU moves to any GPU or to its own ` +
        "tray's host/disk; host and disk move within their tray (to each other or to one of the tray's GPUs)",
    );
  }
  return links;
}

function linkSpec(topology: TopologySpec, link: LinkKind): LinkSpec {
  switch (link) {
    case 'nvlink':
      return topology.nvlink;
    case 'c2c':
    case 'pcie':
      return topology.hostLink;
    case 'scaleout':
      return topology.scaleOut;
    case 'disk':
      return topology.disk;
  }
}

/** Each hop carries all the bytes; a transfer of 0 bytes costs 0 seconds (no latency either: nothing is sent). */
export function routeHops(topology: TopologySpec, links: readonly LinkKind[], bytes: number): TransferHop[] {
  return links.map((link) => {
    const spec = linkSpec(topology, link);
    const seconds = bytes === 0 ? 0 : spec.latencyS + bytes / spec.bandwidthBytesPerS;
    return { link, bytes, seconds };
  });
}

export function totalSeconds(hops: readonly TransferHop[]): number {
  let seconds = 0;
  for (const hop of hops) seconds += hop.seconds;
  return seconds;
}

export function pathOf(hops: readonly TransferHop[]): string {
  return hops.map((hop) => hop.link).join('+');
}
