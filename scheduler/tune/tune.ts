// The search: sample 0 is the shipped shape-aware configuration, samples 1..n-1 are scrambled-Halton points of the
// search space (seeded), and successive halving spends the budget (simulated seconds per trial) on the ones that
// looked best cheaply. The last rung always includes sample 0, so "best vs default" is measured on the same
// workload, seed and duration. Trials run through a TrialRunner (in process, or BullMQ workers); the result holds
// every trial exactly once, in (rung, sample) order whatever order they finished in.
import type { SloOverrides } from '../report/goodput.js';
import { ScrambledHalton } from './halton.js';
import { compareTrials, planRungs, survivors, type Rung } from './halving.js';
import { paretoFront } from './pareto.js';
import { DIMENSIONS, decodePoint, defaultParams, policyFor } from './space.js';
import type { TrialResult, TrialRunner, TrialSpec, TuneParams, WorkloadSpec } from './types.js';

export interface TuneOptions {
  workload: WorkloadSpec;
  goodput: SloOverrides;
  samples: number;
  eta: number;
  minDurationS: number;
  maxDurationS: number;
  /** Seeds the sampler (the workload has its own seed in `workload.seed`). */
  seed: number;
}

export interface TuneProgress {
  done: number;
  total: number;
  rung: number;
  rungs: number;
  durationS: number;
  last: TrialResult;
  best: TrialResult;
}

export interface ParetoRung {
  rung: number;
  duration_s: number;
  ids: string[];
}

export interface TuneResult {
  rungs: Rung[];
  trials: TrialResult[];
  /** The best trial of the last rung (full duration). */
  best: TrialResult;
  /** Sample 0 (the shipped default) on the last rung. */
  baseline: TrialResult;
  /** The goodput/cost front of each rung (trials of one rung share a duration). */
  pareto: ParetoRung[];
}

/** The configurations of a search: index 0 the defaults, then Halton points. Deterministic for the seed. */
export function sampleConfigs(samples: number, seed: number): TuneParams[] {
  const halton = new ScrambledHalton(DIMENSIONS.length, seed);
  const out: TuneParams[] = [defaultParams()];
  for (let i = 0; out.length < samples; i++) out.push(decodePoint(halton.point(i)));
  return out;
}

export function trialId(rung: number, sample: number, samples: number): string {
  return `r${rung}-s${String(sample).padStart(Math.max(2, String(samples - 1).length), '0')}`;
}

function rungSpecs(o: TuneOptions, rung: Rung, samples: readonly number[], configs: readonly TuneParams[]): TrialSpec[] {
  return samples.map((sample) => {
    const params = configs[sample] as TuneParams;
    return {
      id: trialId(rung.rung, sample, o.samples), rung: rung.rung, sample, durationS: rung.durationS,
      params, policy: policyFor(params), workload: o.workload, goodput: o.goodput,
    };
  });
}

/** Every spec answered exactly once, by its id; anything else is a runner bug worth stopping for. */
function checkExactlyOnce(specs: readonly TrialSpec[], results: readonly TrialResult[]): Map<string, TrialResult> {
  const byId = new Map<string, TrialResult>();
  for (const r of results) {
    if (byId.has(r.id)) throw new Error(`tune: trial ${r.id} reported twice`);
    byId.set(r.id, r);
  }
  for (const s of specs) if (!byId.has(s.id)) throw new Error(`tune: trial ${s.id} has no result`);
  if (byId.size !== specs.length) throw new Error(`tune: ${byId.size} results for ${specs.length} trials`);
  return byId;
}

export async function tune(o: TuneOptions, runner: TrialRunner, onProgress?: (p: TuneProgress) => void): Promise<TuneResult> {
  const rungs = planRungs({ samples: o.samples, eta: o.eta, minDurationS: o.minDurationS, maxDurationS: o.maxDurationS });
  const configs = sampleConfigs(o.samples, o.seed);
  const lastRung = rungs.length - 1;
  let total = rungs.reduce((n, r, i) => n + r.size + (i === lastRung && i > 0 ? 1 : 0), 0);
  const trials: TrialResult[] = [];
  const pareto: ParetoRung[] = [];
  let alive = configs.map((_, i) => i);
  let done = 0;
  let best: TrialResult | undefined;
  for (const rung of rungs) {
    // The default joins the last rung if halving dropped it (then that rung holds one more trial than planned).
    const samples = rung.rung === lastRung && !alive.includes(0) ? [...alive, 0] : alive;
    const specs = rungSpecs(o, rung, [...samples].sort((a, b) => a - b), configs);
    if (rung.rung === lastRung) total = done + specs.length;
    const rungBest = { value: undefined as TrialResult | undefined };
    const results = await runner.runRung(specs, (result) => {
      done++;
      if (!rungBest.value || compareTrials(result, rungBest.value) < 0) rungBest.value = result;
      best = rungBest.value;
      onProgress?.({ done, total, rung: rung.rung, rungs: rungs.length, durationS: rung.durationS, last: result, best });
    });
    const byId = checkExactlyOnce(specs, results);
    const ordered = specs.map((s) => byId.get(s.id) as TrialResult);
    trials.push(...ordered);
    pareto.push({ rung: rung.rung, duration_s: rung.durationS, ids: paretoFront(ordered).map((t) => t.id) });
    const next = rungs[rung.rung + 1];
    if (next) alive = survivors(ordered, next.size);
  }
  const final = trials.filter((t) => t.rung === lastRung);
  const winner = [...final].sort(compareTrials)[0] as TrialResult;
  const baseline = final.find((t) => t.sample === 0) as TrialResult;
  return { rungs, trials, best: winner, baseline, pareto };
}
