// What a placement plugin factory looks like, and the small extras the framework understands.
import type { Params } from '../config/params.js';
import type { InstanceView, PlacementContext, PlacementFilter, PlacementPicker, PlacementScorer } from '../types.js';

/**
 * A filter may explain, when it has removed every candidate, why (the framework puts it in E_NO_CANDIDATE).
 * Filters keep order and may return their input array untouched (nothing removed) or a buffer they reuse.
 */
export interface ExplainingFilter extends PlacementFilter {
  whyEmpty?(ctx: PlacementContext, candidates: readonly InstanceView[]): string;
}

export type FilterFactory = (params: Params, path: string) => ExplainingFilter;
export type ScorerFactory = (params: Params, path: string) => PlacementScorer;
export type PickerFactory = (params: Params, path: string) => PlacementPicker;

/**
 * Keeps the candidates for which keep(ctx, inst) holds, in order. Returns the input when nothing is removed, else
 * `out` (a buffer the filter owns and reuses: valid until its next call). keep is created once, not per call.
 */
export function keepInto(
  out: InstanceView[],
  ctx: PlacementContext,
  candidates: readonly InstanceView[],
  keep: (ctx: PlacementContext, inst: InstanceView) => boolean,
): InstanceView[] {
  let n = 0;
  for (const inst of candidates) if (keep(ctx, inst)) out[n++] = inst;
  if (n === candidates.length) return candidates as InstanceView[];
  out.length = n;
  return out;
}
