// prefix-cache-scorer, llm-d's default profile (weight 3) [anchors-mission §2.2, L3]:
//   s(e) = matchBlocks / totalBlocks
// llm-d learns matches from its own routing history (approximate) or from KV events (precise variant); here the
// matches come from the KV index (precise): the leading blocks on the endpoint's GPUs (tiers: device), or also its
// host tier (tiers: device+host, as the precise scorer sees vLLM's CPU offload tier). llm-d hashes at most
// maxPrefixBlocksToMatch (256) blocks of blockSizeTokens (64) tokens: the same token span caps both counts here.
import { onlyKeys, readEnum, readNumber, type Params } from '../../config/params.js';
import type { InstanceView, PlacementScorer } from '../../types.js';

const TIERS = ['device', 'device+host'] as const;

export function makeLlmdPrefixScorer(params: Params, path: string): PlacementScorer {
  onlyKeys(params, path, ['maxPrefixBlocksToMatch', 'blockSizeTokens', 'tiers']);
  const maxBlocks = readNumber(params, 'maxPrefixBlocksToMatch', path, 256, { min: 1, integer: true });
  const llmdBlockTokens = readNumber(params, 'blockSizeTokens', path, 64, { min: 1, integer: true });
  const tiers = readEnum(params, 'tiers', path, TIERS, 'device');
  const capTokens = maxBlocks * llmdBlockTokens;
  return {
    name: 'prefix-cache-scorer',
    score: (ctx, candidates, out) => {
      const cap = Math.max(1, Math.floor(capTokens / ctx.blockTokens));
      const total = Math.min(ctx.req.blockHashes.length, cap);
      for (let i = 0; i < candidates.length; i++) {
        if (total === 0) {
          out[i] = 0;
          continue;
        }
        const hit = ctx.prefix(candidates[i] as InstanceView);
        const matched = hit.deviceBlocks + (tiers === 'device+host' ? hit.hostBlocks : 0);
        out[i] = Math.min(matched, total) / total;
      }
    },
  };
}
