// Which instances one gateway replica drives when replicas split a cluster's trays between them: those whose GPUs
// all lie on the replica's trays (any subset, e.g. trays 2–3 of rack 0), so that no two replicas ever plan the same
// instance. topology.ts's buildGatewayCluster is the special case trays = 0..N-1; this adds the subset and the map
// from a tray to its position in the replica's worker list.
import { ConfigError } from '../../core/config/params.js';
import { buildServedCluster, type GatewayCluster, type GatewayClusterOptions } from '../topology.js';

export interface TrayPartitionOptions extends Omit<GatewayClusterOptions, 'numWorkers'> {
  /** Indices into the cluster's trays (Cluster.workers) that this replica's workers serve, in worker-list order. */
  trays: readonly number[];
}

export interface TrayPartition extends GatewayCluster {
  trays: readonly number[];
  /** Position in the replica's worker list of a tray (Cluster.workers index); undefined when not served here. */
  workerSlot(tray: number): number | undefined;
}

export function buildTrayPartition(o: TrayPartitionOptions): TrayPartition {
  const cluster = buildServedCluster(o);
  const numTrays = cluster.workers.length;
  if (o.trays.length === 0) throw new ConfigError('trays', 'expected at least one tray');
  const slotOf = new Map<number, number>();
  o.trays.forEach((t, i) => {
    if (!Number.isInteger(t) || t < 0 || t >= numTrays) throw new ConfigError('trays', `expected integers in [0, ${numTrays - 1}] (trays of ${cluster.name}), got ${t}`);
    if (slotOf.has(t)) throw new ConfigError('trays', `tray ${t} listed twice`);
    slotOf.set(t, i);
  });
  const served = new Set(o.trays.map((t) => (cluster.workers[t] as { workerId: string }).workerId));
  const instances = cluster.instances.filter((i) => i.setup.members.every((m) => served.has(m.workerId)));
  if (instances.length === 0) {
    throw new ConfigError('trays', `trays ${o.trays.join(',')} hold no whole instance of ${cluster.model.name} at tensor parallel ${cluster.tensorParallel}`);
  }
  return { cluster, instances, trays: [...o.trays], workerSlot: (tray) => slotOf.get(tray) };
}
