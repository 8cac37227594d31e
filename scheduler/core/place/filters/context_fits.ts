// context-fits: the prompt plus the output we plan for must fit the instance's context window.
// `output` chooses that plan: the predicted length (default), its p90, or the request's max_tokens (what an
// engine such as vLLM checks before it accepts a request).
import { onlyKeys, readEnum, type Params } from '../../config/params.js';
import type { InstanceView, PlacementContext } from '../../types.js';
import { keepInto, type ExplainingFilter } from '../plugin.js';

const OUTPUTS = ['expected', 'p90', 'max'] as const;
type OutputPlan = (typeof OUTPUTS)[number];

export function plannedOutputTokens(ctx: PlacementContext, plan: OutputPlan): number {
  if (plan === 'max') return ctx.req.maxOutputTokens;
  const predicted = plan === 'p90' ? ctx.cls.output.p90Tokens : ctx.cls.output.expectedTokens;
  return Math.min(predicted, ctx.req.maxOutputTokens);
}

export function makeContextFitsFilter(params: Params, path: string): ExplainingFilter {
  onlyKeys(params, path, ['output']);
  const plan = readEnum(params, 'output', path, OUTPUTS, 'expected');
  const keep = (ctx: PlacementContext, inst: InstanceView): boolean =>
    ctx.req.promptTokens + plannedOutputTokens(ctx, plan) <= inst.maxContextTokens;
  const out: InstanceView[] = [];
  return {
    name: 'context-fits',
    filter: (ctx, candidates) => keepInto(out, ctx, candidates, keep),
    whyEmpty: (ctx, candidates) => {
      const longest = Math.max(...candidates.map((i) => i.maxContextTokens));
      return `prompt ${ctx.req.promptTokens} + output ${plannedOutputTokens(ctx, plan)} tokens exceeds every context window (largest ${longest})`;
    },
  };
}
