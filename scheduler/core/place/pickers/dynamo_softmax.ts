// dynamo-softmax: Dynamo's worker selection over its costs (lib/kv-router/src/scheduling/selector.rs, §2.1 [D3]).
// It reads the pipeline's totals, which for the dynamo-kv profile are the min–max normalised inverted costs, so:
//   T = 0: argmin cost = argmax total. Ties: tieBreak 'fewest-blocks' (default) takes the fewest kvBlocksUsed —
//          our stand-in for Dynamo's documented "smallest cached tree" — then random; 'random' breaks ties uniformly
//          at random, as the current selector does (reservoir sampling over tied minima).
//   T > 0: p_i ∝ exp(−(c_i − c_min) / ((c_max − c_min)·T)) = exp(−(t_max − t_i) / ((t_max − t_min)·T)),
//          uniform when all are equal; one uniform draw u, first i with u ≤ cumulative p.
// Default temperature 0 (Dynamo's router_temperature default).
import { onlyKeys, readEnum, readNumber, type Params } from '../../config/params.js';
import type { InstanceView, PlacementContext, PlacementPicker, ScoreTable } from '../../types.js';
import { argmaxRandomTies } from './max_score.js';

const TIE_BREAKS = ['fewest-blocks', 'random'] as const;

function argmaxFewestBlocks(ctx: PlacementContext, candidates: readonly InstanceView[], total: Float64Array): number {
  let best = 0;
  let ties = 0;
  for (let i = 0; i < candidates.length; i++) {
    const s = total[i] as number;
    const bestS = total[best] as number;
    const blocks = (candidates[i] as InstanceView).kvBlocksUsed;
    const bestBlocks = (candidates[best] as InstanceView).kvBlocksUsed;
    if (i === 0 || s > bestS || (s === bestS && blocks < bestBlocks)) {
      best = i;
      ties = 1;
    } else if (s === bestS && blocks === bestBlocks) {
      ties++;
      if (ctx.rng.next() * ties < 1) best = i;
    }
  }
  return best;
}

export function softmaxSample(ctx: PlacementContext, total: Float64Array, n: number, temperature: number, weights: Float64Array): number {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const t = total[i] as number;
    if (t < min) min = t;
    if (t > max) max = t;
  }
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const w = max === min ? 1 : Math.exp(-((max - (total[i] as number)) / ((max - min) * temperature)));
    weights[i] = w;
    sum += w;
  }
  const u = ctx.rng.next();
  let cumulative = 0;
  for (let i = 0; i < n; i++) {
    cumulative += (weights[i] as number) / sum;
    if (u <= cumulative) return i;
  }
  return n - 1;
}

export function makeDynamoSoftmaxPicker(params: Params, path: string): PlacementPicker {
  onlyKeys(params, path, ['temperature', 'tieBreak']);
  const temperature = readNumber(params, 'temperature', path, 0, { min: 0 });
  const tieBreak = readEnum(params, 'tieBreak', path, TIE_BREAKS, 'fewest-blocks');
  let weights = new Float64Array(64);
  return {
    name: 'dynamo-softmax',
    pick: (ctx, candidates, scores: ScoreTable) => {
      const n = candidates.length;
      if (temperature > 0) {
        if (weights.length < n) weights = new Float64Array(n * 2);
        return softmaxSample(ctx, scores.total, n, temperature, weights);
      }
      return tieBreak === 'random' ? argmaxRandomTies(ctx, scores.total, n) : argmaxFewestBlocks(ctx, candidates, scores.total);
    },
  };
}
