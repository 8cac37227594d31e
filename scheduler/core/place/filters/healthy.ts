// healthy: drops instances that are unhealthy or draining (no new work may start on a draining instance).
import { onlyKeys, type Params } from '../../config/params.js';
import type { InstanceView, PlacementContext } from '../../types.js';
import { keepInto, type ExplainingFilter } from '../plugin.js';

const keep = (_ctx: PlacementContext, inst: InstanceView): boolean => inst.healthy && !inst.draining;

export function makeHealthyFilter(params: Params, path: string): ExplainingFilter {
  onlyKeys(params, path, []);
  const out: InstanceView[] = [];
  return {
    name: 'healthy',
    filter: (ctx, candidates) => keepInto(out, ctx, candidates, keep),
    whyEmpty: (_ctx, candidates) => {
      const draining = candidates.filter((i) => i.healthy && i.draining).length;
      return `${candidates.length - draining} unhealthy, ${draining} draining`;
    },
  };
}
