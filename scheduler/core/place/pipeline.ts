// The placement pipeline: filters → scorers → one picker. The framework owns the invariants so plugins need not:
// scores are clamped to [0, 1] (NaN → 0) before weighting, weights are ≥ 0 (config.ts), there is exactly one
// picker, an empty candidate list — given, or emptied by a filter — is E_NO_CANDIDATE naming the filter and its
// reason, and a picker answering outside [0, n) is a bug that throws. Buffers are reused across calls: the
// ScoreTable from lastScores() is valid until the next place().
import { SHAPES } from '../types.js';
import type { InstanceView, PlacementContext, PlacementDecision, PlacementPicker, PlacementPolicy, PlacementScorer, PrefixHit, ScoreTable, StageProfiler } from '../types.js';
import { buildPlacement } from './config.js';
import type { ExplainingFilter } from './plugin.js';

export type { PlacementPolicy };

/** Records the time since `t0` under `stage`; returns now (the next stage's start). */
function lap(prof: StageProfiler, stage: string, t0: number): number {
  const now = prof.now();
  prof.record(stage, now - t0);
  return now;
}

class Pipeline implements PlacementPolicy {
  private capacity = 0;
  private total = new Float64Array(0);
  private columns: Float64Array[] = [];
  private views: Float64Array[] = [];
  private viewLength = -1;
  private readonly byScorer = new Map<string, Float64Array>();
  private readonly keys: string[];
  private readonly table: { total: Float64Array; byScorer: ReadonlyMap<string, Float64Array> };

  constructor(
    readonly name: string,
    private readonly filters: ExplainingFilter[],
    private readonly scorers: PlacementScorer[],
    private readonly weights: Float64Array,
    private readonly picker: PlacementPicker,
  ) {
    const seen = new Map<string, number>();
    this.keys = scorers.map((s) => {
      const k = (seen.get(s.name) ?? 0) + 1;
      seen.set(s.name, k);
      return k === 1 ? s.name : `${s.name}#${k}`;
    });
    this.table = { total: this.total, byScorer: this.byScorer };
    this.ensure(64);
  }

  place(ctx: PlacementContext, candidates: readonly InstanceView[]): PlacementDecision {
    if (candidates.length === 0) return { ok: false, code: 'E_NO_CANDIDATE', message: 'no candidate instances: the pool has none' };
    let cands = candidates;
    const prof = ctx.profiler;
    let t = prof ? prof.now() : 0;
    for (const f of this.filters) {
      const kept = f.filter(ctx, cands);
      if (prof) t = lap(prof, `filter:${f.name}`, t);
      if (kept.length === 0) {
        const why = f.whyEmpty ? `: ${f.whyEmpty(ctx, cands)}` : '';
        return { ok: false, code: 'E_NO_CANDIDATE', message: `filter "${f.name}" removed all ${cands.length} remaining candidates${why}` };
      }
      cands = kept;
    }
    const n = cands.length;
    this.score(ctx, cands, n);
    if (prof) t = prof.now();
    const index = this.picker.pick(ctx, cands, this.table);
    if (prof) lap(prof, `picker:${this.picker.name}`, t);
    if (!Number.isInteger(index) || index < 0 || index >= n) {
      throw new Error(`placement picker "${this.picker.name}" returned ${index} for ${n} candidates (expected an integer in [0, ${n - 1}])`);
    }
    const chosen = cands[index] as InstanceView;
    const hit = ctx.prefix(chosen);
    // A copy: ctx.prefix may hand out objects it reuses for the next request.
    const prefix: PrefixHit = { deviceBlocks: hit.deviceBlocks, hostBlocks: hit.hostBlocks, neighbourBlocks: hit.neighbourBlocks };
    if (hit.neighbourInstanceId !== undefined) prefix.neighbourInstanceId = hit.neighbourInstanceId;
    return { ok: true, instanceId: chosen.instanceId, score: this.total[index] as number, prefix };
  }

  lastScores(): ScoreTable {
    return this.table;
  }

  private score(ctx: PlacementContext, cands: readonly InstanceView[], n: number): void {
    this.ensure(n);
    const total = this.table.total;
    total.fill(0);
    const k = this.scorers.length;
    const shape = SHAPES.indexOf(ctx.cls.shape);
    const row = (shape < 0 ? SHAPES.indexOf('chat') : shape) * k;
    const prof = ctx.profiler;
    for (let s = 0; s < k; s++) {
      const out = this.views[s] as Float64Array;
      out.fill(0);
      const t = prof ? prof.now() : 0;
      (this.scorers[s] as PlacementScorer).score(ctx, cands, out);
      if (prof) lap(prof, `scorer:${this.keys[s] as string}`, t);
      const w = this.weights[row + s] as number;
      for (let i = 0; i < n; i++) {
        const v = out[i] as number;
        const clamped = v > 0 ? (v < 1 ? v : 1) : 0; // NaN fails v > 0 → 0
        out[i] = clamped;
        total[i] = (total[i] as number) + w * clamped;
      }
    }
  }

  /** Sizes buffers for n candidates; views of exactly n entries are rebuilt only when n changes. */
  private ensure(n: number): void {
    if (n > this.capacity) {
      this.capacity = Math.max(n, this.capacity * 2);
      this.total = new Float64Array(this.capacity);
      this.columns = this.scorers.map(() => new Float64Array(this.capacity));
      this.viewLength = -1;
    }
    if (n === this.viewLength) return;
    this.viewLength = n;
    this.table.total = this.total.subarray(0, n);
    this.views = this.columns.map((c) => c.subarray(0, n));
    this.keys.forEach((key, s) => this.byScorer.set(key, this.views[s] as Float64Array));
  }
}

/** A pipeline from a config ({filters, scorers, picker}); `path` names the config field in errors. */
export function makePlacementPipeline(config: unknown, path = 'placement', name = 'custom'): PlacementPolicy {
  const built = buildPlacement(config, path);
  return new Pipeline(name, built.filters, built.scorers, built.weights, built.picker);
}

/**
 * A pipeline from plugin objects rather than names (plugins outside the registry, tests). weight: one number for
 * every shape, or one per shape in SHAPES order. Same invariants as a configured pipeline; weights must be ≥ 0.
 */
export function composePlacement(
  name: string,
  parts: { filters?: ExplainingFilter[]; scorers?: Array<{ scorer: PlacementScorer; weight: number | readonly number[] }>; picker: PlacementPicker },
): PlacementPolicy {
  const scorers = parts.scorers ?? [];
  const weights = new Float64Array(SHAPES.length * scorers.length);
  scorers.forEach(({ weight }, k) => {
    SHAPES.forEach((shape, s) => {
      const w = typeof weight === 'number' ? weight : weight[s];
      if (w === undefined || !(w >= 0)) throw new RangeError(`composePlacement: scorers[${k}].weight for ${shape} must be a number ≥ 0, got ${w}`);
      weights[s * scorers.length + k] = w;
    });
  });
  return new Pipeline(name, parts.filters ?? [], scorers.map((s) => s.scorer), weights, parts.picker);
}
