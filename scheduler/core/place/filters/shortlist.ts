// shortlist (ours): before the scorers, keep only the candidates worth scoring — the session's home, the `byPrefix`
// instances holding the longest cached prefix, and the `byLoad` least-loaded ones. Scoring every instance of a
// 72-GPU rack with the shape-aware scorers costs more than a routing decision may (issue 4: p99 ≤ 50 µs); an
// instance that is neither among the best-cached nor among the least-loaded could not win on those scorers
// anyway unless every weight were on locality. The same idea as power-of-k choices, with cache awareness.
//   prefix rank: deviceBlocks + hostWeight·hostBlocks + neighbourWeight·neighbourBlocks (ties: lower load first)
//   load rank:   pending prefill / step budget  +  (used + retained) / total KV  +  queued / (queued + running + 1)
// Keeps candidate order. With byPrefix + byLoad + 1 ≥ candidates it removes nothing.
import { onlyKeys, readNumber, type Params } from '../../config/params.js';
import type { InstanceView, PlacementContext } from '../../types.js';
import type { ExplainingFilter } from '../plugin.js';

function loadOf(inst: InstanceView): number {
  const kv = inst.kvBlocksTotal > 0 ? (inst.kvBlocksUsed + inst.kvBlocksRetained) / inst.kvBlocksTotal : 1;
  // Prefill backlog in steps: what a new request waits behind and what its decodes will share steps with.
  const backlogSteps = inst.pendingPrefillTokens / Math.max(1, inst.stepTokenBudget);
  return backlogSteps + kv + inst.queuedRequests / (inst.queuedRequests + inst.runningRequests + 1);
}

/** Marks in `keep` the k candidates with the highest key (lowest when ascending), by partial selection. */
function markTopK(keys: Float64Array, n: number, k: number, keep: Uint8Array, ascending: boolean): void {
  for (let picked = 0; picked < k && picked < n; picked++) {
    let best = -1;
    for (let i = 0; i < n; i++) {
      if (keep[i] === 2) continue; // already taken by this selection
      const v = keys[i] as number;
      if (best < 0 || (ascending ? v < (keys[best] as number) : v > (keys[best] as number))) best = i;
    }
    if (best < 0) break;
    keep[best] = 2;
  }
  for (let i = 0; i < n; i++) if (keep[i] === 2) keep[i] = 1;
}

export function makeShortlistFilter(params: Params, path: string): ExplainingFilter {
  onlyKeys(params, path, ['byPrefix', 'byLoad', 'hostWeight', 'neighbourWeight']);
  const byPrefix = readNumber(params, 'byPrefix', path, 8, { min: 0, integer: true });
  const byLoad = readNumber(params, 'byLoad', path, 8, { min: 1, integer: true });
  const hostWeight = readNumber(params, 'hostWeight', path, 0.5, { min: 0 });
  const neighbourWeight = readNumber(params, 'neighbourWeight', path, 0.25, { min: 0 });
  let keys = new Float64Array(64);
  let loads = new Float64Array(64);
  let keep = new Uint8Array(64);
  const out: InstanceView[] = [];
  return {
    name: 'shortlist',
    filter(ctx: PlacementContext, candidates: readonly InstanceView[]): InstanceView[] {
      const n = candidates.length;
      if (n <= byPrefix + byLoad + 1) return candidates as InstanceView[];
      if (keys.length < n) {
        keys = new Float64Array(n * 2);
        loads = new Float64Array(n * 2);
        keep = new Uint8Array(n * 2);
      }
      keep.fill(0, 0, n);
      let anyHit = false;
      for (let i = 0; i < n; i++) {
        const inst = candidates[i] as InstanceView;
        const hit = ctx.prefix(inst);
        const load = loadOf(inst);
        loads[i] = load;
        // The load term only breaks ties between equal hits (scaled below one block).
        const blocks = hit.deviceBlocks + hostWeight * hit.hostBlocks + neighbourWeight * hit.neighbourBlocks;
        if (blocks > 0) anyHit = true;
        keys[i] = blocks - load / (load + 1);
        if (inst.instanceId === ctx.sessionHome) keep[i] = 1;
      }
      if (anyHit) markTopK(keys, n, byPrefix, keep, false);
      markTopK(loads, n, byLoad, keep, true);
      let m = 0;
      for (let i = 0; i < n; i++) if (keep[i] === 1) out[m++] = candidates[i] as InstanceView;
      out.length = m;
      return out;
    },
  };
}
