// The Scheduler's side of prefill/decode disaggregation and live migration (scheduler.ts): whether a request placed
// on a decode candidate prefills elsewhere, and the groups of instances a migration may move decodes between. The
// moves themselves are the coordinator's (disagg/coordinator.ts).
import type { DisaggStats } from './disagg/coordinator.js';
import type { DisaggregationPolicy } from './disagg/types.js';
import type { Placer } from './scheduler_place.js';
import type { Instance, KvFetch, PdState, Pool } from './scheduler_state.js';
import type { Classification, PlacementCostModel, PrefixHit, ScheduleRequest } from './types.js';

export interface SplitDeps {
  policy: DisaggregationPolicy;
  placer: Placer;
  instances: ReadonlyMap<string, Instance>;
  /** The coordinator, whose counters count these decisions too. */
  coord: { readonly stats: DisaggStats };
  blockTokens: number;
  cost: PlacementCostModel;
}

/**
 * Prefill elsewhere? The best prefill candidate of the decode candidate's domain (placement over the prefill
 * instances), priced against keeping the request, by the disaggregation policy; a decode-role candidate never
 * prefills more than the policy's localPrefillMaxTokens itself. Undefined: aggregated on the decode candidate.
 */
export function splitPrefill(
  deps: SplitDeps, req: ScheduleRequest, cls: Classification, pool: Pool, decode: Instance, decodeHit: PrefixHit, decodeCached: number, nowS: number,
): { inst: Instance; cachedTokens: number; fetch: KvFetch; pd: PdState } | undefined {
  const policy = deps.policy;
  const domain = decode.setup.domainId;
  const views = pool.prefillViews.filter((v) => v.healthy && !v.draining && (policy.crossDomain || v.domainId === domain));
  const stats = deps.coord.stats;
  if (views.length === 0) {
    stats.noPrefillInstance++;
    return undefined;
  }
  const placed = deps.placer.placeAmong(req, cls, pool, nowS, views);
  if (!placed.ok) {
    stats.noPrefillInstance++;
    return undefined;
  }
  const prefill = deps.instances.get(placed.instanceId) as Instance;
  const { tokens: prefillCached, fetch } = deps.placer.cachedTokens(req, prefill, placed.prefix);
  const bt = deps.blockTokens;
  const decodeDeviceTokens = Math.min(req.promptTokens, decodeHit.deviceBlocks * bt);
  const forced = decode.setup.role === 'decode' && req.promptTokens - decodeCached > policy.localPrefillMaxTokens;
  const go = forced || policy.decide({
    req, cls, promptTokens: req.promptTokens,
    decode: decode.view, decodeCachedTokens: decodeCached,
    prefill: prefill.view, prefillCachedTokens: prefillCached,
    transferBlocks: Math.max(0, Math.ceil(req.promptTokens / bt) - Math.floor(decodeDeviceTokens / bt)),
    predictedOutputTokens: Math.min(req.maxOutputTokens, cls.output.expectedTokens),
    waitSPerToken: { decode: decode.prefillSPerToken, prefill: prefill.prefillSPerToken },
    cost: deps.cost,
  });
  if (!go) {
    stats.aggregated++;
    return undefined;
  }
  stats.disaggregated++;
  if (forced) stats.forcedByRole++;
  const pd: PdState = { phase: 'prefill', prefillInstanceId: prefill.setup.instanceId, decodeInstanceId: decode.setup.instanceId, decodeDeviceTokens };
  return { inst: prefill, cachedTokens: prefillCached, fetch, pd };
}

/** The groups a migration may move running decodes within: each pool's decode and mixed instances, per NVLink domain. */
export function migrationGroups(pools: Iterable<Pool>, instances: ReadonlyMap<string, Instance>): Instance[][] {
  const groups: Instance[][] = [];
  for (const pool of pools) {
    const byDomain = new Map<string, Instance[]>();
    for (const v of pool.decodeViews) {
      const inst = instances.get(v.instanceId) as Instance;
      const list = byDomain.get(v.domainId) ?? [];
      list.push(inst);
      byDomain.set(v.domainId, list);
    }
    groups.push(...byDomain.values());
  }
  return groups;
}
