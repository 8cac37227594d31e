// prefix-tiered (ours): the share of the prompt's prefill time this instance saves, with every tier priced by the
// performance model instead of a fixed credit (Dynamo's host 0.75 is a constant; anchors-mission §5.7):
//   s = (fullS − bestS) / fullS
// fullS = prefill of the whole prompt from nothing; bestS = the cheapest of: recompute past the device hit;
// promote the Grace blocks over C2C and recompute the rest; also pull the neighbour's blocks over NVLink.
// A device hit is worth its full recompute time; a Grace or neighbour hit is worth what it saves net of its fetch,
// and nothing when fetching is slower than recomputing. Params: useHost, useNeighbour (default true).
import { onlyKeys, readBool, type Params } from '../../config/params.js';
import type { InstanceView, PlacementScorer } from '../../types.js';
import { PrefillPricer } from '../pricing.js';

export function makePrefixTieredScorer(params: Params, path: string): PlacementScorer {
  onlyKeys(params, path, ['useHost', 'useNeighbour']);
  const useHost = readBool(params, 'useHost', path, true);
  const useNeighbour = readBool(params, 'useNeighbour', path, true);
  const pricer = new PrefillPricer();
  return {
    name: 'prefix-tiered',
    score: (ctx, candidates, out) => {
      for (let i = 0; i < candidates.length; i++) {
        const inst = candidates[i] as InstanceView;
        const hit = ctx.prefix(inst);
        if (hit.deviceBlocks + hit.hostBlocks + hit.neighbourBlocks === 0 || ctx.req.promptTokens === 0) {
          out[i] = 0;
          continue;
        }
        const plan = pricer.price(ctx, inst, hit, useHost, useNeighbour);
        out[i] = plan.fullS > 0 ? (plan.fullS - plan.bestS) / plan.fullS : 0;
      }
    },
  };
}
