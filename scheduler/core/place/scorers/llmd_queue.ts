// queue-scorer, llm-d's default profile (weight 2) [anchors-mission §2.2, L3]:
//   s(e) = (maxQ − Q(e)) / (maxQ − minQ), and 1.0 for every endpoint when all queues are equal;
// Q = the endpoint's waiting queue (vLLM's num_requests_waiting → InstanceView.queuedRequests).
import { onlyKeys, type Params } from '../../config/params.js';
import type { InstanceView, PlacementScorer } from '../../types.js';

/** Writes (max − x) / (max − min) per candidate, or 1 everywhere when all are equal. */
export function minMaxInverse(candidates: readonly InstanceView[], out: Float64Array, value: (inst: InstanceView) => number): void {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < candidates.length; i++) {
    const v = value(candidates[i] as InstanceView);
    out[i] = v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const range = max - min;
  for (let i = 0; i < candidates.length; i++) out[i] = range > 0 ? (max - (out[i] as number)) / range : 1;
}

const queued = (inst: InstanceView): number => inst.queuedRequests;

export function makeLlmdQueueScorer(params: Params, path: string): PlacementScorer {
  onlyKeys(params, path, []);
  return { name: 'queue-scorer', score: (_ctx, candidates, out) => minMaxInverse(candidates, out, queued) };
}
