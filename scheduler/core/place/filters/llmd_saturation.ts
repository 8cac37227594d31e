// llm-d-saturation: the scheduling-filter role of llm-d's `utilization-detector` [anchors-mission §2.2, L7]:
//   drop an endpoint when  Q > queueDepthThreshold·(1 + headroom)  or  KV > min(1, kvCacheUtilThreshold·(1 + headroom))
// (i.e. EndpointScore = max(Q/Q_thr, KV/KV_thr) above its limit), where Q = waiting requests and KV = KV-cache usage.
// Fails open: if every endpoint would be dropped, all are kept and the scorers pick the least bad.
// Defaults as llm-d: queueDepthThreshold 5, kvCacheUtilThreshold 0.8, headroom 0. llm-d also drops endpoints with
// stale metrics; InstanceView carries no metric age, so that part has no counterpart here.
import { onlyKeys, readBool, readNumber, type Params } from '../../config/params.js';
import type { InstanceView, PlacementContext } from '../../types.js';
import { kvUsage } from '../scorers/llmd_kv_util.js';
import { keepInto, type ExplainingFilter } from '../plugin.js';

export function makeLlmdSaturationFilter(params: Params, path: string): ExplainingFilter {
  onlyKeys(params, path, ['queueDepthThreshold', 'kvCacheUtilThreshold', 'headroom', 'countRetained']);
  const queueThreshold = readNumber(params, 'queueDepthThreshold', path, 5, { above: 0, integer: true });
  const kvThreshold = readNumber(params, 'kvCacheUtilThreshold', path, 0.8, { above: 0, max: 1 });
  const headroom = readNumber(params, 'headroom', path, 0, { min: 0 });
  const countRetained = readBool(params, 'countRetained', path, true);
  const maxQueue = queueThreshold * (1 + headroom);
  const maxKv = Math.min(1, kvThreshold * (1 + headroom));
  const keep = (_ctx: PlacementContext, inst: InstanceView): boolean =>
    inst.queuedRequests <= maxQueue && kvUsage(inst, countRetained) <= maxKv;
  const out: InstanceView[] = [];
  return {
    name: 'llm-d-saturation',
    filter: (ctx, candidates) => {
      const kept = keepInto(out, ctx, candidates, keep);
      return kept.length === 0 ? (candidates as InstanceView[]) : kept;
    },
  };
}
