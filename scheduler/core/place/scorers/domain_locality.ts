// domain-locality: prefer the NVLink domain that holds the request's KV, so a fetch stays on NVLink (900 GB/s per
// GPU) instead of the scale-out network. The target domain is the session home's, if the home is a candidate;
// else the domain of the candidate(s) holding the longest local prefix (device + host). 1 inside it, 0 outside;
// all 0 when there is no target (no session, nothing cached).
import { onlyKeys, type Params } from '../../config/params.js';
import type { InstanceView, PlacementScorer, PrefixHit } from '../../types.js';

export function makeDomainLocalityScorer(params: Params, path: string): PlacementScorer {
  onlyKeys(params, path, []);
  return {
    name: 'domain-locality',
    score: (ctx, candidates, out) => {
      let target: string | undefined;
      let best = 0;
      for (let i = 0; i < candidates.length; i++) {
        const inst = candidates[i] as InstanceView;
        if (inst.instanceId === ctx.sessionHome) {
          target = inst.domainId;
          break;
        }
        const hit: PrefixHit = ctx.prefix(inst);
        const local = hit.deviceBlocks + hit.hostBlocks;
        if (local > best) {
          best = local;
          target = inst.domainId;
        }
      }
      for (let i = 0; i < candidates.length; i++) out[i] = target !== undefined && (candidates[i] as InstanceView).domainId === target ? 1 : 0;
    },
  };
}
