// The search space of `nvlsched tune`: ten parameters of the shape-aware policy, one per mechanism that trades
// goodput for something (placement weights, queue order, wait windows, the prefill token budget next to decodes,
// KV reservation, admission, retention), each with a range and the shipped default. A point maps to the `policy`
// section of a scheduler config ({base: shape-aware, placement, batch, admission, retention}), so what a trial ran
// is exactly what `--out` writes. Values are rounded to 3 significant digits when decoded: the YAML reproduces the
// trial bit for bit.
import { placementProfiles } from '../core/place/profiles.js';
import type { PlacementConfig } from '../core/place/config.js';
import type { TuneParams } from './types.js';

export interface Dimension {
  name: string;
  /** linear: uniform in [min, max]; log: uniform in log space (min > 0); int-log: log, rounded to an integer. */
  scale: 'linear' | 'log' | 'int-log';
  min: number;
  max: number;
  /** The shipped default (scheduler/core defaults), sample 0 of every search. */
  default: number;
  why: string;
}

export const DIMENSIONS: readonly Dimension[] = [
  { name: 'placement.tpotWeight', scale: 'log', min: 0.25, max: 4, default: 1,
    why: 'predicted-tpot scorer weight against predicted-ttft (fixed at 1): decode interference vs queueing delay' },
  { name: 'placement.affinityWeight', scale: 'linear', min: 0, max: 1, default: 0.25,
    why: 'session-affinity scorer weight (terminal sessions get twice it, as shipped): KV reuse vs load spread' },
  { name: 'batch.deadlineWeight', scale: 'linear', min: 0, max: 2, default: 1,
    why: 'queue key arrival + w·ttft SLO: 0 is FCFS, larger lets tight-SLO shapes overtake more' },
  { name: 'batch.waitWindowMs', scale: 'linear', min: 0, max: 10, default: 0,
    why: 'wait window of chat and terminal prefills; tool_call gets 0.2x, reasoning 2x (the ratios tried in engine/README)' },
  { name: 'batch.decodeStepPrefillTokens', scale: 'int-log', min: 512, max: 8192, default: 8192,
    why: 'prefill token budget of a step that carries decodes (Sarathi-style stall-free chunking): TPOT vs TTFT' },
  { name: 'batch.reserveOutputFraction', scale: 'linear', min: 0, max: 1, default: 0,
    why: 'share of the predicted output reserved in KV at admission: fewer preemptions vs fewer admitted' },
  { name: 'admission.slack', scale: 'log', min: 0.5, max: 4, default: 1,
    why: 'reject at arrival when predicted TTFT > slack·SLO: shed hopeless work early vs keep requests that might make it' },
  { name: 'admission.maxQueuedRequests', scale: 'int-log', min: 16, max: 1024, default: 512,
    why: 'per-instance queue bound (E_QUEUE_FULL beyond it)' },
  { name: 'retention.deviceFreeBelow', scale: 'linear', min: 0, max: 0.9, default: 0.5,
    why: 'HBM pressure below which keeping an idle session costs nothing: higher keeps more sessions on device' },
  { name: 'retention.returnProbability', scale: 'linear', min: 0.3, max: 1, default: 0.9,
    why: 'assumed chance an idle session returns: weighs recompute against the memory kept' },
];

export const PARAM_NAMES: readonly string[] = DIMENSIONS.map((d) => d.name);

function round3(value: number): number {
  return Number(value.toPrecision(3));
}

/** The value of `dim` at u ∈ [0, 1). */
export function decodeDimension(dim: Dimension, u: number): number {
  const t = Math.min(Math.max(u, 0), 1);
  if (dim.scale === 'linear') return round3(dim.min + t * (dim.max - dim.min));
  const value = Math.exp(Math.log(dim.min) + t * (Math.log(dim.max) - Math.log(dim.min)));
  return dim.scale === 'int-log' ? Math.min(dim.max, Math.max(dim.min, Math.round(value))) : round3(value);
}

/** A point of the unit cube (one coordinate per dimension, in DIMENSIONS order) → parameters. */
export function decodePoint(u: readonly number[]): TuneParams {
  if (u.length !== DIMENSIONS.length) throw new RangeError(`expected ${DIMENSIONS.length} coordinates, got ${u.length}`);
  return Object.fromEntries(DIMENSIONS.map((d, i) => [d.name, decodeDimension(d, u[i] as number)]));
}

export function defaultParams(): TuneParams {
  return Object.fromEntries(DIMENSIONS.map((d) => [d.name, d.default]));
}

function param(params: TuneParams, name: string): number {
  const value = params[name];
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new RangeError(`tune params: ${name}: expected a number, got ${JSON.stringify(value)}`);
  return value;
}

/** The shipped shape-aware placement with the tuned weights; fails loudly if the profile lost a tuned scorer. */
function placementFor(params: TuneParams): PlacementConfig {
  const placement = structuredClone(placementProfiles['shape-aware']) as PlacementConfig;
  const scorer = (name: string) => {
    const found = placement.scorers?.find((s) => s.name === name);
    if (!found) throw new Error(`tune: the shape-aware placement profile has no '${name}' scorer; update scheduler/tune/space.ts`);
    return found;
  };
  scorer('predicted-ttft').weight = 1;
  scorer('predicted-tpot').weight = param(params, 'placement.tpotWeight');
  const affinity = param(params, 'placement.affinityWeight');
  scorer('session-affinity').weight = { default: affinity, terminal: round3(2 * affinity) };
  return placement;
}

/** The scheduler config `policy` section for a point (loads with parseSchedulerConfig). */
export function policyFor(params: TuneParams): Record<string, unknown> {
  const windowMs = param(params, 'batch.waitWindowMs');
  const windowS = (factor: number) => round3((windowMs * factor) / 1000);
  return {
    base: 'shape-aware',
    placement: placementFor(params),
    batch: {
      name: 'shape-aware',
      params: {
        deadlineWeight: param(params, 'batch.deadlineWeight'),
        waitWindowS: { tool_call: windowS(0.2), reasoning: windowS(2), terminal: windowS(1), chat: windowS(1) },
        decodeStepPrefillTokens: param(params, 'batch.decodeStepPrefillTokens'),
        reserveOutputFraction: param(params, 'batch.reserveOutputFraction'),
      },
    },
    admission: {
      name: 'slo',
      params: { slack: param(params, 'admission.slack'), maxQueuedRequests: param(params, 'admission.maxQueuedRequests') },
    },
    retention: {
      name: 'cost-aware',
      params: {
        deviceFreeBelow: param(params, 'retention.deviceFreeBelow'),
        returnProbability: param(params, 'retention.returnProbability'),
      },
    },
  };
}
