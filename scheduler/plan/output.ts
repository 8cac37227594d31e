// What a split plan hands back: the Markdown table for stdout, the --json document ({candidates: [...], best,
// baseline, ...}), the --out YAML, a scheduler config whose `pools` entry carries the split (tensorParallel, count
// per NVLink domain, roles) and whose `policy` section the disaggregation slot the plan ran with (`config check`,
// serve's loader and `simulate --config`, which shapes the simulated cluster from that pool, read it), and the
// --cluster-out YAML, a cluster file of the split (`simulate --cluster`). A pool has one tensorParallel, so a best
// split with per-role degrees goes into the cluster file only; --out then holds the policy and says so.
import { stringify } from 'yaml';
import type { ClusterConfig } from '../sim/cluster.js';
import type { Rung } from '../tune/halving.js';
import { clusterFor, type Enumeration, type SplitCandidate } from './candidates.js';
import { comparePlanTrials, type PlanResult, type PlanTrial } from './search.js';

export interface PlanInfo {
  command: string;
  workload: string;
  cluster: string;
  model: string;
  policy: Record<string, unknown>;
  /** What the load scale multiplies: 'rate_scale' (open loop) or 'sessions' (closed loop). */
  load: 'rate_scale' | 'sessions';
  target: number;
  eta: number;
  minDurationS: number;
  maxDurationS: number;
  seed: number;
  goodput: string[];
  wallS: number;
}

const fixed = (x: number | null | undefined, digits: number) => (x === null || x === undefined ? '–' : x.toFixed(digits));
const sig = (x: number | null | undefined, digits = 4) => (x === null || x === undefined ? '–' : String(Number(x.toPrecision(digits))));
const pct = (x: number | null | undefined) => (x === null || x === undefined ? '–' : `${(x * 100).toFixed(1)} %`);

function fmtRatio(a: PlanTrial, b: PlanTrial): string {
  return b.capacity ? `${((a.capacity ?? 0) / b.capacity).toFixed(2)}x` : '–';
}

/** `4` (every instance), or `4/1` (prefill at TP4, decode and mixed at TP1). */
export function degreeLabel(c: SplitCandidate): string {
  return c.prefillTensorParallel === c.tensorParallel ? String(c.tensorParallel) : `${c.prefillTensorParallel}/${c.tensorParallel}`;
}

export function splitLabel(c: SplitCandidate): string {
  return c.baseline ? `all mixed (${c.instances})` : `${c.prefill}P / ${c.decode}D / ${c.mixed}M`;
}

/** Capacity per GPU the instances use (the load scale one GPU carries). */
export function capacityPerGpu(t: PlanTrial): number | null {
  return t.capacity === null ? null : t.capacity / t.candidate.gpus;
}

function row(t: PlanTrial, rank: number | string): string {
  const p = t.at_capacity;
  return `| ${rank} | ${splitLabel(t.candidate)} | ${degreeLabel(t.candidate)} | ${t.candidate.gpus} | ${sig(t.capacity)} | ${sig(capacityPerGpu(t))} | ` +
    `${fixed(p?.goodput_rps, 2)} | ${fixed(p?.tool_call_ttft_p99_s, 3)} | ${pct(p?.slo_attainment)} | ${p && p.requests ? pct(p.disaggregated / p.requests) : '–'} |`;
}

const HEADER = '| # | split (prefill / decode / mixed per domain) | TP (prefill/rest) | GPUs | capacity (x load) | capacity per GPU | goodput req/s @cap | tool-call TTFT p99 s @cap | SLO met @cap | disaggregated @cap |\n' +
  '| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |';

/** The last rung ranked, then the best `top` of the first (coarse) rung, then best ÷ all-mixed. */
export function planTables(result: PlanResult, e: Enumeration, info: PlanInfo, top: number): string {
  const lastRung = result.rungs.length - 1;
  const final = result.trials.filter((t) => t.rung === lastRung).sort(comparePlanTrials);
  const out = [`## Split plan: ${info.model} on ${info.cluster} (${e.candidates.length} candidates, ${result.trials.length} capacity searches, ${info.wallS.toFixed(0)} s)`, '',
    `Workload ${info.workload}; policy ${JSON.stringify(info.policy)}; capacity = highest ${info.load === 'sessions' ? 'session count' : 'rate scale'} with ≥ ${(info.target * 100).toFixed(0)} % SLO attainment` +
    `${info.goodput.length ? ` (SLOs ${info.goodput.join(' ')})` : ''}; last rung ${result.rungs[lastRung]?.durationS} simulated s, seed ${info.seed}. ` +
    `Per-role degrees searched: ${e.rolePairs.length ? e.rolePairs.map((p) => `${p.prefill}/${p.decode}`).join(', ') : 'none'} (prefill/rest).`, '', HEADER];
  final.forEach((t, i) => out.push(row(t, i + 1)));
  if (lastRung > 0) {
    const first = result.trials.filter((t) => t.rung === 0).sort(comparePlanTrials).slice(0, top);
    out.push('', `First rung (${result.rungs[0]?.durationS} simulated s, coarse bisection), best ${first.length} of ${e.candidates.length}:`, '', HEADER);
    first.forEach((t, i) => out.push(row(t, i + 1)));
  }
  const ratio = result.baseline.capacity ? (result.best.capacity ?? 0) / result.baseline.capacity : null;
  out.push('', `Best: **${result.best.candidate.id}** (${splitLabel(result.best.candidate)}, TP${degreeLabel(result.best.candidate)}), capacity ${sig(result.best.capacity)}` +
    ` = ${ratio === null ? '–' : `${ratio.toFixed(2)}x`} the all-mixed TP${result.baseline.candidate.tensorParallel} baseline (${sig(result.baseline.capacity)})` +
    (result.bestAllMixed !== result.baseline ? `, ${fmtRatio(result.best, result.bestAllMixed)} the best all-mixed (TP${result.bestAllMixed.candidate.tensorParallel}, ${sig(result.bestAllMixed.capacity)}).` : '.'));
  if (e.pruned.length) out.push(`Pruned degrees: ${e.pruned.map((p) => `TP${p.tensorParallel} (${p.reason})`).join('; ')}.`);
  return out.join('\n') + '\n';
}

function trialJson(t: PlanTrial) {
  const { candidate: c } = t;
  return {
    id: t.id, rung: t.rung, candidate: c.id, tensor_parallel: c.tensorParallel, prefill_tensor_parallel: c.prefillTensorParallel, instances_per_domain: c.instances,
    prefill: c.prefill, decode: c.decode, mixed: c.mixed, gpus: c.gpus, duration_s: t.duration_s,
    capacity: t.capacity, capacity_per_gpu: capacityPerGpu(t), first_failing: t.first_failing, stop: t.stop,
    at_capacity: t.at_capacity, probes: t.probes,
  };
}

export function planJson(result: PlanResult, e: Enumeration, info: PlanInfo) {
  const lastRung = result.rungs.length - 1;
  return {
    plan: 'split', ...info,
    rungs: result.rungs.map((r: Rung) => ({ rung: r.rung, duration_s: r.durationS, size: r.size })),
    pruned: e.pruned.map((p) => ({ tensor_parallel: p.tensorParallel, reason: p.reason })),
    role_pairs: e.rolePairs,
    candidates: result.trials.map(trialJson),
    ranking: result.trials.filter((t) => t.rung === lastRung).sort(comparePlanTrials).map((t) => t.candidate.id),
    best: trialJson(result.best),
    baseline: trialJson(result.baseline),
    best_vs_baseline: result.baseline.capacity ? (result.best.capacity ?? 0) / result.baseline.capacity : null,
    best_all_mixed: trialJson(result.bestAllMixed),
    best_vs_all_mixed: result.bestAllMixed.capacity ? (result.best.capacity ?? 0) / result.bestAllMixed.capacity : null,
  };
}

/** A cluster file (scheduler/sim/cluster.ts readClusterConfig) of the cluster with the split's degrees and roles. */
export function clusterFileOf(config: ClusterConfig, model: string): Record<string, unknown> {
  const tp = config.roleTensorParallel ?? config.tensorParallel;
  return {
    name: config.name, preset: config.topology, racks: config.numDomains, model,
    ...(tp !== undefined && { tensorParallel: tp }),
    ...(config.expertParallel !== undefined && { expertParallel: config.expertParallel }),
    weightDtype: config.weightDtype, kvDtype: config.kvDtype,
    ...(Object.keys(config.engine).length > 0 && { engine: config.engine }),
    deviceReserveFraction: config.deviceReserveFraction, hostKvFraction: config.hostKvFraction, usdPerGpuHour: config.usdPerGpuHour,
    ...(config.roles !== undefined && { roles: config.roles }),
  };
}

function headerOf(best: PlanTrial, baseline: PlanTrial, info: PlanInfo, model: string): string[] {
  const c = best.candidate;
  return [
    `# nvlsched tune --search-roles: the best prefill/decode split of ${model} on ${info.cluster} for ${info.workload}.`,
    `# ${c.id}: ${splitLabel(c)} per NVLink domain at TP${degreeLabel(c)}, capacity ${sig(best.capacity)} ` +
      `(all-mixed TP${baseline.candidate.tensorParallel}: ${sig(baseline.capacity)}), ${info.maxDurationS} simulated s, seed ${info.seed}.`,
  ];
}

/** --cluster-out: the best split as a cluster file (`simulate --cluster <file>`). */
export function planClusterYaml(best: PlanTrial, baseline: PlanTrial, cluster: ClusterConfig, model: string, info: PlanInfo): string {
  const header = [...headerOf(best, baseline, info, model), '# A cluster file: `simulate --cluster <file>` runs this split (every domain the same).', `# command: ${info.command}`];
  return `${header.join('\n')}\n${stringify(clusterFileOf(clusterFor(cluster, best.candidate), model), { lineWidth: 0 })}`;
}

/**
 * The scheduler config of the best split: `policy` and one self-hosted pool = one NVLink domain's instances. A pool
 * has one tensorParallel: for a split with per-role degrees only the policy is written, and the header says to run
 * it with the --cluster-out file.
 */
export function planConfigYaml(best: PlanTrial, baseline: PlanTrial, cluster: ClusterConfig, model: string, info: PlanInfo): string {
  const c = best.candidate;
  const perRole = c.prefillTensorParallel !== c.tensorParallel;
  const pool: Record<string, unknown> = {
    name: model,
    kind: 'self_hosted',
    model,
    instances: { gpu: cluster.gpu, tensorParallel: c.tensorParallel, count: c.instances, weightDtype: cluster.weightDtype, kvDtype: cluster.kvDtype },
    ...(c.baseline ? {} : { roles: { prefill: c.prefill, decode: c.decode } }),
    usdPerGpuHour: cluster.usdPerGpuHour,
  };
  const header = [
    ...headerOf(best, baseline, info, model),
    ...(perRole
      ? ['# Per-role tensor parallelism does not fit a pools section (one tensorParallel per pool): this file holds the',
        '# policy only; run the split with the cluster file of --cluster-out (`simulate --config <this> --cluster <that>`).']
      : ['# The pool is one NVLink domain; every domain of the cluster gets the same split. `simulate --config <file>`',
        '# shapes the simulated cluster from it (tensorParallel, count, roles, dtypes); `config check <file>` validates it.']),
    `# command: ${info.command}`,
  ];
  return `${header.join('\n')}\n${stringify(perRole ? { policy: info.policy } : { policy: info.policy, pools: [pool] }, { lineWidth: 0 })}`;
}
