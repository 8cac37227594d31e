// Goodput capacity (architecture.md §3, DistServe's definition): the highest load — arrival-rate scale for open-loop
// workloads, concurrent sessions for closed-loop ones — at which SLO attainment stays ≥ 90 %. Found by bracketing
// (doubling up or halving down from a start load) then bisection, on a bounded number of probes; every probe is
// returned, for the goodput-against-load plot. Assumes attainment falls as load rises (noise can break that; the
// probes show it when it happens).

export interface CapacityProbe {
  load: number;
  slo_attainment: number | null;
  goodput_rps: number | null;
}

export interface CapacityResult {
  /** Highest passing load probed; null when even the smallest load allowed fails. */
  capacity: number | null;
  /** Lowest failing load probed above it; null when none failed (capacity is then a lower bound). */
  firstFailing: number | null;
  target: number;
  /** In the order probed. */
  probes: CapacityProbe[];
  /** Why the search stopped: 'converged', 'probe budget', 'max load', 'min load'. */
  stop: string;
}

export interface CapacityOptions {
  /** Runs the workload at a load; only these two fields of the report are read. */
  evaluate: (load: number) => Promise<{ slo_attainment: number | null; goodput_rps: number | null }>;
  startLoad: number;
  /** Loads are whole numbers (sessions); default false (rate scale). */
  integer?: boolean;
  minLoad?: number;
  maxLoad?: number;
  /** Attainment to hold; default 0.9. */
  target?: number;
  /** Stop when (firstFailing − capacity) ≤ relTolerance × firstFailing (integers: when they are adjacent). */
  relTolerance?: number;
  /** Bound on evaluate() calls; default 12. */
  maxProbes?: number;
  onProbe?: (probe: CapacityProbe, index: number) => void;
}

function checkOptions(o: CapacityOptions): void {
  const positive = (name: string, v: number | undefined) => {
    if (v !== undefined && !(Number.isFinite(v) && v > 0)) throw new RangeError(`capacity.${name}: expected a number > 0, got ${v}`);
  };
  positive('startLoad', o.startLoad);
  positive('minLoad', o.minLoad);
  positive('maxLoad', o.maxLoad);
  positive('relTolerance', o.relTolerance);
  if (o.target !== undefined && !(o.target > 0 && o.target <= 1)) throw new RangeError(`capacity.target: expected (0, 1], got ${o.target}`);
  if (o.maxProbes !== undefined && !(Number.isInteger(o.maxProbes) && o.maxProbes >= 1)) {
    throw new RangeError(`capacity.maxProbes: expected an integer ≥ 1, got ${o.maxProbes}`);
  }
}

export async function findCapacity(o: CapacityOptions): Promise<CapacityResult> {
  checkOptions(o);
  const target = o.target ?? 0.9;
  const maxProbes = o.maxProbes ?? 12;
  const integer = o.integer ?? false;
  const minLoad = o.minLoad ?? (integer ? 1 : o.startLoad / 1024);
  const maxLoad = o.maxLoad ?? Infinity;
  const clamp = (x: number) => Math.min(maxLoad, Math.max(minLoad, integer ? Math.round(x) : x));
  const probes: CapacityProbe[] = [];
  const passes = async (load: number): Promise<boolean> => {
    const r = await o.evaluate(load);
    const probe = { load, slo_attainment: r.slo_attainment, goodput_rps: r.goodput_rps };
    probes.push(probe);
    o.onProbe?.(probe, probes.length - 1);
    return r.slo_attainment !== null && r.slo_attainment >= target;
  };
  const done = (capacity: number | null, firstFailing: number | null, stop: string): CapacityResult =>
    ({ capacity, firstFailing, target, probes, stop });

  let lo: number | null = null;
  let hi: number | null = null;
  let x = clamp(o.startLoad);
  if (await passes(x)) lo = x; else hi = x;
  // Bracket: double up while passing, halve down while failing.
  while (lo === null || hi === null) {
    if (probes.length >= maxProbes) return done(lo, hi, 'probe budget');
    const next = clamp(lo !== null ? x * 2 : x / 2);
    if (next === x) return done(lo, hi, lo !== null ? 'max load' : 'min load');
    x = next;
    if (await passes(x)) lo = x; else hi = x;
  }
  return bisect(lo, hi, { integer, relTolerance: o.relTolerance ?? 0.05, maxProbes }, probes, passes, done);
}

/** Narrows [lo, hi) — lo passes, hi fails — until adjacent or within tolerance, or out of probes. */
async function bisect(lo: number, hi: number, o: { integer: boolean; relTolerance: number; maxProbes: number },
  probes: readonly CapacityProbe[], passes: (load: number) => Promise<boolean>,
  done: (capacity: number, firstFailing: number, stop: string) => CapacityResult): Promise<CapacityResult> {
  for (;;) {
    const converged = o.integer ? hi - lo <= 1 : hi - lo <= o.relTolerance * hi;
    if (converged) return done(lo, hi, 'converged');
    if (probes.length >= o.maxProbes) return done(lo, hi, 'probe budget');
    const mid = o.integer ? Math.floor((lo + hi) / 2) : (lo + hi) / 2;
    if (await passes(mid)) lo = mid; else hi = mid;
  }
}
