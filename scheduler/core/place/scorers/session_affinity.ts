// session-affinity: 1 for the instance that served the session's previous turn (ctx.sessionHome), else 0 — the
// same rule as llm-d's session-affinity-scorer [anchors-mission §2.2, L4], with the home known by the gateway
// instead of carried in an x-session-token header.
import { onlyKeys, type Params } from '../../config/params.js';
import type { InstanceView, PlacementScorer } from '../../types.js';

export function makeSessionAffinityScorer(params: Params, path: string): PlacementScorer {
  onlyKeys(params, path, []);
  return {
    name: 'session-affinity',
    score: (ctx, candidates, out) => {
      const home = ctx.sessionHome;
      for (let i = 0; i < candidates.length; i++) out[i] = home !== undefined && (candidates[i] as InstanceView).instanceId === home ? 1 : 0;
    },
  };
}
