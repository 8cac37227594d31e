// load: how much room an instance has, counting what other load scores miss — KV blocks held for idle sessions
// between turns (they are not free: keeping them is the point, and evicting them costs a recompute later).
//   kv    = min(1, (used + retainedWeight·retained) / total)
//   queue = min(1, queuedRequests / queueSaturation)
//   s     = 1 − (kvWeight·kv + queueWeight·queue) / (kvWeight + queueWeight)
// Absolute, not min–max: a 0-vs-1 queue difference should not swing the score as much as 0-vs-50.
import { ConfigError, onlyKeys, readNumber, type Params } from '../../config/params.js';
import type { InstanceView, PlacementScorer } from '../../types.js';

export function makeLoadScorer(params: Params, path: string): PlacementScorer {
  onlyKeys(params, path, ['kvWeight', 'queueWeight', 'retainedWeight', 'queueSaturation']);
  const kvWeight = readNumber(params, 'kvWeight', path, 0.5, { min: 0 });
  const queueWeight = readNumber(params, 'queueWeight', path, 0.5, { min: 0 });
  const retainedWeight = readNumber(params, 'retainedWeight', path, 1, { min: 0 });
  const queueSaturation = readNumber(params, 'queueSaturation', path, 8, { above: 0 });
  if (kvWeight + queueWeight === 0) throw new ConfigError(`${path}.kvWeight`, 'kvWeight and queueWeight cannot both be 0');
  const norm = 1 / (kvWeight + queueWeight);
  return {
    name: 'load',
    score: (_ctx, candidates, out) => {
      for (let i = 0; i < candidates.length; i++) {
        const inst = candidates[i] as InstanceView;
        const kv = inst.kvBlocksTotal > 0 ? Math.min(1, (inst.kvBlocksUsed + retainedWeight * inst.kvBlocksRetained) / inst.kvBlocksTotal) : 1;
        const queue = Math.min(1, inst.queuedRequests / queueSaturation);
        out[i] = 1 - (kvWeight * kv + queueWeight * queue) * norm;
      }
    },
  };
}
