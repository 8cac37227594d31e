// The Scheduler's placement plumbing (scheduler.ts): the KV index's prefix walk into the pool's reused hit columns,
// the placement pipeline over some of the pool's instances, the prompt tokens a placed request need not prefill
// (and the KV to bring in for them), and the TTFT and queue a request meets there. This is the routing hot path:
// everything here reuses objects kept on the pool or on this object.
import type { KvIndex } from './kvindex/kv_index.js';
import type { PlacementPolicy } from './place/pipeline.js';
import type { Instance, KvFetch, Pool } from './scheduler_state.js';
import type {
  Classification,
  InstanceView,
  PlacementContext,
  PlacementCostModel,
  PrefixHit,
  RandomSource,
  ScheduleRequest,
  StageProfiler,
} from './types.js';

/** Records the time since `t0` under `stage`; returns now (the next stage's start). */
export function lap(prof: StageProfiler, stage: string, t0: number): number {
  const now = prof.now();
  prof.record(stage, now - t0);
  return now;
}

export interface PlacerDeps {
  kvIndex: KvIndex;
  instances: ReadonlyMap<string, Instance>;
  placement: PlacementPolicy;
  /** With tenants: the placement without its kv-capacity filter, tried when every instance's HBM is full. */
  placementQueued: PlacementPolicy | undefined;
  /** A session's home instance (SessionHomes.home). */
  sessionHome: (sessionId: string) => string | undefined;
  blockTokens: number;
  cost: PlacementCostModel;
  rng: RandomSource;
}

export class Placer {
  private scratchView: InstanceView | undefined;

  constructor(private readonly deps: PlacerDeps) {}

  place(req: ScheduleRequest, cls: Classification, pool: Pool, nowS: number, prof?: StageProfiler) {
    const t0 = prof ? prof.now() : 0;
    const kvIndex = this.deps.kvIndex;
    // Slots, not ids: resolving 72 instance ids per request was a tenth of the walk (bench sched).
    if (pool.slotsVersion !== kvIndex.topologyVersion) {
      pool.slots = Int32Array.from(pool.instanceIds, (id) => kvIndex.instanceSlot(id));
      pool.slotsVersion = kvIndex.topologyVersion;
    }
    kvIndex.prefixHitsBySlot(req.blockHashes, pool.slots, pool.slots.length, pool.columns);
    const c = pool.columns;
    for (let i = 0; i < pool.hits.length; i++) {
      const hit = pool.hits[i] as PrefixHit;
      hit.deviceBlocks = c.deviceBlocks[i] as number;
      hit.hostBlocks = c.hostBlocks[i] as number;
      hit.neighbourBlocks = c.neighbourBlocks[i] as number;
    }
    if (prof) lap(prof, 'kv_lookup', t0);
    return this.placeAmong(req, cls, pool, nowS, pool.decodeViews, prof);
  }

  /** Placement among `views` (some of the pool's), on the prefix hits of the pool's last walk. */
  placeAmong(req: ScheduleRequest, cls: Classification, pool: Pool, nowS: number, views: InstanceView[], prof?: StageProfiler) {
    const deps = this.deps;
    const home = req.sessionId !== undefined ? deps.sessionHome(req.sessionId) : undefined;
    const instances = deps.instances;
    const ctx: PlacementContext = {
      req,
      cls,
      nowS,
      blockTokens: deps.blockTokens,
      prefix: (view) => pool.hits[(instances.get(view.instanceId) as Instance).poolColumn] as PrefixHit,
      ...(home !== undefined ? { sessionHome: home } : {}),
      cost: deps.cost,
      rng: deps.rng,
      ...(prof ? { profiler: prof } : {}),
    };
    const placed = deps.placement.place(ctx, views);
    // Under fair share a full HBM is a wait, not a refusal: the tenant-aware admission below judges the wait.
    if (placed.ok || !deps.placementQueued) return placed;
    const queued = deps.placementQueued.place(ctx, views);
    return queued.ok ? queued : placed;
  }

  /**
   * Prompt tokens that need no prefill on this instance, and the KV blocks to bring in for them first. Device hits
   * are free; the leading blocks that follow them in the tray's Grace tier (promote over NVLink-C2C) and then on a
   * neighbour in the NVLink domain (fetch over NVLink) are used when moving them is faster than recomputing them —
   * the executor (worker or simulator) moves them before the sequence's first step and charges the time. A session
   * turn placed back home while its context is retained there counts the retained context (in HBM, or in Grace to
   * promote).
   */
  cachedTokens(req: ScheduleRequest, inst: Instance, hit: PrefixHit): { tokens: number; fetch: KvFetch } {
    const bt = this.deps.blockTokens;
    const promptBlocks = Math.floor(req.promptTokens / bt);
    const fetch: KvFetch = { hostBlocks: 0, neighbourBlocks: 0 };
    let blocks = Math.min(hit.deviceBlocks, promptBlocks);
    const tier = req.sessionId !== undefined ? inst.engine.sessionTier(req.sessionId) : undefined;
    // The retained context covers the previous turn (prompt + output), not what this turn adds after it.
    const retained = tier !== undefined ? Math.min(inst.engine.sessionKvBlocks(req.sessionId as string), req.blockHashes.length, promptBlocks) : 0;
    if (tier !== undefined && retained > blocks) {
      if (tier === 'host') fetch.hostBlocks = retained - blocks;
      blocks = retained;
    } else {
      const cost = this.deps.cost;
      const host = Math.min(hit.hostBlocks, promptBlocks - blocks);
      if (host > 0 && cost.fetchS(inst.view, host, 'c2c') < cost.prefillS(inst.view, host * bt, blocks * bt)) {
        fetch.hostBlocks = host;
        blocks += host;
        const near = Math.min(hit.neighbourBlocks, promptBlocks - blocks);
        if (near > 0 && cost.fetchS(inst.view, near, 'nvlink') < cost.prefillS(inst.view, near * bt, blocks * bt)) {
          fetch.neighbourBlocks = near;
          blocks += near;
        }
      } else if (hit.hostBlocks === 0) {
        const near = Math.min(hit.neighbourBlocks, promptBlocks - blocks);
        if (near > 0 && cost.fetchS(inst.view, near, 'nvlink') < cost.prefillS(inst.view, near * bt, blocks * bt)) {
          fetch.neighbourBlocks = near;
          blocks += near;
        }
      }
    }
    return { tokens: Math.min(req.promptTokens, blocks * bt), fetch };
  }

  predictTtftS(inst: Instance, view: InstanceView, uncachedTokens: number, cachedTokens: number): number {
    const waitS = view.pendingPrefillTokens * inst.prefillSPerToken;
    return waitS + this.deps.cost.prefillS(view, Math.max(1, uncachedTokens), cachedTokens);
  }

  /** The instance's view with its queue replaced by what a request of `tenant` finds ahead of it (a reused object). */
  tenantQueueView(inst: Instance, tenant: string, uncachedTokens: number): InstanceView {
    const v = Object.assign(this.scratchView ??= { ...inst.view }, inst.view);
    const ahead = inst.engine.queueAhead(tenant, uncachedTokens);
    v.queuedRequests = ahead.queuedRequests;
    v.pendingPrefillTokens = ahead.pendingPrefillTokens;
    return v;
  }
}
