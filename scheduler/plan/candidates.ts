// The splits a rack plan searches: for one NVLink domain of the cluster (the split is the same in every domain, as
// cluster files give roles: a hand-off stays inside its domain), every tensor-parallel degree the performance model
// accepts and the model fits at, and at each degree every (prefill p, decode d, mixed rest) count, plus the all-mixed
// baseline. Then per-role degrees (AIConfigurator's heterogeneous workers): pairs (prefill degree P, degree D of
// the decode and mixed instances). By default D is at most twice the sizing rule's degree S (decode is
// memory-bound: it serves most tokens per GPU narrow, and S is the narrowest with KV room) and D < P ≤ min(4·D,
// max(8, 2·S)) (prefill is compute-bound and gains from width; past 4× or 8 GPUs the collectives eat the gain and the
// splits multiply): Llama 70B on B200 gets 2/1, 4/1, 4/2, 8/2. For a pair: p prefill instances (≥ 1, leaving room for
// one at D), then d decode and the rest mixed at D filling the domain (scheduler/sim/layout.ts).
//
// Pruned: degrees at which the weights do not fit or leave no KV (buildCluster's own checks, their message kept);
// p = 0 with d > 0 (no prefill instance: a decode instance prefills every prompt itself, the all-mixed baseline under
// another name); p = n (nothing to decode on; the roles check refuses it). Instances of a domain are identical and
// all-to-all on NVLink, so which instance takes which role does not matter: only the counts are candidates.
import { ConfigError } from '../core/config/params.js';
import { buildCluster, type ClusterConfig } from '../sim/cluster.js';
import { topologyPreset } from '../kv/native.js';
import { getModel } from '../perf/models.js';
import { validDegrees } from '../sim/sizing.js';

/** Domains with at most this many instances get every count; larger ones a grid of about ROLE_LEVELS steps. */
export const EXHAUSTIVE_INSTANCES = 8;
export const ROLE_LEVELS = 6;

export interface SplitCandidate {
  /** `tp2-p1-d2` (the rest mixed), `tp2-mixed` (the all-mixed baseline), `ptp4-tp1-p1-d2` (prefill at TP4, the rest TP1). */
  id: string;
  /** Degree of the decode and mixed instances (of every instance when prefillTensorParallel equals it). */
  tensorParallel: number;
  /** Degree of the prefill instances. */
  prefillTensorParallel: number;
  /** Instances per domain (⌊domain GPUs / TP⌋ with one degree). */
  instances: number;
  prefill: number;
  decode: number;
  mixed: number;
  /** GPUs the instances use over all domains (GPUs past the last whole instance of a domain stay idle). */
  gpus: number;
  /** Every instance mixed: no roles at all. */
  baseline: boolean;
}

export interface PrunedDegree {
  tensorParallel: number;
  reason: string;
}

export interface Enumeration {
  candidates: SplitCandidate[];
  pruned: PrunedDegree[];
  /** The degree the sizing rule picks (its baseline is candidates[0]). */
  defaultTensorParallel: number;
  domainGpus: number;
  numDomains: number;
  /** Count step per degree (1 = every count); per-role pairs as `P/D`, the prefill count's step. */
  steps: Record<string, number>;
  /** Per-role pairs searched (prefill degree, decode/mixed degree). */
  rolePairs: Array<{ prefill: number; decode: number }>;
}

export interface EnumerateOptions {
  cluster: ClusterConfig;
  model: string;
  /** Degrees to search (default: every feasible one). Each must be one the model accepts in the domain. */
  tensorParallel?: readonly number[];
  /** Count step for p and d (default: 1 up to EXHAUSTIVE_INSTANCES instances, else ⌈n / ROLE_LEVELS⌉). */
  roleStep?: number;
  /**
   * Prefill degrees of the per-role pairs, each with every searched degree ≠ it for the rest; 'same': no per-role
   * pairs; absent: the default pairs over the searched degrees (see the top of this file).
   */
  prefillTensorParallel?: readonly number[] | 'same';
  /**
   * The disaggregation policy treats decode instances as mixed ones (no bound on what a decode instance prefills
   * itself: ours). Splits that differ only in how the non-prefill instances are labelled then run identically, so
   * only d = 0 (prefill + mixed) is enumerated: gb200-nvl72 + Llama 70B at TP1 goes from 23 splits to 7.
   */
  decodeLikeMixed?: boolean;
}

/** Default per-role pairs: prefill at most max(this, 2 × the sizing rule's degree) GPUs wide, and at most this many times the rest. */
export const MAX_PREFILL_TP = 8;
export const MAX_PREFILL_RATIO = 4;

export function candidateId(tp: number, prefill: number, decode: number, prefillTp = tp): string {
  if (prefillTp !== tp) return `ptp${prefillTp}-tp${tp}-p${prefill}-d${decode}`;
  return prefill === 0 && decode === 0 ? `tp${tp}-mixed` : `tp${tp}-p${prefill}-d${decode}`;
}

/** The step of a count ranging up to n: every count up to EXHAUSTIVE_INSTANCES, else about ROLE_LEVELS levels. */
function stepFor(n: number, roleStep: number | undefined): number {
  return roleStep ?? (n <= EXHAUSTIVE_INSTANCES ? 1 : Math.ceil(n / ROLE_LEVELS));
}

/** The per-role pairs to search from the feasible degrees (see EnumerateOptions.prefillTensorParallel). */
function rolePairsOf(feasible: readonly number[], prefill: EnumerateOptions['prefillTensorParallel'], sizingTp: number): Array<{ prefill: number; decode: number }> {
  if (prefill === 'same') return [];
  const out: Array<{ prefill: number; decode: number }> = [];
  const widest = Math.max(MAX_PREFILL_TP, 2 * sizingTp);
  for (const d of feasible) {
    if (prefill === undefined && d > 2 * sizingTp) continue;
    const ps = prefill ?? feasible.filter((p) => p > d && p <= Math.min(widest, MAX_PREFILL_RATIO * d));
    for (const p of ps) if (p !== d) out.push({ prefill: p, decode: d });
  }
  return out;
}

/** Splits of one per-role pair in a domain of `domainGpus`: p ≥ 1 prefill at P, then d decode and the rest mixed at D. */
export function roleSplitsOf(domainGpus: number, pair: { prefill: number; decode: number }, roleStep: number | undefined): Array<{ prefill: number; decode: number; mixed: number }> {
  const maxPrefill = Math.floor((domainGpus - pair.decode) / pair.prefill);
  const out: Array<{ prefill: number; decode: number; mixed: number }> = [];
  if (maxPrefill < 1) return out;
  const step = stepFor(maxPrefill, roleStep);
  // From the step (as splitsOf), or from 1 when a step is more than there is room for.
  for (const p of grid(Math.min(step, maxPrefill), maxPrefill, step)) {
    const rest = Math.floor((domainGpus - p * pair.prefill) / pair.decode);
    for (const d of grid(0, rest, stepFor(rest, roleStep))) out.push({ prefill: p, decode: d, mixed: rest - d });
  }
  return out;
}

/** 0 or `from`, then multiples of `step` below `to`, then `to` itself (the end of the range always a candidate). */
function grid(from: number, to: number, step: number): number[] {
  const out: number[] = [];
  for (let x = from; x < to; x += step) out.push(x);
  if (to >= from) out.push(to);
  return out;
}

/** The counts of one degree: baseline first, then p ascending, d ascending. */
export function splitsOf(n: number, step: number): Array<{ prefill: number; decode: number }> {
  const out = [{ prefill: 0, decode: 0 }];
  if (n < 2) return out;
  for (const p of grid(step, n - 1, step)) for (const d of grid(0, n - p, step)) out.push({ prefill: p, decode: d });
  return out;
}

/**
 * The candidates, the sizing rule's degree first (its baseline is the reference the search always keeps). Errors
 * are ConfigErrors naming the field (`tensorParallel`, `roleStep`, `model`); no feasible degree is one too.
 */
export function enumerateSplits(o: EnumerateOptions): Enumeration {
  const model = getModel(o.model);
  const base = topologyPreset(o.cluster.topology);
  const domainGpus = base.traysPerDomain * base.gpusPerTray;
  const allowed = validDegrees(model, domainGpus);
  if (o.roleStep !== undefined && !(Number.isInteger(o.roleStep) && o.roleStep >= 1)) {
    throw new ConfigError('roleStep', `expected an integer ≥ 1, got ${o.roleStep}`);
  }
  const wanted = o.tensorParallel ?? allowed;
  for (const tp of wanted) {
    if (!allowed.includes(tp)) throw new ConfigError('tensorParallel', `for ${model.name} in a domain of ${domainGpus} GPUs expected one of ${allowed.join(', ')}, got ${tp}`);
  }
  const prefillWanted = Array.isArray(o.prefillTensorParallel) ? o.prefillTensorParallel : [];
  for (const tp of prefillWanted) {
    if (!allowed.includes(tp)) throw new ConfigError('prefillTensorParallel', `for ${model.name} in a domain of ${domainGpus} GPUs expected one of ${allowed.join(', ')}, got ${tp}`);
  }
  // The sizing rule's degree (what `simulate` runs without tensorParallel): its baseline goes first.
  // A file's own tensorParallel, expertParallel (EP follows TP for MoE, as the sizing rule sets it) and roles are
  // what the search varies.
  const { roles: _roles, tensorParallel: _tp, roleTensorParallel: _rtp, expertParallel: _ep, ...plain } = o.cluster;
  let defaultTp: number;
  try {
    defaultTp = buildCluster(plain, { model: o.model }).tensorParallel;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    throw new ConfigError('model', `${model.name} does not fit this cluster at any degree: ${error.message}`);
  }
  const pruned: PrunedDegree[] = [];
  const feasible: number[] = [];
  const fits = new Set<number>();
  for (const tp of [...new Set([...wanted, ...prefillWanted])].sort((a, b) => a - b)) {
    try {
      buildCluster({ ...plain, tensorParallel: tp }, { model: o.model });
      fits.add(tp);
      if (wanted.includes(tp)) feasible.push(tp);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      pruned.push({ tensorParallel: tp, reason: error.message });
    }
  }
  if (feasible.length === 0) {
    throw new ConfigError('tensorParallel', `${model.name} fits none of ${wanted.join(', ')}: ${pruned.map((p) => `tp${p.tensorParallel}: ${p.reason}`).join('; ')}`);
  }
  const order = feasible.includes(defaultTp) ? [defaultTp, ...feasible.filter((t) => t !== defaultTp)] : feasible;
  const candidates: SplitCandidate[] = [];
  const steps: Record<string, number> = {};
  for (const tp of order) {
    const n = Math.floor(domainGpus / tp);
    const step = stepFor(n, o.roleStep);
    steps[tp] = step;
    for (const { prefill, decode } of splitsOf(n, step)) {
      if (o.decodeLikeMixed && decode > 0) continue;
      candidates.push({
        id: candidateId(tp, prefill, decode), tensorParallel: tp, prefillTensorParallel: tp, instances: n, prefill, decode, mixed: n - prefill - decode,
        gpus: n * tp * o.cluster.numDomains, baseline: prefill === 0 && decode === 0,
      });
    }
  }
  const rolePairs = rolePairsOf(feasible, o.prefillTensorParallel, defaultTp).filter((pair) => fits.has(pair.prefill));
  for (const pair of rolePairs) {
    steps[`${pair.prefill}/${pair.decode}`] = stepFor(Math.floor((domainGpus - pair.decode) / pair.prefill), o.roleStep);
    for (const { prefill, decode, mixed } of roleSplitsOf(domainGpus, pair, o.roleStep)) {
      if (o.decodeLikeMixed && decode > 0) continue;
      candidates.push({
        id: candidateId(pair.decode, prefill, decode, pair.prefill), tensorParallel: pair.decode, prefillTensorParallel: pair.prefill,
        instances: prefill + decode + mixed, prefill, decode, mixed,
        gpus: (prefill * pair.prefill + (decode + mixed) * pair.decode) * o.cluster.numDomains, baseline: false,
      });
    }
  }
  return { candidates, pruned, defaultTensorParallel: order[0] as number, domainGpus, numDomains: o.cluster.numDomains, steps, rolePairs };
}

/** The cluster config a candidate runs on: the file's or preset's, with the candidate's degrees and roles. */
export function clusterFor(config: ClusterConfig, c: SplitCandidate): ClusterConfig {
  const { roles: _roles, expertParallel: _ep, tensorParallel: _tp, roleTensorParallel: _rtp, ...plain } = config;
  const roles = c.baseline ? {} : { roles: { prefill: c.prefill, decode: c.decode } };
  if (c.prefillTensorParallel === c.tensorParallel) return { ...plain, tensorParallel: c.tensorParallel, ...roles };
  return { ...plain, ...roles, roleTensorParallel: { prefill: c.prefillTensorParallel, decode: c.tensorParallel, mixed: c.tensorParallel } };
}
