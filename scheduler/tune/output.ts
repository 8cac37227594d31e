// What `nvlsched tune` hands back: the winning configuration as a scheduler-config YAML (a `policy` section that
// parseSchedulerConfig, `config check`, `serve --config` and `simulate --config` load), the --json document
// ({trials: [{id, params, metrics, ...}], best: {params, metrics, ...}, ...}) and the Markdown tables for stdout.
import { stringify } from 'yaml';
import { compareTrials, type Rung } from './halving.js';
import { DIMENSIONS } from './space.js';
import type { TuneResult } from './tune.js';
import type { TrialMetrics, TrialResult, WorkloadSpec } from './types.js';

export interface SearchInfo {
  samples: number;
  eta: number;
  minDurationS: number;
  maxDurationS: number;
  seed: number;
  runner: string;
}

function fixed(value: number | null, digits: number): string {
  return value === null ? '–' : value.toFixed(digits);
}
function pct(value: number | null): string {
  return value === null ? '–' : `${(value * 100).toFixed(1)} %`;
}
function usd(value: number | null): string {
  return value === null ? '–' : String(Number(value.toPrecision(3)));
}

export function describeWorkload(w: WorkloadSpec): string {
  const source = w.trace !== undefined ? `trace ${w.trace}` : w.mix !== undefined ? `mix ${w.mix}` : 'the default mix';
  const load = w.rateScale !== undefined ? ` at rate scale ${w.rateScale}` : w.sessions !== undefined ? ` with ${w.sessions} sessions` : '';
  return `${source}${load}, cluster ${w.cluster ?? 'gb200-nvl72'}, model ${w.model ?? '(the cluster default)'}, seed ${w.seed}`;
}

/** best ÷ default goodput per GPU-hour (null when the default had none). */
export function ratioToBaseline(result: TuneResult): number | null {
  const base = result.baseline.metrics.goodput_per_gpu_hour;
  return base > 0 ? result.best.metrics.goodput_per_gpu_hour / base : null;
}

function metricsLine(m: TrialMetrics): string {
  return `${fixed(m.goodput_per_gpu_hour, 1)} good requests per GPU-hour, SLO met ${pct(m.slo_attainment)}, cost/request $${usd(m.cost_per_request_usd)}`;
}

/** The winning configuration as YAML, with a header saying where it came from. */
export function bestConfigYaml(result: TuneResult, search: SearchInfo, workload: WorkloadSpec, policy: Record<string, unknown>): string {
  const ratio = ratioToBaseline(result);
  const header = [
    `# nvlsched tune: the best of ${search.samples} sampled shape-aware configurations (successive halving, eta ${search.eta},`,
    `# ${search.minDurationS} → ${search.maxDurationS} simulated s per trial), on ${describeWorkload(workload)}.`,
    `# best ${result.best.id}: ${metricsLine(result.best.metrics)}`,
    `# default shape-aware on the same run: ${metricsLine(result.baseline.metrics)}${ratio === null ? '' : ` (best ÷ default ${ratio.toFixed(3)}x)`}`,
    `# tuned parameters (scheduler/tune/README.md): ${DIMENSIONS.map((d) => `${d.name}=${result.best.params[d.name]}`).join(', ')}`,
    '# use: nvlsched config check <file>; nvlsched serve --config <file> ...; nvlsched simulate --config <file> ...',
  ];
  return `${header.join('\n')}\n${stringify({ policy }, { lineWidth: 0 })}`;
}

function entry(t: TrialResult) {
  return { id: t.id, rung: t.rung, sample: t.sample, duration_s: t.duration_s, worker: t.worker, params: t.params, metrics: t.metrics };
}

export function tuneJson(result: TuneResult, search: SearchInfo, workload: WorkloadSpec, goodputMs: Record<string, number>) {
  return {
    objective: 'goodput_per_gpu_hour',
    search: { ...search, dimensions: DIMENSIONS },
    workload,
    goodput_overrides_ms: goodputMs,
    rungs: result.rungs.map((r: Rung) => ({ rung: r.rung, duration_s: r.durationS, planned: r.size, trials: result.trials.filter((t) => t.rung === r.rung).length })),
    trials: result.trials.map(entry),
    best: entry(result.best),
    baseline: entry(result.baseline),
    best_vs_baseline: ratioToBaseline(result),
    pareto: result.pareto,
  };
}

const TRIAL_HEADER = '| trial | good req/GPU-h | goodput req/s | SLO met | cost/request $ | TTFT p99 ms | TPOT p99 ms | rejected |';
const TRIAL_RULE = '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |';

function trialRow(t: TrialResult, mark = ''): string {
  const m = t.metrics;
  const ms = (s: number | null) => (s === null ? '–' : (s * 1000).toFixed(0));
  return `| ${t.id}${mark} | ${fixed(m.goodput_per_gpu_hour, 1)} | ${fixed(m.goodput_rps, 3)} | ${pct(m.slo_attainment)} | ${usd(m.cost_per_request_usd)} | ` +
    `${ms(m.ttft_p99_s)} | ${ms(m.tpot_p99_s)} | ${m.rejected} |`;
}

/** Markdown for stdout: the best trials of the last rung, the Pareto fronts, the tuned parameters, the verdict. */
export function tuneTables(result: TuneResult, top: number): string {
  const out: string[] = [];
  const lastRung = result.rungs[result.rungs.length - 1] as Rung;
  const final = result.trials.filter((t) => t.rung === lastRung.rung).sort(compareTrials);
  const mark = (t: TrialResult) => (t.sample === 0 ? ' (default)' : '');
  out.push(`## Best trials (rung ${lastRung.rung}, ${lastRung.durationS} simulated s each)`, '', TRIAL_HEADER, TRIAL_RULE);
  for (const t of final.slice(0, top)) out.push(trialRow(t, mark(t)));
  if (!final.slice(0, top).includes(result.baseline)) out.push(trialRow(result.baseline, mark(result.baseline)));
  const byId = new Map(result.trials.map((t) => [t.id, t]));
  for (const front of result.pareto) {
    out.push('', `## Goodput/cost Pareto front, rung ${front.rung} (${front.duration_s} simulated s)`, '', TRIAL_HEADER, TRIAL_RULE);
    for (const id of front.ids) {
      const t = byId.get(id) as TrialResult;
      out.push(trialRow(t, mark(t)));
    }
  }
  out.push('', '## Parameters', '', `| parameter | default | best (${result.best.id}) | range |`, '| --- | ---: | ---: | --- |');
  for (const d of DIMENSIONS) {
    out.push(`| ${d.name} | ${d.default} | ${result.best.params[d.name]} | ${d.min}–${d.max} ${d.scale} |`);
  }
  const ratio = ratioToBaseline(result);
  out.push('', `best ${result.best.id}: ${fixed(result.best.metrics.goodput_per_gpu_hour, 1)} good requests per GPU-hour; default shape-aware ` +
    `${fixed(result.baseline.metrics.goodput_per_gpu_hour, 1)}; best ÷ default = ${ratio === null ? '–' : `${ratio.toFixed(3)}x`} ` +
    `(same workload, seed and ${lastRung.durationS} simulated s)`, '');
  return out.join('\n');
}
