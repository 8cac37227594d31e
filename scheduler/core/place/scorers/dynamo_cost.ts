// dynamo-cost: NVIDIA Dynamo's KV router cost (`--router-mode kv`), anchors-mission §2.1 [D1][D2][D3]:
//   raw_prefill_blocks      = (active_prefill_tokens(w) + isl_tokens) / block_size
//   overlap_credit_blocks   = c_dev·decay(w)·device_overlap(w) + w_host·host_overlap(w) + w_nb·neighbour_overlap(w)
//   adjusted_prefill_blocks = max(raw_prefill_blocks − overlap_credit_blocks, 0)
//   decode_blocks           = active_decode_blocks(w) + additional_active_blocks(w)
//   cost(w) = prefill_load_scale·adjusted + decode_blocks                 (linear, default)
//   cost(w) = adjusted·(decode_blocks + 1)                                 (lmetric)
//   decay(w) = 1 / (1 + overlap_score_credit_decay·(active_prefill(w) − min active_prefill)/block_size/request_blocks)
// Defaults as Dynamo: overlapScoreCredit (c_dev) 1.0, hostCacheHitWeight 0.75, prefillLoadScale 1,
// overlapScoreCreditDecay 0. neighbourCacheHitWeight 0: Dynamo has no NVLink-neighbour tier (its
// shared_cache_credit is for a shared pool), so by default the baseline gives a neighbour's blocks no credit.
// Mapping of InstanceView to Dynamo's terms (router-side slot tracker → engine-reported here):
//   active_prefill_tokens  = pendingPrefillTokens (uncached prompt tokens not yet prefilled, queued or running)
//   active_decode_blocks   = kvBlocksUsed (blocks of live requests; blocks retained for idle sessions are NOT
//                            counted, exactly Dynamo's blind spot for paused sessions, anchors-mission §5.3)
//   additional_active_blocks = request_blocks − device_overlap (request blocks not already resident; Dynamo counts
//                            those not shared with *active* sequences — we cannot tell active from cached-idle)
// The score is the cost min–max normalised and inverted, s = (cmax − c)/(cmax − cmin) (1 when all equal), so the
// argmax of the score is Dynamo's argmin and Dynamo's softmax over normalised costs is a softmax over s.
import { onlyKeys, readEnum, readNumber, type Params } from '../../config/params.js';
import type { InstanceView, PlacementContext, PlacementScorer, PrefixHit } from '../../types.js';

const POLICIES = ['linear', 'lmetric'] as const;

export interface DynamoParams {
  overlapScoreCredit: number;
  hostCacheHitWeight: number;
  neighbourCacheHitWeight: number;
  prefillLoadScale: number;
  overlapScoreCreditDecay: number;
  selectionPolicy: (typeof POLICIES)[number];
}

export function readDynamoParams(params: Params, path: string): DynamoParams {
  onlyKeys(params, path, ['overlapScoreCredit', 'hostCacheHitWeight', 'neighbourCacheHitWeight', 'prefillLoadScale', 'overlapScoreCreditDecay', 'selectionPolicy']);
  return {
    overlapScoreCredit: readNumber(params, 'overlapScoreCredit', path, 1.0, { min: 0 }),
    hostCacheHitWeight: readNumber(params, 'hostCacheHitWeight', path, 0.75, { min: 0 }),
    neighbourCacheHitWeight: readNumber(params, 'neighbourCacheHitWeight', path, 0, { min: 0 }),
    prefillLoadScale: readNumber(params, 'prefillLoadScale', path, 1, { min: 0 }),
    overlapScoreCreditDecay: readNumber(params, 'overlapScoreCreditDecay', path, 0, { min: 0 }),
    selectionPolicy: readEnum(params, 'selectionPolicy', path, POLICIES, 'linear'),
  };
}

/** Dynamo's cost of sending this request to `inst` (lower is better). minActivePrefillTokens: over candidates. */
export function dynamoCost(ctx: PlacementContext, inst: InstanceView, hit: PrefixHit, p: DynamoParams, minActivePrefillTokens: number): number {
  const b = ctx.blockTokens;
  const requestBlocks = Math.ceil(ctx.req.promptTokens / b);
  const rawPrefillBlocks = (inst.pendingPrefillTokens + ctx.req.promptTokens) / b;
  let decay = 1;
  if (p.overlapScoreCreditDecay > 0 && requestBlocks > 0) {
    const excessBlocks = (inst.pendingPrefillTokens - minActivePrefillTokens) / b;
    decay = 1 / (1 + p.overlapScoreCreditDecay * (excessBlocks / requestBlocks));
  }
  const credit = p.overlapScoreCredit * decay * hit.deviceBlocks + p.hostCacheHitWeight * hit.hostBlocks + p.neighbourCacheHitWeight * hit.neighbourBlocks;
  const adjusted = Math.max(rawPrefillBlocks - credit, 0);
  const decodeBlocks = inst.kvBlocksUsed + Math.max(0, requestBlocks - hit.deviceBlocks);
  return p.selectionPolicy === 'lmetric' ? adjusted * (decodeBlocks + 1) : p.prefillLoadScale * adjusted + decodeBlocks;
}

export function makeDynamoCostScorer(params: Params, path: string): PlacementScorer {
  const p = readDynamoParams(params, path);
  return {
    name: 'dynamo-cost',
    score: (ctx, candidates, out) => {
      let minPending = Infinity;
      for (const inst of candidates) if (inst.pendingPrefillTokens < minPending) minPending = inst.pendingPrefillTokens;
      let min = Infinity;
      let max = -Infinity;
      for (let i = 0; i < candidates.length; i++) {
        const inst = candidates[i] as InstanceView;
        const c = dynamoCost(ctx, inst, ctx.prefix(inst), p, minPending);
        out[i] = c;
        if (c < min) min = c;
        if (c > max) max = c;
      }
      const range = max - min;
      for (let i = 0; i < candidates.length; i++) out[i] = range > 0 ? (max - (out[i] as number)) / range : 1;
    },
  };
}
