// predicted-ttft (ours): the time to this request's first token on each instance, against its TTFT SLO.
//   ttftS = max(waitS + ownS, steps · decodeStepS)          (decodeStepS only when the instance is decoding)
//   waitS = prefill of the instance's pending (uncached) prompt tokens ahead of this one
//   ownS  = this request's cheapest prefill plan (pricing.ts: device hit, Grace promote, neighbour fetch)
//   steps = ceil((pending + own uncached tokens) / stepTokenBudget): each step also carries the running decodes,
//           and no step is faster than one decode step; a step's prefill and decodes overlap, hence the max.
// queueWait 'linear' (default) prices waitS at this prompt's own seconds per token (one cost-model call per pool
// shape, not per instance); 'cost-model' asks the model for each instance's backlog.
// Score: 1 − ttft/(2·slo) within the SLO (1 → 0.5), then 0.5·slo/ttft beyond it (0.5 → 0): monotone, and never
// flat, so the least-late instance still wins when all are late.
import { onlyKeys, readEnum, type Params } from '../../config/params.js';
import type { InstanceView, PlacementContext, PlacementScorer } from '../../types.js';
import { PrefillPricer } from '../pricing.js';

const WAITS = ['linear', 'cost-model'] as const;

export function ttftScore(ttftS: number, sloS: number): number {
  if (!(sloS > 0)) return 0;
  return ttftS <= sloS ? 1 - ttftS / (2 * sloS) : (0.5 * sloS) / ttftS;
}

export function predictTtftS(ctx: PlacementContext, inst: InstanceView, pricer: PrefillPricer, linearWait: boolean): number {
  const plan = pricer.price(ctx, inst, ctx.prefix(inst), true, true);
  const ownS = plan.bestS;
  const pending = inst.pendingPrefillTokens;
  let waitS = 0;
  if (pending > 0) {
    waitS = linearWait && ctx.req.promptTokens > 0 ? (pending * plan.fullS) / ctx.req.promptTokens : pricer.prefillS(ctx, inst, pending, 0);
  }
  const prefillS = waitS + ownS;
  if (inst.decodingSequences === 0) return prefillS;
  const steps = Math.ceil((pending + plan.uncachedTokens) / Math.max(1, inst.stepTokenBudget));
  return Math.max(prefillS, steps * ctx.cost.decodeStepS(inst));
}

export function makePredictedTtftScorer(params: Params, path: string): PlacementScorer {
  onlyKeys(params, path, ['queueWait']);
  const linearWait = readEnum(params, 'queueWait', path, WAITS, 'linear') === 'linear';
  const pricer = new PrefillPricer();
  return {
    name: 'predicted-ttft',
    score: (ctx, candidates, out) => {
      const sloS = ctx.req.slo?.ttftS ?? ctx.cls.slo.ttftS;
      for (let i = 0; i < candidates.length; i++) out[i] = ttftScore(predictTtftS(ctx, candidates[i] as InstanceView, pricer, linearWait), sloS);
    },
  };
}
