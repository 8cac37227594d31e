// The splits a rack plan searches: for one NVLink domain of the cluster (the split is the same in every domain, as
// cluster files give roles: a hand-off stays inside its domain), every tensor-parallel degree the performance model
// accepts and the model fits at, and at each degree every (prefill p, decode d, mixed rest) count, plus the all-mixed
// baseline. The simulator's cluster has ONE tensorParallel for all its instances (scheduler/sim/cluster.ts
// buildCluster), so TP is searched as one value for every role, not per role.
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
  /** `tp2-p1-d2` (the rest mixed) or `tp2-mixed` (the all-mixed baseline). */
  id: string;
  tensorParallel: number;
  /** Instances per domain (⌊domain GPUs / TP⌋). */
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
  /** Count step per degree (1 = every count). */
  steps: Record<number, number>;
}

export interface EnumerateOptions {
  cluster: ClusterConfig;
  model: string;
  /** Degrees to search (default: every feasible one). Each must be one the model accepts in the domain. */
  tensorParallel?: readonly number[];
  /** Count step for p and d (default: 1 up to EXHAUSTIVE_INSTANCES instances, else ⌈n / ROLE_LEVELS⌉). */
  roleStep?: number;
}

export function candidateId(tp: number, prefill: number, decode: number): string {
  return prefill === 0 && decode === 0 ? `tp${tp}-mixed` : `tp${tp}-p${prefill}-d${decode}`;
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
  // The sizing rule's degree (what `simulate` runs without tensorParallel): its baseline goes first.
  // A file's own tensorParallel, expertParallel (EP follows TP for MoE, as the sizing rule sets it) and roles are
  // what the search varies.
  const { roles: _roles, tensorParallel: _tp, expertParallel: _ep, ...plain } = o.cluster;
  let defaultTp: number;
  try {
    defaultTp = buildCluster(plain, { model: o.model }).tensorParallel;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    throw new ConfigError('model', `${model.name} does not fit this cluster at any degree: ${error.message}`);
  }
  const pruned: PrunedDegree[] = [];
  const feasible: number[] = [];
  for (const tp of [...new Set(wanted)].sort((a, b) => a - b)) {
    try {
      buildCluster({ ...plain, tensorParallel: tp }, { model: o.model });
      feasible.push(tp);
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
  const steps: Record<number, number> = {};
  for (const tp of order) {
    const n = Math.floor(domainGpus / tp);
    const step = o.roleStep ?? (n <= EXHAUSTIVE_INSTANCES ? 1 : Math.ceil(n / ROLE_LEVELS));
    steps[tp] = step;
    for (const { prefill, decode } of splitsOf(n, step)) {
      candidates.push({
        id: candidateId(tp, prefill, decode), tensorParallel: tp, instances: n, prefill, decode, mixed: n - prefill - decode,
        gpus: n * tp * o.cluster.numDomains, baseline: prefill === 0 && decode === 0,
      });
    }
  }
  return { candidates, pruned, defaultTensorParallel: order[0] as number, domainGpus, numDomains: o.cluster.numDomains, steps };
}

/** The cluster config a candidate runs on: the file's or preset's, with the candidate's degree and roles. */
export function clusterFor(config: ClusterConfig, c: SplitCandidate): ClusterConfig {
  const { roles: _roles, expertParallel: _ep, ...plain } = config;
  return { ...plain, tensorParallel: c.tensorParallel, ...(c.baseline ? {} : { roles: { prefill: c.prefill, decode: c.decode } }) };
}
