// The split search: each candidate's goodput capacity (architecture §3: the highest load scale at which SLO
// attainment holds the target) by a bounded bisection on the load (scheduler/report/capacity.ts), spent by
// successive halving (scheduler/tune/halving.ts planRungs): every candidate on a short horizon with few probes, the
// best 1/eta on a horizon eta times longer with more probes, ... the last rung on the full horizon. The all-mixed
// baseline of every degree (the sizing rule's first, candidates[0]) always reaches the last rung, so best vs all-mixed
// is measured on the same workload, seed and horizon. The runner is injected (the simulator, or a fake in tests); everything is
// in candidate order, so the same inputs give the same result.
import { findCapacity, type CapacityProbe } from '../report/capacity.js';
import { planRungs, type Rung } from '../tune/halving.js';
import type { SplitCandidate } from './candidates.js';

/** What one run at one load reports (the figures the table and the ranking need). */
export interface PlanPoint {
  slo_attainment: number | null;
  goodput_rps: number | null;
  tool_call_ttft_p99_s: number | null;
  ttft_p99_s: number | null;
  tpot_p99_s: number | null;
  requests: number;
  /** Requests served prefill → hand-off → decode. */
  disaggregated: number;
}

export type PlanEvaluate = (c: SplitCandidate, load: number, durationS: number) => Promise<PlanPoint>;

export interface PlanTrial {
  /** `r<rung>-<candidate id>`. */
  id: string;
  rung: number;
  candidate: SplitCandidate;
  /** Index in the enumeration (the last tie-break). */
  index: number;
  duration_s: number;
  /** Highest passing load probed; null: even the smallest load failed. */
  capacity: number | null;
  first_failing: number | null;
  stop: string;
  probes: CapacityProbe[];
  /** The run at the capacity (null without one). */
  at_capacity: PlanPoint | null;
}

export interface PlanProgress {
  done: number;
  total: number;
  rung: number;
  rungs: number;
  durationS: number;
  last: PlanTrial;
  best: PlanTrial;
}

export interface PlanOptions {
  candidates: readonly SplitCandidate[];
  evaluate: PlanEvaluate;
  eta: number;
  minDurationS: number;
  maxDurationS: number;
  /** Attainment to hold (default 0.9). */
  target?: number;
  /** First load probed for the first candidate; the others start from its capacity. */
  startLoad: number;
  /** Loads are whole numbers (closed-loop sessions). */
  integer?: boolean;
  onProgress?: (p: PlanProgress) => void;
}

export interface PlanResult {
  rungs: Rung[];
  trials: PlanTrial[];
  /** The best of the last rung. */
  best: PlanTrial;
  /** The all-mixed baseline at the default degree, on the last rung. */
  baseline: PlanTrial;
  /** The best all-mixed candidate of the last rung (every degree's baseline runs there). */
  bestAllMixed: PlanTrial;
}

/** Probes and tolerance per rung: coarse first (the ranking only has to keep the good ones), fine on the last. */
export function rungBudget(rung: number, last: boolean): { maxProbes: number; relTolerance: number } {
  return last ? { maxProbes: 8, relTolerance: 0.05 } : { maxProbes: 4 + rung, relTolerance: 0.15 };
}

/** Best first: higher capacity, then higher attainment at it, then fewer GPUs, then enumeration order. */
export function comparePlanTrials(a: PlanTrial, b: PlanTrial): number {
  const ca = a.capacity ?? -1;
  const cb = b.capacity ?? -1;
  if (ca !== cb) return cb - ca;
  const sa = a.at_capacity?.slo_attainment ?? -1;
  const sb = b.at_capacity?.slo_attainment ?? -1;
  if (sa !== sb) return sb - sa;
  if (a.candidate.gpus !== b.candidate.gpus) return a.candidate.gpus - b.candidate.gpus;
  return a.index - b.index;
}

export class NoCapacityError extends Error {
  readonly code = 'E_NO_CAPACITY';
}

function checkOptions(o: PlanOptions): void {
  if (o.candidates.length === 0) throw new RangeError('plan: no candidates');
  if (!(o.startLoad > 0 && Number.isFinite(o.startLoad))) throw new RangeError(`plan.startLoad: expected a number > 0, got ${o.startLoad}`);
  const target = o.target ?? 0.9;
  if (!(target > 0 && target <= 1)) throw new RangeError(`plan.target: expected (0, 1], got ${target}`);
}

export async function planSplit(o: PlanOptions): Promise<PlanResult> {
  checkOptions(o);
  const target = o.target ?? 0.9;
  const rungs = planRungs({ samples: o.candidates.length, eta: o.eta, minDurationS: o.minDurationS, maxDurationS: o.maxDurationS });
  const lastRung = rungs.length - 1;
  // Loads below this are not probed: a split that fails at 1/64 of the first capacity is not worth a rack.
  const minLoad = o.integer ? 1 : o.startLoad / 64;
  const trials: PlanTrial[] = [];
  let alive = o.candidates.map((_, i) => i);
  const baselines = o.candidates.flatMap((c, i) => (c.baseline || i === 0 ? [i] : []));
  let total = rungs.reduce((n, r, i) => n + r.size + (i === lastRung && i > 0 ? baselines.length : 0), 0);
  let done = 0;
  const previous = new Map<number, PlanTrial>();
  let firstCapacity: number | null = null;
  for (const rung of rungs) {
    const last = rung.rung === lastRung;
    // Every degree's all-mixed baseline joins the last rung: best ÷ all-mixed at the same TP separates what the
    // split gains from what the degree gains.
    const members = last ? [...new Set([...alive, ...baselines])].sort((a, b) => a - b) : [...alive].sort((a, b) => a - b);
    if (last) total = done + members.length;
    const { maxProbes, relTolerance } = rungBudget(rung.rung, last);
    const rungTrials: PlanTrial[] = [];
    let rungBest: PlanTrial | undefined;
    for (const index of members) {
      const candidate = o.candidates[index] as SplitCandidate;
      const prior = previous.get(index);
      // Start where this candidate was last found (or where the first one was): the bracket is then one probe away.
      const start = prior?.capacity ?? (prior?.first_failing != null ? prior.first_failing / 2 : null) ?? firstCapacity ?? o.startLoad;
      const points = new Map<number, PlanPoint>();
      const found = await findCapacity({
        startLoad: Math.max(minLoad, start), minLoad, target, maxProbes, relTolerance, ...(o.integer && { integer: true }),
        evaluate: async (load) => {
          const point = await o.evaluate(candidate, load, rung.durationS);
          points.set(load, point);
          return point;
        },
      });
      const trial: PlanTrial = {
        id: `r${rung.rung}-${candidate.id}`, rung: rung.rung, candidate, index, duration_s: rung.durationS,
        capacity: found.capacity, first_failing: found.firstFailing, stop: found.stop, probes: found.probes,
        at_capacity: found.capacity === null ? null : (points.get(found.capacity) ?? null),
      };
      if (rung.rung === 0 && firstCapacity === null && found.capacity !== null) firstCapacity = found.capacity;
      rungTrials.push(trial);
      previous.set(index, trial);
      done++;
      if (!rungBest || comparePlanTrials(trial, rungBest) < 0) rungBest = trial;
      o.onProgress?.({ done, total, rung: rung.rung, rungs: rungs.length, durationS: rung.durationS, last: trial, best: rungBest });
    }
    trials.push(...rungTrials);
    if (rung.rung === 0 && rungTrials.every((t) => t.capacity === null)) {
      const lowest = Math.min(...rungTrials.flatMap((t) => t.probes.map((p) => p.load)));
      throw new NoCapacityError(`no split holds ${(target * 100).toFixed(0)} % SLO attainment at any load probed (down to ${Number(lowest.toPrecision(3))}x ` +
        `the workload's rate, ${rung.durationS} simulated s): loosen the SLOs (--goodput), try a larger cluster, or a faster GPU or weightDtype`);
    }
    const next = rungs[rung.rung + 1];
    if (next) alive = [...rungTrials].sort(comparePlanTrials).slice(0, next.size).map((t) => t.index);
  }
  const final = trials.filter((t) => t.rung === lastRung);
  const best = [...final].sort(comparePlanTrials)[0] as PlanTrial;
  if (best.capacity === null) {
    throw new NoCapacityError(`no split of the last rung holds ${(target * 100).toFixed(0)} % SLO attainment on the full ${o.maxDurationS} simulated s ` +
      '(the shorter horizons were kinder): loosen the SLOs (--goodput), or plan on a larger cluster');
  }
  const baseline = final.find((t) => t.index === 0) as PlanTrial;
  const bestAllMixed = final.filter((t) => t.candidate.baseline).sort(comparePlanTrials)[0] ?? baseline;
  return { rungs, trials, best, baseline, bestAllMixed };
}
