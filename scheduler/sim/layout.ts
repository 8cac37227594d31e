// How one NVLink domain is cut into instances, and where each instance's GPUs are. Every domain gets the same cut
// (a hand-off stays inside its domain). One degree for every instance: ⌊domain GPUs / TP⌋ instances, the roles
// counted over them (config/roles.ts). Per-role degrees (`tensorParallel: {prefill: 4, decode: 1}`): the listed
// roles' instances first, each at its role's degree, then mixed instances at the mixed degree fill what is left, so
// the instances' GPUs sum to the domain (less a remainder smaller than one mixed instance, left idle). Instances take
// consecutive GPUs from the domain's first, in that order (a TP4 instance after three TP1 ones spans two trays:
// NVLink inside a domain is all-to-all, so where a tray ends does not slow it).
import { ConfigError } from '../core/config/params.js';
import { assignRoles, checkRoles, type InstanceRole, type RolesSpec } from '../core/config/roles.js';
import type { EngineConfig } from '../core/engine/config.js';
import type { InstanceSetup } from '../core/scheduler.js';
import type { TopologySpec } from '../kv/types.js';

/** One instance of a domain: its role and the index of its degree's shape (Cluster.shapes). */
export interface DomainSlot {
  role: InstanceRole;
  shape: number;
}

/** One compute tray (a worker process live): its GPUs and the Grace/host KV blocks of the instances led from it. */
export interface WorkerSpec {
  workerId: string;
  domainId: string;
  /** Host-tier KV blocks (per-GPU block units) for the instances whose first GPU is on this tray. */
  hostBlocks: number;
}

export interface SimInstanceSpec {
  setup: InstanceSetup;
  /** Index in Cluster.workers of the tray holding the instance's first GPU: its KV is tracked there. */
  leaderWorker: number;
  /** The first GPU, as its tray numbers it (the KV events' device index). */
  leaderGpu: number;
  /** Index in Cluster.shapes of its degree (0 for every instance without per-role tensor parallelism). */
  shape: number;
}

/** What placement needs of a degree: its GPUs per instance and the engine config of its instances. */
export interface ShapeLayout {
  tensorParallel: number;
  engine: EngineConfig;
}

/** One degree for every instance: ⌊domainGpus / tp⌋ instances with the roles counted over them. */
export function uniformSlots(roles: RolesSpec | undefined, domainGpus: number, tp: number): DomainSlot[] {
  const perDomain = Math.floor(domainGpus / tp);
  return assignRoles(roles, perDomain, 'cluster.roles').map((role) => ({ role, shape: 0 }));
}

/**
 * Per-role degrees: the roles' instances at their degrees, then mixed ones at the mixed degree in what is left.
 * `shapeOf(role)` gives the shape index of a role's degree, `tpOf(role)` the degree.
 */
export function perRoleSlots(roles: RolesSpec, domainGpus: number, tpOf: (r: InstanceRole) => number, shapeOf: (r: InstanceRole) => number): DomainSlot[] {
  const listed: InstanceRole[] = Array.isArray(roles)
    ? [...(roles as readonly InstanceRole[])]
    : [...new Array<InstanceRole>((roles as { prefill: number }).prefill).fill('prefill'), ...new Array<InstanceRole>((roles as { decode: number }).decode).fill('decode')];
  const usedGpus = listed.reduce((n, r) => n + tpOf(r), 0);
  if (usedGpus > domainGpus) {
    const counts = (['prefill', 'decode', 'mixed'] as const).map((r) => [r, listed.filter((x) => x === r).length] as const).filter(([, n]) => n > 0);
    const terms = counts.map(([r, n]) => `${r} ${n} × TP${tpOf(r)}`).join(' + ');
    throw new ConfigError('cluster.roles', `${terms} = ${usedGpus} GPUs, more than the ${domainGpus} GPUs of a domain`);
  }
  const mixed = Math.floor((domainGpus - usedGpus) / tpOf('mixed'));
  const all = [...listed, ...new Array<InstanceRole>(mixed).fill('mixed')];
  checkRoles(all, 'cluster.roles');
  return all.map((role) => ({ role, shape: shapeOf(role) }));
}

/** Instances of every domain from the slots, consecutive GPUs from each domain's first; trays get the host blocks. */
export function placeInstances(numDomains: number, base: TopologySpec, slots: readonly DomainSlot[], shapes: readonly ShapeLayout[], pool: string): { workers: WorkerSpec[]; instances: SimInstanceSpec[] } {
  const gpusPerTray = base.gpusPerTray;
  const domainKind = base.traysPerDomain > 1 ? 'rack' : 'node';
  const workers: WorkerSpec[] = [];
  const instances: SimInstanceSpec[] = [];
  for (let d = 0; d < numDomains; d++) {
    const domainId = `${domainKind}${d}`;
    const firstWorker = workers.length;
    for (let t = 0; t < base.traysPerDomain; t++) workers.push({ workerId: `${domainId}/tray${t}`, domainId, hostBlocks: 0 });
    let k = 0;
    slots.forEach((slot, i) => {
      const shape = shapes[slot.shape] as ShapeLayout;
      const tp = shape.tensorParallel;
      const members: { workerId: string; gpus: number[] }[] = [];
      for (let g = k; g < k + tp; g++) {
        const worker = workers[firstWorker + Math.floor(g / gpusPerTray)] as WorkerSpec;
        const last = members[members.length - 1];
        if (last?.workerId === worker.workerId) last.gpus.push(g % gpusPerTray);
        else members.push({ workerId: worker.workerId, gpus: [g % gpusPerTray] });
      }
      const leaderWorker = firstWorker + Math.floor(k / gpusPerTray);
      (workers[leaderWorker] as WorkerSpec).hostBlocks += shape.engine.hostKvBlocksTotal;
      const setup: InstanceSetup = { instanceId: `${domainId}/i${i}`, pool, domainId, members, engine: shape.engine };
      instances.push({ setup: slot.role === 'mixed' ? setup : { ...setup, role: slot.role }, leaderWorker, leaderGpu: k % gpusPerTray, shape: slot.shape });
      k += tp;
    });
  }
  return { workers, instances };
}
