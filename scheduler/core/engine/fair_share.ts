// Weighted fair share between tenants in one instance's queue, under priority bands.
//
// Each tenant has a group: its own four shape heaps, ordered by the batch policy's queue key exactly as the
// engine's heaps always were. Which group's head goes next is decided here: the highest band that has anything
// waiting (high > normal > low, strictly), then within it the group with the smallest virtual time. The chosen
// group's four heads are then merged by queue key as before, so with one tenant the order is the policy's own,
// unchanged, and the policy's order (deadline, fcfs, priority) always holds inside a tenant.
//
// Why start-time fair queuing (Goyal, Vin & Cheng, SIGCOMM 1996) and not deficit round robin: a request is charged
// once, when it is admitted, with its predicted work in tokens (prompt left to prefill + predicted output), so the
// per-step cost stays O(log tenants) per admitted sequence; DRR needs a quantum sized to the largest request (a
// 100K-token terminal turn would make rounds coarse) and a round-robin pointer the deadline order cannot express.
// A group's virtual time is its service / weight; a group that becomes active starts at max(its own, the band's
// clock), the start tag of the last request admitted in that band, so an idle tenant cannot bank credit and a
// returning one is served next rather than starved behind a backlog. Over a backlog, service converges to the
// weights (the unit test checks 1:3). Clocks are per band: serving a high band never moves the normal band's clock.
//
// Fair share orders admission, and preemption victims (planner.ts pickFairVictim: from the tenant running the
// most per weight first); running sequences keep their order (the vLLM floor in GUARDRAILS.md) and swapped ones
// come back first. It is off (one group for everyone) unless the engine is given a tenants section.
import { SHAPES } from '../types.js';
import { tenantPolicy, type PriorityBand, type TenantsConfig } from '../config/tenants.js';
import { SeqHeap } from './seq_heap.js';

export const BAND_RANK: Readonly<Record<PriorityBand, number>> = { low: 0, normal: 1, high: 2 };
const BANDS = 3;

/** Groups kept for tenants with nothing queued before the idle ones are forgotten (their virtual time is ≤ clock). */
const MAX_IDLE_GROUPS = 4096;

export interface TenantGroup {
  readonly tenant: string;
  readonly weight: number;
  /** BAND_RANK of the tenant's priority band (higher is served first). */
  readonly band: number;
  /** Creation order: the tie-break between equal virtual times. */
  readonly ordinal: number;
  /** Waiting sequences by shape, in SHAPES order. */
  readonly heaps: readonly SeqHeap[];
  /** Sequences in the heaps. */
  waiting: number;
  /** Running sequences (admitted, not swapped out): preemption victims come from the tenant with most per weight. */
  running: number;
  /** Σ remaining prefill of the waiting sequences (it does not change while they wait). */
  queuedPrefillTokens: number;
  /** Service received / weight, in tokens: the start tag of the group's next request. */
  vtime: number;
  /** Position in the active heap; -1 while nothing of it waits. */
  activeIndex: number;
}

/** Served first: the higher band, then the smaller virtual time, then the older group. */
export function groupBefore(a: TenantGroup, b: TenantGroup): boolean {
  if (a.band !== b.band) return a.band > b.band;
  return a.vtime < b.vtime || (a.vtime === b.vtime && a.ordinal < b.ordinal);
}

export class FairShare {
  /** False: one group holds every sequence (no tenants section), the engine's order is the policy's alone. */
  readonly enabled: boolean;
  private readonly groups = new Map<string, TenantGroup>();
  private readonly single: TenantGroup | null;
  private readonly active: TenantGroup[] = [];
  private readonly clock = new Float64Array(BANDS);
  private nextOrdinal = 0;
  /** Σ queuedPrefillTokens over all groups. */
  queuedPrefillTokens = 0;

  constructor(private readonly tenants: TenantsConfig | undefined) {
    this.enabled = tenants !== undefined;
    this.single = tenants === undefined ? this.newGroup('', 1, BAND_RANK.normal) : null;
  }

  /** The group a tenant's sequences wait in (the one shared group when fair share is off). */
  groupOf(tenant: string): TenantGroup {
    if (this.single) return this.single;
    let g = this.groups.get(tenant);
    if (!g) {
      if (this.groups.size >= MAX_IDLE_GROUPS) this.forgetIdle();
      const policy = tenantPolicy(this.tenants as TenantsConfig, tenant);
      g = this.newGroup(tenant, policy.weight, BAND_RANK[policy.priorityBand]);
      this.groups.set(tenant, g);
    }
    return g;
  }

  /** The group whose head is admitted next (undefined: nothing waits). */
  top(): TenantGroup | undefined {
    return this.active[0];
  }

  /** Active groups in heap order (not sorted): for the rare scans (wait windows, per-tenant views). */
  activeGroups(): readonly TenantGroup[] {
    return this.active;
  }

  /** A sequence entered g's heaps: g joins the active set at max(its virtual time, its band's clock). */
  entered(g: TenantGroup, prefillTokens: number): void {
    g.waiting++;
    g.queuedPrefillTokens += prefillTokens;
    this.queuedPrefillTokens += prefillTokens;
    if (g.activeIndex >= 0) return;
    const clock = this.clock[g.band] as number;
    if (g.vtime < clock) g.vtime = clock;
    g.activeIndex = this.active.length;
    this.active.push(g);
    this.up(g.activeIndex);
  }

  /** A sequence left g's heaps (admitted or cancelled); g leaves the active set when nothing of it waits. */
  left(g: TenantGroup, prefillTokens: number): void {
    g.waiting--;
    g.queuedPrefillTokens -= prefillTokens;
    this.queuedPrefillTokens -= prefillTokens;
    if (g.waiting === 0 && g.activeIndex >= 0) this.removeActive(g);
  }

  /** g's head is being admitted with `workTokens` of predicted work: advance its virtual time (call before left). */
  charge(g: TenantGroup, workTokens: number): void {
    if (!this.enabled) return;
    // The band's clock only moves forward (a wait-window fallback may admit from a group behind the top).
    if (g.vtime > (this.clock[g.band] as number)) this.clock[g.band] = g.vtime;
    g.vtime += workTokens / g.weight;
    if (g.activeIndex >= 0) this.down(g.activeIndex);
  }

  /**
   * What a new request of `tenant` (with `ownPrefillTokens` to prefill) finds ahead of it in the queue: every
   * higher band's backlog, its own, and of each same-band tenant the part that fair share interleaves before it
   * (its backlog up to (own backlog + this request) × their weight / own weight). Lower bands are behind it.
   */
  aheadOf(tenant: string, ownPrefillTokens: number): { waiting: number; prefillTokens: number } {
    const g = this.groupOf(tenant);
    let waiting = g.waiting;
    let prefill = g.queuedPrefillTokens;
    const mine = g.queuedPrefillTokens + Math.max(1, ownPrefillTokens);
    for (const u of this.active) {
      if (u === g || u.band < g.band) continue;
      if (u.band > g.band) {
        waiting += u.waiting;
        prefill += u.queuedPrefillTokens;
        continue;
      }
      const share = Math.min(u.queuedPrefillTokens, (mine * u.weight) / g.weight);
      prefill += share;
      waiting += u.queuedPrefillTokens > 0 ? Math.ceil((u.waiting * share) / u.queuedPrefillTokens) : u.waiting;
    }
    return { waiting, prefillTokens: prefill };
  }

  /**
   * Queue room for one more sequence of g when the instance's queue is full (`queued ≥ maxQueued`): a tenant still
   * under its weighted share of the bound may enter, so queue-full refusals fall on the tenants that filled it, not
   * on a quiet one. The total stays below twice the bound.
   */
  underShare(g: TenantGroup, queued: number, maxQueued: number): boolean {
    if (!this.enabled || queued >= 2 * maxQueued) return false;
    let weights = g.activeIndex >= 0 ? 0 : g.weight;
    for (const u of this.active) weights += u.weight;
    return g.waiting < (maxQueued * g.weight) / weights;
  }

  private newGroup(tenant: string, weight: number, band: number): TenantGroup {
    return {
      tenant, weight, band, ordinal: this.nextOrdinal++, heaps: SHAPES.map(() => new SeqHeap()),
      waiting: 0, running: 0, queuedPrefillTokens: 0, vtime: 0, activeIndex: -1,
    };
  }

  /** Idle groups (nothing waiting or running) at or behind their clock carry no credit: forgetting them changes no order. */
  private forgetIdle(): void {
    for (const [name, g] of this.groups) {
      if (g.activeIndex < 0 && g.running === 0 && g.vtime <= (this.clock[g.band] as number)) this.groups.delete(name);
    }
  }

  private removeActive(g: TenantGroup): void {
    const i = g.activeIndex;
    const last = this.active.pop() as TenantGroup;
    g.activeIndex = -1;
    if (last === g) return;
    this.active[i] = last;
    last.activeIndex = i;
    this.down(i);
    this.up(last.activeIndex);
  }

  private up(i: number): void {
    const a = this.active;
    const g = a[i] as TenantGroup;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = a[parent] as TenantGroup;
      if (!groupBefore(g, p)) break;
      a[i] = p;
      p.activeIndex = i;
      i = parent;
    }
    a[i] = g;
    g.activeIndex = i;
  }

  private down(i: number): void {
    const a = this.active;
    const n = a.length;
    const g = a[i] as TenantGroup;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      let child = left;
      if (right < n && groupBefore(a[right] as TenantGroup, a[left] as TenantGroup)) child = right;
      const c = a[child] as TenantGroup;
      if (!groupBefore(c, g)) break;
      a[i] = c;
      c.activeIndex = i;
      i = child;
    }
    a[i] = g;
    g.activeIndex = i;
  }
}
