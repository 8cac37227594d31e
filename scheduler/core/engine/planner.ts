// One step of one instance, as vLLM v1's Scheduler.schedule(): running sequences first (a decode token each, or the
// next chunk of their prefill), preempting by policy when a block cannot be had; then, only if nobody was
// preempted, swapped sequences back from Grace and waiting ones in policy order, while the token budget, the
// running-sequence cap and KV allow. The first waiting head that does not fit stops admission (no skipping, so a
// large request cannot starve). Work per step: O(running) plus O(log queued) per admitted sequence.
import type { StepItem } from '../types.js';
import { groupBefore, type TenantGroup } from './fair_share.js';
import { blocksFor, numTokens, workTokens, type Seq } from './seq.js';
import type { SeqHeap } from './seq_heap.js';
import { compactRunning, enterQueue, enterRunning, leaveQueue, leaveRunning, trackPrefill, type EngineState } from './state.js';
import type { EnginePlan } from './types.js';

interface Build {
  plan: EnginePlan;
  st: EngineState;
  /** Items built so far, in st.buildItems and st.planSeqs (null where a victim's item was withdrawn). */
  n: number;
  budget: number;
  prefillTokens: number;
  numDecodes: number;
  withdrawn: number;
  nowS: number;
}

export function planStep(st: EngineState, nowS: number): { plan: EnginePlan; seqs: readonly (Seq | null)[] } {
  compactRunning(st);
  const b = newBuild(st, nowS);
  if (st.policy.decodesFirst) {
    if (runningPass(st, b, true)) runningPass(st, b, false);
  } else {
    runningPass(st, b, null);
  }
  if (b.plan.preempted.length === 0) {
    swapInPass(st, b);
    admitPass(st, b);
  }
  b.plan.holdUntilS = heldUntil(st, b);
  return finish(st, b);
}

function newBuild(st: EngineState, nowS: number): Build {
  const moves = st.sessionMoves;
  st.sessionMoves = [];
  const plan: EnginePlan = {
    instanceId: st.instanceId,
    stepId: st.nextStepId++,
    plannedAtS: nowS,
    items: [],
    preempted: [],
    admitted: [],
    budgetTokens: st.cfg.stepTokenBudget,
    usedTokens: 0,
    swappedOut: [],
    swappedIn: [],
    sessionMoves: moves,
    evictedSessions: [],
    holdUntilS: null,
  };
  return { plan, st, n: 0, budget: st.cfg.stepTokenBudget, prefillTokens: 0, numDecodes: 0, withdrawn: 0, nowS };
}

/** Tokens to schedule for s now: 1 for a decode, else the next prefill chunk under every cap; 0 = none this step. */
function chunkFor(st: EngineState, b: Build, s: Seq): number {
  if (s.decoding) return b.budget > 0 ? 1 : 0;
  const threshold = st.cfg.longPrefillThresholdTokens > 0 ? st.cfg.longPrefillThresholdTokens : Infinity;
  const stepRoom = st.policy.stepPrefillCapTokens(b.numDecodes) - b.prefillTokens;
  const n = Math.min(numTokens(s) - s.computedTokens, b.budget, threshold, st.policy.maxPrefillChunkTokens(s), stepRoom);
  return n > 0 ? Math.floor(n) : 0;
}

function blocksNeeded(st: EngineState, s: Seq, numNew: number): number {
  return blocksFor(Math.max(s.computedTokens + numNew, s.floorTokens), st.cfg.blockTokens);
}

function addItem(b: Build, s: Seq, numNew: number): void {
  const kind = s.decoding ? 'decode' : 'prefill';
  const i = b.n++;
  s.planIndex = i;
  const item = b.st.recycle ? b.st.buildItems[i] : undefined;
  if (item) {
    item.seqId = s.seqId;
    item.kind = kind;
    item.numNewTokens = numNew;
    item.numCachedTokens = s.computedTokens;
  } else {
    b.st.buildItems[i] = { seqId: s.seqId, kind, numNewTokens: numNew, numCachedTokens: s.computedTokens };
  }
  b.st.planSeqs[i] = s;
  b.budget -= numNew;
  if (kind === 'decode') b.numDecodes++;
  else b.prefillTokens += numNew;
}

/** A victim already scheduled this step gives its tokens back (as vLLM does). */
function withdrawItem(b: Build, s: Seq): void {
  const item = b.st.buildItems[s.planIndex] as StepItem;
  b.budget += item.numNewTokens;
  if (item.kind === 'decode') b.numDecodes--;
  else b.prefillTokens -= item.numNewTokens;
  b.st.planSeqs[s.planIndex] = null;
  s.planIndex = -1;
  b.withdrawn++;
}

/** Idle sessions' HBM goes before any live sequence is preempted or refused (it is cache, not work). */
function evictOldestRetained(st: EngineState, b: Build): boolean {
  for (const key of st.retainedDevice.keys()) {
    st.retainedDevice.delete(key);
    st.ledger.unretain(key);
    b.plan.evictedSessions.push(key);
    return true;
  }
  return false;
}

function reserve(st: EngineState, b: Build, s: Seq, blocks: number): boolean {
  if (blocks <= s.kvBlocks) return true;
  while (!st.ledger.tryReserve(s.seqId, blocks)) {
    if (!evictOldestRetained(st, b)) return false;
  }
  s.kvBlocks = blocks;
  return true;
}

/** Lowest victimKey among running sequences; ties go to the latest in the running list (vLLM's running.pop()). */
function pickVictim(st: EngineState): Seq | undefined {
  if (st.fair.enabled) return pickFairVictim(st);
  let best: Seq | undefined;
  let bestKey = 0;
  for (let i = st.running.length - 1; i >= 0; i--) {
    const s = st.running[i] as Seq;
    if (s.phase !== 'running') continue;
    const key = st.policy.victimKey(s);
    if (best === undefined || key < bestKey) {
      best = s;
      bestKey = key;
    }
  }
  return best;
}

/**
 * Under fair share the victim comes from the lowest band, then from the tenant holding the most running sequences
 * per unit of weight (the one furthest over its share), and only then by the policy's victimKey; a sequence the
 * policy protects (key Infinity) stays last whatever its tenant. Without this, a quiet tenant's newly admitted
 * sequence is the natural victim of a flood's running ones (fcfs takes the latest admitted). One tenant: the
 * policy's order, unchanged.
 */
function pickFairVictim(st: EngineState): Seq | undefined {
  let best: Seq | undefined;
  let bestKey = 0;
  let bestBand = 0;
  let bestLoad = 0;
  for (let i = st.running.length - 1; i >= 0; i--) {
    const s = st.running[i] as Seq;
    if (s.phase !== 'running') continue;
    const key = st.policy.victimKey(s);
    const g = s.group as TenantGroup;
    const load = g.running / g.weight;
    let better = best === undefined;
    if (!better) {
      const protectedNow = key === Infinity;
      const protectedBest = bestKey === Infinity;
      if (protectedNow !== protectedBest) better = protectedBest;
      else if (g.band !== bestBand) better = g.band < bestBand;
      else if (load !== bestLoad) better = load > bestLoad;
      else better = key < bestKey;
    }
    if (better) {
      best = s;
      bestKey = key;
      bestBand = g.band;
      bestLoad = load;
    }
  }
  return best;
}

function preempt(st: EngineState, b: Build, v: Seq, reason: string): void {
  if (v.planIndex >= 0) withdrawItem(b, v);
  leaveRunning(st, v);
  v.preemptions++;
  const mode = st.policy.preemptionMode(v, st.cfg.preemptionMode[v.shape]);
  const heldBlocks = v.kvBlocks;
  if (mode === 'swap' && heldBlocks > 0 && st.ledger.swapOut(v.seqId)) {
    v.phase = 'preempted';
    v.swapped = true;
    st.swapped.push(v);
    st.counts.swapped++;
    b.plan.swappedOut.push({ seqId: v.seqId, kvBlocks: heldBlocks });
    b.plan.preempted.push({ seqId: v.seqId, mode: 'swap', reason });
    return;
  }
  // Recompute: the KV is thrown away and the outputs so far are prefilled again as prompt.
  st.ledger.release(v.seqId);
  v.kvBlocks = 0;
  trackPrefill(st, v, () => {
    v.computedTokens = 0;
    v.prefilledTokens = 0;
    v.cachedPromptTokens = 0;
    v.decoding = false;
  });
  enterQueue(st, v, b.nowS, 'preempted');
  const why = mode === 'swap' ? `${reason}; Grace tier full, recompute instead` : reason;
  b.plan.preempted.push({ seqId: v.seqId, mode: 'recompute', reason: why });
}

/** Reserves blocks for s, preempting victims until it fits; false when s itself was the victim. */
function reserveOrPreempt(st: EngineState, b: Build, s: Seq, blocks: number): boolean {
  for (;;) {
    if (reserve(st, b, s, blocks)) return true;
    const victim = pickVictim(st);
    if (!victim) return false;
    preempt(st, b, victim, `no free KV block: seq ${s.seqId} needs ${blocks} blocks`);
    if (victim === s) return false;
  }
}

/**
 * Schedules running sequences (only decoding ones, only prefilling ones, or all when `decoding` is null).
 * Returns false when a sequence had to preempt itself: as vLLM, no later running sequence is scheduled then.
 */
function runningPass(st: EngineState, b: Build, decoding: boolean | null): boolean {
  const list = st.running;
  const count = list.length;
  for (let i = 0; i < count; i++) {
    const s = list[i] as Seq;
    if (s.phase !== 'running' || s.planIndex >= 0) continue;
    if (decoding !== null && s.decoding !== decoding) continue;
    if (b.budget <= 0) return true;
    const numNew = chunkFor(st, b, s);
    if (numNew <= 0) continue;
    if (!reserveOrPreempt(st, b, s, blocksNeeded(st, s, numNew))) return false;
    addItem(b, s, numNew);
  }
  return true;
}

function swapInPass(st: EngineState, b: Build): void {
  const list = st.swapped;
  let done = 0;
  for (; done < list.length; done++) {
    const s = list[done] as Seq;
    if (s.phase !== 'preempted' || !s.swapped) continue; // cancelled while in Grace
    if (st.counts.running >= st.cfg.maxRunningSeqs || b.budget <= 0) break;
    const numNew = chunkFor(st, b, s);
    if (numNew <= 0) break;
    const blocks = Math.max(s.kvBlocks, blocksNeeded(st, s, numNew));
    if (!swapIn(st, b, s, blocks)) break;
    b.plan.swappedIn.push({ seqId: s.seqId, kvBlocks: s.kvBlocks });
    s.kvBlocks = blocks;
    s.swapped = false;
    st.counts.swapped--;
    enterRunning(st, s);
    addItem(b, s, numNew);
  }
  if (done > 0) list.splice(0, done);
}

function swapIn(st: EngineState, b: Build, s: Seq, blocks: number): boolean {
  while (!st.ledger.swapIn(s.seqId, blocks)) {
    if (!evictOldestRetained(st, b)) return false;
  }
  return true;
}

function held(st: EngineState, b: Build, s: Seq, runningBefore: number): boolean {
  const windowS = st.policy.waitWindowS(s.shape);
  // A window only spares a decode-only step: never on an idle instance, never once the step carries a prefill.
  return windowS > 0 && runningBefore > 0 && b.prefillTokens === 0 && b.nowS < s.enqueuedS + windowS;
}

/** The eligible head with the lowest key across one group's shape heaps. */
function groupHead(st: EngineState, b: Build, g: TenantGroup, runningBefore: number): Seq | undefined {
  let best: Seq | undefined;
  const heaps = g.heaps;
  for (let i = 0; i < heaps.length; i++) {
    const s = (heaps[i] as SeqHeap).peek();
    if (!s || (st.hasWaitWindows && held(st, b, s, runningBefore))) continue;
    if (!best || s.queueKeyValue < best.queueKeyValue || (s.queueKeyValue === best.queueKeyValue && s.seqId < best.seqId)) best = s;
  }
  return best;
}

/**
 * The next sequence to admit: the fair-share group's best head (fair_share.ts: band, then virtual time; one group
 * when fair share is off). Only when wait windows hold all of that group's heads are the other groups scanned, in
 * the same (band, virtual time) order.
 */
function nextHead(st: EngineState, b: Build, runningBefore: number): Seq | undefined {
  const top = st.fair.top();
  if (!top) return undefined;
  const s = groupHead(st, b, top, runningBefore);
  if (s || !st.hasWaitWindows) return s;
  let best: Seq | undefined;
  let bestGroup: TenantGroup | undefined;
  for (const g of st.fair.activeGroups()) {
    if (g === top || (bestGroup && !groupBefore(g, bestGroup))) continue;
    const h = groupHead(st, b, g, runningBefore);
    if (h) {
      best = h;
      bestGroup = g;
    }
  }
  return best;
}

function admitPass(st: EngineState, b: Build): void {
  const runningBefore = st.counts.running;
  while (st.counts.running < st.cfg.maxRunningSeqs && b.budget > 0) {
    const s = nextHead(st, b, runningBefore);
    if (!s) return;
    const numNew = chunkFor(st, b, s);
    if (numNew <= 0 || !reserve(st, b, s, blocksNeeded(st, s, numNew))) return;
    st.fair.charge(s.group as TenantGroup, workTokens(s));
    leaveQueue(st, s);
    enterRunning(st, s);
    addItem(b, s, numNew);
    b.plan.admitted.push(s.seqId);
  }
}

function heldUntil(st: EngineState, b: Build): number | null {
  if (!st.hasWaitWindows) return null;
  let until: number | null = null;
  for (const g of st.fair.activeGroups()) {
    for (const heap of g.heaps) {
      const s = heap.peek();
      if (!s || !held(st, b, s, st.counts.running)) continue;
      const at = s.enqueuedS + st.policy.waitWindowS(s.shape);
      if (until === null || at < until) until = at;
    }
  }
  return until;
}

function finish(st: EngineState, b: Build): { plan: EnginePlan; seqs: readonly (Seq | null)[] } {
  const items = st.buildItems;
  const seqs = st.planSeqs;
  let n = b.n;
  if (b.withdrawn > 0) {
    // Compact in place; items are swapped, not copied, so no item object ends up at two indices.
    let w = 0;
    for (let r = 0; r < n; r++) {
      const s = seqs[r];
      if (!s) continue;
      if (w !== r) {
        const moved = items[r] as StepItem;
        items[r] = items[w] as StepItem;
        items[w] = moved;
        seqs[w] = s;
        s.planIndex = w;
      }
      w++;
    }
    n = w;
  }
  const plan = b.plan;
  plan.items = items.slice(0, n);
  plan.usedTokens = st.cfg.stepTokenBudget - b.budget;
  return { plan, seqs };
}
