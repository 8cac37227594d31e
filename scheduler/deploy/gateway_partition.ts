// How N gateway replicas split a cluster's trays: each replica drives a disjoint set of trays (`serve --trays`), and
// an instance whose GPUs span several trays must have them all on one replica (buildTrayPartition keeps only whole
// instances, so a split instance would be served by nobody). Trays that hold no whole instance (e.g. the 2 trays left
// over when tensor parallel 16 packs 4 instances into 16 of 18) still go to a replica, so every tray has exactly one
// gateway and a later config that uses them needs no re-partition of the rest.
import { ConfigError } from '../core/config/params.js';
import type { GatewayCluster } from '../gateway/topology.js';

/**
 * The trays (Cluster.workers indices, ascending) of each of `replicas` replicas: contiguous runs in rack-major order,
 * balanced by the number of instance groups (trays joined by a shared instance), every replica with ≥ 1 instance.
 * `field` names the replicas setting in errors.
 */
export function partitionGatewayTrays(topo: GatewayCluster, replicas: number, field: string): number[][] {
  const numTrays = topo.cluster.workers.length;
  const trayOf = new Map(topo.cluster.workers.map((w, i) => [w.workerId, i]));
  // Union the trays of each instance; an instance's trays are contiguous in cluster order (GPUs are numbered
  // rack-major), so a group is a run [first, last].
  const groupEnd = new Map<number, number>();
  for (const inst of topo.instances) {
    const trays = inst.setup.members.map((m) => trayOf.get(m.workerId) as number);
    const first = Math.min(...trays);
    const last = Math.max(...trays);
    groupEnd.set(first, Math.max(groupEnd.get(first) ?? first, last));
  }
  // Merge overlapping runs (two instances sharing a tray) into groups.
  const groups: Array<[number, number]> = [];
  for (const first of [...groupEnd.keys()].sort((a, b) => a - b)) {
    const last = groupEnd.get(first) as number;
    const prev = groups[groups.length - 1];
    if (prev && first <= prev[1]) prev[1] = Math.max(prev[1], last);
    else groups.push([first, last]);
  }
  if (replicas > groups.length) {
    throw new ConfigError(field, `expected at most ${groups.length} (the cluster's ${topo.instances.length} instances of ${topo.cluster.model.name} at tensor parallel ${topo.cluster.tensorParallel} fill ${groups.length} separable tray groups; each replica needs one), got ${replicas}`);
  }
  // Group g goes to replica floor(g * replicas / groups): consecutive, sizes differing by at most one.
  const owner = new Array<number>(numTrays).fill(-1);
  groups.forEach(([first, last], g) => {
    for (let t = first; t <= last; t++) owner[t] = Math.floor((g * replicas) / groups.length);
  });
  // Trays in no instance join the replica of the tray before them (the first replica for leading ones).
  let current = 0;
  for (let t = 0; t < numTrays; t++) {
    if (owner[t] === -1) owner[t] = current;
    else current = owner[t] as number;
  }
  const out: number[][] = Array.from({ length: replicas }, () => []);
  owner.forEach((r, t) => out[r]?.push(t));
  return out;
}
