// NVLink domains as the workers report them (Health.domain_id, discovered from the GPU fabric at worker start): an
// instance whose trays report different domains cannot run (tensor parallelism needs one NVLink domain), so it is
// marked unhealthy and never placed on; a tray whose domain differs from the config's is said once (the KV index
// keeps the config's domains for neighbour fetches until the config is fixed). Unreachable workers are skipped:
// they are checked when they rejoin (their instances fail until then anyway).
import type { Scheduler } from '../core/scheduler.js';
import type { WorkerClient } from '../gen/proto/nvlsched/v1/Worker.js';
import type { GatewayCluster } from './topology.js';

export interface ReportedDomain {
  domainId: string;
  source: string;
}

const HEALTH_DEADLINE_MS = 2000;

function askDomain(client: WorkerClient): Promise<ReportedDomain | null> {
  return new Promise((resolve) =>
    client.Health({}, { deadline: Date.now() + HEALTH_DEADLINE_MS }, (err, res) =>
      resolve(err || !res || res.domainId === '' ? null : { domainId: res.domainId, source: res.domainSource })));
}

/**
 * Asks every worker (slot i = clients[i]) for its domain; returns them by worker id and applies the rules above.
 * `slotOf(leaderWorker)` maps a cluster worker index to its client slot (a replica serves a subset of trays).
 */
export async function checkWorkerDomains(
  clients: readonly WorkerClient[],
  topology: GatewayCluster,
  slotOf: (clusterWorker: number) => number | undefined,
  sched: Scheduler,
  log: (line: string) => void,
): Promise<Map<string, ReportedDomain>> {
  const reported = await Promise.all(clients.map(askDomain));
  const byWorker = new Map<string, ReportedDomain>();
  const workers = topology.cluster.workers;
  workers.forEach((w, index) => {
    const slot = slotOf(index);
    const d = slot !== undefined ? reported[slot] : null;
    if (d) byWorker.set(w.workerId, d);
  });
  const said = new Set<string>();
  for (const inst of topology.instances) {
    const domains = new Set<string>();
    for (const m of inst.setup.members) {
      const d = byWorker.get(m.workerId);
      if (!d) continue;
      domains.add(d.domainId);
      if (d.domainId !== inst.setup.domainId && !said.has(m.workerId)) {
        said.add(m.workerId);
        log(`worker ${m.workerId} reports NVLink domain ${d.domainId} (from ${d.source}); the config places it in ${inst.setup.domainId}`);
      }
    }
    if (domains.size > 1) {
      sched.setInstanceHealth(inst.setup.instanceId, false);
      log(`instance ${inst.setup.instanceId} spans NVLink domains ${[...domains].join(', ')}: not used (an instance must sit in one domain)`);
    }
  }
  return byWorker;
}
