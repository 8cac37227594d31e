// predicted-tpot (ours): the time between this request's output tokens on each instance, against its TPOT SLO.
// Affinity alone piles sessions and shared prefixes onto a few instances; their steps then carry long prefill chunks
// next to the decodes, and every decode in such a step waits for the chunk. Scoring the inter-token time keeps
// placement honest about that:
//   tpotS  = decodeStepS(instance) + interferenceS
//   interferenceS = prefillS(min(pending, stepTokenBudget)) · min(1, drainSteps / outputTokens)
//   drainSteps = ceil(pending / stepTokenBudget)     (steps during which the backlog shares steps with our decodes)
// where pending is the instance's uncached prefill backlog and outputTokens the request's predicted output.
// Score: 1 − tpot/(2·slo) within the SLO (1 → 0.5), then 0.5·slo/tpot beyond it (0.5 → 0), as predicted-ttft.
import { onlyKeys, type Params } from '../../config/params.js';
import type { InstanceView, PlacementContext, PlacementScorer } from '../../types.js';
import { ttftScore } from './predicted_ttft.js';

export function predictTpotS(ctx: PlacementContext, inst: InstanceView): number {
  const decodeS = ctx.cost.decodeStepS(inst);
  const pending = inst.pendingPrefillTokens;
  if (pending <= 0) return decodeS;
  const budget = Math.max(1, inst.stepTokenBudget);
  const chunkS = ctx.cost.prefillS(inst, Math.min(pending, budget), 0);
  const outputTokens = Math.max(1, Math.min(ctx.cls.output.expectedTokens, ctx.req.maxOutputTokens));
  const share = Math.min(1, Math.ceil(pending / budget) / outputTokens);
  return decodeS + chunkS * share;
}

export function makePredictedTpotScorer(params: Params, path: string): PlacementScorer {
  onlyKeys(params, path, []);
  return {
    name: 'predicted-tpot',
    score: (ctx, candidates, out) => {
      const sloS = ctx.req.slo?.tpotS ?? ctx.cls.slo.tpotS;
      for (let i = 0; i < candidates.length; i++) out[i] = ttftScore(predictTpotS(ctx, candidates[i] as InstanceView), sloS);
    },
  };
}
