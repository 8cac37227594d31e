// active-requests: fewer requests in flight (router-side count: sent here, not finished) scores higher,
// min–max normalised as llm-d's queue-scorer; all equal → 1. The `least-loaded` baseline is this scorer alone.
import { onlyKeys, type Params } from '../../config/params.js';
import type { InstanceView, PlacementScorer } from '../../types.js';
import { minMaxInverse } from './llmd_queue.js';

const inFlight = (inst: InstanceView): number => inst.inFlightRequests;

export function makeActiveRequestsScorer(params: Params, path: string): PlacementScorer {
  onlyKeys(params, path, []);
  return { name: 'active-requests', score: (_ctx, candidates, out) => minMaxInverse(candidates, out, inFlight) };
}
