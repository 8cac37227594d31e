// max-score: the highest total wins; ties go uniformly at random (ctx.rng), as llm-d's max-score-picker gets by
// shuffling before a stable sort [anchors-mission §2.2, L6]. Reservoir sampling gives the same distribution
// without shuffling: the k-th tied candidate replaces the choice with probability 1/k.
import { onlyKeys, type Params } from '../../config/params.js';
import type { PlacementContext, PlacementPicker, ScoreTable } from '../../types.js';

export function argmaxRandomTies(ctx: PlacementContext, total: Float64Array, n: number): number {
  let best = 0;
  let bestScore = -Infinity;
  let ties = 0;
  for (let i = 0; i < n; i++) {
    const s = total[i] as number;
    if (s > bestScore) {
      best = i;
      bestScore = s;
      ties = 1;
    } else if (s === bestScore) {
      ties++;
      if (ctx.rng.next() * ties < 1) best = i;
    }
  }
  return best;
}

export function makeMaxScorePicker(params: Params, path: string): PlacementPicker {
  onlyKeys(params, path, []);
  return { name: 'max-score', pick: (ctx, candidates, scores: ScoreTable) => argmaxRandomTies(ctx, scores.total, candidates.length) };
}
